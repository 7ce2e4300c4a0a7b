"""A site's settings page (/sites/{id}/settings) for its admins (owners) and super-admins.

It shows and changes the site's settings, the tracking snippet and who has access. Every change goes through
LocalAdmin, so it is validated exactly as the admin API and the CLI validate it and is written to the audit log
with the user's email as the actor. Viewers of the site get a 403 page (the site page hides the link for them);
anyone who cannot see the site at all gets the guard's 404, like a site that does not exist.

Site admins may grant and revoke viewer and admin roles of existing users on their site, but not change or take
away their own role (so a site is never left without its owner by a slip); super-admins may do all of it.
Accounts are made by the hosting provider (`teller user add` or the admin API), never from this page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from collector.snippet import render_snippet
from dashboards.guard import viewer_of
from dashboards.web import chosen_language, in_language, locale_of
from ingest.numbers import whole_number
from ingest.sites import MATOMO_COOKIE_SECONDS, Site, SiteError
from teller.access import Viewer
from teller.admin import AdminError, LocalAdmin, runtime_admin
from teller.durations import MAX_COOKIE_SECONDS
from teller.runtime import Runtime
from teller.users import ROLES, UserStore

Render = Callable[..., Response]
ErrorPage = Callable[[Request, int, str], Response]

# Cookie lifetimes are whole seconds, as the admin API and the tracker take them; ingest.sites.check_setting
# decides what is allowed, as it does for the API and the CLI.
COOKIE_FIELDS = (("visitor_cookie_seconds", "Visitor cookie _pk_id lifetime (seconds)"),
                 ("session_cookie_seconds", "Session cookie _pk_ses lifetime (seconds)"),
                 ("referral_cookie_seconds", "Referral cookie _pk_ref lifetime (seconds)"))
# Form fields holding whole numbers, and those holding lists: one item per line (user agents may contain
# commas and spaces), or for names that cannot contain them, per line or comma.
NUMBER_FIELDS = ("retention_days", "rollup_retention_days", "visit_timeout_minutes", "ipv4_mask_bytes",
                 "ipv6_prefix_bits", *(name for name, _ in COOKIE_FIELDS))
LINE_LIST_FIELDS = ("domains", "excluded_ips", "excluded_user_agents")
WORD_LIST_FIELDS = ("excluded_params", "search_params", "search_category_params")
CHECKBOX_FIELDS = ("cookieless", "respect_dnt", "geo_full_ip")
TEXT_FIELDS = ("name", "timezone")
FORM_FIELDS = (*TEXT_FIELDS, *LINE_LIST_FIELDS, *WORD_LIST_FIELDS, *NUMBER_FIELDS, *CHECKBOX_FIELDS)
_WORD_SEPARATORS = re.compile(r"[\s,]+")
SAVED_MESSAGES = {"settings": "The settings were saved.", "grant": "Access was granted.",
                  "revoke": "Access was taken away."}


class FormError(ValueError):
    """A field of the form is not what it should be; the message is shown above the form."""


def form_values(site: Site) -> dict[str, Any]:
    """The site's settings as the form shows them."""
    values: dict[str, Any] = {}
    for name in FORM_FIELDS:
        value = getattr(site, name)
        values[name] = ("\n" if name in LINE_LIST_FIELDS else ", ").join(value) if isinstance(value, tuple) \
            else value
    return values


def submitted_values(form: Mapping[str, str]) -> dict[str, Any]:
    """The form as sent, to show again beside an error."""
    values: dict[str, Any] = {name: form.get(name, "") for name in FORM_FIELDS}
    values.update({name: name in form for name in CHECKBOX_FIELDS})
    return values


def parse_changes(form: Mapping[str, str], site: Site) -> dict[str, Any]:
    """The fields whose value differs from the site's, as LocalAdmin.update_site takes them."""
    parsed: dict[str, Any] = {name: form.get(name, "").strip() for name in TEXT_FIELDS}
    for name in LINE_LIST_FIELDS:
        parsed[name] = tuple(line.strip() for line in form.get(name, "").splitlines() if line.strip())
    for name in WORD_LIST_FIELDS:
        parsed[name] = tuple(word for word in _WORD_SEPARATORS.split(form.get(name, "")) if word)
    for name in NUMBER_FIELDS:
        number = whole_number(form.get(name, "").strip())
        if number is None:
            raise FormError(f"{name} must be a whole number")
        parsed[name] = number
    parsed.update({name: name in form for name in CHECKBOX_FIELDS})
    return {name: list(value) if isinstance(value, tuple) else value
            for name, value in parsed.items() if value != getattr(site, name)}


class SiteSettingsPage:
    def __init__(self, runtime: Runtime, render: Render, error_page: ErrorPage) -> None:
        self.runtime = runtime
        self.render = render
        self.error_page = error_page

    def _admin(self, viewer: Viewer) -> LocalAdmin:
        return runtime_admin(self.runtime, viewer.user.email)

    def _access_list(self, site_id: int) -> list[tuple[str, str]]:
        users = UserStore(self.runtime.store)
        emails = {user.user_id: user.email for user in users.users()}
        return sorted((emails[grant.user_id], grant.role) for grant in users.grants(site_id=site_id)
                      if grant.user_id in emails)

    async def handle(self, request: Request) -> Response:
        viewer = viewer_of(request)
        site_id = int(request.path_params["site_id"])  # the guard let only a site id the viewer may see through
        text = locale_of(request).text
        if viewer.role(site_id) != "admin":
            return self.error_page(request, 403, text("Only the site's admins may see and change its settings."))
        site = await run_in_threadpool(self.runtime.registry.get, site_id)
        if site is None:
            return self.error_page(request, 404, text("There is no site with id {site_id}.").format(site_id=site_id))
        if request.method == "GET":
            saved = SAVED_MESSAGES.get(request.query_params.get("saved", ""))
            return await self._page(request, site, form_values(site), notice=text(saved) if saved else None)
        form = {key: str(value) for key, value in (await request.form()).items()}
        action = form.get("action", "")
        try:
            if action == "settings":
                changes = parse_changes(form, site)
                if changes:
                    await run_in_threadpool(self._admin(viewer).update_site, site_id, changes)
            elif action in ("grant", "revoke"):
                await run_in_threadpool(self._change_access, viewer, site_id, action, form)
            else:
                raise FormError("the form sent no action this page knows")
        except (FormError, SiteError, AdminError) as problem:
            values = submitted_values(form) if action == "settings" else form_values(site)
            return await self._page(request, site, values, status=400, error=str(problem), failed=action)
        # Back to the page, in the language chosen on it (the forms carry ?lang= on).
        return RedirectResponse(in_language(f"/sites/{site_id}/settings?saved={action}", chosen_language(request)),
                                status_code=303)

    def _change_access(self, viewer: Viewer, site_id: int, action: str, form: Mapping[str, str]) -> None:
        email = form.get("email", "").strip().lower()
        if not email:
            raise FormError("enter the email address of an existing user")
        if email == viewer.user.email and not viewer.is_super_admin:
            raise FormError("you cannot change or take away your own role; ask another admin of this site")
        admin = self._admin(viewer)
        if action == "revoke":
            admin.revoke_grant(email, site_id)
            return
        role = form.get("role", "")
        if role not in ROLES:
            raise FormError(f"role must be one of {', '.join(ROLES)}")
        admin.grant(email, site_id, role)

    async def _page(self, request: Request, site: Site, values: dict[str, Any], status: int = 200,
                    error: str | None = None, failed: str = "", notice: str | None = None) -> Response:
        access = await run_in_threadpool(self._access_list, site.site_id)
        return self.render(request, "settings.html", status=status, site=site, values=values, error=error,
                           failed=failed, notice=notice, access=access, roles=ROLES, cookie_fields=COOKIE_FIELDS,
                           cookie_defaults=MATOMO_COOKIE_SECONDS, max_cookie_seconds=MAX_COOKIE_SECONDS,
                           snippet=render_snippet(self.runtime.settings.server.public_url, site.site_id))
