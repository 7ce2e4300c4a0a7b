"""Users' tokens for the Stats API (`Authorization: Bearer …`), stored in `user_api_tokens`.

A token acts for its user and may be narrowed to some sites; what it reaches is always its sites ∩ its user's
sites at the time of the request, so revoking a grant also narrows every token of that user. As with tracking
tokens (ingest/tokens.py) only a SHA-256 is stored and the token is shown once.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from ingest.store import Store
from ingest.tokens import ID_LENGTH, token_hash

TOKEN_COLUMNS = ["token_hash", "user_id", "site_ids", "label", "created_at", "version", "is_deleted"]
# Makes a leaked token recognisable (secret scanners, logs) and tells it apart from tracking tokens.
PREFIX = "teller_"


@dataclass(frozen=True, slots=True)
class ApiToken:
    token_hash: str
    user_id: int
    site_ids: tuple[int, ...]  # empty: every site its user may see
    label: str
    created_at: datetime
    email: str = ""  # the user's, filled in for listings

    @property
    def token_id(self) -> str:
        return self.token_hash[:ID_LENGTH]

    def as_json(self) -> dict[str, object]:
        return {"token_id": self.token_id, "user_id": self.user_id, "email": self.email,
                "site_ids": list(self.site_ids), "label": self.label, "created_at": self.created_at.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ApiToken:
        sites = data.get("site_ids")
        # Listings carry only the id (the hash's first characters), which is all a client needs to revoke it.
        return cls(str(data["token_id"]), int(str(data["user_id"])),
                   tuple(int(site) for site in sites) if isinstance(sites, list) else (), str(data["label"]),
                   datetime.fromisoformat(str(data["created_at"])), str(data.get("email", "")))


class ApiTokenStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def list(self, user_id: int | None = None) -> list[ApiToken]:
        rows = self.store.client().query(
            "SELECT token_hash, user_id, site_ids, label, created_at FROM user_api_tokens FINAL "
            "WHERE is_deleted = 0 AND ({user:Nullable(UInt32)} IS NULL OR user_id = {user:Nullable(UInt32)}) "
            "ORDER BY user_id, created_at", parameters={"user": user_id}).result_rows
        return [ApiToken(digest, user, tuple(sites), label, created.replace(tzinfo=UTC))
                for digest, user, sites, label, created in rows]

    def _write(self, token: ApiToken, deleted: bool = False) -> None:
        self.store.client().insert("user_api_tokens", [[token.token_hash, token.user_id, list(token.site_ids),
                                                        token.label, token.created_at, time.time_ns(),
                                                        int(deleted)]], column_names=TOKEN_COLUMNS)

    def create(self, user_id: int, site_ids: tuple[int, ...], label: str) -> tuple[str, ApiToken]:
        """A new token: (the token, shown only now; its record)."""
        secret = PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(token_hash(secret), user_id, tuple(sorted(set(site_ids))), label[:200],
                         datetime.now(UTC).replace(microsecond=0))
        self._write(token)
        return secret, token

    def revoke(self, token_id: str) -> ApiToken:
        """Revoke the one token whose id starts with `token_id`; KeyError when none or several do."""
        wanted = token_id.strip().lower()
        matches = [token for token in self.list() if wanted and token.token_hash.startswith(wanted)]
        if len(matches) != 1:
            raise KeyError(token_id)
        self._write(matches[0], deleted=True)
        return matches[0]

    def delete_user(self, user_id: int) -> None:
        for token in self.list(user_id):
            self._write(token, deleted=True)
