"""Shared links: the read-only dashboard at /share/<secret>, and the page where a site's admins manage them.

The link alone decides the site: nothing in the request (query, path, cookies of a logged-in user) can switch
to another one, and its exports and live count have routes of their own under the same path. An unknown,
revoked or malformed secret, or a link whose site is gone, gets the same 404.

A password-protected link first shows a password form (CSRF-protected by the middleware like every form,
throttled like login). A correct password sets an unlock cookie that is signed, HttpOnly, SameSite=Lax and
scoped to the link's path, so it opens that link only. In another site's iframe browsers hold back SameSite=Lax
cookies (and more and more any third-party cookie), so an embedded password link cannot be unlocked inside
the frame: the frame links out to a tab instead. Links meant for embedding on other sites go without a password.

The management page (`/sites/{id}/shared-links`) runs behind the guard; only the site's admins (and
super-admins) get past the role check here. It runs the same LocalAdmin as the CLI and the admin API, so
every change is in the audit log under `dashboard:<email>`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from dashboards.api import StatsApi, error
from dashboards.guard import viewer_of
from dashboards.sessions import SessionCodec
from dashboards.site_page import Links
from dashboards.throttle import LoginThrottle
from dashboards.web import DashboardPages, chosen_language, in_language, language_context
from ingest.numbers import whole_number
from ingest.sites import Site
from teller.admin import runtime_admin
from teller.admin_errors import AdminError
from teller.passwords import verify_password
from teller.runtime import Runtime
from teller.shared_links import SharedLink, share_path

UNLOCK_COOKIE = "teller_share"
UNLOCK_LIFETIME = timedelta(hours=12)
MAX_SECRET_LENGTH = 100  # ours are 32 characters; anything much longer is not worth hashing
NO_SUCH_LINK = "There is no such shared link. It may have been revoked."
WRONG_PASSWORD = "Wrong password."  # noqa: S105 - a message, not a password


def shared_headers(response: Response) -> Response:
    # The page's numbers must not stay in a shared cache, its URL (the secret) must not reach the sites its
    # links lead to, and search engines must not list it.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _address(request: Request) -> str:
    # Already masked by MaskClientAddress before any route runs.
    return request.client.host if request.client else ""


class SharedDashboard:
    """GET/POST /share/{secret} (the dashboard, or its password form), …/export and …/realtime."""

    def __init__(self, runtime: Runtime, pages: DashboardPages, api: StatsApi, sessions: SessionCodec,
                 throttle: LoginThrottle | None = None) -> None:
        self.runtime = runtime
        self.pages = pages
        self.api = api
        self.sessions = sessions
        self.throttle = throttle or LoginThrottle()
        root = runtime.settings.secret_key.encode("utf-8")
        self._unlock_key = hmac.new(root, b"teller-share-unlock-v1", hashlib.sha256).digest()
        self.serializer = URLSafeTimedSerializer(self._unlock_key, salt="teller.share")

    def _find(self, request: Request) -> tuple[str, SharedLink, Site] | None:
        secret = request.path_params["secret"]
        if len(secret) > MAX_SECRET_LENGTH:
            return None
        link = self.runtime.access.shared_link(secret)
        site = self.runtime.registry.get(link.site_id) if link is not None else None
        return (secret, link, site) if link is not None and site is not None else None

    def _missing(self, request: Request) -> Response:
        return shared_headers(self.pages.error_page(request, 404, NO_SUCH_LINK, shared=True))

    # The unlock cookie ------------------------------------------------------------------------------------

    def _proof(self, link: SharedLink) -> str:
        """Names the link and its password; a different link (or password) is never opened by this cookie. Bound
        to the password's hash, not the password: a new password, even the same one again (argon2 salts each
        hash afresh), ends every unlock made before it."""
        material = f"{link.secret_hash}\0{link.password_hash}".encode()
        return hmac.new(self._unlock_key, material, hashlib.sha256).hexdigest()[:32]

    def _unlocked(self, request: Request, link: SharedLink) -> bool:
        value = request.cookies.get(UNLOCK_COOKIE)
        if not value:
            return False
        try:
            proof = self.serializer.loads(value, max_age=int(UNLOCK_LIFETIME.total_seconds()))
        except BadSignature:
            return False
        return isinstance(proof, str) and hmac.compare_digest(proof.encode(), self._proof(link).encode())

    # Routes -----------------------------------------------------------------------------------------------

    async def view(self, request: Request) -> Response:
        found = await run_in_threadpool(self._find, request)
        if found is None:
            return self._missing(request)
        secret, link, site = found
        if link.has_password and not self._unlocked(request, link):
            if request.method == "POST":
                return shared_headers(await self._check_password(request, secret, link))
            return shared_headers(self._password_page(request, secret))
        if request.method == "POST":  # an unlocked (or open) link: back to the page itself
            return shared_headers(RedirectResponse(self._here(request, secret), status_code=303))
        embed = request.query_params.get("embed") == "1"
        links = Links(site, list(request.query_params.multi_items()), shared_path=share_path(secret))
        return shared_headers(await self.pages.dashboard(request, site, links, shared=True, embed=embed))

    async def _open_site(self, request: Request) -> Site | Response:
        """For the link's JSON and CSV routes: its site, or the refusal (unknown link, or still locked)."""
        found = await run_in_threadpool(self._find, request)
        if found is None:
            return shared_headers(error(404, "no such shared link"))
        _, link, site = found
        if link.has_password and not self._unlocked(request, link):
            return shared_headers(error(401, "this shared link needs its password"))
        return site

    async def export(self, request: Request) -> Response:
        """A panel's rows as CSV (or JSON), as /api/v1/sites/{id}/breakdown answers for the link's site."""
        site = await self._open_site(request)
        if isinstance(site, Response):
            return site
        return shared_headers(await self.api.site_breakdown(request, site))

    async def realtime(self, request: Request) -> Response:
        site = await self._open_site(request)
        if isinstance(site, Response):
            return site
        return shared_headers(JSONResponse(await run_in_threadpool(self.runtime.queries.realtime, site)))

    # The password form ------------------------------------------------------------------------------------

    @staticmethod
    def _here(request: Request, secret: str) -> str:
        """This link's page with the request's own query (embed, lang, period, filters) kept."""
        return share_path(secret) + (f"?{request.url.query}" if request.url.query else "")

    def _password_page(self, request: Request, secret: str, status: int = 200, message: str = "",
                       wait: int = 0) -> Response:
        # A visitor without a cookie gets the session its form's CSRF token belongs to (as on the login page).
        session = self.sessions.read(request) or self.sessions.anonymous()
        embed = request.query_params.get("embed") == "1"
        top = [(key, value) for key, value in request.query_params.multi_items() if key != "embed"]
        html = self.pages.templates.get_template("share_password.html").render(
            viewer=None, shared=True, embed=embed, csrf_token=self.sessions.csrf_token(session), message=message,
            wait=wait, form_url=self._here(request, secret),
            top_url=share_path(secret) + (f"?{urlencode(top)}" if top else ""), **language_context(request))
        page = HTMLResponse(html, status_code=status, headers={"Retry-After": str(wait)} if wait else None)
        self.sessions.write(page, session)
        return page

    async def _check_password(self, request: Request, secret: str, link: SharedLink) -> Response:
        form = await request.form()
        password = str(form.get("password", ""))
        # Failures count per link (like an account) and per masked client address, as login's do.
        keys = self.throttle.keys(f"shared-link {link.link_id}", _address(request))
        wait = self.throttle.wait_seconds(keys)
        if wait > 0:
            return self._password_page(request, secret, 429, "Too many failed attempts.", math.ceil(wait))
        if not await run_in_threadpool(verify_password, link.password_hash, password):
            self.throttle.failed(keys)
            return self._password_page(request, secret, 401, WRONG_PASSWORD)
        self.throttle.succeeded(keys[0])
        response = RedirectResponse(self._here(request, secret), status_code=303)
        response.set_cookie(UNLOCK_COOKIE, self.serializer.dumps(self._proof(link)),
                            max_age=int(UNLOCK_LIFETIME.total_seconds()), path=share_path(secret),
                            secure=self.sessions.secure, httponly=True, samesite="lax")
        return response


class SharedLinkPages:
    """GET/POST /sites/{site_id}/shared-links and POST …/{link_id}/update and …/{link_id}/revoke, for the site's
    admins."""

    def __init__(self, runtime: Runtime, pages: DashboardPages) -> None:
        self.runtime = runtime
        self.pages = pages

    def _site(self, request: Request) -> Site | Response:
        """The site, when the viewer is its admin (the guard has already refused sites they may not see)."""
        text = request.path_params["site_id"]
        site_id = whole_number(text, limit=2**32 - 1)
        site = self.runtime.registry.get(site_id) if site_id is not None else None
        if site is None:
            return self.pages.error_page(request, 404, "There is no site with id {site_id}.", site_id=text[:40])
        if viewer_of(request).role(site.site_id) != "admin":
            return self.pages.error_page(request, 403, "Only the site's admins may manage its shared links.")
        return site

    def _admin(self, request: Request) -> Any:
        return runtime_admin(self.runtime, f"dashboard:{viewer_of(request).user.email}")

    def _page(self, request: Request, site: Site, status: int = 200, **context: Any) -> Response:
        links = self._admin(request).list_shared_links(site.site_id)
        return self.pages.render(request, "share_links.html", status, site=site, shared_links=links, **context)

    async def manage(self, request: Request) -> Response:
        site = await run_in_threadpool(self._site, request)
        if isinstance(site, Response):
            return site
        if request.method == "GET":
            return await run_in_threadpool(self._page, request, site)
        form = await request.form()
        label, password = str(form.get("label", ""))[:200], str(form.get("password", ""))
        try:
            secret, _ = await run_in_threadpool(self._admin(request).add_shared_link, site.site_id, label,
                                                password or None)
        except AdminError as refused:
            message = str(refused)
            return await run_in_threadpool(lambda: self._page(request, site, 400, message=message))
        url = self.runtime.settings.server.public_url.rstrip("/") + share_path(secret)
        return await run_in_threadpool(lambda: self._page(request, site, 201, created_url=url))

    async def revoke(self, request: Request) -> Response:
        site = await run_in_threadpool(self._site, request)
        if isinstance(site, Response):
            return site
        link_id = request.path_params["link_id"][:100]
        try:
            # Scoped to this site: an admin of one site cannot revoke another site's link by its id.
            await run_in_threadpool(self._admin(request).revoke_shared_link, link_id, site.site_id)
        except AdminError as reason:
            return self.pages.error_page(request, 404, str(reason))
        return RedirectResponse(in_language(f"/sites/{site.site_id}/shared-links", chosen_language(request)),
                                status_code=303)

    async def update(self, request: Request) -> Response:
        """A new label, and a new password (an empty field keeps the old one) or none (`remove_password`)."""
        site = await run_in_threadpool(self._site, request)
        if isinstance(site, Response):
            return site
        link_id = request.path_params["link_id"][:100]
        form = await request.form()
        label, password = str(form.get("label", ""))[:200], str(form.get("password", ""))
        # A password typed in wins over the "no password" box: what was typed is what the admin meant last.
        remove_password = form.get("remove_password") == "1" and not password
        try:
            # Scoped to this site, as revoking is.
            await run_in_threadpool(lambda: self._admin(request).update_shared_link(
                link_id, label=label, password=password or None, remove_password=remove_password,
                site_id=site.site_id))
        except AdminError as refused:
            message = str(refused)
            if message.startswith("no "):  # no such live link of this site
                return self.pages.error_page(request, 404, message)
            return await run_in_threadpool(lambda: self._page(request, site, 400, message=message))
        # Back to the list, in the language chosen on it (the form carries ?lang= on).
        return RedirectResponse(in_language(f"/sites/{site.site_id}/shared-links", chosen_language(request)),
                                status_code=303)
