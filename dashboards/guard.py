"""Access checks wrapped around every dashboard page and Stats API route.

A route gets its handler through `Guard.page` or `Guard.api`, which find the viewer (the session's user, or for
the API a user's token), refuse anyone else, and for a path with `{site_id}` refuse a site the viewer may not
see before the handler runs: handlers cannot forget the check. A site the viewer may not see is answered like
a site that does not exist (404), so ids of other tenants' sites cannot be probed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from dashboards.sessions import Session, SessionCodec
from ingest.numbers import whole_number
from teller.access import AccessDirectory, Viewer

VIEWER_KEY = "teller.viewer"
CSRF_KEY = "teller.csrf_token"
MAX_SITE_ID = 2**32 - 1

Endpoint = Callable[[Request], Awaitable[Response]]


class ErrorPage(Protocol):
    def __call__(self, request: Request, status: int, message: str, **values: str) -> Response:
        """An error page; `message` is English text, translated before `values` fill its {fields}."""


def viewer_of(request: Request) -> Viewer:
    """The viewer the guard let through (only guarded handlers call this)."""
    viewer: Viewer = request.scope[VIEWER_KEY]
    return viewer


def csrf_of(request: Request) -> str:
    return str(request.scope.get(CSRF_KEY, ""))


def _json_error(status: int, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status, headers=headers)


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)


class Guard:
    def __init__(self, access: AccessDirectory, sessions: SessionCodec, error_page: ErrorPage) -> None:
        self.access = access
        self.sessions = sessions
        self.error_page = error_page

    def session_viewer(self, request: Request) -> tuple[Viewer, Session] | None:
        """The logged-in user of this request's session; None when there is none, it was logged out, or the
        user's password or second factor changed since (or the user is gone)."""
        session = self.sessions.read(request)
        if session is None or session.user_id is None or self.access.is_revoked(session.sid):
            return None
        user = self.access.user(session.user_id)
        if user is None or self.sessions.fingerprint(user) != session.auth:
            return None
        return self.access.viewer(user), session

    def page(self, endpoint: Endpoint, *, super_admin: bool = False) -> Endpoint:
        """An HTML page: without a session, off to the login page (and back after)."""
        async def guarded(request: Request) -> Response:
            found = await run_in_threadpool(self.session_viewer, request)
            if found is None:
                return login_redirect(request)
            viewer, session = found
            # Set first, so a refusal page too shows who is logged in, with the logout form.
            request.scope[VIEWER_KEY] = viewer
            request.scope[CSRF_KEY] = self.sessions.csrf_token(session)
            if super_admin and not viewer.is_super_admin:
                return _private(self.error_page(request, 404, "There is no such page."))
            text = request.path_params.get("site_id")
            if text is not None:
                site_id = whole_number(text, limit=MAX_SITE_ID)
                if site_id is None or not viewer.can_see(site_id):
                    return _private(self.error_page(request, 404, "There is no site with id {site_id}.",
                                                    site_id=text))
            return _private(await endpoint(request))
        return guarded

    def api(self, endpoint: Endpoint, *, super_admin: bool = False) -> Endpoint:
        """A JSON route: a user's API token (`Authorization: Bearer …`) or, from the dashboard, the session."""
        async def guarded(request: Request) -> Response:
            header = request.headers.get("authorization")
            if header is not None:
                # With an Authorization header the cookie is never looked at (the CSRF middleware relies on it).
                scheme, _, secret = header.partition(" ")
                viewer = (await run_in_threadpool(self.access.viewer_for_token, secret.strip())
                          if scheme.lower() == "bearer" else None)
                if viewer is None:
                    return _json_error(401, "the API token is unknown or revoked",
                                       {"WWW-Authenticate": 'Bearer realm="teller"'})
            else:
                found = await run_in_threadpool(self.session_viewer, request)
                if found is None:
                    return _json_error(401, "log in, or send a user's API token as Authorization: Bearer <token>",
                                       {"WWW-Authenticate": 'Bearer realm="teller"'})
                viewer = found[0]
            if super_admin and not viewer.is_super_admin:
                return _json_error(403, "only a super-admin may see this")
            text = request.path_params.get("site_id")
            if text is not None:
                site_id = whole_number(text, limit=MAX_SITE_ID)
                if site_id is None:
                    return _json_error(400, f"site id {text[:20]!r} is not a number")
                if not viewer.can_see(site_id):
                    return _json_error(404, f"no site with id {site_id}")
            request.scope[VIEWER_KEY] = viewer
            return _private(await endpoint(request))
        return guarded


def _private(response: Response) -> Response:
    # A tenant's numbers must not be kept by a shared proxy or shown again from a browser's cache after logout.
    response.headers["Cache-Control"] = "private, no-store"
    return response
