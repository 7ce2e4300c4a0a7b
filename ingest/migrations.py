"""Versioned, idempotent schema migrations. Run by `teller migrate` and at every start.

Each migration is a list of steps that are safe to run twice (IF NOT EXISTS and friends, and `Resort`, which
checks the table first), so a crash between a step and the bookkeeping row only repeats harmless work.
Applied versions are recorded in `schema_migrations`. A released migration is never edited: a change is a new
migration (ALTER TABLE … ADD COLUMN IF NOT EXISTS …), because installed databases skip the versions they
already applied.

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
class Resort:
    """Rebuild a table under a new sorting key, which ClickHouse cannot change in place: create the new table as
    `<table>_resorted`, copy every row into it, swap the two names atomically (EXCHANGE TABLES, an Atomic
    database: ClickHouse's default since 20.10) and drop the old table. Safe to repeat: a scratch table left by
    an interrupted run is dropped first, and a table that already has the new key is left alone. Writers of
    the table must be stopped meanwhile (migrations run before Teller serves)."""
    table: str
    sorting_key: str  # as system.tables spells it: "site_id, dimension, day, value"
    create: str  # the CREATE TABLE statement, with {table} where the name goes


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str | Resort, ...]


BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version UInt32,
    name String,
    applied_at DateTime('UTC')
) ENGINE = ReplacingMergeTree ORDER BY version
"""

_ORIGIN_COLUMNS = """
            referrer String CODEC(ZSTD(3)),
            referrer_host LowCardinality(String),
            referrer_type LowCardinality(String),
            referrer_name LowCardinality(String),
            referrer_keyword String CODEC(ZSTD(3)),
            utm_source LowCardinality(String),
            utm_medium LowCardinality(String),
            utm_campaign LowCardinality(String),
            utm_term String CODEC(ZSTD(3)),
            utm_content String CODEC(ZSTD(3)),"""
_CLIENT_COLUMNS = """
            ip_masked String CODEC(ZSTD(3)),
            country_code LowCardinality(String),
            region LowCardinality(String),
            city LowCardinality(String),
            browser LowCardinality(String),
            browser_version LowCardinality(String),
            os LowCardinality(String),
            os_version LowCardinality(String),
            device_type LowCardinality(String),
            device_brand LowCardinality(String),
            device_model LowCardinality(String),
            screen_size LowCardinality(String),
            language LowCardinality(String),"""
# A rollup row after its site and day (rollups) or month (rollup_months): a dimension value's counts and its
# mergeable unique-visitor state.
_ROLLUP_COLUMNS = """
            dimension LowCardinality(String),
            value String CODEC(ZSTD(3)),
            visitors AggregateFunction(uniqCombined64, UInt64),
            visits Int64,
            pageviews Int64,
            bounces Int64,
            duration Int64,
            retention_days UInt16,
            built_at DateTime64(3, 'UTC')"""
# Shipments carry a deduplication token; the window makes ClickHouse remember recent tokens on plain MergeTree.
# A spool segment is deleted once its insert returns, so the inserted part must be on disk by then, power loss
# included: fsync parts and their directory (one insert per table per second makes this cheap).
_DEDUPLICATION = "non_replicated_deduplication_window = 10000, fsync_after_insert = 1, fsync_part_directory = 1"

def _rollups_by_dimension(period: str, partition: str) -> str:
    """Migration 18's CREATE TABLE of a rollup table (`period` is its day or month column), {table} for the name."""
    return """
        CREATE TABLE IF NOT EXISTS {table} (
            site_id UInt32,
            """ + period + """ Date,""" + _ROLLUP_COLUMNS + """
        ) ENGINE = ReplacingMergeTree(built_at)
        PARTITION BY """ + partition + """
        PRIMARY KEY (site_id, dimension, """ + period + """)
        ORDER BY (site_id, dimension, """ + period + """, value)
        TTL """ + period + """ + toIntervalDay(retention_days)
        SETTINGS index_granularity = 256, merge_with_ttl_timeout = 3600
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
            ipv4_mask_bytes UInt8,
            ipv6_prefix_bits UInt8,
            geo_full_ip UInt8,
            cookieless UInt8,
            visit_timeout_minutes UInt16,
            excluded_ips Array(String),
            excluded_user_agents Array(String),
            excluded_params Array(String),
            visitor_cookie_seconds UInt32,
            session_cookie_seconds UInt32,
            referral_cookie_seconds UInt32,
            respect_dnt UInt8,
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
            target_url String CODEC(ZSTD(3)),
            event_category LowCardinality(String),
            event_action LowCardinality(String),
            event_name String CODEC(ZSTD(3)),
            event_value Nullable(Float64),
            search_keyword String CODEC(ZSTD(3)),
            search_category LowCardinality(String),
            search_count Int32,
            goal_id UInt32,
            revenue Decimal64(2),
            order_id String,
            order_subtotal Decimal64(2),
            order_tax Decimal64(2),
            order_shipping Decimal64(2),
            order_discount Decimal64(2),
            ecommerce_items String CODEC(ZSTD(3)),
            content_name String CODEC(ZSTD(3)),
            content_piece String CODEC(ZSTD(3)),
            content_target String CODEC(ZSTD(3)),
            content_interaction LowCardinality(String),
            custom_dimensions Map(String, String),
            custom_variables Map(String, String),
            user_id String CODEC(ZSTD(3)),
            pf_network Int32,
            pf_server Int32,
            pf_transfer Int32,
            pf_dom_processing Int32,
            pf_dom_completion Int32,
            pf_onload Int32,"""
        + _ORIGIN_COLUMNS + _CLIENT_COLUMNS + """
            local_hour Int8,
            is_bot UInt8,
            retention_days UInt16
        ) ENGINE = MergeTree
        PARTITION BY toYYYYMM(ts)
        ORDER BY (site_id, toDate(ts), name, visitor_id, ts)
        TTL ts + toIntervalDay(retention_days)
        SETTINGS """ + _DEDUPLICATION,
    )),
    Migration(3, "sessions", (
        # One row per visit (Plausible's sessions_v2 design): each change writes the previous row with sign -1
        # and the new one with sign +1 under the next version. Queries use sum(sign) and sign-weighted sums.
        """
        CREATE TABLE IF NOT EXISTS sessions (
            site_id UInt32,
            visit_id UInt64,
            visitor_id UInt64,
            sign Int8,
            version UInt32,
            start DateTime('UTC') CODEC(Delta(4), LZ4),
            last_seen DateTime('UTC') CODEC(Delta(4), LZ4),
            hostname LowCardinality(String),
            entry_page String CODEC(ZSTD(3)),
            exit_page String CODEC(ZSTD(3)),
            pageviews UInt32,
            events UInt32,
            duration UInt32,
            is_bounce UInt8,"""
        + _ORIGIN_COLUMNS + _CLIENT_COLUMNS + """
            retention_days UInt16
        ) ENGINE = VersionedCollapsingMergeTree(sign, version)
        PARTITION BY toYYYYMM(start)
        ORDER BY (site_id, toDate(start), visitor_id, visit_id)
        TTL start + toIntervalDay(retention_days)
        SETTINGS """ + _DEDUPLICATION,
    )),
    Migration(4, "dropped_hits", (
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
        SETTINGS """ + _DEDUPLICATION,
    )),
    Migration(5, "cookieless_salts", (
        # The daily salt of cookieless visitor ids, per site and site-local day. The TTL deletes a salt two
        # days after its day, so nobody (Teller's operators included) can recompute or link old ids.
        """
        CREATE TABLE IF NOT EXISTS cookieless_salts (
            site_id UInt32,
            day Date,
            salt String,
            created_at DateTime64(6, 'UTC')
        ) ENGINE = ReplacingMergeTree(created_at)
        ORDER BY (site_id, day)
        TTL day + toIntervalDay(2)
        """,
    )),
    Migration(6, "tracking_tokens", (
        # Only the SHA-256 of a token is stored; the newest version of a row wins and is_deleted revokes it.
        """
        CREATE TABLE IF NOT EXISTS tracking_tokens (
            token_hash String,
            site_id UInt32,
            label String,
            created_at DateTime('UTC'),
            version UInt64,
            is_deleted UInt8
        ) ENGINE = ReplacingMergeTree(version, is_deleted)
        ORDER BY token_hash
        """,
    )),
    Migration(7, "rollups", (
        # The second retention tier: per site, day (site-local) and dimension value, counts and a mergeable
        # unique-visitor state. No visitor ids and no addresses: the state is built from a keyed hash under a
        # monthly salt (rollup_salts) that is deleted after the month, so it cannot be tested for a known id.
        # A rebuilt day replaces the previous build of its rows (ReplacingMergeTree on built_at; read with FINAL).
        """
        CREATE TABLE IF NOT EXISTS rollups (
            site_id UInt32,
            day Date,"""
        + _ROLLUP_COLUMNS + """
        ) ENGINE = ReplacingMergeTree(built_at)
        PARTITION BY toYYYYMM(day)
        ORDER BY (site_id, day, dimension, value)
        TTL day + toIntervalDay(retention_days)
        SETTINGS merge_with_ttl_timeout = 3600
        """,
        """
        CREATE TABLE IF NOT EXISTS rollup_salts (
            site_id UInt32,
            day Date,
            salt String,
            created_at DateTime64(6, 'UTC')
        ) ENGINE = ReplacingMergeTree(created_at)
        ORDER BY (site_id, day)
        TTL day + toIntervalDay(62)
        """,
        # Existing sites keep rollups for 25 months (the CNIL limit for consent-exempt statistics), and never
        # for less than their raw rows.
        "ALTER TABLE sites ADD COLUMN IF NOT EXISTS rollup_retention_days UInt16 DEFAULT greatest(761, retention_days)",
        # ClickHouse deletes expired rows in merges, by default at most every 4 hours per part. Hourly keeps a
        # policy's "deleted after N days" within the hour. ttl_only_drop_parts stays off: parts hold rows of
        # sites with different policies, so TTL must delete rows, not only whole parts (a part whose rows have
        # all expired is still dropped whole, without a rewrite).
        "ALTER TABLE events MODIFY SETTING merge_with_ttl_timeout = 3600",
        "ALTER TABLE sessions MODIFY SETTING merge_with_ttl_timeout = 3600",
        "ALTER TABLE dropped_hits MODIFY SETTING merge_with_ttl_timeout = 3600",
        "ALTER TABLE cookieless_salts MODIFY SETTING merge_with_ttl_timeout = 3600",
    )),
    Migration(8, "audit_log", (
        # Every administrative change: who, what, when. Append-only: Teller never updates or deletes a row,
        # and the table has no TTL (ops may keep it as long as their processing register requires).
        """
        CREATE TABLE IF NOT EXISTS audit_log (
            at DateTime64(3, 'UTC'),
            actor String,
            action LowCardinality(String),
            site_id UInt32,
            target String,
            details String CODEC(ZSTD(3))
        ) ENGINE = MergeTree
        ORDER BY at
        SETTINGS fsync_after_insert = 1
        """,
    )),
    Migration(9, "tracking_extras", (
        # Matomo parameters stored since: the product or category view of a page view (_pks, _pkn, _pkc, _pkp),
        # the _pk_ref cookie's attribution (_ref, _rcn, _rck), and the referrer a conversion is credited to.
        # New columns go to the end of the table; rows written before read the defaults.
        """
        ALTER TABLE events
            ADD COLUMN IF NOT EXISTS product_sku String CODEC(ZSTD(3)),
            ADD COLUMN IF NOT EXISTS product_name String CODEC(ZSTD(3)),
            ADD COLUMN IF NOT EXISTS product_category Array(String) CODEC(ZSTD(3)),
            ADD COLUMN IF NOT EXISTS product_price Decimal64(2),
            ADD COLUMN IF NOT EXISTS attribution_referrer String CODEC(ZSTD(3)),
            ADD COLUMN IF NOT EXISTS attribution_campaign String CODEC(ZSTD(3)),
            ADD COLUMN IF NOT EXISTS attribution_keyword String CODEC(ZSTD(3)),
            ADD COLUMN IF NOT EXISTS conversion_referrer_type LowCardinality(String),
            ADD COLUMN IF NOT EXISTS conversion_referrer_name LowCardinality(String),
            ADD COLUMN IF NOT EXISTS conversion_referrer_keyword String CODEC(ZSTD(3))
        """,
        # Site search parameters per site. The default is Matomo's keyword list as of this migration, written
        # out so the migration never changes: sites that existed before keep detecting searches as they did.
        """
        ALTER TABLE sites
            ADD COLUMN IF NOT EXISTS search_params Array(String)
                DEFAULT ['q', 'query', 's', 'search', 'searchword', 'k', 'keyword', 'keywords'],
            ADD COLUMN IF NOT EXISTS search_category_params Array(String)
        """,
    )),
    Migration(10, "users", (
        # Dashboard users. Only an argon2id hash of the password is stored; the TOTP secret, when a user has
        # one, is sealed with a key derived from secret_key (teller/totp.py). The newest version of a row wins
        # and is_deleted removes the user; readers use FINAL.
        """
        CREATE TABLE IF NOT EXISTS users (
            user_id UInt32,
            email String,
            password_hash String,
            is_super_admin UInt8,
            totp_secret String,
            created_at DateTime('UTC'),
            version UInt64,
            is_deleted UInt8
        ) ENGINE = ReplacingMergeTree(version, is_deleted)
        ORDER BY user_id
        """,
        # Who may see which site, and as what: 'viewer' (read-only) or 'admin' (the site's owner).
        """
        CREATE TABLE IF NOT EXISTS site_grants (
            user_id UInt32,
            site_id UInt32,
            role LowCardinality(String),
            granted_at DateTime('UTC'),
            version UInt64,
            is_deleted UInt8
        ) ENGINE = ReplacingMergeTree(version, is_deleted)
        ORDER BY (user_id, site_id)
        """,
        # A user's tokens for the Stats API: only the SHA-256 is stored. site_ids narrows the token to those
        # sites (empty: every site its user may see); access is always the token's sites ∩ the user's sites.
        """
        CREATE TABLE IF NOT EXISTS user_api_tokens (
            token_hash String,
            user_id UInt32,
            site_ids Array(UInt32),
            label String,
            created_at DateTime('UTC'),
            version UInt64,
            is_deleted UInt8
        ) ENGINE = ReplacingMergeTree(version, is_deleted)
        ORDER BY token_hash
        """,
        # Sessions live in signed cookies; a logged-out session's id (as SHA-256) is listed here until the
        # cookie would have expired anyway, so a copied cookie stops working on every node at logout.
        """
        CREATE TABLE IF NOT EXISTS revoked_sessions (
            session_hash String,
            expires_at DateTime('UTC')
        ) ENGINE = ReplacingMergeTree
        ORDER BY session_hash
        TTL expires_at
        """,
    )),
    Migration(11, "attribution_time", (
        # `_refts`: when the visitor's _pk_ref cookie recorded the referrer a conversion may be credited to.
        "ALTER TABLE events ADD COLUMN IF NOT EXISTS attribution_time DateTime('UTC')",
    )),
    Migration(12, "shared_links", (
        # Read-only dashboard links for one site (teller/shared_links.py). Only the SHA-256 of the URL's secret
        # is stored, and an argon2id hash of the optional password. A revoked link keeps its row (is_revoked,
        # revoked_at) so listings can show when it ended; the newest version of a row wins, readers use FINAL.
        """
        CREATE TABLE IF NOT EXISTS shared_links (
            secret_hash String,
            site_id UInt32,
            label String,
            password_hash String,
            created_by String,
            created_at DateTime('UTC'),
            is_revoked UInt8,
            revoked_at DateTime('UTC'),
            version UInt64
        ) ENGINE = ReplacingMergeTree(version)
        ORDER BY secret_hash
        """,
    )),
    Migration(13, "site_external_id", (
        # A hosting panel's own reference for a site (empty: none), unique among live sites (ingest/sites.py
        # checks it), so a panel can find its site again and a retried create does not make a second one.
        "ALTER TABLE sites ADD COLUMN IF NOT EXISTS external_id String",
    )),
    Migration(14, "sample_by_visitor", (
        # Lets the dashboard read 1 in n visitors of a large range (dashboards/sampling.py). visitor_id is in
        # both sort keys right after the day, as Plausible's SAMPLE BY user_id, so a sample reads 1/n of the
        # granules; the change is metadata only.
        "ALTER TABLE events MODIFY SAMPLE BY visitor_id",
        "ALTER TABLE sessions MODIFY SAMPLE BY visitor_id",
    )),
    Migration(15, "load_time", (
        # A page view's load time in ms (the sum of Matomo's pf_* timings; -1 when the browser sent no onload
        # time), computed by ClickHouse as rows are written, so the Pages report reads one column instead of
        # six. MATERIALIZE writes it for the parts already stored, as a background mutation that writes only
        # this column (until it is done, those parts compute it from the timings when read).
        "ALTER TABLE events ADD COLUMN IF NOT EXISTS load_time_ms Int32 MATERIALIZED if(pf_onload > 0, "
        "greatest(pf_network, 0) + greatest(pf_server, 0) + greatest(pf_transfer, 0) + "
        "greatest(pf_dom_processing, 0) + greatest(pf_dom_completion, 0) + greatest(pf_onload, 0), -1)",
        "ALTER TABLE events MATERIALIZE COLUMN load_time_ms",
    )),
    Migration(16, "page_dictionaries", (
        # A site has hundreds or thousands of paths and titles, not millions of them, so these columns are stored
        # as a dictionary and one small number per row (LowCardinality): grouping and filtering by page compare
        # numbers instead of strings. On the 10-million-hit benchmark site (30 days, 1 in 4 visitors) the Pages
        # report went from 170 to 129 ms, a page filter's set of visits from 85 to 30 ms, and the paths took
        # 14 instead of 47 MB on disk. A site with far more distinct paths (ids in URLs) falls back to
        # per-block dictionaries, about as fast as plain strings. Changing the type rewrites these columns of the
        # stored parts as a mutation; until it is done, those parts are converted when read.
        "ALTER TABLE events MODIFY COLUMN pathname LowCardinality(String)",
        "ALTER TABLE events MODIFY COLUMN title LowCardinality(String)",
        "ALTER TABLE sessions MODIFY COLUMN entry_page LowCardinality(String)",
        "ALTER TABLE sessions MODIFY COLUMN exit_page LowCardinality(String)",
    )),
    Migration(17, "rollup_months", (
        # A finished month's daily rollups merged into one row per dimension value (ingest/rollups.py), so a
        # long range merges one visitor state per month and value instead of one per day. Same columns as
        # `rollups`; a row expires with its month's first day, so it never outlives any day it summarises.
        """
        CREATE TABLE IF NOT EXISTS rollup_months (
            site_id UInt32,
            month Date,"""
        + _ROLLUP_COLUMNS + """
        ) ENGINE = ReplacingMergeTree(built_at)
        PARTITION BY toYear(month)
        ORDER BY (site_id, month, dimension, value)
        TTL month + toIntervalDay(retention_days)
        SETTINGS merge_with_ttl_timeout = 3600
        """,
    )),
    Migration(18, "rollups_by_dimension", (
        # A panel reads one dimension over a range of days or months. Sorted by day first, that dimension's few
        # rows lay spread over every day's granules, and each granule read (8,192 rows) deserialised the visitor
        # states of every other dimension of that day too. Sorted by dimension first, a dimension's rows over
        # the range are contiguous, and granules of 256 rows keep the rows read close to the rows needed. The
        # primary index holds no values (PRIMARY KEY is a prefix of the sort), so its memory stays small. On the
        # 10-million-hit benchmark's rollups (6.5 million rows), the device panel over 90 days went from 456 to
        # 68 ms and the day totals from 423 to 66 ms; the page panel (a state per path and day to merge) from
        # 887 to 744 ms.
        Resort("rollups", "site_id, dimension, day, value", _rollups_by_dimension("day", "toYYYYMM(day)")),
        Resort("rollup_months", "site_id, dimension, month, value", _rollups_by_dimension("month", "toYear(month)")),
    )),
    Migration(19, "page_visits", (
        # A page filter ("visits that viewed /pricing") is the set of visits with a page view of that path.
        # `events` is sorted by day, so that set was read from every page view of the range: on the
        # 10-million-hit benchmark site, 1.94 million rows (whole 8,192-row granules of a 1-in-16 sample) to
        # find 30,264, 48-60 ms that each report under the filter paid. page_visits holds the page views again,
        # sorted by path and visitor, so one path's sampled visitors are a few granules (17 ms).
        # A materialized view writes it with every insert into events, in the same INSERT (a shipment retried
        # after a partial failure is deduplicated per table: ingest/shipper.py). It is a raw table like events:
        # same retention, deleted with the site and with a data subject (ingest/sites.py RAW_TABLES). About 19
        # bytes per page view (visit and visitor ids do not compress). A projection of events would do the same
        # without a second table, but ClickHouse leaves lightweight-deleted rows in a projection until the part
        # merges again, so an erased visitor would stay readable there.
        """
        CREATE TABLE IF NOT EXISTS page_visits (
            site_id UInt32,
            pathname LowCardinality(String),
            visitor_id UInt64,
            visit_id UInt64,
            ts DateTime('UTC') CODEC(ZSTD(1)),
            retention_days UInt16
        ) ENGINE = MergeTree
        PARTITION BY toYYYYMM(ts)
        ORDER BY (site_id, pathname, visitor_id)
        TTL ts + toIntervalDay(retention_days)
        SETTINGS merge_with_ttl_timeout = 3600, """ + _DEDUPLICATION + """
        """,
        "CREATE MATERIALIZED VIEW IF NOT EXISTS page_visits_writer TO page_visits AS SELECT site_id, pathname, "
        "visitor_id, visit_id, ts, retention_days FROM events WHERE name = 'pageview'",
        # The page views stored before; emptied first, so a run repeated after a crash copies them once.
        "TRUNCATE TABLE page_visits",
        "INSERT INTO page_visits SELECT site_id, pathname, visitor_id, visit_id, ts, retention_days FROM events "
        "WHERE name = 'pageview'",
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
        for step in migration.statements:
            if isinstance(step, Resort):
                resort(store, step)
            else:
                client.command(step)
        client.insert("schema_migrations", [[migration.version, migration.name, datetime.now(UTC)]],
                      column_names=["version", "name", "applied_at"])
        log.info("applied migration %d (%s)", migration.version, migration.name)
        applied.append(migration)
    return applied


def resort(store: Store, step: Resort) -> None:
    """Apply one Resort step (see the class)."""
    client = store.client()
    scratch = f"{step.table}_resorted"
    client.command(f"DROP TABLE IF EXISTS {scratch} SYNC")
    current = client.query(
        "SELECT sorting_key FROM system.tables WHERE database = {database:String} AND name = {table:String}",
        parameters={"database": store.database, "table": step.table}).result_rows
    if current and current[0][0] == step.sorting_key:
        return
    client.command(step.create.format(table=scratch))
    client.command(f"INSERT INTO {scratch} SELECT * FROM {step.table}")  # noqa: S608 - names are constants
    client.command(f"EXCHANGE TABLES {step.table} AND {scratch}")
    client.command(f"DROP TABLE {scratch} SYNC")
    log.info("re-sorted %s by (%s)", step.table, step.sorting_key)
