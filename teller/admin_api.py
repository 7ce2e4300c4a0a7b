"""The admin API: sites, tracking tokens, users with their roles and API tokens, shared links, the retention
audit and data-subject requests, as JSON, behind a bearer token. The CLI uses it while a server owns the data; a
privacy officer's tooling can use it directly.

Every handler runs the same LocalAdmin the CLI runs on a store, so both write the same audit log entries.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from collector.optout import render_optout_embed
from collector.snippet import render_snippet
from dashboards.api import error
from dashboards.export import rows_csv
from ingest.numbers import whole_number
from ingest.sites import LIST_SETTINGS, DuplicateExternalId, SiteError
from teller.admin import ACTOR_HEADER, AdminError, LocalAdmin, runtime_admin
from teller.admin_fields import (
    MAX_PAGE_SIZE,
    SHARE_FIELD_TYPES,
    SITE_FIELD_TYPES,
    SITE_REQUIRED,
    SUBJECT_FIELD_TYPES,
    USER_FIELD_TYPES,
    USER_TOKEN_FIELD_TYPES,
)
from teller.admin_openapi import admin_openapi_document
from teller.audit_log import clean_actor
from teller.runtime import Runtime, admin_token
from teller.shared_links import share_path
from teller.totp import provisioning_uri

_LISTS = ("domains", *LIST_SETTINGS)
_FIELDS = SITE_FIELD_TYPES
_SITE_REQUIRED = SITE_REQUIRED
_SUBJECT_FIELDS = SUBJECT_FIELD_TYPES
_USER_FIELDS = USER_FIELD_TYPES
_USER_TOKEN_FIELDS = USER_TOKEN_FIELD_TYPES
_SHARE_FIELDS = SHARE_FIELD_TYPES


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise _Refused(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise _Refused(400, "the body must be a JSON object")
    return body


def _check_fields(body: dict[str, Any], fields: dict[str, type]) -> None:
    for key, value in body.items():
        kind = fields.get(key)
        if kind is None:
            raise _Refused(400, f"unknown field {key!r}; allowed: {', '.join(fields)}")
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise _Refused(400, f"{key} must be a {kind.__name__}")


def _site_body(body: dict[str, Any], required: bool) -> dict[str, Any]:
    _check_fields(body, _FIELDS)
    for key in _LISTS:
        if key in body and not all(isinstance(item, str) for item in body[key]):
            raise _Refused(400, f"{key} must be a list of strings")
    missing = [key for key in _SITE_REQUIRED if key not in body]
    if required and missing:
        raise _Refused(400, f"missing fields: {', '.join(missing)}")
    return body


def _link_change(body: dict[str, Any]) -> tuple[str | None, str | None, bool]:
    """A shared link's PATCH body as (label or None: unchanged, new password or None, remove the password)."""
    _check_fields({key: value for key, value in body.items() if value is not None}, _SHARE_FIELDS)
    if "label" in body and body["label"] is None:
        raise _Refused(400, "label must be a str")
    if not body:
        raise _Refused(400, "send {\"label\": <text>} and/or {\"password\": <text> or null}")
    password = body.get("password")
    return body.get("label"), password or None, "password" in body and not password


def _site_id(request: Request) -> int:
    text = request.path_params["site_id"]
    site_id = whole_number(text, limit=2**32 - 1)
    if site_id is None:
        raise _Refused(400, f"site id {text[:20]!r} is not a number")
    return site_id


def _page(request: Request) -> tuple[int | None, int]:
    """?limit= and ?offset= of a listing: no limit answers everything (as the CLI asks), else at most
    MAX_PAGE_SIZE items."""
    limit_text, offset_text = request.query_params.get("limit"), request.query_params.get("offset", "0")
    limit = whole_number(limit_text, limit=MAX_PAGE_SIZE) if limit_text is not None else None
    offset = whole_number(offset_text)
    if limit_text is not None and (limit is None or limit < 1):
        raise _Refused(400, f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}")
    if offset is None:
        raise _Refused(400, "offset must be a whole number")
    return limit, offset


def _listing(name: str, items: list[Any], total: int, limit: int | None, offset: int) -> dict[str, Any]:
    return {name: items, "total": total, "limit": limit, "offset": offset}


Handler = Callable[[Request, LocalAdmin], Any]


class AdminApi:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.token = admin_token(runtime.settings.secret_key)

    def _admin(self, request: Request) -> LocalAdmin:
        given = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            raise _Refused(401, "a valid admin token is required")
        actor = clean_actor(unquote(request.headers.get(ACTOR_HEADER, "")) or "admin-api")
        return runtime_admin(self.runtime, actor)

    async def _run(self, request: Request, handler: Handler, status: int = 200) -> Response:
        """Authorize, run the handler in a thread (ClickHouse calls block), map refusals to JSON errors."""
        try:
            admin = self._admin(request)
            result = await handler(request, admin)
        except _Refused as refused:
            return error(refused.status, refused.reason)
        except DuplicateExternalId as duplicate:
            # The panel's retry of a create that went through: the answer names the site it already made.
            return JSONResponse({"error": str(duplicate), "site_id": duplicate.site_id}, status_code=409)
        except AdminError as reason:
            return error(404 if str(reason).startswith("no ") else 400, str(reason))
        except SiteError as reason:
            return error(400, str(reason))
        return result if isinstance(result, Response) else JSONResponse(result, status_code=status)

    # Sites ------------------------------------------------------------------------------------------------

    async def sites(self, request: Request) -> Response:
        async def handle(request: Request, admin: LocalAdmin) -> Any:
            if request.method == "GET":
                return await run_in_threadpool(self._site_listing, request, admin)
            body = _site_body(await _json_object(request), required=True)
            settings = {key: value for key, value in body.items() if key not in _SITE_REQUIRED}
            site = await run_in_threadpool(lambda: admin.add_site(body["name"], body["domains"], body["timezone"],
                                                                  body["retention_days"], **settings))
            return JSONResponse(site.as_json(), status_code=201)
        return await self._run(request, handle)

    async def site(self, request: Request) -> Response:
        async def handle(request: Request, admin: LocalAdmin) -> Any:
            site_id = _site_id(request)
            if request.method == "GET":
                return (await run_in_threadpool(admin.get_site, site_id)).as_json()
            if request.method == "DELETE":
                return (await run_in_threadpool(admin.delete_site, site_id)).as_json()
            body = _site_body(await _json_object(request), required=False)
            return (await run_in_threadpool(admin.update_site, site_id, body)).as_json()
        return await self._run(request, handle)

    @staticmethod
    def _site_listing(request: Request, admin: LocalAdmin) -> dict[str, Any]:
        """Every site, a page of them (?limit=&offset=, by id), or the one with ?external_id= (or none)."""
        limit, offset = _page(request)
        external_id = request.query_params.get("external_id")
        if external_id is not None:
            found = admin.registry.by_external_id(external_id)
            return _listing("sites", [found.as_json()] if found else [], int(found is not None), None, 0)
        sites = admin.registry.list(limit, offset)
        total = admin.registry.count() if limit is not None or offset else len(sites)
        return _listing("sites", [site.as_json() for site in sites], total, limit, offset)

    async def site_snippet(self, request: Request) -> Response:
        """The tracking code to paste, as `teller snippet` prints it: JSON, or the HTML alone with ?format=html."""
        async def handle(request: Request, admin: LocalAdmin) -> Any:
            site = await run_in_threadpool(admin.get_site, _site_id(request))
            base_url = self.runtime.settings.server.public_url
            html = render_snippet(base_url, site.site_id)
            if request.query_params.get("format") == "html":
                return PlainTextResponse(html)
            return {"site_id": site.site_id, "html": html, "tracker_url": base_url + "matomo.php",
                    "script_url": f"{base_url}teller.js?idsite={site.site_id}",
                    "optout_html": render_optout_embed(base_url)}
        return await self._run(request, handle)

    async def openapi(self, request: Request) -> Response:
        """The admin API's description; behind the admin token like the API itself (keep /api/admin/ private)."""
        async def handle(request: Request, admin: LocalAdmin) -> Any:
            return admin_openapi_document()
        return await self._run(request, handle)

    # Tracking tokens --------------------------------------------------------------------------------------

    async def tracking_tokens(self, request: Request) -> Response:
        """GET lists tokens (?site_id=N), POST {"site_id", "label"} creates one and shows it once."""
        async def handle(request: Request, admin: LocalAdmin) -> Any:
            if request.method == "GET":
                site_id = whole_number(request.query_params.get("site_id", ""))
                return {"tokens": [token.as_json() for token in await run_in_threadpool(admin.list_tokens, site_id)]}
            body = await _json_object(request)
            site_id, label = body.get("site_id"), body.get("label", "")
            if not isinstance(site_id, int) or isinstance(site_id, bool) or not isinstance(label, str):
                raise _Refused(400, "send {\"site_id\": <number>, \"label\": <text>}")
            secret, token = await run_in_threadpool(admin.add_token, site_id, label)
            return JSONResponse(token.as_json() | {"token": secret}, status_code=201)
        return await self._run(request, handle)

    async def tracking_token(self, request: Request) -> Response:
        async def handle(request: Request, admin: LocalAdmin) -> Any:
            token_id = request.path_params["token_id"][:100]
            return (await run_in_threadpool(admin.revoke_token, token_id)).as_json()
        return await self._run(request, handle)

    # Users ------------------------------------------------------------------------------------------------
    # Passwords arrive only in request bodies (never in a path or query, which proxies log) and are never
    # answered back; TOTP secrets and API tokens are answered once, when they are made.

    async def users(self, request: Request) -> Response:
        """GET lists users with their roles (?limit=&offset= for a page); POST {"email", "password",
        "super_admin"?} adds one."""
        async def handle(request: Request, admin: LocalAdmin) -> Any:
            if request.method == "GET":
                limit, offset = _page(request)
                users = await run_in_threadpool(admin.list_users)
                page = users[offset:offset + limit] if limit is not None else users[offset:]
                return _listing("users", [user.as_json() for user in page], len(users), limit, offset)
            body = await _json_object(request)
            _check_fields(body, _USER_FIELDS)
            if "email" not in body or "password" not in body:
                raise _Refused(400, "send {\"email\", \"password\", \"super_admin\": false}")
            user = await run_in_threadpool(admin.add_user, body["email"], body["password"],
                                           body.get("super_admin", False))
            return JSONResponse(user.as_json(), status_code=201)
        return await self._run(request, handle)

    async def user(self, request: Request) -> Response:
        """DELETE removes the user with their roles and API tokens."""
        async def handle(request: Request, admin: LocalAdmin) -> Any:
            return (await run_in_threadpool(admin.delete_user, request.path_params["email"])).as_json()
        return await self._run(request, handle)

    async def user_password(self, request: Request) -> Response:
        """PUT {"password"}: a new password, which ends the user's sessions."""
        async def handle(request: Request, admin: LocalAdmin) -> Any:
            body = await _json_object(request)
            _check_fields(body, {"password": str})
            if "password" not in body:
                raise _Refused(400, "send {\"password\": <text>}")
            return (await run_in_threadpool(admin.reset_password, request.path_params["email"],
                                            body["password"])).as_json()
        return await self._run(request, handle)

    async def user_grant(self, request: Request) -> Response:
        """PUT {"role": "viewer"|"admin"} gives or changes the user's role on the site; DELETE takes it away."""
        async def handle(request: Request, admin: LocalAdmin) -> Any:
            email, site_id = request.path_params["email"], _site_id(request)
            if request.method == "DELETE":
                return (await run_in_threadpool(admin.revoke_grant, email, site_id)).as_json()
            body = await _json_object(request)
            _check_fields(body, {"role": str})
            if "role" not in body:
                raise _Refused(400, "send {\"role\": \"viewer\"} or {\"role\": \"admin\"}")
            return (await run_in_threadpool(admin.grant, email, site_id, body["role"])).as_json()
        return await self._run(request, handle)

    async def user_totp(self, request: Request) -> Response:
        """POST: a new TOTP secret (answered once, with its otpauth URI); DELETE: no second factor."""
        async def handle(request: Request, admin: LocalAdmin) -> Any:
            email = request.path_params["email"]
            if request.method == "DELETE":
                return (await run_in_threadpool(admin.disable_totp, email)).as_json()
            secret, user = await run_in_threadpool(admin.enable_totp, email)
            return {"secret": secret, "uri": provisioning_uri(secret, user.email), "user": user.as_json()}
        return await self._run(request, handle)

    async def user_tokens(self, request: Request) -> Response:
        """GET lists users' API tokens (?email=…); POST {"email", "site_ids"?, "label"?} makes one, shown once."""
        async def handle(request: Request, admin: LocalAdmin) -> Any:
            if request.method == "GET":
                email = request.query_params.get("email") or None
                return {"tokens": [token.as_json() for token in await run_in_threadpool(admin.list_user_tokens,
                                                                                       email)]}
            body = await _json_object(request)
            _check_fields(body, _USER_TOKEN_FIELDS)
            sites = body.get("site_ids", [])
            if "email" not in body or not all(isinstance(site, int) and not isinstance(site, bool)
                                               for site in sites):
                raise _Refused(400, "send {\"email\", \"site_ids\": [<number>, …], \"label\"}")
            secret, token = await run_in_threadpool(admin.add_user_token, body["email"], sites, body.get("label", ""))
            return JSONResponse(token.as_json() | {"token": secret}, status_code=201)
        return await self._run(request, handle)

    async def user_token(self, request: Request) -> Response:
        async def handle(request: Request, admin: LocalAdmin) -> Any:
            token_id = request.path_params["token_id"][:100]
            return (await run_in_threadpool(admin.revoke_user_token, token_id)).as_json()
        return await self._run(request, handle)

    # Shared links -----------------------------------------------------------------------------------------
    # The link's secret is answered once, when it is made; a password arrives only in the body.

    async def shared_links(self, request: Request) -> Response:
        """GET lists a site's live links (?revoked=1: revoked ones too); POST {"label"?, "password"?} makes one."""
        async def handle(request: Request, admin: LocalAdmin) -> Any:
            site_id = _site_id(request)
            if request.method == "GET":
                revoked = request.query_params.get("revoked") == "1"
                links = await run_in_threadpool(admin.list_shared_links, site_id, revoked)
                return {"links": [link.as_json() for link in links]}
            body = await _json_object(request)
            _check_fields(body, _SHARE_FIELDS)
            secret, link = await run_in_threadpool(admin.add_shared_link, site_id, body.get("label", ""),
                                                   body.get("password") or None)
            url = self.runtime.settings.server.public_url.rstrip("/") + share_path(secret)
            return JSONResponse(link.as_json() | {"secret": secret, "url": url}, status_code=201)
        return await self._run(request, handle)

    async def shared_link(self, request: Request) -> Response:
        """DELETE revokes the link (by its id or a unique prefix of it); PATCH {"label"?, "password"?} changes it:
        an absent field stays as it is, a password of null or "" removes it (anyone with the URL sees the page)."""
        async def handle(request: Request, admin: LocalAdmin) -> Any:
            link_id = request.path_params["link_id"][:100]
            if request.method == "DELETE":
                return (await run_in_threadpool(admin.revoke_shared_link, link_id)).as_json()
            label, password, remove_password = _link_change(await _json_object(request))
            return (await run_in_threadpool(lambda: admin.update_shared_link(
                link_id, label=label, password=password, remove_password=remove_password))).as_json()
        return await self._run(request, handle)

    # Retention --------------------------------------------------------------------------------------------

    async def retention(self, request: Request) -> Response:
        """GET: the audit. POST …/enforce: apply every policy now. Status 409 when rows are past policy, so a
        monitoring probe can alert on the status alone."""
        enforce = request.url.path.endswith("/enforce")

        async def handle(request: Request, admin: LocalAdmin) -> Any:
            report = await run_in_threadpool(admin.retention_audit, enforce)
            return JSONResponse(report, status_code=409 if report["rows_past_policy"] else 200)
        return await self._run(request, handle)

    # Data subjects ----------------------------------------------------------------------------------------

    async def subject(self, request: Request) -> Response:
        """POST /api/admin/subjects/{find|export|delete} with {"visitor"|"user_id"|"cookieless", "site_id"?}.
        Export answers JSON, or CSV of one table with ?format=csv&table=events|visits."""
        action = request.path_params["action"]
        if action not in ("find", "export", "delete"):
            return error(404, "subjects actions are find, export and delete")

        async def handle(request: Request, admin: LocalAdmin) -> Any:
            body = await _json_object(request)
            _check_fields(body, _SUBJECT_FIELDS)
            result = await run_in_threadpool(getattr(admin, f"subject_{action}"), body)
            if action == "export" and request.query_params.get("format") == "csv":
                table = request.query_params.get("table", "events")
                if table not in ("events", "visits"):
                    raise _Refused(400, "table must be events or visits")
                return Response(rows_csv(result[table]), media_type="text/csv; charset=utf-8",
                                headers={"Content-Disposition": f'attachment; filename="subject-{table}.csv"'})
            return result
        return await self._run(request, handle)
