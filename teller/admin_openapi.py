"""The OpenAPI 3.1 document of the admin API, served at /api/admin/openapi.json (behind the admin token).

Request bodies are built from the field tables the API validates against (teller/admin_fields.py); a test
checks that every /api/admin/ route of the app, with each of its methods, is described here.
"""

from __future__ import annotations

from typing import Any

from ingest.sites import MAX_EXTERNAL_ID_LENGTH, SITE_FIELDS
from teller.admin_fields import (
    MAX_PAGE_SIZE,
    SHARE_FIELD_TYPES,
    SITE_FIELD_TYPES,
    SITE_REQUIRED,
    SUBJECT_FIELD_TYPES,
    USER_FIELD_TYPES,
    USER_TOKEN_FIELD_TYPES,
)
from teller.users import ROLES

_JSON_TYPES = {str: "string", int: "integer", bool: "boolean", list: "array", dict: "object"}
_ITEM_TYPES = {"site_ids": "integer"}  # arrays of something other than strings
_FIELD_NOTES = {
    "domains": "Host names such as example.com or *.example.com (every subdomain).",
    "timezone": "An IANA zone such as Europe/Amsterdam.",
    "retention_days": "Days raw visit and event rows are kept.",
    "rollup_retention_days": "Days the daily rollups are kept; at least retention_days.",
    "ipv4_mask_bytes": "Bytes of an IPv4 address zeroed before storing: 1, 2 or 3.",
    "ipv6_prefix_bits": "Bits of an IPv6 address kept: 0 to 64.",
    "visit_timeout_minutes": "Minutes without activity that end a visit: 1 to 1440.",
    "excluded_ips": "CIDR ranges or Matomo wildcards (1.2.3.*) whose hits are dropped.",
    "excluded_user_agents": "Substrings, or /regex/, of user agents whose hits are dropped.",
    "excluded_params": "Query parameters removed from stored URLs.",
    "external_id": f"The hosting panel's own id for the site (up to {MAX_EXTERNAL_ID_LENGTH} characters); "
                   "unique among live sites, so a retried create answers 409 with the existing site's id.",
    "cookieless": "Ignore cookie visitor ids; count visitors by a daily salted hash.",
    "respect_dnt": "Send nothing when the browser says Do Not Track or Global Privacy Control.",
    "password": "At least the minimum length Teller asks for; never answered back.",
    "super_admin": "Sees every site, the retention audit and /metrics.",
    "site_ids": "Narrow the token to these sites (empty: every site of the user).",
    "label": "A note to tell links or tokens apart.",
}


def _schema(fields: dict[str, type], required: tuple[str, ...] = ()) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, kind in fields.items():
        prop: dict[str, Any] = {"type": _JSON_TYPES[kind]}
        if kind is list:
            prop["items"] = {"type": _ITEM_TYPES.get(name, "string")}
        if name in _FIELD_NOTES:
            prop["description"] = _FIELD_NOTES[name]
        properties[name] = prop
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _ok(description: str = "OK", schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema or {"type": "object"}}}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _path(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": {"type": kind}}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


_BAD = _error("A field or parameter is missing or not allowed; `error` says which and why.")
_UNAUTHORIZED = _error("No valid admin token (`Authorization: Bearer <token>`; `teller admin-token` prints it).")
_MISSING = _error("No such site, user or token.")
_SITE_ID = _path("site_id", "The site's id.", "integer")
_EMAIL = _path("email", "The user's email address (percent-encoded).")
_TOKEN_ID = _path("token_id", "The token's id, or a unique prefix of it.")
_PAGE = [_query("limit", f"Items per page (1 to {MAX_PAGE_SIZE}); without it, every item.",
                {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}),
         _query("offset", "Items to skip.", {"type": "integer", "minimum": 0, "default": 0})]
_LINK_ID = _path("link_id", "The link's id, or a unique prefix of it.")
_SITE = {"type": "object", "required": list(SITE_FIELDS), "properties": {
    name: _schema(SITE_FIELD_TYPES)["properties"].get(name, {"type": "integer" if name == "site_id" else "string"})
    for name in SITE_FIELDS}}
_SITE_OK = _ok("The site.", {"$ref": "#/components/schemas/Site"})
_USER_OK = _ok("The user with their roles.", {"$ref": "#/components/schemas/User"})


def _listing(name: str, item: dict[str, Any]) -> dict[str, Any]:
    return _ok(f"A page of {name} with the total count.", {"type": "object", "properties": {
        name: {"type": "array", "items": item}, "total": {"type": "integer"},
        "limit": {"type": ["integer", "null"]}, "offset": {"type": "integer"}}})


def _link_change_schema() -> dict[str, Any]:
    """A shared link's PATCH body: the create fields, all optional, with a null password meaning none."""
    schema = _schema(SHARE_FIELD_TYPES)
    schema["properties"]["password"] = {**schema["properties"]["password"], "type": ["string", "null"]}
    schema["minProperties"] = 1
    return schema


def _operation(summary: str, responses: dict[str, Any], parameters: list[dict[str, Any]] | None = None,
               body: dict[str, Any] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "parameters": parameters or [],
                                 "responses": {**responses, "401": _UNAUTHORIZED}}
    if body is not None:
        operation["requestBody"] = _body(body)
    return operation


def _paths() -> dict[str, dict[str, Any]]:
    site_fields = _schema(SITE_FIELD_TYPES)
    return {
        "/api/admin/openapi.json": {"get": _operation("This document", {"200": _ok()})},
        "/api/admin/sites": {
            "get": _operation(
                "Sites by id: every one, a page (?limit=&offset=), or the one with ?external_id=",
                {"200": _listing("sites", {"$ref": "#/components/schemas/Site"}), "400": _BAD},
                [*_PAGE, _query("external_id", "Only the site with this external id (none: an empty list).",
                                {"type": "string"})]),
            "post": _operation(
                "Create a site",
                {"201": _ok("The new site.", {"$ref": "#/components/schemas/Site"}), "400": _BAD,
                 "409": _ok("Another site has this external_id: `error`, and `site_id` of that site.",
                            {"$ref": "#/components/schemas/Duplicate"})},
                body=_schema(SITE_FIELD_TYPES, SITE_REQUIRED)),
        },
        "/api/admin/sites/{site_id}": {
            "get": _operation("One site", {"200": _SITE_OK, "400": _BAD, "404": _MISSING}, [_SITE_ID]),
            "patch": _operation(
                "Change some of a site's fields (a new retention applies to stored rows too)",
                {"200": _SITE_OK, "400": _BAD, "404": _MISSING,
                 "409": _ok("Another site has this external_id.", {"$ref": "#/components/schemas/Duplicate"})},
                [_SITE_ID], site_fields),
            "delete": _operation("Delete a site with all its data, tracking tokens and roles",
                                 {"200": _SITE_OK, "400": _BAD, "404": _MISSING}, [_SITE_ID]),
        },
        "/api/admin/sites/{site_id}/snippet": {"get": _operation(
            "The tracking code to paste into the site's pages, for the configured public_url",
            {"200": {"description": "JSON, or with format=html the HTML alone (text/plain).", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "site_id": {"type": "integer"}, "html": {"type": "string"},
                    "tracker_url": {"type": "string"}, "script_url": {"type": "string"},
                    "optout_html": {"type": "string"}}}},
                "text/plain": {"schema": {"type": "string"}}}},
             "400": _BAD, "404": _MISSING},
            [_SITE_ID, _query("format", "html for the snippet alone.", {"enum": ["json", "html"]})])},
        "/api/admin/sites/{site_id}/shared-links": {
            "get": _operation("The site's live shared links (revoked ones too with ?revoked=1)",
                              {"200": _ok(), "400": _BAD, "404": _MISSING},
                              [_SITE_ID, _query("revoked", "1: include revoked links.", {"enum": ["0", "1"]})]),
            "post": _operation("Create a read-only dashboard link; its secret URL is answered only now",
                               {"201": _ok(), "400": _BAD, "404": _MISSING}, [_SITE_ID],
                               _schema(SHARE_FIELD_TYPES)),
        },
        "/api/admin/shared-links/{link_id}": {
            "patch": _operation(
                "Change a live shared link's label and/or password; its URL stays the same. An absent field is "
                "unchanged; a password of null or \"\" removes it. A new password ends every earlier unlock.",
                {"200": _ok(), "400": _BAD, "404": _MISSING}, [_LINK_ID], _link_change_schema()),
            "delete": _operation("Revoke a shared link", {"200": _ok(), "404": _MISSING}, [_LINK_ID]),
        },
        "/api/admin/tokens": {
            "get": _operation("Tracking tokens (for cip, cdt and location parameters)", {"200": _ok()},
                              [_query("site_id", "Only this site's.", {"type": "integer"})]),
            "post": _operation("Create a tracking token; the secret is answered only now",
                               {"201": _ok(), "400": _BAD, "404": _MISSING},
                               body=_schema({"site_id": int, "label": str}, ("site_id",))),
        },
        "/api/admin/tokens/{token_id}": {"delete": _operation("Revoke a tracking token",
                                                              {"200": _ok(), "404": _MISSING}, [_TOKEN_ID])},
        "/api/admin/users": {
            "get": _operation("Users with their roles, by id", {
                "200": _listing("users", {"$ref": "#/components/schemas/User"}), "400": _BAD}, _PAGE),
            "post": _operation("Create a user (a dashboard login)", {"201": _USER_OK, "400": _BAD},
                               body=_schema(USER_FIELD_TYPES, ("email", "password"))),
        },
        "/api/admin/users/{email}": {"delete": _operation(
            "Delete a user with their roles and API tokens", {"200": _USER_OK, "400": _BAD, "404": _MISSING},
            [_EMAIL])},
        "/api/admin/users/{email}/password": {"put": _operation(
            "Set a new password (ends the user's sessions)", {"200": _USER_OK, "400": _BAD, "404": _MISSING},
            [_EMAIL], _schema({"password": str}, ("password",)))},
        "/api/admin/users/{email}/grants/{site_id}": {
            "put": _operation("Give the user a role on the site, or change it",
                              {"200": _USER_OK, "400": _BAD, "404": _MISSING}, [_EMAIL, _SITE_ID],
                              {"type": "object", "properties": {"role": {"enum": list(ROLES)}},
                               "required": ["role"], "additionalProperties": False}),
            "delete": _operation("Take the user's role on the site away",
                                 {"200": _USER_OK, "400": _BAD, "404": _MISSING}, [_EMAIL, _SITE_ID]),
        },
        "/api/admin/users/{email}/totp": {
            "post": _operation("A new TOTP secret with its otpauth:// URI, answered only now",
                               {"200": _ok(), "404": _MISSING}, [_EMAIL]),
            "delete": _operation("Turn the second factor off", {"200": _USER_OK, "404": _MISSING}, [_EMAIL]),
        },
        "/api/admin/user-tokens": {
            "get": _operation("Users' Stats API tokens", {"200": _ok(), "404": _MISSING},
                              [_query("email", "Only this user's.", {"type": "string"})]),
            "post": _operation("Create a Stats API token for a user; the secret is answered only now",
                               {"201": _ok(), "400": _BAD, "404": _MISSING},
                               body=_schema(USER_TOKEN_FIELD_TYPES, ("email",))),
        },
        "/api/admin/user-tokens/{token_id}": {"delete": _operation("Revoke a user's API token",
                                                                   {"200": _ok(), "404": _MISSING}, [_TOKEN_ID])},
        "/api/admin/retention": {"get": _operation(
            "The retention audit", {"200": _ok(), "409": _ok("Rows are older than their site's policy.")})},
        "/api/admin/retention/enforce": {"post": _operation(
            "Apply every retention policy now", {"200": _ok(), "409": _ok("Rows were past policy (now removed).")})},
        "/api/admin/subjects/{action}": {"post": _operation(
            "Find, export or delete a data subject's rows",
            {"200": _ok(), "400": _BAD, "404": _MISSING},
            [_path("action", "find, export or delete."),
             _query("format", "csv (export only) for one table as CSV.", {"enum": ["json", "csv"]}),
             _query("table", "events or visits, with format=csv.", {"enum": ["events", "visits"]})],
            _schema(SUBJECT_FIELD_TYPES))},
    }


def admin_openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Teller admin API", "version": "1",
                 "description": "Sites, tracking tokens, users and their roles, retention and data-subject requests, "
                                "for the CLI and hosting panels (docs/provisioning.md). Every call needs the admin "
                                "token as `Authorization: Bearer …`; `X-Teller-Actor` (percent-encoded) names who "
                                "acts, for the audit log. Errors are JSON: {\"error\": \"…\"}."},
        "paths": _paths(),
        "components": {"schemas": {
            "Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
            "Duplicate": {"type": "object", "properties": {"error": {"type": "string"}, "site_id": {"type": "integer"}},
                          "required": ["error", "site_id"]},
            "Site": _SITE,
            "User": {"type": "object", "properties": {
                "user_id": {"type": "integer"}, "email": {"type": "string"}, "super_admin": {"type": "boolean"},
                "totp": {"type": "boolean"}, "created_at": {"type": "string"},
                "grants": {"type": "array", "items": {"type": "object", "properties": {
                    "site_id": {"type": "integer"}, "role": {"enum": list(ROLES)},
                    "granted_at": {"type": "string"}}}}}},
        }},
    }
