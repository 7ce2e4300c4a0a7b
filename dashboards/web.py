"""The dashboard pages, server-rendered: no third-party scripts, fonts or styles, readable without JS."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from dashboards.breakdowns import Breakdowns
from dashboards.filters import FilterError, parse_filters
from dashboards.guard import VIEWER_KEY, csrf_of, viewer_of
from dashboards.i18n import LANGUAGES, Locale, choose_language
from dashboards.periods import PeriodError, parse_range
from dashboards.queries import StatsQueries
from dashboards.report import site_summary
from dashboards.site_page import Links, build_panels
from dashboards.world_map import country_name
from ingest.numbers import whole_number
from ingest.sites import Site, SiteRegistry
from teller.audit_log import AuditLog
from teller.retention import RetentionAudit

TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = Path(__file__).parent / "static" / "teller.css"
PANEL_QUERY_THREADS = 3
CHART_WIDTH = 720
CHART_HEIGHT = 160


def chart_bars(points: list[dict[str, Any]], metric: str = "visitors") -> dict[str, Any]:
    """Bar geometry for an inline SVG: simpler and lighter than a chart library for one series."""
    peak = max((point[metric] for point in points), default=0) or 1
    width = CHART_WIDTH / max(len(points), 1)
    bars = [{"x": round(index * width, 2), "w": round(max(width - 2, 1), 2),
             "h": round(point[metric] / peak * (CHART_HEIGHT - 20), 2), "label": point["date"],
             "value": point[metric]} for index, point in enumerate(points)]
    return {"bars": bars, "peak": peak, "width": CHART_WIDTH, "height": CHART_HEIGHT}


def templates() -> Environment:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(),
                              trim_blocks=True, lstrip_blocks=True)
    environment.globals.update(Locale("en").functions())  # pages rendered without a request's language
    environment.globals["lang"] = "en"
    environment.globals["country_name"] = country_name
    return environment


def _path_and_query(url: URL) -> str:
    return url.path + (f"?{url.query}" if url.query else "")


def locale_of(request: Request) -> Locale:
    return Locale(choose_language(request.headers.get("accept-language", ""), request.query_params.get("lang", "")))


def chosen_language(request: Request) -> str:
    """The language picked with ?lang= on this request ("" when the browser's language decides): forms and
    redirects carry it on, so a choice made on the login page holds through the login."""
    override = request.query_params.get("lang", "")
    return override if override in LANGUAGES else ""


def in_language(target: str, language: str) -> str:
    """`target` with the language chosen on this page (chosen_language), unless it names one itself."""
    if not language or any(key == "lang" for key, _ in parse_qsl(urlsplit(target).query)):
        return target
    return f"{target}{'&' if '?' in target else '?'}lang={language}"


def language_context(request: Request) -> dict[str, Any]:
    """What base.html needs to show a page in the request's language, with links to it in each language."""
    locale = locale_of(request)
    # This page in each language, everything else in its URL kept.
    lang_urls = {code: _path_and_query(request.url.include_query_params(lang=code)) for code in LANGUAGES}
    return {"lang": locale.language, "lang_urls": lang_urls, "lang_param": chosen_language(request),
            **locale.functions()}


# The period buttons of the site page and their labels (translated in the template).
PERIOD_LABELS = (("today", "Today"), ("yesterday", "Yesterday"), ("7d", "Last 7 days"), ("30d", "Last 30 days"),
                 ("90d", "Last 90 days"), ("month", "This month"), ("year", "This year"))
# The top tiles: the summary's key, the label, and the definition shown on hover.
TILES = (
    ("visitors", "Unique visitors", "Unique visitors: distinct visitor ids in the range"),
    ("visits", "Visits", "Visits: a visit ends after 30 minutes without activity or at midnight"),
    ("pageviews", "Pageviews", "Pageviews: every page view, reloads included"),
    ("views_per_visit", "Views per visit", "Views per visit: pageviews divided by visits"),
    ("bounce_rate", "Bounce rate", "Bounce rate: visits with a single action (one page view, no event), in percent"),
    ("visit_duration", "Visit duration",
     "Visit duration: the mean time between a visit's first and last hit; a bounce counts as 0 s"),
)


def render_retention_report(report: dict[str, Any], language: str = "en") -> str:
    """The retention audit as one self-contained HTML file (styles inline) to print or attach to a register; a
    file has no other language to switch to, so it has no language links."""
    locale = Locale(language if language in LANGUAGES else "en")
    return templates().get_template("retention.html").render(
        report=report, inline_css=STYLESHEET.read_text(encoding="utf-8"), lang=locale.language,
        **locale.functions())


class DashboardPages:
    def __init__(self, registry: SiteRegistry, queries: StatsQueries) -> None:
        self.registry = registry
        self.queries = queries
        self.templates = templates()
        self.breakdowns = Breakdowns(queries)
        # A dashboard's summary and panels are independent queries: run a few at once (a query waiting on the
        # other's CPU or on Python is no longer idle time), shared by all requests so ClickHouse is never asked
        # for more than this many of them at a time.
        self.panel_queries = ThreadPoolExecutor(max_workers=PANEL_QUERY_THREADS, thread_name_prefix="panel")

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """A page in the request's language; for a guarded request the viewer's email and the logout form are
        in the header (a shared link's page has no viewer)."""
        html = self.templates.get_template(name).render(viewer=request.scope.get(VIEWER_KEY),
                                                        csrf_token=csrf_of(request),
                                                        **language_context(request), **context)
        return HTMLResponse(html, status_code=status)

    def error_page(self, request: Request, status: int, message: str, shared: bool = False,
                   **values: str) -> HTMLResponse:
        """The guard's refusals, and any page's errors; the header shows the viewer when there is one. The
        message is English text, translated before `values` are put into its {fields}. Under a shared link
        (`shared`) the page links nowhere else."""
        text = locale_of(request).text(message)
        html = self.templates.get_template("error.html").render(
            viewer=request.scope.get(VIEWER_KEY), csrf_token=csrf_of(request), **language_context(request),
            message=text.format(**values) if values else text, shared=shared)
        return HTMLResponse(html, status_code=status)

    async def index(self, request: Request) -> Response:
        """The sites this viewer may see, and nothing of the others."""
        viewer = viewer_of(request)
        sites = [site for site in await run_in_threadpool(self.registry.list) if viewer.can_see(site.site_id)]
        return self.render(request, "index.html", sites=[(site, viewer.role(site.site_id)) for site in sites])

    async def site(self, request: Request) -> Response:
        text = request.path_params["site_id"]
        site_id = whole_number(text, limit=2**32 - 1)
        site = await run_in_threadpool(self.registry.get, site_id) if site_id is not None else None
        if site is None:
            return self.error_page(request, 404, "There is no site with id {site_id}.", site_id=text)
        site_admin = viewer_of(request).role(site.site_id) == "admin"
        return await self.dashboard(request, site, Links(site, list(request.query_params.multi_items())),
                                    site_admin=site_admin)

    async def dashboard(self, request: Request, site: Site, links: Links, **context: Any) -> Response:
        """The site's dashboard for the request's period, filters and comparison: the site page, and a shared
        link's page (whose caller found the site from the link alone, never from the request)."""
        query = dict(request.query_params)
        query.setdefault("compare", "previous")
        filter_texts = request.query_params.getlist("filter")

        def build() -> tuple[dict[str, Any], list[dict[str, Any]]]:
            date_range = parse_range(query, site.zone, datetime.now(UTC))
            filters = parse_filters(filter_texts)
            summary = self.panel_queries.submit(site_summary, self.queries, site, query, None, filter_texts,
                                                top_pages=False)
            panels = build_panels(self.breakdowns, site, date_range, filters,
                                  self.queries.reads_rollups(site, date_range), links, self.panel_queries,
                                  visitors=lambda: summary.result()["totals"]["visitors"],
                                  tabs=request.query_params.getlist("tab"))
            return summary.result(), panels
        try:
            summary, panels = await run_in_threadpool(build)
        except (PeriodError, FilterError) as reason:
            # The reason, in the page's language, quotes the address's own parameters as they were typed.
            return self.error_page(request, 400, "This period or filter cannot be shown: {reason}",
                                   shared=links.shared_path is not None,
                                   reason=reason.translated(locale_of(request).text))
        return self.render(request, "site.html", summary=summary, chart=chart_bars(summary["timeseries"]),
                           periods=PERIOD_LABELS, tiles=TILES, panels=panels, links=links, **context)

    async def retention(self, request: Request) -> Response:
        audit = RetentionAudit(self.queries.store, self.registry, AuditLog(self.queries.store))
        report = await run_in_threadpool(audit.report)
        return self.render(request, "retention.html", report=report.as_json())
