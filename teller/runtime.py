"""Everything one Teller process holds open: the store, the sites, the enrichers, the writer."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass

from dashboards.queries import StatsQueries
from ingest.geo import GeoLocator
from ingest.migrations import migrate
from ingest.pipeline import Pipeline
from ingest.sites import SiteCache, SiteRegistry
from ingest.store import Store
from ingest.visits import VisitStitcher
from ingest.writer import BatchWriter
from teller.config import Settings

log = logging.getLogger(__name__)


def admin_token(secret_key: str) -> str:
    """The bearer token the CLI uses to reach a running server's admin API; derived, so never stored."""
    return hmac.new(secret_key.encode("utf-8"), b"teller-cli-admin-v1", hashlib.sha256).hexdigest()


@dataclass
class Runtime:
    settings: Settings
    store: Store
    registry: SiteRegistry
    sites: SiteCache
    geo: GeoLocator
    writer: BatchWriter
    pipeline: Pipeline
    queries: StatsQueries

    @classmethod
    def open(cls, settings: Settings, store: Store | None = None) -> Runtime:
        """Connect, migrate and start the writer thread."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = store or Store(settings.storage.clickhouse_dsn, settings.storage.database)
        migrate(store)
        registry = SiteRegistry(store)
        sites = SiteCache(registry)
        geo = GeoLocator(settings.geo_database)
        writer = BatchWriter(store, settings.ingest.batch_rows, settings.ingest.flush_interval_seconds,
                             settings.ingest.queue_rows)
        writer.start()
        pipeline = Pipeline(sites, geo, writer, VisitStitcher(), settings.secret_key)
        return cls(settings, store, registry, sites, geo, writer, pipeline, StatsQueries(store))

    def close(self) -> None:
        """Flush every queued row, then let go of the engine."""
        self.writer.stop()
        self.geo.close()
        self.store.close()
