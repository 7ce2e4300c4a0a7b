"""The optional second factor: time-based one-time codes (RFC 6238, what authenticator apps speak).

The shared secret must be readable at login, so it cannot be hashed like a password. It is sealed with a key
derived from secret_key (an HMAC-SHA256 keystream under a random nonce, then an HMAC tag), so a copy of the
database alone does not give away anyone's second factor.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time

import pyotp

ISSUER = "Teller"
STEP_SECONDS = 30
# A code from the step before or after is accepted too: phones' clocks drift and typing takes time.
DRIFT_STEPS = 1
_SEAL_VERSION = "v1"


class SealError(ValueError):
    """A sealed secret was altered or sealed under another secret_key."""


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app reads (as a QR code or pasted)."""
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=email, issuer_name=ISSUER)


def _keys(secret_key: str) -> tuple[bytes, bytes]:
    root = secret_key.encode("utf-8")
    return (hmac.new(root, b"teller-totp-seal-v1", hashlib.sha256).digest(),
            hmac.new(root, b"teller-totp-tag-v1", hashlib.sha256).digest())


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (hmac.new(key, nonce + counter.to_bytes(4, "big"), hashlib.sha256).digest()
              for counter in range(length // 32 + 1))
    return b"".join(blocks)[:length]


def seal(secret: str, secret_key: str) -> str:
    seal_key, tag_key = _keys(secret_key)
    nonce = secrets.token_bytes(16)
    plain = secret.encode("ascii")
    sealed = bytes(a ^ b for a, b in zip(plain, _keystream(seal_key, nonce, len(plain)), strict=True))
    tag = hmac.new(tag_key, nonce + sealed, hashlib.sha256).digest()
    return ":".join([_SEAL_VERSION, *(base64.urlsafe_b64encode(part).decode() for part in (nonce, sealed, tag))])


def unseal(text: str, secret_key: str) -> str:
    seal_key, tag_key = _keys(secret_key)
    try:
        version, *parts = text.split(":")
        nonce, sealed, tag = (base64.urlsafe_b64decode(part) for part in parts)
    except ValueError:
        raise SealError("not a sealed TOTP secret") from None
    if version != _SEAL_VERSION or not hmac.compare_digest(tag, hmac.new(tag_key, nonce + sealed,
                                                                         hashlib.sha256).digest()):
        raise SealError("the TOTP secret was sealed under another secret_key or altered")
    return bytes(a ^ b for a, b in zip(sealed, _keystream(seal_key, nonce, len(sealed)), strict=True)).decode()


def matching_step(secret: str, code: str, at: float | None = None) -> int | None:
    """The time step whose code `code` is (within the allowed drift), or None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    now = time.time() if at is None else at
    current = int(now // STEP_SECONDS)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        # Every candidate is compared, so the answer time does not say which step matched.
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            found = step
    return found


class UsedCodes:
    """The last time step each user logged in with, so a code seen over someone's shoulder (or replayed from
    a captured request) cannot be used a second time. In memory: a restart forgets at most a minute's codes."""

    def __init__(self) -> None:
        self._last: dict[int, int] = {}
        self._lock = threading.Lock()

    def accept(self, user_id: int, secret: str, code: str, at: float | None = None) -> bool:
        step = matching_step(secret, code, at)
        if step is None:
            return False
        with self._lock:
            if step <= self._last.get(user_id, -1):
                return False
            self._last[user_id] = step
            return True
