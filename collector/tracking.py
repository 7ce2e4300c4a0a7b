"""The Matomo HTTP Tracking API endpoint: /matomo.php, /piwik.php, /js/ and /js/tracker.php.

Parameters come from the query string and a form-encoded body; the query wins when both have a key, as in
Matomo (RequestSet::initRequestsAndTokenAuth). A POST whose body mentions "requests" is a bulk request
(collector.bulk). The answer is Matomo's: the 43-byte GIF, or 204 when send_image=0, and the same success for
excluded hits so a client cannot probe the exclusion rules. /js/ and /js/tracker.php track only for a POST or
a request with a query string; otherwise they serve the tracker script (Matomo's js/tracker.php).

Limits (collector.limits) are checked before anything is written and answered with a 4xx: 414 for a long
URL, 413 for a large body or bulk, 400 for too many parameters. Every answer carries Cache-Control: no-store.

`cs` (the page charset) re-reads the page-made parameters in that charset (collector.charset). A hit with `ca=1`
that records nothing Teller knows (a Matomo plugin's custom action) is refused with 400 and not counted as a
page view (Matomo answers 500 there; Teller never answers 500 to a client's request); inside a bulk request it
only counts as invalid, so the other hits are kept.

`debug=1` (in the hit, or for a bulk request in the URL or the top-level JSON) answers text/plain saying what
happened to each hit: tracked, or dropped and why. It is always on, because site owners need it while they set
up. It reveals only what the sender sent and the outcome; the one thing from the site's settings it names is
the list of domains when the page host is not one of them, and those are the site's own public host names. It
never shows the client address (masked or not), tokens, excluded IP ranges or user-agent patterns.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from collector.bulk import BulkRefused, bulk_answer, is_bulk, parse_bulk
from collector.charset import apply_page_charset
from collector.client_ip import CLIENT_ADDRESS_KEY
from collector.limits import (
    MAX_BODY_BYTES,
    MAX_BULK_BODY_BYTES,
    MAX_PARAMS,
    MAX_URL_BYTES,
    TooManyParameters,
    clean_params,
)
from collector.snippet import TrackerScriptEndpoint
from ingest.ipmask import ClientAddress
from ingest.numbers import whole_number
from ingest.pipeline import Outcome, Pipeline, TrackingRequest, Verdict
from ingest.sites import Site
from ingest.spool import SpoolFull

log = logging.getLogger(__name__)

TRANSPARENT_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAAAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
BANNER = "This resource is part of Teller, a Matomo-compatible analytics server.\n"
NO_STORE = {"Cache-Control": "no-store"}
RETRY_LATER = {"Retry-After": "5"}
# The status of a single hit's answer per verdict when it is not a success (Matomo's codes).
ERROR_STATUS = {Verdict.INVALID: 400, Verdict.UNCLAIMED: 400, Verdict.OVERLOADED: 503}

# The paths teller.app sends straight to this endpoint, past the router.
TRACKING_PATHS = frozenset({"/matomo.php", "/piwik.php", "/js/", "/js/tracker.php"})
# Of those, the ones that serve the tracker script to a GET without a query string (Matomo's js/tracker.php).
SCRIPT_PATHS = frozenset({"/js/", "/js/tracker.php"})

# The answers to nearly every tracking request; Response objects can be sent any number of times.
ACK_NO_CONTENT = Response(status_code=204, headers=NO_STORE)
ACK_IMAGE = Response(TRANSPARENT_GIF, media_type="image/gif", headers=NO_STORE)
PREFLIGHT = Response(status_code=204, headers={"Access-Control-Allow-Methods": "GET, POST",
                                               "Access-Control-Allow-Headers": "*",
                                               "Access-Control-Allow-Origin": "*"} | NO_STORE)


# What debug=1 says for each Outcome.reason of an excluded hit. Fields: {host} the page host, {domains} the
# site's domains, {referrer_host}. A code missing here is shown as it is.
DROP_EXPLANATIONS = {
    "rec_missing": "dropped: the hit has no rec=1 (Matomo clients send it on every hit that should be recorded)",
    "past_retention": "dropped: the hit's time (cdt) is older than the site keeps data",
    "excluded_ip": "dropped: the sender's address is in the site's excluded IP ranges",
    "bot_empty_ua": "dropped: the request has no User-Agent, so it counts as a bot",
    "prefetch": "dropped: the browser only prefetched or prerendered the page; nobody saw it yet",
    "headless": "dropped: the user agent is a headless or automated browser",
    "bot_ua_parser": "dropped: the user agent is a known bot (send bots=1 to keep bot hits, flagged)",
    "bot_crawler_list": "dropped: the user agent is on the crawler list (send bots=1 to keep bot hits, flagged)",
    "bot_headers": "dropped: the request claims to be a browser but lacks headers every browser sends",
    "excluded_user_agent": "dropped: the user agent matches one of the site's excluded user agents",
    "invalid_url": "dropped: the url parameter is missing or is not an http, https or file URL",
    "wrong_host": "dropped: the page host {host} is not one of the site's domains: {domains}",
    "referrer_spam": "dropped: the referrer host {referrer_host} is on the referrer-spam list",
    "ping_without_visit": "dropped: a heartbeat (ping=1) for a visit that has ended or never started",
}


def _cors_headers(method: str, headers: Mapping[str, str]) -> dict[str, str]:
    # Matomo answers non-GET requests with the caller's origin and credentials allowed, because matomo.js
    # sends XHR with withCredentials (core/Tracker/Response.php).
    if method == "GET":
        return {}
    return {"Access-Control-Allow-Origin": headers.get("origin", "*"), "Access-Control-Allow-Credentials": "true"}


def _text(body: str, status: int, headers: dict[str, str]) -> Response:
    return PlainTextResponse(body, status_code=status, headers=headers | NO_STORE)


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, headers: Mapping[str, str]) -> bytes:
    """The body, read chunk by chunk and abandoned as soon as it cannot fit any limit (raises _TooLarge)."""
    declared = headers.get("content-length", "")
    length = whole_number(declared)
    if length is not None and length > MAX_BULK_BODY_BYTES:
        raise _TooLarge
    body = bytearray()
    first = b""  # the first byte that is not white space: only a JSON bulk body may pass the single limit
    async for chunk in request.stream():
        first = first or chunk.lstrip()[:1]
        body += chunk
        if len(body) > MAX_BODY_BYTES and (len(body) > MAX_BULK_BODY_BYTES or first != b"{"):
            raise _TooLarge
    return bytes(body)


def _host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class TrackingEndpoint:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.script = TrackerScriptEndpoint()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The endpoint as a plain ASGI app: the hottest path skips the router and middleware stack."""
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        # Header names in ASGI are lower-case already; a plain dict is all the pipeline needs.
        scope = request.scope
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        method = request.method
        query_bytes: bytes = scope["query_string"]
        if method == "OPTIONS" and ("access-control-request-method" in headers
                                    or "access-control-request-headers" in headers):
            return PREFLIGHT  # Matomo's preflight answer (core/Tracker.php)
        if scope["path"] in SCRIPT_PATHS and method in ("GET", "HEAD") and not query_bytes:
            return await self.script.handle(request)
        cors = _cors_headers(method, headers)
        if len(scope.get("raw_path") or scope["path"].encode()) + len(query_bytes) > MAX_URL_BYTES:
            return _text(f"The URL is longer than {MAX_URL_BYTES} bytes; send the parameters in a POST body.\n",
                         414, cors)
        body = b""
        if method == "POST":
            try:
                body = await _read_body(request, headers)
            except _TooLarge:
                return _text("Request body too large.\n", 413, cors)
            except ClientDisconnect:
                return _text("", 400, cors)  # nobody is listening; nothing was tracked
        # Browsers percent-encode; a raw UTF-8 byte from a hand-made client must not become mojibake.
        query = query_bytes.decode("utf-8", "replace")
        if body and is_bulk(body):
            return await self._bulk(body, query, headers, request, cors)
        if len(body) > MAX_BODY_BYTES:
            return _text("Request body too large.\n", 413, cors)
        try:
            pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_PARAMS)
            pairs += parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_PARAMS)
            params = clean_params(pairs)  # the query comes last, so it wins
        except (ValueError, TooManyParameters):
            return _text(f"Too many parameters; at most {MAX_PARAMS} are accepted.\n", 400, cors)
        apply_page_charset(params, (body, query_bytes))
        if not params:
            # Matomo shows a banner for a bare GET and 400 for a POST that carried nothing.
            return _text(BANNER, 200 if method == "GET" else 400, cors)
        outcome = self.pipeline.handle(self._hit(params, headers, request, datetime.now(UTC)))
        if outcome.ticket:
            try:
                await self.pipeline.spool.committed(outcome.ticket)  # acknowledged only once it is on disk
            except SpoolFull as error:
                outcome = Outcome(Verdict.OVERLOADED, str(error))  # the disk failed: not acknowledged
        if params.get("debug") == "1":
            status = ERROR_STATUS.get(outcome.verdict, 200)
            return _text(self.explain(outcome, params) + "\n\n" + _DEBUG_FOOTER, status,
                         cors | (RETRY_LATER if status == 503 else {}))
        if outcome.verdict is Verdict.INVALID:
            return _text(f"Invalid request: {outcome.reason}\n\n{BANNER}", 400, cors)
        if outcome.verdict is Verdict.UNCLAIMED:
            return _text(f"Not recorded: {outcome.reason}.\n\n{BANNER}", 400, cors)
        if outcome.verdict is Verdict.OVERLOADED:
            return _text("Teller is overloaded; retry later.\n", 503, cors | RETRY_LATER)
        if params.get("send_image") == "0":
            return Response(status_code=204, headers=cors | NO_STORE) if cors else ACK_NO_CONTENT
        return Response(TRANSPARENT_GIF, media_type="image/gif", headers=cors | NO_STORE) if cors else ACK_IMAGE

    @staticmethod
    def _hit(params: dict[str, str], headers: dict[str, str], request: Request, at: datetime) -> TrackingRequest:
        if not params.get("url") and not params.get("urlref") and headers.get("referer"):
            # Image tracker mode: a bare <img> hit reports the page through the Referer header.
            params["url"] = headers["referer"]
        return TrackingRequest(
            params=params,
            user_agent=params.get("ua") or headers.get("user-agent", ""),
            address=request.scope.get(CLIENT_ADDRESS_KEY) or ClientAddress(None),
            received_at=at,
            headers=headers,
        )

    async def _bulk(self, body: bytes, query: str, headers: dict[str, str], request: Request,
                    cors: dict[str, str]) -> Response:
        answer_headers = cors | NO_STORE
        try:
            batch = parse_bulk(body, debug="debug=1" in query.split("&"))
        except BulkRefused as refused:
            return bulk_answer(refused.status, 0, 0, answer_headers, refused.message)
        if not self.pipeline.spool.has_room():
            return bulk_answer(503, 0, 0, answer_headers | RETRY_LATER, "Teller is overloaded; retry later")
        at = datetime.now(UTC)
        tracked = invalid = last_ticket = 0
        overloaded = False
        lines: list[str] = []
        for number, params in enumerate(batch.items, 1):
            if params is None or not params:
                outcome = Outcome(Verdict.INVALID, "the request is neither a query string with ? nor an object")
            else:
                outcome = self.pipeline.handle(self._hit(params, headers, request, at))
            last_ticket = max(last_ticket, outcome.ticket)
            if batch.debug:
                lines.append(f"request {number}: " + self.explain(outcome, params or {}))
            if outcome.verdict is Verdict.OVERLOADED:
                overloaded = True  # the spool is full: the rest would be refused too
                break
            if outcome.verdict in (Verdict.INVALID, Verdict.UNCLAIMED):
                invalid += 1  # Matomo would fail the whole batch for an unclaimed ca=1; Teller keeps the others
            else:
                tracked += 1  # an excluded hit counts as tracked, as in Matomo (core/Tracker.php trackRequest)
        if last_ticket:
            try:
                await self.pipeline.spool.committed(last_ticket)  # tickets grow, so this covers every item
            except SpoolFull:
                overloaded, tracked = True, 0  # the disk failed: none of them is acknowledged
        if batch.debug:
            lines.append(f"{tracked} tracked (excluded ones included, as in Matomo), {invalid} invalid")
            return _text("\n".join(lines) + "\n\n" + _DEBUG_FOOTER, 503 if overloaded else 200,
                         cors | (RETRY_LATER if overloaded else {}))
        if overloaded:
            return bulk_answer(503, tracked, invalid, answer_headers | RETRY_LATER,
                               "Teller is overloaded; retry the requests after the tracked ones later")
        if not batch.send_image:
            return Response(status_code=204, headers=answer_headers)
        return bulk_answer(200, tracked, invalid, answer_headers)

    def explain(self, outcome: Outcome, params: Mapping[str, str]) -> str:
        """One plain sentence about what happened to a hit, for debug=1. Never names the client address."""
        if outcome.verdict is Verdict.TRACKED:
            return f"tracked: the hit was stored for site {params.get('idsite', '')}"
        if outcome.verdict is Verdict.INVALID:
            return f"invalid: {outcome.reason}"
        if outcome.verdict is Verdict.UNCLAIMED:
            return f"not recorded: {outcome.reason}"
        if outcome.verdict is Verdict.OVERLOADED:
            return "not stored: Teller is overloaded (its spool is full); retry later"
        template = DROP_EXPLANATIONS.get(outcome.reason)
        if template is None:
            return f"dropped: {outcome.reason}"
        return template.format_map(_Lazy({
            "host": lambda: _host_of(params.get("url", "")) or "(none)",
            "domains": lambda: self._site_domains(params),
            "referrer_host": lambda: _host_of(params.get("urlref", "")) or "(none)",
        }))

    def _site(self, params: Mapping[str, str]) -> Site | None:
        site_text = params.get("idsite", "")
        site_id = whole_number(site_text, limit=2**32 - 1)
        return self.pipeline.sites.get(site_id) if site_id is not None else None

    def _site_domains(self, params: Mapping[str, str]) -> str:
        site = self._site(params)
        return ", ".join(site.domains) if site else "(unknown)"


class _Lazy(dict):
    """format_map fields computed only when the template uses them."""

    def __init__(self, fields: dict[str, Callable[[], str]]) -> None:
        super().__init__()
        self.fields = fields

    def __missing__(self, key: str) -> str:
        return self.fields[key]() if key in self.fields else "{" + key + "}"


_DEBUG_FOOTER = ("debug=1 explains what happened to the hit from what the request itself sent; it never shows "
                 "the visitor's address. Without debug=1 excluded hits are answered like tracked ones.\n")
