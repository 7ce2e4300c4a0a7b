"""The Starlette application: collector, dashboard, JSON API and admin API in one process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from collector.client_ip import MaskClientAddress
from collector.snippet import TrackerScriptEndpoint
from collector.tracking import TrackingEndpoint
from dashboards.api import StatsApi
from dashboards.web import DashboardPages
from teller.admin_api import AdminApi
from teller.runtime import Runtime, admin_token

DASHBOARD_STATIC = Path(__file__).resolve().parent.parent / "dashboards" / "static"


def metrics_endpoint(runtime: Runtime) -> Callable[[Request], Response]:
    """Prometheus text format: hits by outcome, queue depth, rows written, insert errors."""

    def metrics(request: Request) -> Response:
        lines = ["# TYPE teller_hits_total counter"]
        lines += [f'teller_hits_total{{outcome="{reason}"}} {count}'
                  for reason, count in sorted(runtime.pipeline.outcomes.items())]
        lines += [
            "# TYPE teller_write_queue_rows gauge", f"teller_write_queue_rows {runtime.writer.queued}",
            "# TYPE teller_rows_written_total counter", f"teller_rows_written_total {runtime.writer.rows_written}",
            "# TYPE teller_insert_errors_total counter", f"teller_insert_errors_total {runtime.writer.insert_errors}",
        ]
        return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")

    return metrics


def build_app(runtime: Runtime, on_ready: Callable[[], None] | None = None) -> ASGIApp:
    """The whole application, wrapped so the client address is masked before any of it (error handlers and
    Starlette's own middleware included) sees the request."""
    tracking = TrackingEndpoint(runtime.pipeline)
    api = StatsApi(runtime.registry, runtime.queries)
    pages = DashboardPages(runtime.registry, runtime.queries)
    admin = AdminApi(runtime.registry, runtime.sites, admin_token(runtime.settings.secret_key))
    tracking_methods = ["GET", "POST", "OPTIONS"]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if on_ready is not None:
            on_ready()
        yield
        runtime.writer.stop()  # flush what is queued before the process exits

    routes = [
        Route("/matomo.php", tracking.handle, methods=tracking_methods),
        Route("/piwik.php", tracking.handle, methods=tracking_methods),
        Route("/teller.js", TrackerScriptEndpoint().handle, methods=["GET"]),
        Route("/", pages.index),
        Route("/sites/{site_id}", pages.site),
        Route("/api/v1/sites", api.sites),
        Route("/api/v1/sites/{site_id}/summary", api.summary),
        Route("/api/admin/sites", admin.sites, methods=["GET", "POST"]),
        Route("/api/admin/sites/{site_id}", admin.site, methods=["GET", "PATCH", "DELETE"]),
        Route("/healthz", lambda request: PlainTextResponse("ok\n")),
        Route("/metrics", metrics_endpoint(runtime)),
        Mount("/static", StaticFiles(directory=DASHBOARD_STATIC), name="static"),
    ]
    privacy = runtime.settings.privacy
    return MaskClientAddress(Starlette(routes=routes, lifespan=lifespan), runtime.settings.trusted_proxies,
                             privacy.ipv4_mask_bytes, privacy.ipv6_prefix_bits)
