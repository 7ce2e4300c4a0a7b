"""Everything a Matomo request can record besides a page view is stored: events, outlinks, downloads, site
search (explicit and from the page URL), goals, ecommerce orders and carts, content, custom dimensions and
variables, user id and page timings; junk values become defaults, never errors."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from starlette.testclient import TestClient

from teller.runtime import Runtime
from tests.conftest import CHROME_UA
from tests.helpers import add_site, event_rows, visit_rows

PAGE = "https://shop.example/fietsen"


def send(http: TestClient, site_id: int, **params: str) -> None:
    query = {"idsite": str(site_id), "rec": "1", "url": PAGE, "_id": "00000000000000aa", **params}
    response = http.get("/matomo.php?" + urlencode(query), headers={"User-Agent": CHROME_UA})
    assert response.status_code == 200, response.text


def by_kind(runtime: Runtime, site: Any) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in event_rows(runtime, site)}


def test_every_kind_of_action_is_stored_with_its_fields(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime)
    send(http, site.site_id, action_name="Fietsen", pf_net="12", pf_srv="80", pf_tfr="5", pf_dm1="200",
         pf_dm2="150", pf_onl="10", dimension1="Premium", dimension12=" winter ",
         _cvar=json.dumps({"1": ["segment", "B2B"]}), cvar=json.dumps({"2": ["pagetype", "catalogue"]}))
    send(http, site.site_id, e_c="Video", e_a="Play", e_n="Intro", e_v="12.5")
    send(http, site.site_id, link="https://partner.example/route")
    send(http, site.site_id, download="https://shop.example/prijslijst.pdf")
    send(http, site.site_id, search="E-Bike", search_cat="fietsen", search_count="7")
    send(http, site.site_id, idgoal="3", revenue="49.95")
    items = [["SKU-1", "Stadsfiets", ["Fietsen", "Stad"], 599.0, 1], ["SKU-2", "Slot"]]
    send(http, site.site_id, idgoal="0", ec_id="order-9", revenue="629.0", ec_st="609.0", ec_tx="105.69",
         ec_sh="20", ec_dt="0", ec_items=json.dumps(items))
    send(http, site.site_id, idgoal="0", revenue="15", ec_items=json.dumps([["SKU-3", "Bel", "", 15, 1]]))
    send(http, site.site_id, c_n="Banner", c_p="lente.jpg", c_t="https://shop.example/lente")
    send(http, site.site_id, c_n="Banner", c_p="lente.jpg", c_i="click")
    rows = by_kind(runtime, site)
    assert set(rows) == {"pageview", "event", "outlink", "download", "site_search", "goal", "ecommerce_order",
                         "cart_update", "content_impression", "content_interaction"}

    page = rows["pageview"]
    assert (page["pf_network"], page["pf_server"], page["pf_transfer"], page["pf_dom_processing"],
            page["pf_dom_completion"], page["pf_onload"]) == (12, 80, 5, 200, 150, 10)
    assert page["custom_dimensions"] == {"dimension1": "Premium", "dimension12": "winter"}
    assert page["custom_variables"] == {"segment": "B2B", "pagetype": "catalogue"}
    event = rows["event"]
    assert (event["event_category"], event["event_action"], event["event_name"], event["event_value"]) == (
        "Video", "Play", "Intro", 12.5)
    assert rows["outlink"]["target_url"] == "https://partner.example/route"
    assert rows["outlink"]["url"] == PAGE  # the page the link was on
    assert rows["download"]["target_url"] == "https://shop.example/prijslijst.pdf"
    search = rows["site_search"]
    assert (search["search_keyword"], search["search_category"], search["search_count"]) == ("E-Bike", "fietsen", 7)
    assert (rows["goal"]["goal_id"], rows["goal"]["revenue"]) == (3, Decimal("49.95"))
    order = rows["ecommerce_order"]
    assert (order["order_id"], order["revenue"], order["order_subtotal"], order["order_tax"]) == (
        "order-9", Decimal("629.00"), Decimal("609.00"), Decimal("105.69"))
    assert json.loads(order["ecommerce_items"]) == [["SKU-1", "Stadsfiets", ["Fietsen", "Stad"], 599.0, 1],
                                                    ["SKU-2", "Slot", "", 0, 1]]  # matomo.js's defaults
    assert rows["cart_update"]["order_id"] == "" and rows["cart_update"]["revenue"] == Decimal("15.00")
    assert rows["content_impression"]["content_target"] == "https://shop.example/lente"
    assert rows["content_interaction"]["content_interaction"] == "click"

    [visit] = visit_rows(runtime, site)  # one visitor, one visit: every action counts in it
    assert (visit["pageviews"], visit["events"], visit["is_bounce"]) == (1, 9, 0)


def test_user_id_is_stored_and_becomes_the_visitor_id(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime)
    send(http, site.site_id, uid="klant-42")
    [row] = event_rows(runtime, site)
    # Matomo derives the visitor id from the user id: the first 16 hex digits of sha1(uid).
    assert row["user_id"] == "klant-42"
    assert row["visitor_id"] == int(hashlib.sha1(b"klant-42").hexdigest()[:16], 16)  # noqa: S324


def test_site_search_is_detected_from_the_page_url(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime)
    send(http, site.site_id, url="https://shop.example/zoeken?q=racefiets&page=2")
    [row] = event_rows(runtime, site)
    assert (row["name"], row["search_keyword"], row["search_count"]) == ("site_search", "racefiets", -1)


def test_junk_values_become_defaults(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime)
    send(http, site.site_id, e_c="A", e_a="B", e_v="nan")
    send(http, site.site_id, idgoal="1", revenue="1e30")
    send(http, site.site_id, idgoal="0", ec_id="x", ec_items="{not json", revenue="abc")
    send(http, site.site_id, pf_net="-5", search_count="many", _cvar="[1,2]", dimension1="x" * 400)
    rows = by_kind(runtime, site)
    assert rows["event"]["event_value"] is None
    assert rows["goal"]["revenue"] == Decimal("0.00")
    assert rows["ecommerce_order"]["ecommerce_items"] == "" and rows["ecommerce_order"]["revenue"] == Decimal("0")
    page = rows["pageview"]
    assert (page["pf_network"], page["search_count"], page["custom_variables"]) == (-1, -1, {})
    assert len(page["custom_dimensions"]["dimension1"]) == 250
