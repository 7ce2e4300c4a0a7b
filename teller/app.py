"""The Starlette application: collector, dashboard, JSON API and admin API in one process.

Who may reach what: tracking (the collector paths, the tracker and opt-out scripts), /healthz, /readyz, /static
and the login pages are public. Dashboard pages need a session, the Stats API a session or a user's API token,
and /retention and /metrics a super-admin (dashboards/guard.py). The admin API takes only the CLI's admin token.
/share/<secret> shows one site's dashboard to whoever holds a live shared link (dashboards/share.py); only those
pages may be framed by other sites (dashboards/framing.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from collector.client_ip import MaskClientAddress
from collector.optout import OptOutScriptEndpoint
from collector.snippet import ExtrasScriptEndpoint, TrackerScriptEndpoint
from collector.tracking import TRACKING_PATHS, TrackingEndpoint
from dashboards.api import StatsApi
from dashboards.auth import LoginPages
from dashboards.csrf import CsrfMiddleware
from dashboards.framing import FramingPolicy
from dashboards.guard import Guard
from dashboards.sessions import SessionCodec
from dashboards.settings_page import SiteSettingsPage
from dashboards.share import SharedDashboard, SharedLinkPages
from dashboards.web import DashboardPages
from ingest.useragent import parse_user_agent
from teller.admin_api import AdminApi
from teller.runtime import Runtime
from teller.users import UserStore

DASHBOARD_STATIC = Path(__file__).resolve().parent.parent / "dashboards" / "static"


def metrics_endpoint(runtime: Runtime) -> Callable[[Request], Awaitable[Response]]:
    """Prometheus text format: what happened to hits, the spool, the shipper, the caches."""

    async def metrics(request: Request) -> Response:
        spool = runtime.spool.stats()
        shipper = runtime.shipper
        agents = parse_user_agent.cache_info()
        lookups = agents.hits + agents.misses
        lines = ["# HELP teller_hits_total Tracking requests by outcome (tracked, or the reason they were dropped).",
                 "# TYPE teller_hits_total counter"]
        lines += [f'teller_hits_total{{outcome="{reason}"}} {count}'
                  for reason, count in sorted(runtime.pipeline.outcomes.items())]
        lines += [
            "# TYPE teller_spool_segments gauge", f"teller_spool_segments {spool.segments}",
            "# TYPE teller_spool_bytes gauge", f"teller_spool_bytes {spool.bytes}",
            "# TYPE teller_spool_budget_bytes gauge", f"teller_spool_budget_bytes {runtime.spool.budget_bytes}",
            "# TYPE teller_spool_oldest_seconds gauge", f"teller_spool_oldest_seconds {spool.oldest_age_seconds:.3f}",
            "# TYPE teller_spool_full gauge", f"teller_spool_full {int(not runtime.spool.has_room())}",
            "# TYPE teller_batches_total counter", f"teller_batches_total {shipper.batches}",
            "# TYPE teller_batch_last_rows gauge", f"teller_batch_last_rows {shipper.last_batch_rows}",
            "# TYPE teller_batch_insert_seconds_total counter",
            f"teller_batch_insert_seconds_total {shipper.insert_seconds:.6f}",
            "# TYPE teller_rows_shipped_total counter",
            *[f'teller_rows_shipped_total{{table="{table}"}} {rows}'
              for table, rows in sorted(shipper.rows_shipped.items())],
            "# TYPE teller_clickhouse_errors_total counter", f"teller_clickhouse_errors_total {shipper.errors}",
            "# TYPE teller_open_visits gauge", f"teller_open_visits {len(runtime.visits)}",
            "# TYPE teller_user_agent_cache_hit_ratio gauge",
            f"teller_user_agent_cache_hit_ratio {agents.hits / lookups if lookups else 0:.4f}",
        ]
        return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")

    return metrics


def readiness_endpoint(runtime: Runtime) -> Callable[[Request], Response]:
    """Ready when hits can be acknowledged (the spool has room) and ClickHouse took the last shipment."""

    def ready(request: Request) -> Response:
        problems = []
        if not runtime.spool.has_room():
            problems.append("the spool is full")
        if runtime.spool.broken:
            problems.append("the spool cannot write to disk")
        if not runtime.shipper.healthy:
            problems.append("ClickHouse refused the last shipment (details in the log)")
        if problems:
            return PlainTextResponse("not ready: " + "; ".join(problems) + "\n", status_code=503)
        return PlainTextResponse("ready\n")

    return ready


def build_app(runtime: Runtime, on_ready: Callable[[], None] | None = None,
              on_shutdown: Callable[[], None] | None = None) -> ASGIApp:
    """The whole application, wrapped so the client address is masked before any of it (error handlers and
    Starlette's own middleware included) sees the request."""
    tracking = TrackingEndpoint(runtime.pipeline)
    tracker_script = TrackerScriptEndpoint(runtime.sites)
    api = StatsApi(runtime.registry, runtime.queries)
    pages = DashboardPages(runtime.registry, runtime.queries)
    admin = AdminApi(runtime)
    settings = runtime.settings
    sessions = SessionCodec(settings.secret_key, secure=settings.server.public_url.startswith("https://"))
    guard = Guard(runtime.access, sessions, pages.error_page)
    login = LoginPages(guard, UserStore(runtime.store), settings.secret_key)
    shared = SharedDashboard(runtime, pages, api, sessions)
    shared_links = SharedLinkPages(runtime, pages)
    site_settings = SiteSettingsPage(runtime, pages.render, pages.error_page)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if on_ready is not None:
            on_ready()
        yield
        if on_shutdown is not None:
            on_shutdown()

    routes = [
        Route("/teller.js", tracker_script.handle, methods=["GET"]),
        Route("/matomo.js", tracker_script.handle, methods=["GET"]),
        Route("/piwik.js", tracker_script.handle, methods=["GET"]),
        Route("/teller-extra.js", ExtrasScriptEndpoint().handle, methods=["GET"]),
        Route("/js/teller-extra.js", ExtrasScriptEndpoint().handle, methods=["GET"]),  # beside a tracker URL of /js/
        Route("/optout.js", OptOutScriptEndpoint().handle, methods=["GET"]),
        Route("/login", login.login, methods=["GET", "POST"]),
        Route("/login/totp", login.totp, methods=["GET", "POST"]),
        Route("/logout", login.logout, methods=["POST"]),
        Route("/", guard.page(pages.index)),
        Route("/sites/{site_id}", guard.page(pages.site)),
        Route("/sites/{site_id}/shared-links", guard.page(shared_links.manage), methods=["GET", "POST"]),
        Route("/sites/{site_id}/shared-links/{link_id}/revoke", guard.page(shared_links.revoke), methods=["POST"]),
        Route("/sites/{site_id}/shared-links/{link_id}/update", guard.page(shared_links.update), methods=["POST"]),
        Route("/sites/{site_id}/settings", guard.page(site_settings.handle), methods=["GET", "POST"]),
        Route("/retention", guard.page(pages.retention, super_admin=True)),
        # Reached by the link's secret alone: no session, one site (dashboards/share.py).
        Route("/share/{secret}", shared.view, methods=["GET", "POST"]),
        Route("/share/{secret}/export", shared.export),
        Route("/share/{secret}/realtime", shared.realtime),
        Route("/api/v1/sites", guard.api(api.sites)),
        Route("/api/v1/sites/{site_id}/summary", guard.api(api.summary)),
        Route("/api/v1/sites/{site_id}/breakdown", guard.api(api.breakdown)),
        Route("/api/v1/sites/{site_id}/realtime", guard.api(api.realtime)),
        Route("/api/v1/overview", guard.api(api.overview)),
        # The API's description holds no data, so tools may read it without a token.
        Route("/api/v1/openapi.json", api.openapi),
        Route("/api/admin/sites", admin.sites, methods=["GET", "POST"]),
        Route("/api/admin/sites/{site_id}", admin.site, methods=["GET", "PATCH", "DELETE"]),
        Route("/api/admin/sites/{site_id}/snippet", admin.site_snippet, methods=["GET"]),
        Route("/api/admin/openapi.json", admin.openapi, methods=["GET"]),
        Route("/api/admin/tokens", admin.tracking_tokens, methods=["GET", "POST"]),
        Route("/api/admin/tokens/{token_id}", admin.tracking_token, methods=["DELETE"]),
        Route("/api/admin/users", admin.users, methods=["GET", "POST"]),
        Route("/api/admin/users/{email}", admin.user, methods=["DELETE"]),
        Route("/api/admin/users/{email}/password", admin.user_password, methods=["PUT"]),
        Route("/api/admin/users/{email}/grants/{site_id}", admin.user_grant, methods=["PUT", "DELETE"]),
        Route("/api/admin/users/{email}/totp", admin.user_totp, methods=["POST", "DELETE"]),
        Route("/api/admin/user-tokens", admin.user_tokens, methods=["GET", "POST"]),
        Route("/api/admin/user-tokens/{token_id}", admin.user_token, methods=["DELETE"]),
        Route("/api/admin/sites/{site_id}/shared-links", admin.shared_links, methods=["GET", "POST"]),
        Route("/api/admin/shared-links/{link_id}", admin.shared_link, methods=["PATCH", "DELETE"]),
        Route("/api/admin/retention", admin.retention, methods=["GET"]),
        Route("/api/admin/retention/enforce", admin.retention, methods=["POST"]),
        Route("/api/admin/subjects/{action}", admin.subject, methods=["POST"]),
        Route("/healthz", lambda request: PlainTextResponse("ok\n")),
        Route("/readyz", readiness_endpoint(runtime)),
        # Aggregate counters of every site and of the process: for the hosting provider's monitoring.
        Route("/metrics", guard.api(metrics_endpoint(runtime), super_admin=True)),
        Mount("/static", StaticFiles(directory=DASHBOARD_STATIC), name="static"),
    ]
    privacy = settings.privacy
    app = TrackingFastPath(tracking, FramingPolicy(CsrfMiddleware(Starlette(routes=routes, lifespan=lifespan),
                                                                  sessions)))
    return MaskClientAddress(app, settings.trusted_proxies, privacy.ipv4_mask_bytes, privacy.ipv6_prefix_bits)


class TrackingFastPath:
    """Sends tracking requests straight to the collector and everything else to the Starlette app.

    Tracking requests are nearly all of Teller's traffic; routing them through Starlette's middleware and router
    cost more than a tenth of the request path (bench/results). Any exception still ends in uvicorn's 500.
    """

    def __init__(self, tracking: ASGIApp, app: ASGIApp) -> None:
        self.tracking = tracking
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in TRACKING_PATHS:
            await self.tracking(scope, receive, send)
        else:
            await self.app(scope, receive, send)
