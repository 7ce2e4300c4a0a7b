"""The JSON fields the admin API takes, with their types: what it validates against and what its OpenAPI
document (teller/admin_openapi.py) lists, from one place so the two cannot disagree."""

from __future__ import annotations

# Every field of a site in a POST (create) or PATCH (change) body; the values' JSON types.
SITE_FIELD_TYPES: dict[str, type] = {
    "name": str, "domains": list, "timezone": str, "retention_days": int, "rollup_retention_days": int,
    "ipv4_mask_bytes": int, "ipv6_prefix_bits": int, "geo_full_ip": bool, "cookieless": bool,
    "visit_timeout_minutes": int, "excluded_ips": list, "excluded_user_agents": list, "excluded_params": list,
    "visitor_cookie_seconds": int, "session_cookie_seconds": int, "referral_cookie_seconds": int,
    "respect_dnt": bool, "search_params": list, "search_category_params": list, "external_id": str,
}
SITE_REQUIRED = ("name", "domains", "timezone", "retention_days")  # when creating
SUBJECT_FIELD_TYPES: dict[str, type] = {"visitor": str, "user_id": str, "cookieless": dict, "site_id": int}
USER_FIELD_TYPES: dict[str, type] = {"email": str, "password": str, "super_admin": bool}
USER_TOKEN_FIELD_TYPES: dict[str, type] = {"email": str, "site_ids": list, "label": str}
SHARE_FIELD_TYPES: dict[str, type] = {"label": str, "password": str}  # a new shared link
MAX_PAGE_SIZE = 1000  # items per page of a listing that asks for pages (?limit=)
