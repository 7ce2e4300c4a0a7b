"""The append-only log of administrative changes: who changed what, when.

Sites, retention, tracking tokens, retention enforcement and data-subject exports and deletions are recorded
here by the admin layer (CLI and admin API alike). Teller only ever inserts into `audit_log`.
"""

from __future__ import annotations

import getpass
import json
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ingest.store import Store

MAX_ACTOR_LENGTH = 200


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str  # e.g. "site.update", "subject.delete", "retention.enforce"
    site_id: int  # 0 when the change concerns no single site
    target: str  # what was changed, e.g. a token id or "visitor 1a2b…"
    details: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "actor": self.actor, "action": self.action, "site_id": self.site_id,
                "target": self.target, "details": self.details}


def local_actor() -> str:
    """Who runs this CLI: the operating-system user on this host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"


def clean_actor(text: str) -> str:
    """An actor name as given by a caller, kept printable and short."""
    printable = "".join(char for char in text if char.isprintable())
    return printable.strip()[:MAX_ACTOR_LENGTH] or "unknown"


class AuditLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, actor: str, action: str, *, site_id: int = 0, target: str = "",
               details: dict[str, Any] | None = None) -> AuditEntry:
        entry = AuditEntry(datetime.now(UTC), clean_actor(actor), action, site_id, target, details or {})
        self.store.client().insert(
            "audit_log",
            [[entry.at, entry.actor, entry.action, entry.site_id, entry.target,
              json.dumps(entry.details, sort_keys=True, default=str)]],
            column_names=["at", "actor", "action", "site_id", "target", "details"])
        return entry

    def entries(self, limit: int = 100, site_id: int | None = None, action: str | None = None) -> list[AuditEntry]:
        """The newest entries first."""
        rows = self.store.client().query(
            "SELECT at, actor, action, site_id, target, details FROM audit_log "
            "WHERE ({site:Nullable(UInt32)} IS NULL OR site_id = {site:Nullable(UInt32)}) "
            "AND ({action:Nullable(String)} IS NULL OR action = {action:Nullable(String)}) "
            "ORDER BY at DESC LIMIT {limit:UInt32}",
            parameters={"site": site_id, "action": action, "limit": limit}).result_rows
        return [AuditEntry(at.replace(tzinfo=UTC), actor, kind, site, target, json.loads(details or "{}"))
                for at, actor, kind, site, target, details in rows]

    def last(self, action: str) -> AuditEntry | None:
        found = self.entries(limit=1, action=action)
        return found[0] if found else None
