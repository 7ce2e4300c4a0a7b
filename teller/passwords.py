"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile) and the rules a password follows."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
# argon2 hashes any length, but a bounded input keeps a login form from being a way to burn CPU.
MAX_LENGTH = 1024

HASHER = PasswordHasher()


@lru_cache(maxsize=2)
def _unknown_account_hash(hasher: PasswordHasher) -> str:
    """Checked against when the account does not exist, so a wrong email costs as long as a wrong password and
    the answer time does not tell which accounts exist."""
    return hasher.hash("teller: no such account")


class PasswordError(ValueError):
    """A new password does not follow the rules; the message says which."""


def check_new_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"a password has at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordError(f"a password has at most {MAX_LENGTH} characters")
    return password


def hash_password(password: str) -> str:
    return HASHER.hash(check_new_password(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; `None` (no such account) takes as long and is always False."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return HASHER.verify(password_hash or _unknown_account_hash(HASHER), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than HASHER's (then login stores a new one)."""
    try:
        return HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
