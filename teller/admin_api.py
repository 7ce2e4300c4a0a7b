"""The admin API the CLI uses while a server owns the data: sites, as JSON, behind a bearer token."""

from __future__ import annotations

import hmac
import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from dashboards.api import error, site_from_path
from ingest.numbers import whole_number
from ingest.sites import LIST_SETTINGS, SiteCache, SiteError, SiteRegistry
from ingest.tokens import TokenCache, TokenRegistry
from teller.durations import MAX_RETENTION_DAYS

_FIELDS: dict[str, type] = {
    "name": str, "domains": list, "timezone": str, "retention_days": int, "ipv4_mask_bytes": int,
    "ipv6_prefix_bits": int, "geo_full_ip": bool, "cookieless": bool, "visit_timeout_minutes": int,
    "excluded_ips": list, "excluded_user_agents": list, "excluded_params": list, "visitor_cookie_seconds": int,
    "session_cookie_seconds": int, "referral_cookie_seconds": int, "respect_dnt": bool, "search_params": list,
    "search_category_params": list,
}


class AdminApi:
    def __init__(self, registry: SiteRegistry, cache: SiteCache, tokens: TokenRegistry, token_cache: TokenCache,
                 token: str) -> None:
        self.registry = registry
        self.cache = cache
        self.tokens = tokens
        self.token_cache = token_cache
        self.token = token

    def _authorized(self, request: Request) -> bool:
        given = request.headers.get("authorization", "").removeprefix("Bearer ")
        return hmac.compare_digest(given.encode(), self.token.encode())

    async def _body(self, request: Request, required: bool) -> dict[str, Any] | JSONResponse:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return error(400, "the body is not JSON")
        if not isinstance(body, dict):
            return error(400, "the body must be a JSON object")
        for key, value in body.items():
            kind = _FIELDS.get(key)
            if kind is None:
                return error(400, f"unknown field {key!r}; allowed: {', '.join(_FIELDS)}")
            if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
                return error(400, f"{key} must be a {kind.__name__}")
        for key in ("domains", *LIST_SETTINGS):
            if key in body and not all(isinstance(item, str) for item in body[key]):
                return error(400, f"{key} must be a list of strings")
        if "retention_days" in body and not 1 <= body["retention_days"] <= MAX_RETENTION_DAYS:
            return error(400, f"retention_days must be 1 to {MAX_RETENTION_DAYS}")
        missing = [key for key in ("name", "domains", "timezone", "retention_days") if key not in body]
        if required and missing:
            return error(400, f"missing fields: {', '.join(missing)}")
        return body

    async def sites(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return error(401, "a valid admin token is required")
        if request.method == "GET":
            sites = await run_in_threadpool(self.registry.list)
            return JSONResponse({"sites": [site.as_json() for site in sites]})
        body = await self._body(request, required=True)
        if isinstance(body, JSONResponse):
            return body
        settings = {key: value for key, value in body.items()
                    if key not in ("name", "domains", "timezone", "retention_days")}
        try:
            site = await run_in_threadpool(lambda: self.registry.add(body["name"], body["domains"], body["timezone"],
                                                                     body["retention_days"], **settings))
        except SiteError as reason:
            return error(400, str(reason))
        self.cache.invalidate()
        return JSONResponse(site.as_json(), status_code=201)

    async def site(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return error(401, "a valid admin token is required")
        site = await run_in_threadpool(site_from_path, self.registry, request)
        if isinstance(site, JSONResponse):
            return site
        if request.method == "GET":
            return JSONResponse(site.as_json())
        if request.method == "DELETE":
            deleted = await run_in_threadpool(self.registry.delete, site.site_id)
            await run_in_threadpool(self.tokens.delete_site, site.site_id)
            self.cache.invalidate()
            self.token_cache.invalidate()
            return JSONResponse(deleted.as_json())
        body = await self._body(request, required=False)
        if isinstance(body, JSONResponse):
            return body
        try:
            changed = await run_in_threadpool(lambda: self.registry.update(site.site_id, **body))
        except SiteError as reason:
            return error(400, str(reason))
        self.cache.invalidate()
        return JSONResponse(changed.as_json())

    async def tracking_tokens(self, request: Request) -> JSONResponse:
        """GET lists tokens (?site_id=N), POST {"site_id", "label"} creates one and shows it once."""
        if not self._authorized(request):
            return error(401, "a valid admin token is required")
        if request.method == "GET":
            site_id = whole_number(request.query_params.get("site_id", ""))
            tokens = await run_in_threadpool(self.tokens.list, site_id)
            return JSONResponse({"tokens": [token.as_json() for token in tokens]})
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return error(400, "the body is not JSON")
        site_id = body.get("site_id") if isinstance(body, dict) else None
        label = body.get("label", "") if isinstance(body, dict) else ""
        if not isinstance(site_id, int) or isinstance(site_id, bool) or not isinstance(label, str):
            return error(400, "send {\"site_id\": <number>, \"label\": <text>}")
        if await run_in_threadpool(self.registry.get, site_id) is None:
            return error(404, f"no site with id {site_id}")
        secret, token = await run_in_threadpool(self.tokens.create, site_id, label)
        self.token_cache.invalidate()
        return JSONResponse(token.as_json() | {"token": secret}, status_code=201)

    async def tracking_token(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return error(401, "a valid admin token is required")
        token_id = request.path_params["token_id"]
        try:
            revoked = await run_in_threadpool(self.tokens.revoke, token_id)
        except KeyError:
            return error(404, f"no single token with an id starting with {token_id[:20]!r}")
        self.token_cache.invalidate()
        return JSONResponse(revoked.as_json())
