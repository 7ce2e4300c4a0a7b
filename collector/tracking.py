"""The Matomo HTTP Tracking API endpoint: /matomo.php and /piwik.php, GET and POST.

Parameters come from the query string and a form-encoded body; the query wins when both have a key, as in
Matomo (RequestSet::initRequestsAndTokenAuth). The answer is Matomo's: the 43-byte GIF, or 204 when
send_image=0, and the same success for excluded hits so a client cannot probe the exclusion rules.
"""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from collector.client_ip import CLIENT_ADDRESS_KEY
from ingest.ipmask import ClientAddress
from ingest.pipeline import Pipeline, TrackingRequest, Verdict

log = logging.getLogger(__name__)

TRANSPARENT_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAAAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
MAX_BODY_BYTES = 64 * 1024
MAX_PARAM_LENGTH = 8192
BANNER = "This resource is part of Teller, a Matomo-compatible analytics server.\n"
NO_STORE = {"Cache-Control": "no-store"}


def _cors_headers(method: str, headers: dict[str, str]) -> dict[str, str]:
    # Matomo answers non-GET requests with the caller's origin and credentials allowed, because matomo.js
    # sends XHR with withCredentials (core/Tracker/Response.php).
    if method == "GET":
        return {}
    return {"Access-Control-Allow-Origin": headers.get("origin", "*"), "Access-Control-Allow-Credentials": "true"}


async def _read_params(request: Request, headers: dict[str, str]) -> dict[str, str] | None:
    body = b""
    if request.method == "POST":
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return None
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return None
    params: dict[str, str] = {}
    if body:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    query = request.scope["query_string"].decode("latin-1")
    params.update(parse_qsl(query, keep_blank_values=True))  # the query wins
    return {key[:100]: value[:MAX_PARAM_LENGTH] for key, value in params.items()}


# The answers to nearly every tracking request; Response objects can be sent any number of times.
ACK_NO_CONTENT = Response(status_code=204, headers=NO_STORE)
ACK_IMAGE = Response(TRANSPARENT_GIF, media_type="image/gif", headers=NO_STORE)


TRACKING_PATHS = frozenset({"/matomo.php", "/piwik.php"})


class TrackingEndpoint:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The endpoint as a plain ASGI app: the hottest path skips the router and middleware stack."""
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        # Header names in ASGI are lower-case already; a plain dict is all the pipeline needs.
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in request.scope["headers"]}
        cors = _cors_headers(request.method, headers)
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Access-Control-Allow-Methods": "GET, POST",
                                                       "Access-Control-Allow-Headers": "*",
                                                       "Access-Control-Allow-Origin": "*"})
        params = await _read_params(request, headers)
        if params is None:
            return PlainTextResponse("Request body too large.\n", status_code=413, headers=cors)
        if not params:
            # Matomo shows a banner for a bare GET and 400 for a POST that carried nothing.
            status = 200 if request.method == "GET" else 400
            return PlainTextResponse(BANNER, status_code=status, headers=cors | NO_STORE)
        if not params.get("url") and not params.get("urlref") and headers.get("referer"):
            # Image tracker mode: a bare <img> hit reports the page through the Referer header.
            params["url"] = headers["referer"]
        hit = TrackingRequest(
            params=params,
            user_agent=params.get("ua") or headers.get("user-agent", ""),
            address=request.scope.get(CLIENT_ADDRESS_KEY) or ClientAddress(None),
            received_at=datetime.now(UTC),
            headers=headers,
        )
        outcome = self.pipeline.handle(hit)
        if outcome.ticket:
            await self.pipeline.spool.committed(outcome.ticket)  # acknowledged only once it is on disk
        if outcome.verdict is Verdict.INVALID:
            return PlainTextResponse(f"Invalid request: {outcome.reason}\n\n{BANNER}", status_code=400,
                                     headers=cors | NO_STORE)
        if outcome.verdict is Verdict.OVERLOADED:
            return PlainTextResponse("Teller is overloaded; retry later.\n", status_code=503,
                                     headers=cors | NO_STORE | {"Retry-After": "5"})
        if params.get("send_image") == "0":
            return Response(status_code=204, headers=cors | NO_STORE) if cors else ACK_NO_CONTENT
        return Response(TRANSPARENT_GIF, media_type="image/gif", headers=cors | NO_STORE) if cors else ACK_IMAGE
