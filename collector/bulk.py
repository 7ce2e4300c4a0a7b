"""Matomo's BulkTracking wire format: many hits in one POST.

A POST whose raw body contains the text "requests" (in double or single quotes) is a bulk request, whatever
its Content-Type: matomo.js sends the JSON as application/x-www-form-urlencoded (plugins/BulkTracking/Tracker/
Requests.php isUsingBulkRequest). The body is

    {"requests": ["?idsite=1&rec=1&...", {"idsite": 1, "rec": 1, ...}], "token_auth": "...", "send_image": 0}

String items are URLs whose query part holds the parameters; object items are the parameters. The top-level
token_auth applies to every item without its own. The answer is {"status":"success","tracked":N,"invalid":M},
or 204 when send_image is 0 or "0" (JSON false or "" do not count: Matomo's type check rejects them).

This module parses and answers; collector.tracking runs each item through the pipeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse, Response

from collector.charset import apply_page_charset
from collector.limits import MAX_BULK_REQUESTS, MAX_PARAMS, TooManyParameters, clean_params


def is_bulk(body: bytes) -> bool:
    return b'"requests"' in body or b"'requests'" in body


class BulkRefused(Exception):
    """The whole bulk request is refused before any item is tracked."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class BulkBatch:
    items: list[dict[str, str] | None]  # None: an item that is neither a query string nor an object (invalid)
    send_image: bool  # False answers 204
    debug: bool


def _value(value: Any) -> str:
    # What PHP's string conversion of a decoded JSON value gives, near enough for tracking parameters.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _item(raw: Any) -> dict[str, str] | None:
    if isinstance(raw, str):
        # parse_url(..., PHP_URL_QUERY): the part after the first "?" and before any "#"; no "?", no params.
        if "?" not in raw:
            return None
        query = raw.split("?", 1)[1].split("#", 1)[0]
        try:
            pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_PARAMS)
        except ValueError as error:
            raise TooManyParameters(str(error)) from error
        params = clean_params(pairs)
        apply_page_charset(params, (query,))
        return params
    if isinstance(raw, dict):
        if len(raw) > MAX_PARAMS:
            raise TooManyParameters(f"more than {MAX_PARAMS} parameters")
        return clean_params((str(key), _value(value)) for key, value in raw.items())
    return None


def _is_zero(value: Any) -> bool:
    # Only the integer 0 and the string "0"; JSON false is a bool in Python but must not count (see above).
    return value == "0" or (type(value) is int and value == 0)


def parse_bulk(body: bytes, debug: bool = False) -> BulkBatch:
    """The items of a bulk body, each cleaned like a single request's parameters; raises BulkRefused."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise BulkRefused(400, "the body is not valid JSON") from error
    if not isinstance(data, dict) or not isinstance(data.get("requests"), list):
        raise BulkRefused(400, 'the body must be a JSON object with a "requests" array')
    raw_items = data["requests"]
    if not raw_items:
        raise BulkRefused(400, '"requests" is empty')
    if len(raw_items) > MAX_BULK_REQUESTS:
        raise BulkRefused(413, f"at most {MAX_BULK_REQUESTS} requests per bulk request, got {len(raw_items)}")
    try:
        items = [_item(raw) for raw in raw_items]
    except TooManyParameters:
        raise BulkRefused(400, f"a request has more than {MAX_PARAMS} parameters") from None
    token = data.get("token_auth")
    if isinstance(token, str | int) and not isinstance(token, bool) and str(token):
        for item in items:
            if item is not None and not item.get("token_auth"):
                item["token_auth"] = str(token)
    debug = debug or str(data.get("debug", "")) == "1"
    return BulkBatch(items=items, send_image=not _is_zero(data.get("send_image", 1)), debug=debug)


def bulk_answer(status: int, tracked: int, invalid: int, headers: dict[str, str],
                message: str | None = None) -> Response:
    body: dict[str, Any] = {"status": "success" if status == 200 else "error", "tracked": tracked,
                            "invalid": invalid}
    if message:
        body["message"] = message
    return JSONResponse(body, status_code=status, headers=headers)
