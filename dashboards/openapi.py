"""The OpenAPI 3.1 document of the Stats API, served at /api/v1/openapi.json.

Built from the same constants the API validates against (periods, intervals, comparisons, dimensions), so the
document cannot list a value the API refuses or miss one it takes.
"""

from __future__ import annotations

from typing import Any

from dashboards.breakdowns import MAX_LIMIT
from dashboards.filters import DIMENSIONS, MAX_FILTERS
from dashboards.periods import COMPARISONS, PERIODS
from dashboards.queries import INTERVALS

_ERROR = {"description": "A parameter is not understood; `error` says which and what is allowed.",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_NOT_FOUND = {"description": "No such site.",
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _query(name: str, description: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


_SITE = {"name": "site_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
_PERIOD = [
    _query("period", "The range, in the site's timezone. 7d/30d/90d end today; month and year are the current "
                     "ones so far.", {"type": "string", "enum": list(PERIODS), "default": "30d"}),
    _query("from", "First day of a custom period.", {"type": "string", "format": "date"}),
    _query("to", "Last day of a custom period.", {"type": "string", "format": "date"}),
]
_FILTER = _query(
    "filter", f"Repeatable (up to {MAX_FILTERS}): <dimension><op><value> with op == (is), != (is not), ~ (contains) "
              "or !~ (does not contain), e.g. `country==NL` or `page~/blog`. A visit filter keeps matching visits; "
              "an action filter keeps visits with a matching action (or the matching actions, in a report of "
              "that kind of action).",
    {"type": "array", "items": {"type": "string"}})
_TOTALS = {"type": "object", "properties": {
    "visitors": {"type": "integer", "description": "Unique visitors: distinct visitor ids."},
    "visits": {"type": "integer", "description": "Visits that started in the range."},
    "pageviews": {"type": "integer", "description": "Page views, reloads included."},
    "views_per_visit": {"type": "number", "description": "Page views / visits."},
    "bounce_rate": {"type": "number", "description": "Percent of visits with a single action."},
    "visit_duration": {"type": "number", "description": "Mean seconds from a visit's first to last hit."},
}}


def openapi_document() -> dict[str, Any]:
    json_ok = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Teller Stats API", "version": "1",
                 "description": "Privacy-friendly analytics: the numbers behind the dashboard. Metric definitions "
                                "follow Plausible's where they agree. Ranges older than a site's raw retention "
                                "are answered from rollups (`source: rollups`), without filters."},
        "paths": {
            "/api/v1/sites": {"get": {"summary": "The sites", "responses": {"200": json_ok}}},
            "/api/v1/overview": {"get": {
                "summary": "Every site's totals with the change against the previous period",
                "parameters": _PERIOD, "responses": {"200": json_ok, "400": _ERROR}}},
            "/api/v1/sites/{site_id}/summary": {"get": {
                "summary": "Top stats, time series, top pages, current visitors, dropped hits",
                "parameters": [_SITE, *_PERIOD, _FILTER,
                               _query("interval", "Time-series buckets.", {"type": "string", "enum": list(INTERVALS),
                                                                           "default": "day"}),
                               _query("compare", "Add totals of an earlier range and the change in percent.",
                                      {"type": "string", "enum": list(COMPARISONS)})],
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"totals": _TOTALS, "source": {"enum": ["raw", "rollups"]}}}}}},
                    "400": _ERROR, "404": _NOT_FOUND}}},
            "/api/v1/sites/{site_id}/breakdown": {"get": {
                "summary": "One dimension's values with their metrics; CSV with format=csv",
                "parameters": [_SITE, *_PERIOD, _FILTER,
                               _query("dimension", "What to break down by.",
                                      {"type": "string", "enum": list(DIMENSIONS)}, required=True),
                               _query("limit", "Rows per page.", {"type": "integer", "minimum": 0,
                                                                  "maximum": MAX_LIMIT, "default": 100}),
                               _query("offset", "Rows to skip.", {"type": "integer", "minimum": 0, "default": 0}),
                               _query("format", "csv for a spreadsheet-safe CSV file.", {"enum": ["json", "csv"]})],
                "responses": {"200": json_ok, "400": _ERROR, "404": _NOT_FOUND}}},
            "/api/v1/sites/{site_id}/realtime": {"get": {
                "summary": "Current visitors (5 minutes), the last 30 minutes per minute, and their pages",
                "parameters": [_SITE], "responses": {"200": json_ok, "404": _NOT_FOUND}}},
        },
        "components": {"schemas": {"Error": {"type": "object", "properties": {"error": {"type": "string"}},
                                             "required": ["error"]}}},
    }
