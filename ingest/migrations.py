"""Versioned, idempotent schema migrations. Run by `teller migrate` and at every start.

Each migration is a list of statements that are safe to run twice (IF NOT EXISTS and friends), so a crash
between a statement and the bookkeeping row only repeats harmless work. Applied versions are recorded in
`schema_migrations`.

The table design follows Plausible's proven events table (ORDER BY site, day, name, visitor) with what it
lacks: every event row carries its site's retention in days and the table TTL deletes the row when it is older
than that, so sites with different policies share one table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from ingest.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version UInt32,
    name String,
    applied_at DateTime('UTC')
) ENGINE = ReplacingMergeTree ORDER BY version
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "sites", (
        # Few rows, changed rarely; ReplacingMergeTree keeps the newest version of each site, and a row with
        # is_deleted = 1 hides it. Readers use FINAL.
        """
        CREATE TABLE IF NOT EXISTS sites (
            site_id UInt32,
            name String,
            domains Array(String),
            timezone String,
            retention_days UInt16,
            created_at DateTime('UTC'),
            version UInt64,
            is_deleted UInt8
        ) ENGINE = ReplacingMergeTree(version, is_deleted)
        ORDER BY site_id
        """,
    )),
    Migration(2, "events", (
        """
        CREATE TABLE IF NOT EXISTS events (
            site_id UInt32,
            ts DateTime('UTC') CODEC(Delta(4), LZ4),
            name LowCardinality(String),
            visitor_id UInt64,
            visit_id UInt64,
            pageview_id String,
            hostname LowCardinality(String),
            pathname String CODEC(ZSTD(3)),
            url String CODEC(ZSTD(3)),
            title String CODEC(ZSTD(3)),
            referrer String CODEC(ZSTD(3)),
            referrer_host LowCardinality(String),
            ip_masked String CODEC(ZSTD(3)),
            country_code LowCardinality(String),
            region LowCardinality(String),
            city LowCardinality(String),
            browser LowCardinality(String),
            browser_version LowCardinality(String),
            os LowCardinality(String),
            os_version LowCardinality(String),
            device_type LowCardinality(String),
            screen_size LowCardinality(String),
            language LowCardinality(String),
            local_hour Int8,
            retention_days UInt16
        ) ENGINE = MergeTree
        PARTITION BY toYYYYMM(ts)
        ORDER BY (site_id, toDate(ts), name, visitor_id, ts)
        TTL ts + toIntervalDay(retention_days)
        """,
    )),
    Migration(3, "dropped_hits", (
        # Hits dropped at ingest (wrong host, bots, ...) counted per site, day and reason, so a site owner
        # can see why a page view did not show up. Counts only: nothing about the visitor.
        """
        CREATE TABLE IF NOT EXISTS dropped_hits (
            site_id UInt32,
            day Date,
            reason LowCardinality(String),
            hits UInt64
        ) ENGINE = SummingMergeTree(hits)
        ORDER BY (site_id, day, reason)
        TTL day + toIntervalDay(400)
        """,
    )),
)


def applied_versions(store: Store) -> set[int]:
    client = store.client()
    client.command(BOOKKEEPING)
    return {row[0] for row in client.query("SELECT version FROM schema_migrations FINAL").result_rows}


def migrate(store: Store) -> list[Migration]:
    """Apply every migration not yet recorded, in order; returns the ones applied now."""
    done = applied_versions(store)
    client = store.client()
    applied = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        for statement in migration.statements:
            client.command(statement)
        client.insert("schema_migrations", [[migration.version, migration.name, datetime.now(UTC)]],
                      column_names=["version", "name", "applied_at"])
        log.info("applied migration %d (%s)", migration.version, migration.name)
        applied.append(migration)
    return applied
