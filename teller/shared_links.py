"""Shared links: a read-only dashboard of one site at a secret URL (`/share/<secret>`), stored in `shared_links`.

As with API tokens (teller/api_tokens.py) only a SHA-256 of the secret is stored and the URL is shown once, when
the link is made; the first characters of the hash are the link's id in listings and revocations. A link may
carry a password, stored only as an argon2id hash (teller/passwords.py). Revoking keeps the row, marked, so a
listing can say when a link ended; a revoked link opens nothing. A live link's label and password may be
changed; its secret (and so its id) never changes.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ingest.store import Store
from ingest.tokens import ID_LENGTH, token_hash

LINK_COLUMNS = ["secret_hash", "site_id", "label", "password_hash", "created_by", "created_at", "is_revoked",
                "revoked_at", "version"]
MAX_LABEL_LENGTH = 200
NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # revoked_at of a live link (the column is not Nullable)


@dataclass(frozen=True, slots=True)
class SharedLink:
    secret_hash: str
    site_id: int
    label: str
    password_hash: str  # argon2id; "" for a link without a password
    created_by: str  # the audit log's actor who made it
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def link_id(self) -> str:
        return self.secret_hash[:ID_LENGTH]

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def as_json(self) -> dict[str, object]:
        """What administrators see: never the secret, its hash or the password hash."""
        return {"link_id": self.link_id, "site_id": self.site_id, "label": self.label,
                "password": self.has_password, "created_by": self.created_by,
                "created_at": self.created_at.isoformat(),
                "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> SharedLink:
        # Listings carry only the id, which is all a client needs to revoke the link; the password only as a flag.
        revoked = data.get("revoked_at")
        return cls(str(data["link_id"]), int(str(data["site_id"])), str(data["label"]),
                   "(set)" if data.get("password") else "", str(data.get("created_by", "")),
                   datetime.fromisoformat(str(data["created_at"])),
                   datetime.fromisoformat(str(revoked)) if revoked else None)


def share_path(secret: str) -> str:
    return f"/share/{secret}"


def new_secret() -> str:
    # 192 random bits: as unguessable as an API token, and URL-safe as it stands.
    return secrets.token_urlsafe(24)


class SharedLinkStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def list(self, site_id: int | None = None, include_revoked: bool = False) -> list[SharedLink]:
        return [link for link, _ in self._rows(site_id, include_revoked)]

    def _rows(self, site_id: int | None, include_revoked: bool) -> list[tuple[SharedLink, int]]:
        """The links with the version of the row each was read from."""
        rows = self.store.client().query(
            "SELECT secret_hash, site_id, label, password_hash, created_by, created_at, is_revoked, revoked_at, "
            "version FROM shared_links FINAL "
            "WHERE ({site:Nullable(UInt32)} IS NULL OR site_id = {site:Nullable(UInt32)}) "
            "AND ({revoked:UInt8} = 1 OR is_revoked = 0) ORDER BY site_id, created_at, secret_hash",
            parameters={"site": site_id, "revoked": int(include_revoked)}).result_rows
        return [(SharedLink(digest, site, label, password, creator, created.replace(tzinfo=UTC),
                            revoked_at.replace(tzinfo=UTC) if is_revoked else None), version)
                for digest, site, label, password, creator, created, is_revoked, revoked_at, version in rows]

    def _write(self, link: SharedLink, version: int | None = None) -> None:
        self.store.client().insert("shared_links", [[
            link.secret_hash, link.site_id, link.label, link.password_hash, link.created_by, link.created_at,
            int(link.revoked), link.revoked_at or NEVER, version if version is not None else time.time_ns()]],
            column_names=LINK_COLUMNS)

    def _live_match(self, link_id: str, site_id: int | None) -> tuple[SharedLink, int]:
        """The one live link (of `site_id`, when given) whose id starts with `link_id`, with its row's version;
        KeyError when none or several do."""
        wanted = link_id.strip().lower()
        matches = [(link, version) for link, version in self._rows(site_id, include_revoked=False)
                   if wanted and link.secret_hash.startswith(wanted)]
        if len(matches) != 1:
            raise KeyError(link_id)
        return matches[0]

    def create(self, site_id: int, label: str, password_hash: str, created_by: str) -> tuple[str, SharedLink]:
        """A new link: (its secret, shown only now; its record)."""
        secret = new_secret()
        link = SharedLink(token_hash(secret), site_id, label.strip()[:MAX_LABEL_LENGTH], password_hash,
                          created_by, datetime.now(UTC).replace(microsecond=0))
        self._write(link)
        return secret, link

    def revoke(self, link_id: str, site_id: int | None = None) -> SharedLink:
        """Revoke the one live link (of `site_id`, when given) whose id starts with `link_id`; KeyError when none
        or several do."""
        link, _ = self._live_match(link_id, site_id)
        revoked = replace(link, revoked_at=datetime.now(UTC).replace(microsecond=0))
        self._write(revoked)
        return revoked

    def update(self, link_id: str, site_id: int | None = None, label: str | None = None,
               password_hash: str | None = None) -> tuple[SharedLink, SharedLink]:
        """Change the label and/or password of the one live link (of `site_id`, when given) whose id starts with
        `link_id`: (before, after). None leaves a field as it is; a `password_hash` of "" removes the password.
        KeyError when no single live link matches."""
        before, version = self._live_match(link_id, site_id)
        after = replace(before, label=before.label if label is None else label.strip()[:MAX_LABEL_LENGTH],
                        password_hash=before.password_hash if password_hash is None else password_hash)
        # Versioned just above the row read, not by the clock: a revocation written after that read (at a later
        # time_ns) outranks this row in ReplacingMergeTree, so a concurrent update never brings a revoked link
        # back to life.
        self._write(after, version + 1)
        return before, after

    def revoke_site(self, site_id: int) -> list[SharedLink]:
        """Revoke every link of a deleted site, so a later site that gets its id is not shown through them."""
        links = self.list(site_id)
        for link in links:
            self._write(replace(link, revoked_at=datetime.now(UTC).replace(microsecond=0)))
        return links
