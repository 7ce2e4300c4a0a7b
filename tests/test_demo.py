"""The demo site fills through the real ingest path and its numbers add up on the dashboard, for the demo user
whose password `teller demo` prints."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.testclient import TestClient

from dashboards.periods import parse_range
from teller.demo import DEMO_DOMAINS, DEMO_EMAIL, demo_login, demo_site, load_demo_traffic
from teller.demo_traffic import generate_demo_hits
from teller.runtime import Runtime
from tests.helpers import log_in


def test_demo_traffic_goes_through_ingest_and_shows_on_the_dashboard(runtime: Runtime, http: TestClient) -> None:
    site, created = demo_site(runtime)
    assert created and list(site.domains) == DEMO_DOMAINS
    assert demo_site(runtime) == (site, False)
    tracked = load_demo_traffic(runtime, site, days=7, now=datetime.now(UTC))
    assert tracked > 1000

    client = runtime.store.client()
    stored, masked, countries, devices = client.query(
        "SELECT count(), countIf(ip_masked LIKE '%.0.0'), uniq(country_code), uniq(device_type) FROM events "
        "WHERE site_id = {site:UInt32}", parameters={"site": site.site_id}).result_rows[0]
    assert stored == tracked and masked == tracked  # every address masked by the ingest path
    assert countries >= 4 and devices >= 3
    kinds = dict(client.query("SELECT name, count() FROM events WHERE site_id = {site:UInt32} GROUP BY name",
                              parameters={"site": site.site_id}).result_rows)
    # Every panel has something to show: events, outlinks, downloads, site search, goals and orders.
    assert set(kinds) == {"pageview", "event", "outlink", "download", "site_search", "goal", "ecommerce_order"}
    assert all(count < kinds["pageview"] / 5 for count in kinds.values() if count != kinds["pageview"])

    email, first_password = demo_login(runtime, site)
    email, password = demo_login(runtime, site)  # every `teller demo` prints a new password
    assert email == DEMO_EMAIL and password != first_password
    assert log_in(http, email, first_password).status_code == 401
    assert log_in(http, email, password, f"/sites/{site.site_id}?period=30d").headers["location"] == (
        f"/sites/{site.site_id}?period=30d")  # the URL the banner prints, after logging in
    assert [(item["site_id"], item["role"]) for item in http.get("/api/v1/sites").json()["sites"]] == [
        (site.site_id, "admin")]

    summary = http.get(f"/api/v1/sites/{site.site_id}/summary?period=7d").json()
    # Counted independently: exact uniques over the same local-midnight bounds the API reports.
    bounds = parse_range({"period": "custom", "from": summary["range"]["from"], "to": summary["range"]["to"]},
                         site.zone, datetime.now(UTC))
    expected = client.query(
        "SELECT uniqExact(visitor_id), uniqExact(visit_id), countIf(name = 'pageview') FROM events "
        "WHERE site_id = {site:UInt32} AND ts >= {start:DateTime('UTC')} AND ts < {end:DateTime('UTC')}",
        parameters={"site": site.site_id, "start": bounds.start_utc, "end": bounds.end_utc}).result_rows[0]
    totals = summary["totals"]
    assert (totals["visitors"], totals["visits"], totals["pageviews"]) == expected
    assert totals["visits"] < totals["pageviews"]
    assert sum(point["pageviews"] for point in summary["timeseries"]) == totals["pageviews"]
    assert len(summary["top_pages"]) == 10 and summary["top_pages"][0]["page"] == "/"

    page = http.get(f"/sites/{site.site_id}?period=7d")
    assert page.status_code == 200
    assert f"{totals['pageviews']:,}" in page.text


def test_the_demos_actions_leave_its_page_views_as_they_were() -> None:
    """The benchmarks send the page views alone; the demo adds actions without changing them."""
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    views = [hit.params for hit in generate_demo_hits(1, "demo.example", 3, now)]
    with_actions = [hit.params for hit in generate_demo_hits(1, "demo.example", 3, now, with_actions=True)]
    assert [params for params in with_actions if "action_name" in params] == views
    assert len(with_actions) > len(views) * 1.1
