"""Login, the second factor and logout.

POST /login checks the password (argon2, teller/passwords.py) under the login throttle; a user with TOTP then
gets a session that waits for the code (POST /login/totp) for a few minutes. Only then is the session a login,
under a new session id. POST /logout revokes the session. Every form carries the session's CSRF token, which
the CSRF middleware checks before these handlers run.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dashboards.guard import Guard
from dashboards.i18n import LANGUAGES
from dashboards.sessions import Session
from dashboards.throttle import LoginThrottle
from dashboards.web import chosen_language, in_language, language_context, locale_of, templates
from teller.passwords import hash_password, needs_rehash, verify_password
from teller.totp import SealError, UsedCodes, unseal
from teller.users import User, UserStore

log = logging.getLogger(__name__)
# The pages' messages, in English; dashboards/i18n.py has them in Dutch.
WRONG_LOGIN = "Wrong email or password."
TOO_MANY = "Too many failed attempts. Try again in {seconds} seconds."
WRONG_CODE = "Wrong or used code."
UNSEALABLE = "Your second factor cannot be checked; ask an administrator to set it again."


def safe_next(target: str) -> str:
    """Where to go after login: a path on this server only, never another site (an open redirect)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target and target.isprintable():
        return target
    return "/"


def _say(request: Request, message: str, **values: int) -> str:
    """A message of these pages in the request's language, with `values` put into its {fields}."""
    return locale_of(request).text(message).format(**values)


def _address(request: Request) -> str:
    # Already masked by MaskClientAddress before any route runs; the full address never reaches this code.
    return request.client.host if request.client else ""


class LoginPages:
    def __init__(self, guard: Guard, users: UserStore, secret_key: str, throttle: LoginThrottle | None = None,
                 used_codes: UsedCodes | None = None) -> None:
        self.guard = guard  # tells whether a request is logged in already
        self.access = guard.access
        self.sessions = guard.sessions
        self.users = users
        self.secret_key = secret_key
        self.throttle = throttle or LoginThrottle()
        self.used_codes = used_codes or UsedCodes()
        self.templates = templates()

    def _page(self, request: Request, name: str, session: Session, status: int = 200,
              headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
        language = language_context(request)
        # The language links keep where to go after login, also on a page that answers a POST (a wrong password).
        language["lang_urls"] = {code: f"{request.url.path}?{urlencode({'next': context['next'], 'lang': code})}"
                                 for code in LANGUAGES}
        html = self.templates.get_template(name).render(csrf_token=self.sessions.csrf_token(session),
                                                        **language, **context)
        response = HTMLResponse(html, status_code=status, headers=headers)
        # Set on every form page: a visitor without a cookie gets the session its form's CSRF token belongs to.
        self.sessions.write(response, session)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"  # no login form inside someone else's frame
        return response

    def _redirect(self, target: str, session: Session | None) -> RedirectResponse:
        response = RedirectResponse(target, status_code=303)
        if session is not None:
            self.sessions.write(response, session)
        return response

    def _too_many(self, request: Request, name: str, session: Session, wait: float, **context: Any) -> HTMLResponse:
        seconds = math.ceil(wait)
        return self._page(request, name, session, status=429, headers={"Retry-After": str(seconds)},
                          message=_say(request, TOO_MANY, seconds=seconds), **context)

    # /login -------------------------------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._check_password(request)
        target = safe_next(request.query_params.get("next", "/"))
        if await run_in_threadpool(self.guard.session_viewer, request) is not None:
            return self._redirect(target, None)
        return self._page(request, "login.html", self.sessions.read(request) or self.sessions.anonymous(),
                          next=target, email="")

    async def _check_password(self, request: Request) -> Response:
        form = await request.form()
        email, password = str(form.get("email", ""))[:320], str(form.get("password", ""))
        target = safe_next(str(form.get("next", "/")))
        session = self.sessions.read(request) or self.sessions.anonymous()  # the CSRF check needed one
        keys = self.throttle.keys(email, _address(request))
        wait = self.throttle.wait_seconds(keys)
        if wait > 0:
            return self._too_many(request, "login.html", session, wait, next=target, email=email)
        user = await run_in_threadpool(self.access.user_by_email, email)
        correct = await run_in_threadpool(verify_password, user.password_hash if user else None, password)
        if user is None or not correct:
            self._failed(keys)
            return self._page(request, "login.html", session, status=401, message=_say(request, WRONG_LOGIN),
                              next=target, email=email)
        if needs_rehash(user.password_hash):
            user = await run_in_threadpool(self._rehash, user, password)
        if user.has_totp:
            waiting = self.sessions.awaiting_code(session, user)
            return self._redirect(in_language("/login/totp?next=" + quote(target, safe=""),
                                              chosen_language(request)), waiting)
        self.throttle.succeeded(keys[0])
        return self._redirect(in_language(target, chosen_language(request)), self.sessions.logged_in(user))

    def _rehash(self, user: User, password: str) -> User:
        """Store the hash again under the current argon2 parameters (they were raised since it was made)."""
        updated = replace(user, password_hash=hash_password(password))
        self.users.write(updated)
        self.access.invalidate()
        return updated

    def _failed(self, keys: list[str]) -> None:
        self.throttle.failed(keys)
        if self.throttle.wait_seconds(keys[:1]) > 0:
            # The account, not the address: addresses are never logged, not even masked.
            log.warning("login: repeated failures for account %r; it waits before the next attempt",
                        keys[0].removeprefix("account:")[:100])

    # /login/totp ----------------------------------------------------------------------------------------------

    async def totp(self, request: Request) -> Response:
        session = self.sessions.read(request)
        user_id = session.pending() if session else None
        user = await run_in_threadpool(self.access.user, user_id) if user_id is not None else None
        if session is None or user is None or self.sessions.fingerprint(user) != session.pending_auth:
            return self._redirect("/login", None)
        if request.method == "GET":
            return self._page(request, "totp.html", session,
                              next=safe_next(request.query_params.get("next", "/")))
        form = await request.form()
        target = safe_next(str(form.get("next", "/")))
        keys = self.throttle.keys(user.email, _address(request))
        wait = self.throttle.wait_seconds(keys)
        if wait > 0:
            return self._too_many(request, "totp.html", session, wait, next=target)
        try:
            secret = unseal(user.totp_secret, self.secret_key)
        except SealError:
            log.error("login: the TOTP secret of user %d cannot be unsealed (was secret_key changed?)", user.user_id)
            return self._page(request, "totp.html", session, status=500, next=target,
                              message=_say(request, UNSEALABLE))
        if not self.used_codes.accept(user.user_id, secret, str(form.get("code", ""))):
            self._failed(keys)
            return self._page(request, "totp.html", session, status=401, next=target,
                              message=_say(request, WRONG_CODE))
        self.throttle.succeeded(keys[0])
        return self._redirect(in_language(target, chosen_language(request)), self.sessions.logged_in(user))

    # /logout --------------------------------------------------------------------------------------------------

    async def logout(self, request: Request) -> Response:
        session = self.sessions.read(request)
        if session is not None and session.logged_in:
            remaining = timedelta(seconds=max(session.expires - int(time.time()), 0) + 60)
            await run_in_threadpool(self.access.revoke_session, session.sid, remaining)
        response = self._redirect(in_language("/login", chosen_language(request)), None)
        self.sessions.clear(response)
        return response
