"""Who sees what: the viewer behind a request (a logged-in user, a user's API token or a shared link) and the
sites they reach.

The dashboard and the Stats API ask on every request, so the users, grants, API tokens, shared links and revoked
sessions are kept in memory (one Snapshot) and reloaded after a change made through this process and every few seconds;
another Teller node on the same ClickHouse sees a change within `max_age_seconds`.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ingest.snapshot import Snapshot
from ingest.store import Store
from ingest.tokens import token_hash
from teller.api_tokens import ApiToken, ApiTokenStore
from teller.shared_links import SharedLink, SharedLinkStore
from teller.users import User, UserStore


@dataclass(frozen=True, slots=True)
class Viewer:
    """A user as one request acts: every site (a super-admin's session or unscoped token) or the sites in
    `roles` ('viewer' or 'admin' each)."""

    user: User
    every_site: bool
    roles: dict[int, str] = field(default_factory=dict)
    token: ApiToken | None = None

    @property
    def is_super_admin(self) -> bool:
        return self.every_site

    def can_see(self, site_id: int) -> bool:
        return self.every_site or site_id in self.roles

    def role(self, site_id: int) -> str | None:
        return "admin" if self.every_site else self.roles.get(site_id)


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class RevokedSessions:
    """Session ids ended by logout, kept until the session's cookie would have expired on its own (TTL)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def revoke(self, session_id: str, expires_at: datetime) -> None:
        self.store.client().insert("revoked_sessions", [[session_hash(session_id), expires_at]],
                                   column_names=["session_hash", "expires_at"])

    def current(self) -> frozenset[str]:
        rows = self.store.client().query("SELECT session_hash FROM revoked_sessions WHERE expires_at > now()")
        return frozenset(row[0] for row in rows.result_rows)


@dataclass(frozen=True, slots=True)
class _Directory:
    users: dict[int, User]
    by_email: dict[str, User]
    roles: dict[int, dict[int, str]]  # user id -> site id -> role
    tokens: dict[str, ApiToken]  # SHA-256 of the token -> token
    revoked: frozenset[str]
    shared_links: dict[str, SharedLink]  # SHA-256 of the link's secret -> live link


def _load(store: Store) -> _Directory:
    users = UserStore(store)
    everyone = users.users()
    roles: dict[int, dict[int, str]] = {}
    for grant in users.grants():
        roles.setdefault(grant.user_id, {})[grant.site_id] = grant.role
    return _Directory({user.user_id: user for user in everyone}, {user.email: user for user in everyone}, roles,
                      {token.token_hash: token for token in ApiTokenStore(store).list()},
                      RevokedSessions(store).current(),
                      {link.secret_hash: link for link in SharedLinkStore(store).list()})


class AccessDirectory:
    def __init__(self, store: Store, max_age_seconds: float = 5.0) -> None:
        self.store = store
        self._snapshot: Snapshot[_Directory] = Snapshot(
            lambda: _load(store), _Directory({}, {}, {}, {}, frozenset(), {}), "the users and their grants",
            max_age_seconds)

    def invalidate(self) -> None:
        self._snapshot.invalidate()

    def user(self, user_id: int) -> User | None:
        return self._snapshot.get().users.get(user_id)

    def user_by_email(self, email: str) -> User | None:
        return self._snapshot.get().by_email.get(email.strip().lower())

    def is_revoked(self, session_id: str) -> bool:
        return session_hash(session_id) in self._snapshot.get().revoked

    def revoke_session(self, session_id: str, lifetime: timedelta) -> None:
        RevokedSessions(self.store).revoke(session_id, datetime.now(UTC).replace(microsecond=0) + lifetime)
        self.invalidate()

    def viewer(self, user: User) -> Viewer:
        """A logged-in user: a super-admin sees every site, anyone else their granted sites."""
        if user.is_super_admin:
            return Viewer(user, every_site=True)
        return Viewer(user, every_site=False, roles=dict(self._snapshot.get().roles.get(user.user_id, {})))

    def viewer_for_token(self, secret: str) -> Viewer | None:
        """The viewer a Stats API token acts as, or None for an unknown or revoked token (or a deleted user)."""
        directory = self._snapshot.get()
        token = directory.tokens.get(token_hash(secret)) if secret else None
        user = directory.users.get(token.user_id) if token else None
        if token is None or user is None:
            return None
        granted = self.viewer(user)
        if not token.site_ids:
            return Viewer(user, granted.every_site, granted.roles, token)
        # A narrowed token never reaches beyond its sites, not even for a super-admin (then it is no super-admin).
        roles = {site: granted.role(site) or "" for site in token.site_ids if granted.can_see(site)}
        return Viewer(user, every_site=False, roles=roles, token=token)

    def shared_link(self, secret: str) -> SharedLink | None:
        """The live link a `/share/<secret>` URL names, or None (unknown or revoked)."""
        if not secret:
            return None
        digest = token_hash(secret)
        # Looked up by the secret's SHA-256, so lookup time tells nothing about the secret; the final comparison
        # is constant-time all the same.
        link = self._snapshot.get().shared_links.get(digest)
        return link if link is not None and hmac.compare_digest(link.secret_hash, digest) else None
