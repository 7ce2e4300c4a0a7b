"""Data-subject requests: find, export and delete every stored row of one visitor.

A visitor is named by what they can show: the visitor id in their `_pk_id` cookie (16 hex digits, the part
before the first dot), the user id a site sent as `uid`, or, on a cookieless day, their address and browser on
that day (recomputed under that day's salt while it exists: after two days nobody can link those rows to anyone,
which is the point). Only the raw tier holds subject data; rollups hold counts and salted states.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ingest.identity import visitor_id
from ingest.ipmask import mask_address
from ingest.salts import SaltBook
from ingest.sites import Site
from ingest.store import Store

HEX16_LENGTH = 16
MAX_USER_ID_LENGTH = 1000


class SubjectError(ValueError):
    """The request does not name a visitor; the message says how to."""


@dataclass(frozen=True, slots=True)
class Subject:
    visitor_ids: tuple[int, ...]
    user_id: str = ""  # rows sent with this uid, whatever their visitor id
    site_id: int | None = None  # only this site's rows; None: every site

    def describe(self) -> str:
        who = f"user id {self.user_id!r}" if self.user_id else \
            "visitor " + ", ".join(f"{value:016x}" for value in self.visitor_ids)
        return who + (f" on site {self.site_id}" if self.site_id is not None else "")

    def as_json(self) -> dict[str, Any]:
        return {"visitor_ids": [f"{value:016x}" for value in self.visitor_ids], "user_id": self.user_id,
                "site_id": self.site_id}


def by_visitor(text: str, site_id: int | None = None) -> Subject:
    """From the `_pk_id` cookie value: its first 16 hex digits ("1a2b3c4d5e6f7a8b.1700000000." works too)."""
    head = text.strip().split(".", 1)[0].lower()
    if len(head) != HEX16_LENGTH or any(char not in "0123456789abcdef" for char in head):
        raise SubjectError("a visitor id is the 16 hexadecimal digits at the start of the _pk_id cookie's value")
    return Subject((int(head, 16),), site_id=site_id)


def by_user_id(user_id: str, site_id: int | None = None) -> Subject:
    if not 0 < len(user_id) <= MAX_USER_ID_LENGTH:
        raise SubjectError(f"a user id has 1 to {MAX_USER_ID_LENGTH} characters")
    # Matomo's visitor id for a user id (ingest/identity.py): the rows of every device the user logged in on.
    hashed = int(hashlib.sha1(user_id.encode("utf-8")).hexdigest()[:HEX16_LENGTH], 16)  # noqa: S324
    return Subject((hashed,), user_id=user_id, site_id=site_id)


def by_cookieless(site: Site, day: date, address: str, user_agent: str, secret_key: bytes,
                  salts: SaltBook) -> Subject:
    """The cookieless id a visitor had on one site-local day, from their address and user agent then."""
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        raise SubjectError(f"{address!r} is not an IP address") from None
    salt = salts.existing(site.site_id, day)
    if salt is None:
        raise SubjectError(f"the salt of {day} has been deleted (salts are kept two days), so no stored row can "
                           "be linked to that address and browser any more")
    masked = mask_address(parsed, site.ipv4_mask_bytes, site.ipv6_prefix_bits)
    identity = visitor_id({}, site.site_id, day, masked, user_agent, secret_key, lambda: salt, cookieless=True)
    return Subject((identity,), site_id=site.site_id)


# Which rows belong to the subject; sessions have no user id column, only the visitor id. page_visits, the
# page views of events again, has none either: its rows of a user id are those of the user's visits in events.
_IN_SITE = "({site:Nullable(UInt32)} IS NULL OR site_id = {site:Nullable(UInt32)})"
_EVENTS_MATCH = f"(visitor_id IN {{ids:Array(UInt64)}} OR (user_id != '' AND user_id = {{uid:String}})) AND {_IN_SITE}"
_SESSIONS_MATCH = f"visitor_id IN {{ids:Array(UInt64)}} AND {_IN_SITE}"
_PAGE_VISITS_MATCH = (f"(visitor_id IN {{ids:Array(UInt64)}} OR visit_id IN (SELECT visit_id FROM events "  # noqa: S608
                      f"WHERE user_id != '' AND user_id = {{uid:String}} AND {_IN_SITE})) AND {_IN_SITE}")
# One entry per raw table, in the order they are deleted: page_visits before the events its match reads.
MATCH = {"page_visits": _PAGE_VISITS_MATCH, "events": _EVENTS_MATCH, "sessions": _SESSIONS_MATCH}


def _parameters(subject: Subject) -> dict[str, Any]:
    return {"ids": list(subject.visitor_ids), "uid": subject.user_id, "site": subject.site_id}


def _plain(value: Any) -> Any:
    """A ClickHouse value as JSON and CSV can hold it."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


class SubjectData:
    def __init__(self, store: Store) -> None:
        self.store = store

    def find(self, subject: Subject) -> list[dict[str, Any]]:
        """Per site and table: how many rows, first and last time seen."""
        found = []
        for table, time_column in (("events", "ts"), ("sessions", "start")):
            sql = (f"SELECT site_id, count(), min({time_column}), max({time_column}) "  # noqa: S608 - constants
                   f"FROM {table} WHERE {MATCH[table]} GROUP BY site_id ORDER BY site_id")
            result = self.store.client().query(sql, parameters=_parameters(subject))
            for site_id, rows, first, last in result.result_rows:
                found.append({"site_id": site_id, "table": table, "rows": rows, "first": _plain(first),
                              "last": _plain(last)})
        return found

    def export(self, subject: Subject) -> dict[str, list[dict[str, Any]]]:
        """Every stored event of the subject, and their visits as stored after collapsing (one row each)."""
        client = self.store.client()
        events = client.query(f"SELECT * FROM events WHERE {MATCH['events']} ORDER BY ts",  # noqa: S608
                              parameters=_parameters(subject))
        visits = client.query(f"SELECT * FROM sessions FINAL WHERE {MATCH['sessions']} AND sign = 1 "  # noqa: S608
                              "ORDER BY start", parameters=_parameters(subject))
        return {name: [{column: _plain(value) for column, value in zip(result.column_names, row, strict=True)}
                       for row in result.result_rows]
                for name, result in (("events", events), ("visits", visits))}

    def delete(self, subject: Subject) -> dict[str, int]:
        """Delete the subject's raw rows; returns rows deleted per table.

        Lightweight DELETE masks the rows at once and merges drop them from disk; a spool replay cannot bring
        them back, because a shipped segment's deduplication token is remembered by the table."""
        counts: dict[str, int] = {}
        for row in self.find(subject):
            counts[row["table"]] = counts.get(row["table"], 0) + int(row["rows"])
        client = self.store.client()
        for table in MATCH:
            client.command(f"DELETE FROM {table} WHERE {MATCH[table]}",  # noqa: S608 - constants; values bound
                           parameters=_parameters(subject), settings={"lightweight_deletes_sync": 2})
        return counts
