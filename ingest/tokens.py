"""Per-site tracking tokens: what a server-side tracker shows to set `cip`, `cdt` or a location.

Matomo lets only an authenticated sender override the visitor's address, the time of a hit or its location
(Request::isAuthenticated); Teller does the same with tokens that belong to one site. Only a SHA-256 of each
token is stored; the token itself is shown once, when it is created.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from ingest.snapshot import Snapshot
from ingest.store import Store

TOKEN_COLUMNS = ["token_hash", "site_id", "label", "created_at", "version", "is_deleted"]
ID_LENGTH = 12  # the first characters of the hash identify a token in lists and revocations


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class TrackingToken:
    token_id: str
    site_id: int
    label: str
    created_at: datetime

    def as_json(self) -> dict[str, object]:
        return {"token_id": self.token_id, "site_id": self.site_id, "label": self.label,
                "created_at": self.created_at.isoformat()}


class TokenRegistry:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _rows(self) -> list[tuple[str, int, str, datetime]]:
        return [(row[0], row[1], row[2], row[3].replace(tzinfo=UTC)) for row in self.store.client().query(
            "SELECT token_hash, site_id, label, created_at FROM tracking_tokens FINAL WHERE is_deleted = 0 "
            "ORDER BY site_id, created_at").result_rows]

    def list(self, site_id: int | None = None) -> list[TrackingToken]:
        return [TrackingToken(digest[:ID_LENGTH], site, label, created) for digest, site, label, created
                in self._rows() if site_id is None or site == site_id]

    def hashes(self) -> dict[str, int]:
        """token hash -> site id, for the ingest path's cache."""
        return {digest: site for digest, site, _, _ in self._rows()}

    def create(self, site_id: int, label: str) -> tuple[str, TrackingToken]:
        """A new token for the site: (the token, shown only now; its record)."""
        token = secrets.token_hex(16)
        created = datetime.now(UTC).replace(microsecond=0)
        self.store.client().insert("tracking_tokens", [[token_hash(token), site_id, label[:200], created,
                                                        time.time_ns(), 0]], column_names=TOKEN_COLUMNS)
        return token, TrackingToken(token_hash(token)[:ID_LENGTH], site_id, label[:200], created)

    def revoke(self, token_id: str) -> TrackingToken:
        matches = [row for row in self._rows() if row[0].startswith(token_id.lower())] if token_id else []
        if len(matches) != 1:
            raise KeyError(token_id)
        digest, site, label, created = matches[0]
        self.store.client().insert("tracking_tokens", [[digest, site, label, created, time.time_ns(), 1]],
                                   column_names=TOKEN_COLUMNS)
        return TrackingToken(digest[:ID_LENGTH], site, label, created)

    def delete_site(self, site_id: int) -> None:
        for token in self.list(site_id):
            self.revoke(token.token_id)


class TokenCache:
    """The ingest path's view of the tokens, refreshed after changes and every few seconds."""

    def __init__(self, registry: TokenRegistry, max_age_seconds: float = 10.0) -> None:
        self.registry = registry
        self._snapshot: Snapshot[dict[str, int]] = Snapshot(registry.hashes, {}, "the tracking tokens",
                                                             max_age_seconds)

    def invalidate(self) -> None:
        self._snapshot.invalidate()

    def allows(self, token: str, site_id: int) -> bool:
        """True when `token` is a live tracking token of this site."""
        return bool(token) and self._snapshot.get().get(token_hash(token)) == site_id
