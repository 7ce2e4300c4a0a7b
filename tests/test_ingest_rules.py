"""Each ingest rule proven with real requests through the whole stack into the embedded ClickHouse: address
masks, trusted proxies, geo, user agents and client hints, referrers and campaigns, drops with reasons,
visit boundaries and cookieless ids."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from dashboards.periods import parse_range
from ingest.geo import GeoLocator
from ingest.pipeline import Verdict
from teller.app import build_app
from teller.runtime import Runtime
from tests.conftest import CHROME_UA
from tests.helpers import add_site, dropped, event_rows, tracking_request, visit_rows

SITE_DOMAIN = "rules.example"


def client(runtime: Runtime, ip: str) -> TestClient:
    return TestClient(build_app(runtime), client=(ip, 40000))


def track(http: TestClient, site_id: int, headers: dict[str, str] | None = None, **params: str) -> int:
    query = {"idsite": str(site_id), "rec": "1", "url": f"https://{SITE_DOMAIN}/", **params}
    return http.get("/matomo.php?" + urlencode(query), headers={"User-Agent": CHROME_UA, **(headers or {})}).status_code


@pytest.fixture
def http(runtime: Runtime) -> Iterator[TestClient]:
    with client(runtime, "145.97.183.201") as test_client:
        yield test_client


@pytest.mark.parametrize(("ip", "v4_bytes", "v6_bits", "masked"), [
    ("145.97.183.201", 1, 48, "145.97.183.0"),  # the Dutch DPA minimum: one byte
    ("145.97.183.201", 2, 48, "145.97.0.0"),
    ("145.97.183.201", 3, 48, "145.0.0.0"),
    ("2a02:a440:1234:5678:9abc:def0:1234:5678", 2, 48, "2a02:a440:1234::"),
    ("2a02:a440:1234:5678:9abc:def0:1234:5678", 2, 32, "2a02:a440::"),
])
def test_each_site_masks_addresses_with_its_own_width(runtime: Runtime, ip: str, v4_bytes: int, v6_bits: int,
                                                      masked: str) -> None:
    site = add_site(runtime, domains=(SITE_DOMAIN,))
    runtime.registry.update(site.site_id, ipv4_mask_bytes=v4_bytes, ipv6_prefix_bits=v6_bits)
    runtime.sites.invalidate()
    with client(runtime, ip) as http:
        assert track(http, site.site_id) == 200
    [row] = event_rows(runtime, site)
    assert row["ip_masked"] == masked
    assert ip not in json.dumps(row, default=str)


def test_forwarded_addresses_are_believed_only_from_trusted_proxies(runtime: Runtime) -> None:
    site = add_site(runtime, domains=(SITE_DOMAIN,))
    runtime.settings = dataclasses.replace(runtime.settings,
                                           trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),))
    with client(runtime, "10.0.0.2") as proxied:  # our load balancer
        assert track(proxied, site.site_id, {"X-Forwarded-For": "6.6.6.6, 145.97.183.201"}) == 200
    with client(runtime, "81.2.69.160") as direct:  # a visitor forging the header
        assert track(direct, site.site_id, {"X-Forwarded-For": "145.97.183.201"}) == 200
    stored = {row["ip_masked"]: row["country_code"] for row in event_rows(runtime, site)}
    assert set(stored) == {"145.97.0.0", "81.2.0.0"}
    assert stored["145.97.0.0"] == "NL"  # the forwarded visitor, located from the masked address


def test_geo_fields_come_from_the_real_database_and_stop_at_the_city(runtime: Runtime) -> None:
    site = add_site(runtime, domains=(SITE_DOMAIN,))
    with client(runtime, "2a02:a440:1234:5678::1") as http:
        track(http, site.site_id)
    [row] = event_rows(runtime, site)
    assert (row["country_code"], row["region"]) == ("NL", "South Holland")
    assert row["city"].startswith("The Hague")
    assert not {"latitude", "longitude", "postal", "location"} & set(row)


def test_geo_database_is_reloaded_when_the_file_changes(tmp_path: Path, runtime: Runtime) -> None:
    path = tmp_path / "city.mmdb"
    shutil.copy(runtime.settings.geo_database, path)
    geo = GeoLocator(path, reload_check_seconds=0)
    assert geo.locate("145.97.0.0").country_code == "NL"
    replacement = tmp_path / "new.mmdb"
    shutil.copy(runtime.settings.geo_database, replacement)
    replacement.rename(path)  # how a database update lands: a new file renamed over the old one
    assert geo.locate("8.8.0.0").country_code == "US"
    assert geo.reloads == 1
    geo.close()


def test_frozen_user_agents_are_corrected_by_client_hints(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime, domains=(SITE_DOMAIN,))
    windows_hints = {"Sec-CH-UA": '"Chromium";v="131", "Google Chrome";v="131", "Not_A Brand";v="24"',
                     "Sec-CH-UA-Platform": '"Windows"', "Sec-CH-UA-Platform-Version": '"15.0.0"',
                     "Sec-CH-UA-Mobile": "?0"}
    track(http, site.site_id, windows_hints, url=f"https://{SITE_DOMAIN}/windows")
    android_ua = ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0.0.0 Mobile Safari/537.36")
    uadata = json.dumps({"platform": "Android", "platformVersion": "14.0.0", "model": "Pixel 8", "mobile": True,
                         "fullVersionList": [{"brand": "Google Chrome", "version": "131.0.6778.81"}]})
    track(http, site.site_id, {"User-Agent": android_ua}, url=f"https://{SITE_DOMAIN}/android", uadata=uadata)
    rows = {row["pathname"]: row for row in event_rows(runtime, site)}
    windows, android = rows["/windows"], rows["/android"]
    assert (windows["os"], windows["os_version"], windows["browser"], windows["browser_version"]) == (
        "Windows", "11", "Chrome", "131")
    assert (android["os"], android["os_version"], android["device_type"]) == ("Android", "14", "smartphone")
    assert android["device_model"] == "Pixel 8"


def test_referrers_campaigns_and_noise_parameters(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime, domains=(SITE_DOMAIN,))
    cases: list[dict[str, str]] = [
        {"url": f"https://{SITE_DOMAIN}/a", "urlref": "https://duckduckgo.com/?q=e-bike+kopen"},
        {"url": f"https://{SITE_DOMAIN}/b", "urlref": "https://l.facebook.com/l.php?u=x"},
        {"url": f"https://{SITE_DOMAIN}/c?utm_source=nieuwsbrief&utm_medium=email&utm_campaign=Lente&gclid=abc"},
        {"url": f"https://{SITE_DOMAIN}/d", "urlref": f"https://www.{SITE_DOMAIN}/elsewhere"},
        {"url": f"https://{SITE_DOMAIN}/e", "urlref": "https://fietsersbond.nl/artikel"},
    ]
    for index, params in enumerate(cases):
        track(http, site.site_id, **params, new_visit="1", _id=f"{index:016x}")
    rows = {row["pathname"]: row for row in event_rows(runtime, site)}
    assert (rows["/a"]["referrer_type"], rows["/a"]["referrer_name"], rows["/a"]["referrer_keyword"]) == (
        "search", "DuckDuckGo", "e-bike kopen")
    assert (rows["/b"]["referrer_type"], rows["/b"]["referrer_name"]) == ("social", "Facebook")
    campaign = rows["/c"]
    assert (campaign["referrer_type"], campaign["referrer_name"]) == ("campaign", "lente")
    assert (campaign["utm_source"], campaign["utm_medium"], campaign["utm_campaign"]) == ("nieuwsbrief", "email",
                                                                                          "Lente")
    assert "gclid" not in campaign["url"] and "utm_source=nieuwsbrief" in campaign["url"]
    assert rows["/d"]["referrer_type"] == "direct"  # the site's own pages are no referrer
    assert (rows["/e"]["referrer_type"], rows["/e"]["referrer_name"]) == ("website", "fietsersbond.nl")
    visits = {row["entry_page"]: row for row in visit_rows(runtime, site)}
    assert visits["/a"]["referrer_name"] == "DuckDuckGo" and visits["/c"]["utm_campaign"] == "Lente"


def test_bots_spam_prefetch_and_exclusions_are_dropped_with_reasons(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime, domains=(SITE_DOMAIN,))
    runtime.registry.update(site.site_id, excluded_ips=["145.97.0.0/16"], excluded_user_agents=["InternalMonitor"])
    runtime.sites.invalidate()
    assert track(http, site.site_id) == 200  # from an excluded range: answered like a success
    with client(runtime, "81.2.69.160") as outside:
        track(outside, site.site_id, {"User-Agent": "curl/8.5.0"})
        track(outside, site.site_id, {"User-Agent": CHROME_UA.replace("Chrome/", "HeadlessChrome/")})
        track(outside, site.site_id, {"User-Agent": "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"})
        track(outside, site.site_id, {"Sec-Purpose": "prefetch"})
        track(outside, site.site_id, {"User-Agent": CHROME_UA + " InternalMonitor/1.0"})
        track(outside, site.site_id, urlref="https://www.semalt.com/crawler")
        track(outside, site.site_id, {"User-Agent": "curl/8.5.0"}, bots="1", url=f"https://{SITE_DOMAIN}/kept")
    reasons = dropped(runtime, site)
    assert reasons == {"excluded_ip": 1, "bot_crawler_list": 1, "headless": 1, "bot_ua_parser": 1, "prefetch": 1,
                       "excluded_user_agent": 1, "referrer_spam": 1}
    [kept] = event_rows(runtime, site)
    assert (kept["pathname"], kept["is_bot"]) == ("/kept", 1)  # bots=1 keeps a bot hit, flagged


def record(runtime: Runtime, site: Any, at: datetime, path: str = "/", **params: str) -> None:
    assert runtime.pipeline.handle(tracking_request(site, path, at=at, **params)).verdict is Verdict.TRACKED


def test_visit_boundaries_through_the_pipeline(runtime: Runtime) -> None:
    site = add_site(runtime, domains=(SITE_DOMAIN,), timezone="Europe/Amsterdam")
    visitor = {"_id": "00000000000000aa"}
    evening = datetime.now(UTC).replace(hour=20, minute=0, second=0, microsecond=0) - timedelta(days=2)
    record(runtime, site, evening, "/one", **visitor)
    record(runtime, site, evening + timedelta(minutes=20), "/two", **visitor)  # same visit
    record(runtime, site, evening + timedelta(minutes=51), "/three", **visitor)  # 31 min idle: new visit
    # 23:55 in Amsterdam and ten minutes later fall on two local days, whatever the UTC offset.
    before_midnight = evening.astimezone(site.zone).replace(hour=23, minute=55).astimezone(UTC)
    record(runtime, site, before_midnight, "/late", **visitor)
    record(runtime, site, before_midnight + timedelta(minutes=10), "/after-midnight", **visitor)
    record(runtime, site, before_midnight + timedelta(minutes=11), "/spring",
           url=f"https://{SITE_DOMAIN}/spring?mtm_campaign=spring", **visitor)  # continues: was direct, upgraded
    record(runtime, site, before_midnight + timedelta(minutes=12), "/summer",
           url=f"https://{SITE_DOMAIN}/summer?mtm_campaign=summer", **visitor)  # another campaign: new visit
    visits = visit_rows(runtime, site)
    assert [(visit["entry_page"], visit["exit_page"], visit["pageviews"]) for visit in visits] == [
        ("/one", "/two", 2), ("/three", "/three", 1), ("/late", "/late", 1), ("/after-midnight", "/spring", 2),
        ("/summer", "/summer", 1)]
    assert [visit["is_bounce"] for visit in visits] == [0, 1, 1, 0, 1]
    assert visits[0]["duration"] == 20 * 60
    assert (visits[3]["referrer_type"], visits[3]["referrer_name"]) == ("campaign", "spring")
    totals = runtime.queries.totals(site, parse_range({"period": "7d"}, site.zone, datetime.now(UTC)))
    assert (totals.visits, totals.pageviews, totals.bounce_rate) == (5, 7, 60.0)


def test_cookieless_ids_are_stable_within_a_day_and_differ_across_days(runtime: Runtime) -> None:
    site = add_site(runtime, domains=(SITE_DOMAIN,))
    runtime.registry.update(site.site_id, cookieless=True)
    runtime.sites.invalidate()
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(days=1)
    for at in (yesterday, yesterday + timedelta(minutes=5), today, today + timedelta(minutes=5)):
        record(runtime, site, at, "/", _id="0123456789abcdef")  # a cookie id a cookieless site ignores
    ids = [row["visitor_id"] for row in event_rows(runtime, site)]
    assert ids[0] == ids[1] and ids[2] == ids[3]
    assert ids[0] != ids[2]
    assert int("0123456789abcdef", 16) not in ids
    salts = runtime.store.client().query("SELECT count() FROM cookieless_salts WHERE site_id = {site:UInt32}",
                                         parameters={"site": site.site_id}).result_rows[0][0]
    assert salts == 2
