"""Tracking parameters Teller used to ignore: product views (`_pkc/_pkp/_pks/_pkn`), the `_pk_ref` cookie's
attribution (`_ref/_rcn/_rck`) and how conversions are credited, the page charset (`cs`), site search detected
from the page URL with per-site parameters, and `ca=1` that nothing claims. Real HTTP, real chDB.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from ingest.actions import SEARCH_PARAMETERS
from ingest.migrations import MIGRATIONS, migrate
from ingest.sites import Site
from ingest.store import Store
from teller.cli import main
from teller.runtime import Runtime, admin_token
from tests.conftest import CHROME_UA
from tests.helpers import add_site, event_rows, visit_rows

BROWSER = {"User-Agent": CHROME_UA, "Accept-Language": "nl-NL,nl;q=0.9"}
FORM = "application/x-www-form-urlencoded; charset=UTF-8"


def hit(site: Site, path: str = "/", visitor: str = "0123456789abcdef", **extra: str) -> dict[str, str]:
    """A request as matomo.js builds it (getRequest), in its parameter order."""
    return {"action_name": "Fietsen", "idsite": str(site.site_id), "rec": "1", "r": "123456", "h": "14", "m": "3",
            "s": "9", "url": f"https://shop.example{path}", "_id": visitor, "_idn": "0", "send_image": "0",
            "_refts": "0", "pv_id": "Ab12Cd", "uadata": "{}", "cookie": "1", "res": "1920x1080", **extra}


def send(http: TestClient, params: dict[str, str], status: int = 204) -> Any:
    response = http.get("/matomo.php?" + urlencode(params), headers=BROWSER)
    assert response.status_code == status, response.text
    return response


def send_raw(http: TestClient, query: str, status: int = 204) -> Any:
    """A query string exactly as given: a sender that percent-encodes in its page's charset, not UTF-8."""
    response = http.get("/matomo.php?" + query, headers=BROWSER)
    assert response.status_code == status, response.text
    return response


@pytest.fixture
def site(runtime: Runtime) -> Site:
    return add_site(runtime)


def the_row(runtime: Runtime, site: Site) -> dict[str, Any]:
    [row] = event_rows(runtime, site)
    return row


# --- product and category views (_pks, _pkn, _pkc, _pkp) -------------------------------------------------------

def test_a_product_view_on_a_page_view_is_stored(runtime: Runtime, http: TestClient, site: Site) -> None:
    # setEcommerceView("SKU-1", "Stadsfiets", ["Fietsen", "Stad"], 599): matomo.js stringifies the array.
    send(http, hit(site, "/stadsfiets", _pkc=json.dumps(["Fietsen", "Stad"]), _pkp="599.00", _pks="SKU-1",
                   _pkn="Stadsfiets"))
    row = the_row(runtime, site)
    assert (row["name"], row["product_sku"], row["product_name"]) == ("pageview", "SKU-1", "Stadsfiets")
    assert row["product_category"] == ["Fietsen", "Stad"]
    assert row["product_price"] == Decimal("599.00")


def test_a_category_view_and_junk_product_values(runtime: Runtime, http: TestClient, site: Site) -> None:
    # setEcommerceView(false, false, "Fietsen"): a category page sends only _pkc, as a plain string.
    send(http, hit(site, "/fietsen", _pkc="Fietsen"))
    many = json.dumps(["A", "", "B", None, {"x": 1}, True, 7, "C", "D", "E", "F"])
    send(http, hit(site, "/veel", _pkc=many, _pkp="gratis", _pks=" SKU-9 "))
    send(http, hit(site, "/lijst", _pkc="[niet, json"))
    send(http, hit(site, "/event", e_c="Video", e_a="Play", ca="1", _pks="SKU-1", _pkc="Fietsen", _pkp="5"))
    rows = {row["pathname"]: row for row in event_rows(runtime, site)}
    category = rows["/fietsen"]
    assert (category["product_category"], category["product_sku"], category["product_price"]) == (
        ["Fietsen"], "", Decimal("0"))
    # At most five categories, only text or numbers, empty ones skipped; a price that is no number is 0.
    assert rows["/veel"]["product_category"] == ["A", "B", "7", "C", "D"]
    assert (rows["/veel"]["product_sku"], rows["/veel"]["product_price"]) == ("SKU-9", Decimal("0"))
    assert rows["/lijst"]["product_category"] == ["[niet, json"]  # not JSON: one category as sent
    event = rows["/event"]  # only page views carry a product view
    assert (event["name"], event["product_sku"], event["product_category"]) == ("event", "", [])


# --- attribution: _ref, _rcn, _rck ------------------------------------------------------------------------------

def test_the_attribution_cookie_is_stored_on_every_row(runtime: Runtime, http: TestClient, site: Site) -> None:
    cookie = {"_rcn": "Nieuwsbrief", "_rck": "Lente", "_refts": "1735689600",
              "_ref": "https://www.google.com/search?q=fiets&gclid=abc123"}
    send(http, hit(site, "/", **cookie))
    send(http, hit(site, "/", e_c="Video", e_a="Play", ca="1", **cookie))
    rows = event_rows(runtime, site)
    assert sorted(row["name"] for row in rows) == ["event", "pageview"]
    for row in rows:
        assert (row["attribution_campaign"], row["attribution_keyword"]) == ("Nieuwsbrief", "Lente")
        assert row["attribution_referrer"] == "https://www.google.com/search?q=fiets"  # click id removed
        assert row["attribution_time"] == datetime(2025, 1, 1)  # _refts, in UTC
        # Only conversions are credited to a referrer.
        assert (row["conversion_referrer_type"], row["conversion_referrer_name"]) == ("", "")


@pytest.mark.parametrize("refts", ["0", "abc", "-5", "99999999999", "946684799", str(2**40)])
def test_a_missing_or_impossible_refts_is_stored_as_none(runtime: Runtime, http: TestClient, site: Site,
                                                         refts: str) -> None:
    send(http, hit(site, "/", _rcn="x", _refts=refts))
    [row] = event_rows(runtime, site)
    assert row["attribution_time"] == datetime(1970, 1, 1)


# Each visitor: (how the visit came in: its urlref, the cookie values sent with the goal, the credit expected).
CREDIT_CASES = {
    "campaign cookie first": ("", {"_rcn": "Nieuwsbrief", "_rck": "Lente",
                                   "_ref": "https://www.google.com/search?q=fiets"},
                              ("campaign", "nieuwsbrief", "lente")),
    "search referrer cookie": ("", {"_ref": "https://www.google.com/search?q=racefiets"},
                               ("search", "Google", "racefiets")),
    "website referrer cookie": ("", {"_ref": "https://fietsblog.example/review"},
                                ("website", "fietsblog.example", "")),
    "social referrer cookie": ("", {"_ref": "https://www.facebook.com/"}, ("social", "Facebook", "")),
    "own site in the cookie: the visit's referrer": ("https://forum.example/draadje",
                                                     {"_ref": "https://shop.example/aanbieding"},
                                                     ("website", "forum.example", "")),
    "no cookie: the visit's referrer": ("https://duckduckgo.com/?q=bakfiets", {},
                                        ("search", "DuckDuckGo", "bakfiets")),
    "no cookie, direct visit": ("", {}, ("direct", "", "")),
}


def test_conversions_are_credited_like_matomo(runtime: Runtime, http: TestClient, site: Site) -> None:
    for number, (urlref, cookie, _) in enumerate(CREDIT_CASES.values()):
        visitor = f"{number:016x}"
        send(http, hit(site, "/", visitor, **({"urlref": urlref} if urlref else {})))
        send(http, hit(site, "/bedankt", visitor, idgoal="2", revenue="10", **cookie))
    goals = [row for row in event_rows(runtime, site) if row["name"] == "goal"]
    credited = {int(row["visitor_id"]): (row["conversion_referrer_type"], row["conversion_referrer_name"],
                                         row["conversion_referrer_keyword"]) for row in goals}
    for number, (case, (_, _, expected)) in enumerate(CREDIT_CASES.items()):
        assert credited[number] == expected, case
    # The visit's own referrer is untouched by the cookie: the first visitor came in directly.
    visits = {int(row["visitor_id"]): row for row in visit_rows(runtime, site)}
    assert visits[0]["referrer_type"] == "direct"


def test_orders_and_carts_are_credited_page_views_are_not(runtime: Runtime, http: TestClient, site: Site) -> None:
    cookie = {"_rcn": "Lente-Actie", "_rck": "E-Bike"}
    items = json.dumps([["SKU-1", "Stadsfiets", "Fietsen", 599, 1]])
    send(http, hit(site, "/", **cookie))
    send(http, hit(site, "/mand", idgoal="0", revenue="599", ec_items=items, **cookie))
    send(http, hit(site, "/bedankt", idgoal="0", ec_id="A-1", revenue="599", ec_items=items, **cookie))
    credit = {row["name"]: (row["conversion_referrer_type"], row["conversion_referrer_name"],
                            row["conversion_referrer_keyword"]) for row in event_rows(runtime, site)}
    assert credit == {"pageview": ("", "", ""), "cart_update": ("campaign", "lente-actie", "e-bike"),
                      "ecommerce_order": ("campaign", "lente-actie", "e-bike")}


# --- the page charset (cs) -----------------------------------------------------------------------------------

def test_a_latin1_page_search_is_decoded_with_cs(runtime: Runtime, http: TestClient, site: Site) -> None:
    # A search form on an ISO-8859-1 page puts "café crème" in its URL as caf%E9+cr%E8me; matomo.js sends that URL
    # (URL-encoded once more) and cs. The title went through encodeURIComponent, so it is UTF-8 all the same.
    send(http, hit(site, "/zoeken?q=caf%E9+cr%E8me&page=2", action_name="Zoeken – café", cs="ISO-8859-1"))
    row = the_row(runtime, site)
    assert (row["name"], row["search_keyword"]) == ("site_search", "café crème")
    assert row["title"] == "Zoeken – café"
    assert row["url"] == "https://shop.example/zoeken?page=2"


def test_without_cs_latin1_bytes_stay_unreadable(runtime: Runtime, http: TestClient, site: Site) -> None:
    send(http, hit(site, "/zoeken?q=caf%E9"))
    assert the_row(runtime, site)["search_keyword"] == "caf\ufffd"


def test_a_sender_encoding_its_parameters_in_the_page_charset(runtime: Runtime, http: TestClient,
                                                             site: Site) -> None:
    base = f"idsite={site.site_id}&rec=1&_id=0123456789abcdef&send_image=0&cs=windows-1252"
    # A server-side tracker on a legacy site: its own parameters are escaped in windows-1252, not UTF-8.
    send_raw(http, base + "&url=https%3A%2F%2Fshop.example%2Fcaf%E9&action_name=Caf%E9+%80+5"
                          "&urlref=https%3A%2F%2Fblog.example%2Fcr%E8me")
    send_raw(http, base + "&url=https%3A%2F%2Fshop.example%2Fzoek&search=cr%E8me+br%FBl%E9e")
    # The same in a POST body, and in a bulk item.
    body = f"idsite={site.site_id}&rec=1&_id=0123456789abcdef&cs=ISO-8859-1&url=https://shop.example/body" \
           "&action_name=Fran%E7ais"
    response = http.post("/matomo.php", content=body.encode(), headers={**BROWSER, "Content-Type": FORM})
    assert response.status_code == 200
    item = f"?idsite={site.site_id}&rec=1&_id=0123456789abcdef&cs=ISO-8859-1&url=https://shop.example/bulk" \
           "&action_name=Espa%F1ol"
    assert http.post("/matomo.php", content=json.dumps({"requests": [item]}),
                     headers={**BROWSER, "Content-Type": FORM}).json()["tracked"] == 1
    rows = {row["pathname"]: row for row in event_rows(runtime, site)}
    page = rows["/café"]
    assert (page["title"], page["url"], page["referrer"]) == ("Café € 5", "https://shop.example/café",
                                                              "https://blog.example/crème")
    assert rows["/zoek"]["search_keyword"] == "crème brûlée"
    assert (rows["/body"]["title"], rows["/bulk"]["title"]) == ("Français", "Español")


@pytest.mark.parametrize("charset", ["klingon", "base64", "rot13", "x" * 80, "utf-8", ""])
def test_an_unknown_or_unusable_cs_is_ignored(runtime: Runtime, http: TestClient, site: Site, charset: str) -> None:
    send_raw(http, f"idsite={site.site_id}&rec=1&_id=0123456789abcdef&send_image=0&cs={charset}"
                   "&url=https%3A%2F%2Fshop.example%2Fzoeken%3Fq%3Dcaf%25E9&action_name=Caf%C3%A9+%E9")
    row = the_row(runtime, site)
    assert (row["search_keyword"], row["title"]) == ("caf\ufffd", "Café \ufffd")  # read as without cs


# --- site search from the page URL ----------------------------------------------------------------------------

def test_site_search_from_the_url_with_matomos_default_parameters(runtime: Runtime, http: TestClient,
                                                                 site: Site) -> None:
    assert site.search_params == SEARCH_PARAMETERS and site.search_category_params == ()
    send(http, hit(site, "/een?page=2&S=racefiets&sort=prijs#boven"))
    send(http, hit(site, "/twee?keywords=bakfiets"))
    send(http, hit(site, "/drie?q=&page=1"))  # an empty keyword is no search
    send(http, hit(site, "/vier?q=slot", e_c="Filter", e_a="Prijs", ca="1"))  # an event on the results page
    rows = {row["pathname"]: row for row in event_rows(runtime, site)}
    assert {path: (row["name"], row["search_keyword"]) for path, row in rows.items()} == {
        "/een": ("site_search", "racefiets"), "/twee": ("site_search", "bakfiets"), "/drie": ("pageview", ""),
        "/vier": ("event", "")}
    # The keyword parameter leaves the stored URL, everything else stays as sent.
    assert {path: row["url"] for path, row in rows.items()} == {
        "/een": "https://shop.example/een?page=2&sort=prijs#boven", "/twee": "https://shop.example/twee",
        "/drie": "https://shop.example/drie?q=&page=1", "/vier": "https://shop.example/vier?q=slot"}


def test_site_search_with_the_sites_own_parameters(runtime: Runtime, http: TestClient, site: Site) -> None:
    runtime.registry.update(site.site_id, search_params=["zoekterm", "Term"], search_category_params=["cat"])
    runtime.sites.invalidate()
    send(http, hit(site, "/een?TERM=e-bike&cat=stad&zoekterm=&q=genegeerd"))
    send(http, hit(site, "/twee?q=racefiets"))  # q is no longer a search parameter of this site
    send(http, hit(site, "/drie?zoekterm=bel&zoekterm=slot", search="explicit", search_cat="onderdelen"))
    rows = {row["pathname"]: row for row in event_rows(runtime, site)}
    found = rows["/een"]
    assert (found["name"], found["search_keyword"], found["search_category"]) == ("site_search", "e-bike", "stad")
    assert found["url"] == "https://shop.example/een?zoekterm=&q=genegeerd"
    assert (rows["/twee"]["name"], rows["/twee"]["url"]) == ("pageview", "https://shop.example/twee?q=racefiets")
    # trackSiteSearch's own parameters win, and the page URL is then kept whole.
    explicit = rows["/drie"]
    assert (explicit["search_keyword"], explicit["search_category"]) == ("explicit", "onderdelen")
    assert explicit["url"] == "https://shop.example/drie?zoekterm=bel&zoekterm=slot"


def test_no_search_parameters_turns_detection_from_the_url_off(runtime: Runtime, http: TestClient,
                                                               site: Site) -> None:
    runtime.registry.update(site.site_id, search_params=[])
    runtime.sites.invalidate()
    send(http, hit(site, "/zoeken?q=racefiets"))
    row = the_row(runtime, site)
    assert (row["name"], row["url"]) == ("pageview", "https://shop.example/zoeken?q=racefiets")


# --- ca=1 that nothing claims -----------------------------------------------------------------------------------

def test_ca_1_alone_is_refused_and_not_a_page_view(runtime: Runtime, http: TestClient,
                                                               site: Site) -> None:
    # What a Matomo plugin's tracker (media analytics here) sends; Teller has no such handler.
    plugin = hit(site, "/video", ca="1", ma_id="abc", ma_ti="Intro", ma_pn="html5")
    response = send(http, plugin, status=400)
    assert "ca=1" in response.text and response.headers["cache-control"] == "no-store"
    debug = send(http, plugin | {"debug": "1"}, status=400)
    assert debug.text.startswith("not recorded:")
    assert runtime.pipeline.outcomes["unclaimed_custom_action"] == 2
    assert event_rows(runtime, site) == [] and visit_rows(runtime, site) == []  # not even a visit

    # In a bulk request it counts as invalid and the other hits are kept.
    answer = http.post("/matomo.php", content=json.dumps({"requests": ["?" + urlencode(hit(site, "/a")),
                                                                       "?" + urlencode(plugin)]}),
                       headers={**BROWSER, "Content-Type": FORM})
    assert answer.status_code == 200 and answer.json() == {"status": "success", "tracked": 1, "invalid": 1}
    assert [row["pathname"] for row in event_rows(runtime, site)] == ["/a"]


def test_ca_1_with_something_to_record_is_recorded(runtime: Runtime, http: TestClient, site: Site) -> None:
    send(http, hit(site, "/", ca="1", e_c="Video", e_a="Play"))
    send(http, hit(site, "/", ca="1", c_n="Banner", c_p="lente.jpg"))
    send(http, hit(site, "/", ca="1", link="https://partner.example/"))
    send(http, hit(site, "/zoeken?q=fiets", ca="1"))  # Matomo's site search claims it from the URL
    send(http, hit(site, "/", ca="1", idgoal="1"))
    send(http, hit(site, "/", ca="0"))
    assert sorted(row["name"] for row in event_rows(runtime, site)) == [
        "content_impression", "event", "goal", "outlink", "pageview", "site_search"]


# --- per-site search parameters: CLI, admin API, schema ----------------------------------------------------------

def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args])


def site_json(config: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert run(config, "site", "list", "--json") == 0
    [site] = json.loads(capsys.readouterr().out)
    return dict(site)


def test_search_parameter_flags_round_trip(config_path: Path, store: Store,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config_path, "site", "add", "--name", "Fietsen", "--domain", "fietsen.example") == 0
    added = capsys.readouterr().out
    assert "site search from page URL parameters: q, query, s, search, searchword, k, keyword, keywords" in added
    site = site_json(config_path, capsys)
    assert (site["search_params"], site["search_category_params"]) == (list(SEARCH_PARAMETERS), [])

    assert run(config_path, "site", "update", "1", "--search-params", "q,s", "--search-category-params", "cat") == 0
    assert "parameters: q, s; categories from cat" in capsys.readouterr().out
    site = site_json(config_path, capsys)
    assert (site["search_params"], site["search_category_params"]) == (["q", "s"], ["cat"])

    # Repeated flags add up; other settings stay as they were.
    assert run(config_path, "site", "update", "1", "--search-params", "zoek", "--search-params", "term, zoek") == 0
    capsys.readouterr()
    site = site_json(config_path, capsys)
    assert (site["search_params"], site["search_category_params"]) == (["zoek", "term"], ["cat"])

    assert run(config_path, "site", "update", "1", "--search-params", "", "--search-category-params", "") == 0
    assert "parameters: off" in capsys.readouterr().out
    site = site_json(config_path, capsys)
    assert (site["search_params"], site["search_category_params"]) == ([], [])

    assert run(config_path, "site", "update", "1", "--search-params", "a b") == 2
    assert "search_params: 'a b' is not a query parameter name" in capsys.readouterr().err
    assert run(config_path, "site", "add", "--name", "X", "--domain", "x.example",
               "--search-category-params", "cat=1") == 2
    assert "search_category_params" in capsys.readouterr().err


def test_search_parameters_through_the_admin_api(runtime: Runtime, http: TestClient) -> None:
    auth = {"Authorization": f"Bearer {admin_token(runtime.settings.secret_key)}"}
    created = http.post("/api/admin/sites", json={"name": "Fietsen", "domains": ["fietsen.example"],
                                                  "timezone": "UTC", "retention_days": 30,
                                                  "search_params": ["zoek"]}, headers=auth)
    assert created.status_code == 201 and created.json()["search_params"] == ["zoek"]
    site_id = created.json()["site_id"]
    changed = http.patch(f"/api/admin/sites/{site_id}", json={"search_category_params": ["rubriek"]}, headers=auth)
    assert changed.status_code == 200
    assert (changed.json()["search_params"], changed.json()["search_category_params"]) == (["zoek"], ["rubriek"])
    refused = http.patch(f"/api/admin/sites/{site_id}", json={"search_params": [1]}, headers=auth)
    assert refused.status_code == 400 and "list of strings" in refused.json()["error"]
    assert runtime.registry.get(site_id).search_category_params == ("rubriek",)  # type: ignore[union-attr]


def test_an_installed_database_upgrades_to_migration_9(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # A database as Teller left it before migration 9, with a site and an event in it.
    monkeypatch.setattr("ingest.migrations.MIGRATIONS", tuple(m for m in MIGRATIONS if m.version < 9))
    migrate(store)
    client = store.client()
    client.insert("sites", [[1, "Oud", ["oud.example"], "UTC", 30, 1]],
                  column_names=["site_id", "name", "domains", "timezone", "retention_days", "version"])
    client.insert("events", [[1, datetime.now(UTC), "pageview", "/oud", 30]],
                  column_names=["site_id", "ts", "name", "pathname", "retention_days"])
    monkeypatch.undo()
    assert 9 in [migration.version for migration in migrate(store)]  # and any later ones
    assert migrate(store) == []  # applied once
    site = client.query("SELECT search_params, search_category_params FROM sites FINAL").result_rows
    assert site == [(list(SEARCH_PARAMETERS), [])]  # an existing site keeps detecting searches as before
    event = client.query("SELECT product_category, product_price, attribution_referrer, conversion_referrer_type "
                         "FROM events").result_rows
    assert event == [([], Decimal("0"), "", "")]
