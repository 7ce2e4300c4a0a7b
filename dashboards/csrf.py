"""CSRF protection for everything the browser can send with the session cookie.

Every request that may change something (any method but GET, HEAD and OPTIONS) must carry the session's CSRF
token, as the form field `csrf_token` (application/x-www-form-urlencoded) or the `X-CSRF-Token` header;
otherwise it is answered 403 before any route runs. It is a middleware rather than a check in each handler so
a form added later is protected without anyone remembering to. Exempt: the admin API (it takes only its
bearer token, never the cookie) and Stats API calls that carry `Authorization` (the API then ignores the
cookie). Tracking requests never reach this middleware (TrackingFastPath).
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboards.sessions import CSRF_FIELD, CSRF_HEADER, SessionCodec

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_BYTES = 64 * 1024  # the dashboard's forms are a few fields; larger bodies are refused, not buffered
EXEMPT_PREFIXES = ("/api/admin/",)


class CsrfMiddleware:
    def __init__(self, app: ASGIApp, sessions: SessionCodec) -> None:
        self.app = app
        self.sessions = sessions

    def _exempt(self, scope: Scope) -> bool:
        path: str = scope["path"]
        if path.startswith(EXEMPT_PREFIXES):
            return True
        return path.startswith("/api/") and any(name == b"authorization" for name, _ in scope.get("headers", []))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS or self._exempt(scope):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        token = connection.headers.get(CSRF_HEADER, "")
        body: bytes | None = None  # set when the body was read here, to hand on
        if not token and connection.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            body = await _read_body(receive, MAX_FORM_BYTES)
            if body is None:
                await _refuse(scope, 413, "the form is too large")(scope, receive, send)
                return
            token = (parse_qs(body.decode("latin-1")).get(CSRF_FIELD) or [""])[0]
        if not self.sessions.csrf_ok(self.sessions.read(connection), token):
            await _refuse(scope, 403, "the form has expired or did not come from this site's pages; reload the "
                                      "page and try again")(scope, receive, send)
            return
        await self.app(scope, receive if body is None else _replay(body, receive), send)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read above, handed to the app as if it came from the client; then the client's messages."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _refuse(scope: Scope, status: int, reason: str) -> Response:
    if scope["path"].startswith("/api/"):
        return JSONResponse({"error": reason}, status_code=status)
    return PlainTextResponse(f"{reason}\n", status_code=status)
