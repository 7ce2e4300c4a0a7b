"""The JSON Stats API: the same numbers as the dashboard page. Bad parameters get 400 with a JSON reason.

Every route runs behind dashboards/guard.py (a user's API token or the dashboard session), which has already
refused a site the caller may not see; the site list shows only the caller's sites.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from dashboards.guard import viewer_of
from dashboards.periods import PeriodError
from dashboards.queries import StatsQueries
from dashboards.report import site_summary
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

    async def sites(self, request: Request) -> JSONResponse:
        viewer = viewer_of(request)
        sites = [site for site in await run_in_threadpool(self.registry.list) if viewer.can_see(site.site_id)]
        return JSONResponse({"sites": [site.as_json() | {"role": viewer.role(site.site_id)} for site in sites]})

    async def summary(self, request: Request) -> JSONResponse:
        site = await run_in_threadpool(site_from_path, self.registry, request)
        if isinstance(site, JSONResponse):
            return site
        try:
            body = await run_in_threadpool(site_summary, self.queries, site, dict(request.query_params))
        except PeriodError as reason:
            return error(400, str(reason))
        return JSONResponse(body)
