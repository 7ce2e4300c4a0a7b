"""Everything one Teller process holds open: the store, the sites, the enrichers, the spool and its shipper."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dashboards.queries import StatsQueries
from ingest.geo import GeoLocator
from ingest.migrations import migrate
from ingest.pipeline import Pipeline
from ingest.rollups import RollupBuilder
from ingest.salts import SaltBook
from ingest.shipper import Shipper
from ingest.sites import SiteCache, SiteRegistry
from ingest.spool import Spool
from ingest.store import Store
from ingest.tokens import TokenCache, TokenRegistry
from ingest.visits import VisitTracker
from teller.access import AccessDirectory
from teller.config import Settings

log = logging.getLogger(__name__)
# Visits idle for longer than the longest allowed timeout cannot continue; no need to resume them.
RESUME_WINDOW = timedelta(hours=24)


def admin_token(secret_key: str) -> str:
    """The bearer token the CLI uses to reach a running server's admin API; derived, so never stored."""
    return hmac.new(secret_key.encode("utf-8"), b"teller-cli-admin-v1", hashlib.sha256).hexdigest()


def site_defaults(settings: Settings) -> dict[str, Any]:
    """Settings a new site starts with, from the config file."""
    return {"ipv4_mask_bytes": settings.privacy.ipv4_mask_bytes,
            "ipv6_prefix_bits": settings.privacy.ipv6_prefix_bits,
            "rollup_retention_days": settings.privacy.default_rollup_retention_days}


def ship_leftover_spool(settings: Settings, store: Store) -> int:
    """Ship what a stopped server left in this data directory's spool (the CLI does this before deleting a
    data subject, or the next start would write their rows again). Returns segments shipped."""
    ingest = settings.ingest
    spool = Spool(settings.data_dir / "spool", budget_bytes=ingest.spool_budget_mb << 20)
    try:
        return Shipper(spool, store).ship_pending()
    finally:
        spool.close()


def open_visits(store: Store, sites: SiteCache) -> tuple[list[dict[str, Any]], Any]:
    """Visits whose last hit is recent enough to continue, as stored (+1 rows after collapsing)."""
    since = datetime.now(UTC).replace(tzinfo=None) - RESUME_WINDOW
    # Oldest first, so a visitor's most recent visit is the one resumed.
    result = store.client().query("SELECT * FROM sessions FINAL WHERE last_seen >= {since:DateTime('UTC')} "
                                  "AND sign = 1 ORDER BY last_seen", parameters={"since": since})
    rows = []
    for values in result.result_rows:
        row = dict(zip(result.column_names, values, strict=True))
        row["start"] = row["start"].replace(tzinfo=UTC)
        row["last_seen"] = row["last_seen"].replace(tzinfo=UTC)
        rows.append(row)

    def local_day(site_id: int, at: datetime) -> date:
        site = sites.get(site_id)
        return at.astimezone(site.zone).date() if site else at.date()

    return rows, local_day


@dataclass
class Runtime:
    settings: Settings
    store: Store
    registry: SiteRegistry
    sites: SiteCache
    geo: GeoLocator
    spool: Spool
    shipper: Shipper
    visits: VisitTracker
    pipeline: Pipeline
    queries: StatsQueries
    tokens: TokenRegistry
    token_cache: TokenCache
    rollups: RollupBuilder
    access: AccessDirectory  # users, grants, API tokens and revoked sessions, for the dashboard and API

    @classmethod
    def open(cls, settings: Settings, store: Store | None = None) -> Runtime:
        """Connect, migrate, ship what a previous run left in the spool, resume open visits, start shipping."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = store or Store(settings.storage.clickhouse_dsn, settings.storage.database)
        migrate(store)
        registry = SiteRegistry(store, defaults=site_defaults(settings))
        sites = SiteCache(registry)
        ingest = settings.ingest
        spool = Spool(settings.data_dir / "spool", budget_bytes=ingest.spool_budget_mb << 20,
                      commit_interval=ingest.fsync_interval_ms / 1000, segment_seconds=ingest.segment_seconds,
                      segment_bytes=ingest.segment_max_mb << 20)
        shipper = Shipper(spool, store)
        try:
            replayed = shipper.ship_pending()
            if replayed:
                log.info("shipped %d spool segments left by the previous run", replayed)
        except Exception as error:
            # Start anyway: the segments stay on disk and the shipper keeps retrying.
            log.warning("could not ship the spool left by the previous run yet (%s); retrying in the background",
                        error)
        visits = VisitTracker()
        resumed = visits.resume(*open_visits(store, sites))
        if resumed:
            log.info("resumed %d open visits", resumed)
        shipper.start()
        geo = GeoLocator(settings.geo_database)
        salts = SaltBook(store)
        salts.warm(registry.list())
        tokens = TokenRegistry(store)
        token_cache = TokenCache(tokens)
        pipeline = Pipeline(sites, geo, spool, visits, salts, token_cache, settings.secret_key)
        queries = StatsQueries(store, settings.dashboard_sample_above_rows)
        return cls(settings, store, registry, sites, geo, spool, shipper, visits, pipeline, queries,
                   tokens, token_cache, RollupBuilder(store), AccessDirectory(store))

    def start_rollups(self) -> None:
        """Build rollups now and every few minutes in the background (the server does this)."""
        self.rollups.start(self.registry.list)

    def drain(self, timeout: float = 60) -> None:
        """Seal the spool and ship everything in it now (the demo loader and tests use this)."""
        self.spool.seal_now()
        deadline = datetime.now(UTC) + timedelta(seconds=timeout)
        while self.spool.sealed_segments():
            self.shipper.ship_pending()
            if datetime.now(UTC) > deadline:
                raise TimeoutError("the spool did not drain")

    def stop_ingest(self) -> None:
        """Commit and seal the spool, ship what ClickHouse takes now; the rest waits for the next start."""
        self.spool.close()
        self.shipper.stop()
        try:
            self.shipper.ship_pending()
        except Exception:
            log.warning("ClickHouse did not take the last spool segments; they are shipped at the next start")

    def close(self) -> None:
        self.rollups.stop()
        self.stop_ingest()
        self.geo.close()
        self.store.close()
