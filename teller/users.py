"""Dashboard users and their per-site roles, stored in ClickHouse (`users`, `site_grants`).

A user is either a super-admin (the hosting provider: every site) or sees the sites granted to them, each as
'viewer' (read-only) or 'admin' (the site's owner, who may change its settings). Passwords are stored only as
argon2id hashes (teller/passwords.py); this module never sees a password.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from ingest.store import Store

ROLES = ("viewer", "admin")
USER_COLUMNS = ["user_id", "email", "password_hash", "is_super_admin", "totp_secret", "created_at", "version",
                "is_deleted"]
GRANT_COLUMNS = ["user_id", "site_id", "role", "granted_at", "version", "is_deleted"]
# Deliberately loose (the address is a login name, not a mailbox Teller writes to), but without spaces, slashes
# or a second @, so it is one unambiguous path segment in the admin API.
_EMAIL = re.compile(r"^[^@\s/\\]{1,64}@[^@\s/\\]{1,253}$")


class UserError(ValueError):
    """A user change is not allowed; the message says why."""


def normalize_email(email: str) -> str:
    cleaned = email.strip().lower()
    if not _EMAIL.match(cleaned) or not cleaned.isprintable():
        raise UserError(f"{email[:100]!r} is not an email address such as anna@example.com")
    return cleaned


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"role {role[:20]!r} is not one of {', '.join(ROLES)}")
    return role


@dataclass(frozen=True, slots=True)
class User:
    user_id: int
    email: str
    password_hash: str  # argon2id
    is_super_admin: bool
    totp_secret: str  # sealed (teller/totp.py); "" without a second factor
    created_at: datetime

    @property
    def has_totp(self) -> bool:
        return bool(self.totp_secret)


@dataclass(frozen=True, slots=True)
class Grant:
    user_id: int
    site_id: int
    role: str
    granted_at: datetime

    def as_json(self) -> dict[str, object]:
        return {"site_id": self.site_id, "role": self.role, "granted_at": self.granted_at.isoformat()}


@dataclass(frozen=True, slots=True)
class Account:
    """What administrators see of a user: never the password hash or the TOTP secret."""

    user_id: int
    email: str
    super_admin: bool
    totp: bool
    created_at: datetime
    grants: tuple[Grant, ...]

    def as_json(self) -> dict[str, object]:
        return {"user_id": self.user_id, "email": self.email, "super_admin": self.super_admin, "totp": self.totp,
                "created_at": self.created_at.isoformat(), "grants": [grant.as_json() for grant in self.grants]}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Account:
        grants = data.get("grants")
        user_id = int(str(data["user_id"]))
        return cls(user_id, str(data["email"]), bool(data["super_admin"]), bool(data["totp"]),
                   datetime.fromisoformat(str(data["created_at"])),
                   tuple(Grant(user_id, int(item["site_id"]), str(item["role"]),
                               datetime.fromisoformat(str(item["granted_at"])))
                         for item in grants if isinstance(item, dict)) if isinstance(grants, list) else ())


class UserStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()

    # Users ------------------------------------------------------------------------------------------------

    def users(self) -> list[User]:
        rows = self.store.client().query(
            "SELECT user_id, email, password_hash, is_super_admin, totp_secret, created_at FROM users FINAL "
            "WHERE is_deleted = 0 ORDER BY user_id").result_rows
        return [User(user_id, email, password_hash, bool(is_super), totp, created.replace(tzinfo=UTC))
                for user_id, email, password_hash, is_super, totp, created in rows]

    def by_email(self, email: str) -> User | None:
        email = normalize_email(email)
        return next((user for user in self.users() if user.email == email), None)

    def write(self, user: User, deleted: bool = False) -> None:
        # The version is a nanosecond clock so the newest write wins after merges.
        self.store.client().insert("users", [[
            user.user_id, user.email, user.password_hash, int(user.is_super_admin), user.totp_secret,
            user.created_at, time.time_ns(), int(deleted)]], column_names=USER_COLUMNS)

    def add(self, email: str, password_hash: str, super_admin: bool) -> User:
        email = normalize_email(email)
        with self._lock:
            if self.by_email(email) is not None:
                raise UserError(f"a user {email} exists already")
            # A deleted user's row stays (marked is_deleted), so max() does not hand out its id again; its grants
            # and tokens are removed at deletion as well.
            next_id = self.store.client().query("SELECT max(user_id) + 1 FROM users").result_rows[0][0]
            user = User(max(int(next_id), 1), email, password_hash, super_admin, "",
                        datetime.now(UTC).replace(microsecond=0))
            self.write(user)
        return user

    def delete(self, user: User) -> None:
        for grant in self.grants(user_id=user.user_id):
            self.revoke(user.user_id, grant.site_id)
        self.write(user, deleted=True)

    # Grants -----------------------------------------------------------------------------------------------

    def grants(self, user_id: int | None = None, site_id: int | None = None) -> list[Grant]:
        rows = self.store.client().query(
            "SELECT user_id, site_id, role, granted_at FROM site_grants FINAL WHERE is_deleted = 0 "
            "AND ({user:Nullable(UInt32)} IS NULL OR user_id = {user:Nullable(UInt32)}) "
            "AND ({site:Nullable(UInt32)} IS NULL OR site_id = {site:Nullable(UInt32)}) "
            "ORDER BY user_id, site_id", parameters={"user": user_id, "site": site_id}).result_rows
        return [Grant(user, site, role, granted.replace(tzinfo=UTC)) for user, site, role, granted in rows]

    def _write_grant(self, grant: Grant, deleted: bool = False) -> None:
        self.store.client().insert("site_grants", [[grant.user_id, grant.site_id, grant.role, grant.granted_at,
                                                    time.time_ns(), int(deleted)]], column_names=GRANT_COLUMNS)

    def grant(self, user_id: int, site_id: int, role: str) -> Grant:
        grant = Grant(user_id, site_id, check_role(role), datetime.now(UTC).replace(microsecond=0))
        self._write_grant(grant)
        return grant

    def revoke(self, user_id: int, site_id: int) -> Grant:
        found = self.grants(user_id=user_id, site_id=site_id)
        if not found:
            raise KeyError((user_id, site_id))
        self._write_grant(found[0], deleted=True)
        return found[0]

    def delete_site(self, site_id: int) -> list[Grant]:
        """Remove every grant on a deleted site, so a later site that gets its id is not shown to them."""
        grants = self.grants(site_id=site_id)
        for grant in grants:
            self._write_grant(grant, deleted=True)
        return grants

    def accounts(self) -> list[Account]:
        grants: dict[int, list[Grant]] = {}
        for grant in self.grants():
            grants.setdefault(grant.user_id, []).append(grant)
        return [account(user, grants.get(user.user_id, [])) for user in self.users()]


def account(user: User, grants: list[Grant]) -> Account:
    return Account(user.user_id, user.email, user.is_super_admin, user.has_totp, user.created_at, tuple(grants))
