"""A hit over HTTP becomes a row: masked IP, user-agent and geo fields, counted on the dashboard API."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.testclient import TestClient

from collector.tracking import TRANSPARENT_GIF
from teller.runtime import Runtime
from tests.conftest import CHROME_UA, VISITOR_IP
from tests.helpers import add_site, counts, dropped, event_rows

PAGEVIEW = {"idsite": "1", "rec": "1", "url": "https://shop.example/fietsen?kleur=rood", "action_name": "Fietsen",
            "urlref": "https://www.google.nl/", "_id": "0123456789abcdef", "res": "1920x1080", "h": "14", "m": "3",
            "s": "9", "pv_id": "Ab12Cd"}


def track(http: TestClient, params: dict[str, str], **headers: str) -> object:
    return http.get("/matomo.php?" + urlencode(params), headers={"User-Agent": CHROME_UA, **headers})


def test_pageview_becomes_a_row_with_masked_ip_user_agent_and_geo(runtime: Runtime, http: TestClient,
                                                                   dashboard: TestClient) -> None:
    site = add_site(runtime)
    response = track(http, PAGEVIEW | {"idsite": str(site.site_id)}, **{"Accept-Language": "nl-NL,nl;q=0.9"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/gif"
    assert response.content == TRANSPARENT_GIF and len(response.content) == 43
    assert response.headers["cache-control"] == "no-store"

    [row] = event_rows(runtime, site)
    assert row["ip_masked"] == "145.97.0.0"  # two bytes masked by default
    assert VISITOR_IP not in str(row.values())
    assert (row["browser"], row["browser_version"], row["os"], row["device_type"]) == ("Chrome", "131", "Windows",
                                                                                      "desktop")
    assert row["country_code"] == "NL" and row["region"] and row["city"]
    assert row["name"] == "pageview"
    assert (row["hostname"], row["pathname"]) == ("shop.example", "/fietsen")
    assert row["title"] == "Fietsen"
    assert row["referrer_host"] == "www.google.nl"
    assert row["visitor_id"] == int("0123456789abcdef", 16)
    assert (row["pageview_id"], row["screen_size"], row["language"], row["local_hour"]) == ("Ab12Cd", "1920x1080",
                                                                                           "nl-nl", 14)
    assert row["retention_days"] == site.retention_days

    summary = dashboard.get(f"/api/v1/sites/{site.site_id}/summary?period=today").json()
    assert counts(summary) == (1, 1, 1)
    assert summary["top_pages"] == [{"page": "/fietsen", "visitors": 1, "pageviews": 1}]
    assert summary["current_visitors"] == 1


def test_send_image_0_answers_204_and_post_form_body_works(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime)
    params = PAGEVIEW | {"idsite": str(site.site_id), "send_image": "0"}
    beacon = http.post("/piwik.php?" + urlencode(params), headers={"User-Agent": CHROME_UA})
    assert beacon.status_code == 204 and beacon.content == b""
    form = http.post("/matomo.php", data=PAGEVIEW | {"idsite": str(site.site_id), "url": "https://shop.example/b"},
                     headers={"User-Agent": CHROME_UA, "Origin": "https://shop.example"})
    assert form.status_code == 200 and form.content == TRANSPARENT_GIF
    assert form.headers["access-control-allow-origin"] == "https://shop.example"
    assert form.headers["access-control-allow-credentials"] == "true"
    # The query string wins over the body for the same key, as in Matomo.
    both = http.post("/matomo.php?" + urlencode({"url": "https://shop.example/query"}),
                     data=PAGEVIEW | {"idsite": str(site.site_id), "url": "https://shop.example/body"},
                     headers={"User-Agent": CHROME_UA})
    assert both.status_code == 200
    assert sorted(row["pathname"] for row in event_rows(runtime, site)) == ["/b", "/fietsen", "/query"]


def test_unknown_site_is_answered_400(runtime: Runtime, http: TestClient) -> None:
    add_site(runtime)
    for site_id in ("999", "abc", ""):
        response = track(http, PAGEVIEW | {"idsite": site_id})
        assert response.status_code == 400
        assert "is not a site" in response.text


def test_wrong_host_is_dropped_and_counted(runtime: Runtime, http: TestClient, dashboard: TestClient) -> None:
    site = add_site(runtime)
    response = track(http, PAGEVIEW | {"idsite": str(site.site_id), "url": "https://attacker.example/x"})
    assert response.status_code == 200  # excluded hits look like successes, as in Matomo
    assert event_rows(runtime, site) == []
    assert dropped(runtime, site) == {"wrong_host": 1}
    summary = dashboard.get(f"/api/v1/sites/{site.site_id}/summary?period=today").json()
    assert summary["totals"]["pageviews"] == 0
    assert summary["dropped_hits"] == {"wrong_host": 1}


def test_bots_and_missing_rec_are_dropped_with_reasons(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime)
    params = PAGEVIEW | {"idsite": str(site.site_id)}
    track(http, params, **{"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"})
    track(http, params | {"rec": "0"})
    assert event_rows(runtime, site) == []
    assert dropped(runtime, site) == {"bot_ua_parser": 1, "rec_missing": 1}


def test_subdomain_wildcards_and_www_are_the_site(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime, domains=("shop.example", "*.winkel.example"))
    for url in ("https://www.shop.example/", "https://a.winkel.example/", "https://winkel.example/"):
        assert track(http, PAGEVIEW | {"idsite": str(site.site_id), "url": url}).status_code == 200
    assert len(event_rows(runtime, site)) == 3


def test_junk_never_gets_a_500(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime)
    junk = [
        "/matomo.php?idsite=1&rec=1&url=%ff%fe",
        "/matomo.php?idsite=" + "9" * 50,
        f"/matomo.php?idsite={site.site_id}&rec=1&url=javascript:alert(1)",
        f"/matomo.php?idsite={site.site_id}&rec=1&url=http://[::1",
        f"/matomo.php?idsite={site.site_id}&rec=1&url=https://shop.example/&h=99&res=" + "9" * 40,
        f"/matomo.php?idsite={site.site_id}&rec=1&url=https://shop.example/&cid=nothex",
        "/matomo.php?idsite=%C2%B2&rec=1&url=https://shop.example/",  # "²" is a digit to str.isdigit()
        f"/matomo.php?idsite={site.site_id}&rec=1&url=https://shop.example/&h=%C2%B2&search_count=%C2%B2",
        f"/matomo.php?idsite={site.site_id}&rec=1&url=https://shop.example/&idgoal=%C2%B2&_id=+123456789abcdef0",
    ]
    for path in junk:
        assert http.get(path, headers={"User-Agent": CHROME_UA}).status_code < 500, path
    assert http.post("/matomo.php", content=b"\x00\xff" * 100, headers={"User-Agent": CHROME_UA}).status_code < 500
    too_big = http.post("/matomo.php", content=b"a=" + b"x" * 200_000)
    assert too_big.status_code == 413
    assert http.get("/matomo.php").status_code == 200  # Matomo's banner for a bare GET


def test_invalid_cid_is_400(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime)
    response = track(http, PAGEVIEW | {"idsite": str(site.site_id), "cid": "xyz"})
    assert response.status_code == 400 and "cid" in response.text


def test_stats_api_answers_400_with_a_json_reason(runtime: Runtime, http: TestClient, dashboard: TestClient) -> None:
    site = add_site(runtime)
    for query in ("period=forever", "period=custom", "period=custom&from=2026-02-01&to=2026-01-01",
                  "period=custom&from=yesterday&to=2026-01-01"):
        response = dashboard.get(f"/api/v1/sites/{site.site_id}/summary?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"]
    assert dashboard.get("/api/v1/sites/12345/summary").status_code == 404
    assert dashboard.get("/api/v1/sites/x/summary").status_code == 400
    assert dashboard.get("/api/v1/sites/%C2%B2/summary").json()["error"]
    far = dashboard.get(f"/api/v1/sites/{site.site_id}/summary?period=custom&from=9999-12-30&to=9999-12-31")
    assert far.status_code == 400 and "outside" in far.json()["error"]


def test_tracker_script_and_dashboard_page_are_served(runtime: Runtime, http: TestClient,
                                                      dashboard: TestClient) -> None:
    site = add_site(runtime)
    track(http, PAGEVIEW | {"idsite": str(site.site_id)})
    runtime.drain()
    script = http.get("/teller.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    page = dashboard.get(f"/sites/{site.site_id}?period=7d")
    assert page.status_code == 200
    assert "/fietsen" in page.text and "DB-IP" in page.text
    assert dashboard.get(f"/sites/{site.site_id}?period=nope").status_code == 400
    assert dashboard.get("/sites/777").status_code == 404


def test_opt_out_script_is_served(runtime: Runtime, http: TestClient) -> None:
    script = http.get("/optout.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert b"mtm_consent_removed" in script.content


def test_the_tracker_script_carries_the_sites_settings(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime)
    runtime.registry.update(site.site_id, visitor_cookie_seconds=14 * 86400, referral_cookie_seconds=1800,
                            respect_dnt=True)
    runtime.sites.invalidate()
    script = http.get(f"/teller.js?idsite={site.site_id}").text
    assert script.startswith("(function(w,c,k){w.tellerConfig")
    assert '"visitorCookieTimeout":1209600' in script and '"referralCookieTimeout":1800' in script
    assert '"respectDoNotTrack":true' in script
    plain = http.get("/teller.js").text
    assert not plain.startswith("(function(w,c,k)") and plain in script  # the same tracker behind the settings
    for alias in ("/matomo.js", "/piwik.js"):  # an unchanged Matomo embed only changes its host
        assert http.get(alias).text == plain
