"""What a tracking request did, besides arriving: a page view, an event, a site search, a goal, an order...

Follows Matomo's tracking parameters (core/Tracker/Request.php and Action.php, summarised in the reference):
the kind is chosen by Matomo's priority, and every value is parsed defensively, because any field can be junk.
The result is the action columns of an events row (ingest/tables.py).

Site search is also detected from the page URL, as Matomo does: the first of the site's keyword parameters
(Matomo's default list unless the site set its own) with a non-empty value makes the page view a site search,
the first of its category parameters gives the category, and both are removed from the stored URL.

A request with `ca=1` (a "custom action", meant for a Matomo plugin) that nothing here claims is not a page
view: Matomo refuses it with an error instead of recording one (core/Tracker/Action.php factory), and so does
Teller (kind UNCLAIMED_CUSTOM_ACTION, refused by the pipeline).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult

from ingest.charset import query_pairs
from ingest.numbers import whole_number

# Matomo's default site-search keyword parameters (plugins/SitesManager/API.php); it has no default categories.
SEARCH_PARAMETERS = ("q", "query", "s", "search", "searchword", "k", "keyword", "keywords")
UNCLAIMED_CUSTOM_ACTION = "unclaimed_custom_action"  # ca=1 that no kind claims: refused, never stored
MAX_TEXT = 500
MAX_URL_LENGTH = 2048  # stored URLs; browsers and Matomo work with URLs up to about this long
MAX_DIMENSION = 250  # Matomo trims custom dimensions to 250 characters
MAX_VARIABLE = 200  # and custom variables to 200
MAX_ITEMS = 100
MAX_PRODUCT_CATEGORIES = 5  # matomo.js and Matomo keep up to five categories per product
MONEY_LIMIT = 10**15  # far inside Decimal64(2); larger amounts are junk
ITEM_DEFAULTS = ("", "", "", 0, 1)
_DIMENSION = re.compile(r"^dimension(\d{1,3})$")


@dataclass(frozen=True, slots=True)
class Action:
    kind: str  # pageview, event, outlink, download, site_search, goal, ecommerce_order, cart_update,
    #            content_impression, content_interaction, ping, or UNCLAIMED_CUSTOM_ACTION
    fields: dict[str, Any]  # the action columns of the events row
    stripped: tuple[str, ...] = ()  # page URL parameters that carried a site search; not part of the stored URL


@dataclass(frozen=True, slots=True)
class UrlSearch:
    """A site search found in the page URL, and the parameters that carried it."""

    keyword: str = ""
    category: str = ""
    parameters: tuple[str, ...] = ()


def _text(params: Mapping[str, str], key: str, limit: int = MAX_TEXT) -> str:
    return params.get(key, "").strip()[:limit]


def _number(value: str) -> float | None:
    if not value:
        return None  # the common case; float("") would raise and cost more than the whole lookup
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _money(params: Mapping[str, str], key: str) -> float:
    number = _number(params.get(key, ""))
    return round(number, 2) if number is not None and abs(number) < MONEY_LIMIT else 0.0


def _integer(params: Mapping[str, str], key: str, default: int = -1, limit: int = 2**31 - 1) -> int:
    value = whole_number(params.get(key, ""), limit)
    return default if value is None else value


def _items(text: str) -> str:
    """Ecommerce items [sku, name, category, price, quantity] as normalised JSON, or "" when unusable."""
    try:
        items = json.loads(text) if text else []
    except ValueError:
        return ""
    if not isinstance(items, list):
        return ""
    normalised = []
    for item in items[:MAX_ITEMS]:
        if not isinstance(item, list) or not item:
            continue
        # Missing trailing fields take matomo.js's defaults: name "", category "", price 0, quantity 1.
        sku, name, category, price, quantity = [*item[:5], *ITEM_DEFAULTS[len(item[:5]):]]
        price_number = _number(str(price))
        quantity_number = _number(str(quantity))
        normalised.append([str(sku)[:MAX_VARIABLE], str(name)[:MAX_VARIABLE],
                           category if isinstance(category, list) else str(category)[:MAX_VARIABLE],
                           round(price_number, 2) if price_number is not None else 0,
                           int(quantity_number) if quantity_number is not None else 1])
    return json.dumps(normalised, separators=(",", ":")) if normalised else ""


def _custom_variables(params: Mapping[str, str]) -> dict[str, str]:
    """Visit (`_cvar`) and page (`cvar`) custom variables, {"1": ["name", "value"]} → {name: value}."""
    variables: dict[str, str] = {}
    for key in ("_cvar", "cvar"):
        try:
            data = json.loads(params.get(key, "") or "{}")
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        for pair in data.values():
            if isinstance(pair, list) and len(pair) == 2:
                variables[str(pair[0])[:MAX_VARIABLE]] = str(pair[1])[:MAX_VARIABLE]
    return variables


def _dimensions(params: Mapping[str, str]) -> dict[str, str]:
    return {key: value.strip()[:MAX_DIMENSION] for key, value in params.items() if _DIMENSION.match(key)}


def _first_value(values: Mapping[str, tuple[str, str]], names: Sequence[str]) -> tuple[str, str]:
    """The first of `names` (in the site's order) with a value: (name as in the URL, value), or ("", "")."""
    for name in names:
        found = values.get(name.lower())
        if found is not None:
            return found
    return "", ""


def url_search(page: SplitResult, keyword_params: Sequence[str], category_params: Sequence[str] = (),
               codec: str | None = None) -> UrlSearch:
    """The site search carried by the page URL's query, with the site's parameter lists (names match in any case).

    `codec` is the page charset: a search form on a page that is not UTF-8 submits its own encoding.
    """
    if not page.query or not keyword_params:
        return UrlSearch()
    values: dict[str, tuple[str, str]] = {}  # lowercased name -> (name as sent, value); the first non-empty wins
    for name, value in query_pairs(page.query, codec):
        value = value.strip()
        if value and name.lower() not in values:
            values[name.lower()] = (name, value)
    keyword_name, keyword = _first_value(values, keyword_params)
    if not keyword:
        return UrlSearch()
    category_name, category = _first_value(values, category_params)
    return UrlSearch(keyword[:MAX_TEXT], category[:250], tuple(name for name in (keyword_name, category_name) if name))


def _categories(text: str) -> list[str]:
    """`_pkc`: one category, or the JSON array of up to five that matomo.js sends for a list."""
    text = text.strip()
    if text.startswith("["):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, list):
            names = (str(item).strip() for item in data
                     if isinstance(item, str | int | float) and not isinstance(item, bool))
            return [name[:MAX_VARIABLE] for name in names if name][:MAX_PRODUCT_CATEGORIES]
    return [text[:MAX_VARIABLE]] if text else []


def _product_view(params: Mapping[str, str], kind: str) -> dict[str, Any]:
    """The product or category view matomo.js's setEcommerceView adds to a page view (_pks, _pkn, _pkc, _pkp)."""
    # Only page views carry one (a site search detected from the URL is a page view too); elsewhere it is junk.
    if kind not in ("pageview", "site_search"):
        return {"product_sku": "", "product_name": "", "product_category": [], "product_price": 0.0}
    return {"product_sku": _text(params, "_pks", MAX_VARIABLE), "product_name": _text(params, "_pkn", MAX_VARIABLE),
            "product_category": _categories(params.get("_pkc", "")), "product_price": _money(params, "_pkp")}


def _kind(params: Mapping[str, str], url_keyword: str) -> str:
    # Matomo's priority (core/Tracker/Action.php): download > outlink > event > content > site search > page.
    if params.get("ping") == "1":
        return "ping"
    goal = whole_number(params.get("idgoal", ""))
    if goal is not None:
        if goal > 0:
            return "goal"
        return "ecommerce_order" if params.get("ec_id") else "cart_update"
    if params.get("download"):
        return "download"
    if params.get("link"):
        return "outlink"
    if params.get("e_c") and params.get("e_a"):
        return "event"
    if params.get("c_n"):
        return "content_interaction" if params.get("c_i") else "content_impression"
    if params.get("search") or url_keyword:
        return "site_search"
    if whole_number(params.get("ca", "")):
        return UNCLAIMED_CUSTOM_ACTION  # a plugin's request (media, forms, heatmaps...): never a page view
    return "pageview"


def describe(params: Mapping[str, str], page: SplitResult, search_params: Sequence[str] = SEARCH_PARAMETERS,
             search_category_params: Sequence[str] = (), codec: str | None = None) -> Action:
    """The action of a hit; `search_params`/`search_category_params` are the site's, `codec` the page charset."""
    # An explicit `search` (trackSiteSearch) wins; the URL is then the page the search happened on, kept whole.
    found = UrlSearch() if params.get("search") else url_search(page, search_params, search_category_params, codec)
    kind = _kind(params, found.keyword)
    if kind != "site_search":
        found = UrlSearch()  # an event or download on a results page is no search, and its URL stays whole
    event_value = _number(params.get("e_v", ""))
    fields: dict[str, Any] = {
        "target_url": _text(params, "download" if kind == "download" else "link", MAX_URL_LENGTH),
        "event_category": _text(params, "e_c", 250), "event_action": _text(params, "e_a", 250),
        "event_name": _text(params, "e_n"), "event_value": event_value,
        "search_keyword": _text(params, "search") or found.keyword,
        "search_category": _text(params, "search_cat", 250) or found.category,
        "search_count": _integer(params, "search_count"),
        "goal_id": _integer(params, "idgoal", default=0) if kind == "goal" else 0,
        "revenue": _money(params, "revenue"), "order_id": _text(params, "ec_id", 250),
        "order_subtotal": _money(params, "ec_st"), "order_tax": _money(params, "ec_tx"),
        "order_shipping": _money(params, "ec_sh"), "order_discount": _money(params, "ec_dt"),
        "ecommerce_items": _items(params.get("ec_items", "")),
        "content_name": _text(params, "c_n"), "content_piece": _text(params, "c_p"),
        "content_target": _text(params, "c_t", MAX_URL_LENGTH), "content_interaction": _text(params, "c_i", 100),
        "custom_dimensions": _dimensions(params), "custom_variables": _custom_variables(params),
        "user_id": _text(params, "uid", 200),
        "pf_network": _integer(params, "pf_net"), "pf_server": _integer(params, "pf_srv"),
        "pf_transfer": _integer(params, "pf_tfr"), "pf_dom_processing": _integer(params, "pf_dm1"),
        "pf_dom_completion": _integer(params, "pf_dm2"), "pf_onload": _integer(params, "pf_onl"),
        **_product_view(params, kind),
    }
    return Action(kind, fields, found.parameters)
