"""The retention audit: what Teller holds, against what each site's policy allows, and enforcing it now.

Everything is read from ClickHouse itself (system.tables, system.parts and the data), so the report shows what
is stored, not what Teller believes it configured. Enforcement asks ClickHouse to apply the tables' TTLs at once
(ALTER TABLE … MATERIALIZE TTL); it also repairs the two things a TTL cannot see: rows whose retention column is
stale after a failed policy change, and rows of sites that no longer exist.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from ingest.sites import RAW_TABLES, ROLLUP_TABLES, SiteRegistry
from ingest.store import Store
from teller.audit_log import AuditEntry, AuditLog

ENFORCE_ACTION = "retention.enforce"
_TTL = re.compile(r"\bTTL\s+(.+?)(?:\s+SETTINGS\s|$)", re.DOTALL)
# The time column each tiered table expires by, and whether it is a Date (whole days) or a DateTime.
_TIME_COLUMN = {"events": "ts", "sessions": "start", "page_visits": "ts", "rollups": "day", "rollup_months": "month"}
TIERS = {"raw": RAW_TABLES, "rollups": ROLLUP_TABLES}


@dataclass(frozen=True, slots=True)
class TableReport:
    name: str
    ttl: str  # the TTL expression as ClickHouse reports it; "" when the table has none
    rows: int
    bytes_on_disk: int


@dataclass(slots=True)
class TierReport:
    tier: str  # "raw" or "rollups"
    retention_days: int  # the site's policy; 0 for rows of a deleted site
    rows: int = 0
    oldest: str | None = None  # ISO date or time of the oldest row
    newest: str | None = None
    rows_past_policy: int = 0
    rows_with_stale_retention: int = 0  # rows whose retention column disagrees with the policy


@dataclass(slots=True)
class SiteReport:
    site_id: int
    name: str  # "" for a deleted site whose rows remain
    tiers: dict[str, TierReport] = field(default_factory=dict)

    @property
    def rows_past_policy(self) -> int:
        return sum(tier.rows_past_policy for tier in self.tiers.values())


@dataclass(slots=True)
class AuditReport:
    generated_at: datetime
    database: str
    tables: list[TableReport]
    sites: list[SiteReport]
    last_enforced: AuditEntry | None
    log: list[AuditEntry]
    removed: dict[str, int] | None = None  # rows removed per table, when this run enforced

    @property
    def rows_past_policy(self) -> int:
        return sum(site.rows_past_policy for site in self.sites)

    def as_json(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at.isoformat(),
            "database": self.database,
            "rows_past_policy": self.rows_past_policy,
            "tables": [asdict(table) for table in self.tables],
            "sites": [{"site_id": site.site_id, "name": site.name, "rows_past_policy": site.rows_past_policy,
                       "tiers": {name: asdict(tier) for name, tier in site.tiers.items()}} for site in self.sites],
            "last_enforced": self.last_enforced.as_json() if self.last_enforced else None,
            "removed": self.removed,
            "audit_log": [entry.as_json() for entry in self.log],
        }


def _iso(value: datetime | date) -> str:
    return value.isoformat() if isinstance(value, date) and not isinstance(value, datetime) \
        else value.replace(tzinfo=UTC).isoformat()


class RetentionAudit:
    def __init__(self, store: Store, registry: SiteRegistry, audit_log: AuditLog) -> None:
        self.store = store
        self.registry = registry
        self.audit_log = audit_log

    def tables(self) -> list[TableReport]:
        client = self.store.client()
        parts = {name: (int(rows), int(size)) for name, rows, size in client.query(
            "SELECT table, sum(rows), sum(bytes_on_disk) FROM system.parts "
            "WHERE database = currentDatabase() AND active GROUP BY table").result_rows}
        reports = []
        for name, create in client.query("SELECT name, create_table_query FROM system.tables "
                                         "WHERE database = currentDatabase() ORDER BY name").result_rows:
            match = _TTL.search(create)
            rows, size = parts.get(name, (0, 0))
            reports.append(TableReport(name, match.group(1).strip() if match else "", rows, size))
        return reports

    def _tier_rows(self, table: str, policy_column: str) -> list[tuple[Any, ...]]:
        """Per site: rows, oldest, newest, rows past the site's policy, rows with a stale retention column.

        Rows of a site that no longer exists join no policy (retention 0), so they count as past it."""
        column = _TIME_COLUMN[table]
        expires = f"{column} + toIntervalDay(policy.days) <= " + ("today()" if column in ("day", "month") else "now()")
        sql = (f"SELECT t.site_id, count(), min({column}), max({column}), countIf({expires}), "  # noqa: S608
               f"countIf(t.retention_days != policy.days) FROM {{table:Identifier}} AS t "
               f"LEFT JOIN (SELECT site_id, {policy_column} AS days FROM sites FINAL WHERE is_deleted = 0) "
               "AS policy ON t.site_id = policy.site_id GROUP BY t.site_id ORDER BY t.site_id")
        return list(self.store.client().query(sql, parameters={"table": table},
                                              settings={"join_use_nulls": 0}).result_rows)

    def sites(self) -> list[SiteReport]:
        known = {site.site_id: site for site in self.registry.list()}
        reports = {site_id: SiteReport(site_id, site.name) for site_id, site in known.items()}
        for tier, tables in TIERS.items():
            policy_column = "retention_days" if tier == "raw" else "rollup_retention_days"
            for site_id, site in known.items():
                days = site.retention_days if tier == "raw" else site.rollup_retention_days
                reports[site_id].tiers[tier] = TierReport(tier, days)
            for table in tables:
                for site_id, rows, oldest, newest, past, stale in self._tier_rows(table, policy_column):
                    report = reports.setdefault(site_id, SiteReport(site_id, ""))
                    entry = report.tiers.setdefault(tier, TierReport(tier, 0))
                    entry.rows += rows
                    entry.oldest = min(filter(None, (entry.oldest, _iso(oldest))))
                    entry.newest = max(filter(None, (entry.newest, _iso(newest))))
                    entry.rows_past_policy += past
                    entry.rows_with_stale_retention += stale if site_id in known else 0
        return [reports[site_id] for site_id in sorted(reports)]

    def report(self, log_entries: int = 50) -> AuditReport:
        database = self.store.client().query("SELECT currentDatabase()").result_rows[0][0]
        return AuditReport(datetime.now(UTC), database, self.tables(), self.sites(),
                           self.audit_log.last(ENFORCE_ACTION), self.audit_log.entries(log_entries))

    def enforce(self, actor: str) -> AuditReport:
        """Apply every retention policy now; the report says what was removed."""
        before = {table.name: table.rows for table in self.tables()}
        client = self.store.client()
        live = [site.site_id for site in self.registry.list()]
        for site in self.sites():
            for tier, report in site.tiers.items():
                if report.rows_with_stale_retention and site.site_id in live:
                    self.registry.reapply_retention(TIERS[tier], site.site_id, report.retention_days)
        for table in (*RAW_TABLES, *ROLLUP_TABLES):
            # Rows of deleted sites: a site's deletion removes them, unless it was interrupted.
            client.command("DELETE FROM {table:Identifier} WHERE site_id NOT IN {live:Array(UInt32)}",
                           parameters={"table": table, "live": live})
        for table in self.tables():
            if table.ttl:
                client.command("ALTER TABLE {table:Identifier} MATERIALIZE TTL", parameters={"table": table.name},
                               settings={"mutations_sync": 2})
        after = {table.name: table.rows for table in self.tables()}
        removed = {name: before[name] - after.get(name, 0) for name in before if before[name] > after.get(name, 0)}
        self.audit_log.record(actor, ENFORCE_ACTION, target="all tables", details={"removed_rows": removed})
        report = self.report()
        report.removed = removed
        return report


def render_text(report: dict[str, Any]) -> str:
    """The report (as_json form, which is also what the admin API sends) as plain text for a terminal."""
    lines = [f"Teller retention audit of database {report['database']}, {report['generated_at'][:19]} UTC",
             "", f"{'table':<20} {'rows':>12} {'bytes':>14}  TTL"]
    lines += [f"{table['name']:<20} {table['rows']:>12,} {table['bytes_on_disk']:>14,}  {table['ttl'] or '(none)'}"
              for table in report["tables"]]
    lines += ["", f"{'site':<24} {'tier':<8} {'policy':>7} {'rows':>10} {'oldest':<20} {'newest':<20} "
                  f"{'past policy':>11}"]
    for site in report["sites"]:
        label = f"{site['site_id']} {site['name'] or '(deleted site)'}"[:24]
        for tier in site["tiers"].values():
            policy = f"{tier['retention_days']}d" if tier["retention_days"] else "none"
            lines.append(f"{label:<24} {tier['tier']:<8} {policy:>7} {tier['rows']:>10,} "
                         f"{(tier['oldest'] or '-')[:19]:<20} {(tier['newest'] or '-')[:19]:<20} "
                         f"{tier['rows_past_policy']:>11,}")
            label = ""
    enforced = report["last_enforced"]
    lines += ["", f"Last enforcement: {enforced['at'][:19]} UTC by {enforced['actor']}" if enforced
              else "Last enforcement: never by hand (TTL merges delete expired rows in the background)"]
    if report["removed"] is not None:
        removed = ", ".join(f"{table} {rows:,}" for table, rows in report["removed"].items()) or "nothing"
        lines.append(f"Removed now: {removed}")
    lines.append(f"Rows past their policy: {report['rows_past_policy']:,}")
    if report["audit_log"]:
        lines += ["", "Administrative changes (newest first):"]
        lines += [f"  {entry['at'][:19]}  {entry['actor']:<30} {entry['action']:<17} "
                  f"{('site ' + str(entry['site_id'])) if entry['site_id'] else '':<9} {entry['target']}"
                  for entry in report["audit_log"]]
    return "\n".join(lines) + "\n"
