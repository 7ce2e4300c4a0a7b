"""The JSON Stats API: the same numbers as the dashboard page. Bad parameters get 400 with a JSON reason.

Every route runs behind dashboards/guard.py (a user's API token or the dashboard session), which has already
refused a site the caller may not see; the site list shows only the caller's sites.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dashboards.breakdowns import MAX_LIMIT, Breakdowns
from dashboards.export import rows_csv
from dashboards.filters import FilterError, parse_filters
from dashboards.guard import viewer_of
from dashboards.openapi import openapi_document
from dashboards.periods import PeriodError, comparison_range, parse_range
from dashboards.queries import StatsQueries
from dashboards.report import change, site_summary
from ingest.numbers import whole_number
from ingest.sites import Site, SiteRegistry


def error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)


def site_from_path(registry: SiteRegistry, request: Request) -> Site | JSONResponse:
    text = request.path_params["site_id"]
    site_id = whole_number(text, limit=2**32 - 1)
    if site_id is None:
        return error(400, f"site id {text[:20]!r} is not a number")
    site = registry.get(site_id)
    return site if site is not None else error(404, f"no site with id {text}")


class StatsApi:
    def __init__(self, registry: SiteRegistry, queries: StatsQueries) -> None:
        self.registry = registry
        self.queries = queries
        self.breakdowns = Breakdowns(queries)

    async def sites(self, request: Request) -> JSONResponse:
        viewer = viewer_of(request)
        sites = [site for site in await run_in_threadpool(self.registry.list) if viewer.can_see(site.site_id)]
        return JSONResponse({"sites": [site.as_json() | {"role": viewer.role(site.site_id)} for site in sites]})

    async def summary(self, request: Request) -> JSONResponse:
        site = await run_in_threadpool(site_from_path, self.registry, request)
        if isinstance(site, JSONResponse):
            return site
        try:
            body = await run_in_threadpool(site_summary, self.queries, site, dict(request.query_params), None,
                                           request.query_params.getlist("filter"))
        except (PeriodError, FilterError) as reason:
            return error(400, str(reason))
        return JSONResponse(body)

    async def breakdown(self, request: Request) -> Response:
        """GET …/breakdown?dimension=country&period=30d&filter=device==mobile&limit=100&offset=0[&format=csv]"""
        site = await run_in_threadpool(site_from_path, self.registry, request)
        if isinstance(site, JSONResponse):
            return site
        return await self.site_breakdown(request, site)

    async def site_breakdown(self, request: Request, site: Site) -> Response:
        """The breakdown of `site`, which the caller found (from the path here, from a shared link's secret in
        dashboards/share.py); the request gives only the dimension, range, filters and paging."""
        query = request.query_params
        limit = whole_number(query.get("limit", "100"), limit=MAX_LIMIT)
        offset = whole_number(query.get("offset", "0"), limit=10**6)
        if limit is None or offset is None:
            return error(400, f"limit must be 0 to {MAX_LIMIT} and offset 0 to 1000000")
        dimension = query.get("dimension", "")
        try:
            date_range = parse_range(query, site.zone, datetime.now(UTC))
            filters = parse_filters(query.getlist("filter"))
            report = await run_in_threadpool(self.breakdowns.report, site, date_range, dimension, filters,
                                             limit, offset)
        except (PeriodError, FilterError) as reason:
            return error(400, str(reason))
        if query.get("format") == "csv":
            name = f"{site.name}-{dimension}-{date_range.first}-{date_range.last}.csv"
            return Response(rows_csv(report.rows), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{quote(name)}"'})
        return JSONResponse({"site_id": site.site_id, "dimension": report.dimension, "source": report.source,
                             "sample": report.sample.as_json(),
                             "range": {"from": date_range.first.isoformat(), "to": date_range.last.isoformat()},
                             "filters": [item.as_text() for item in filters], "rows": report.rows})

    async def realtime(self, request: Request) -> JSONResponse:
        site = await run_in_threadpool(site_from_path, self.registry, request)
        if isinstance(site, JSONResponse):
            return site
        return JSONResponse(await run_in_threadpool(self.queries.realtime, site))

    async def overview(self, request: Request) -> JSONResponse:
        """Every site's totals for a period with the change against the previous one: the multi-site view of
        the sites the caller may see (a hosting customer's, or all of them for the super-admin)."""
        viewer = viewer_of(request)

        def build() -> list[dict[str, Any]]:
            rows = []
            for site in [site for site in self.registry.list() if viewer.can_see(site.site_id)]:
                date_range = parse_range(request.query_params, site.zone, datetime.now(UTC))
                totals = self.queries.totals(site, date_range)
                previous = self.queries.totals(site, comparison_range(date_range, "previous"))
                rows.append({"site_id": site.site_id, "name": site.name, "domains": list(site.domains),
                             "totals": totals.as_json(), "change": change(totals, previous)})
            return rows
        try:
            return JSONResponse({"sites": await run_in_threadpool(build)})
        except (PeriodError, FilterError) as reason:
            return error(400, str(reason))

    async def openapi(self, request: Request) -> JSONResponse:
        return JSONResponse(openapi_document())
