"""The site dashboard page: panels for every report, rows that filter, comparisons, Dutch and English."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from starlette.testclient import TestClient

from dashboards.i18n import Locale, choose_language
from dashboards.site_page import TABS
from ingest.sites import Site
from teller.runtime import Runtime
from tests.helpers import add_site
from tests.test_breakdowns import breakdown, seed


@pytest.fixture
def site(runtime: Runtime) -> Site:
    site = add_site(runtime, "Fietsen", ("fietsen.example",))
    seed(runtime, site, days_ago=1)
    seed(runtime, site, days_ago=9)
    return site


def panel_of(page: str, dimension: str) -> str:
    return page.split(f'id="panel-{dimension}"', 1)[1].split("</section>", 1)[0]


def panel_values(page: str, dimension: str) -> list[str]:
    """The rows' labels as shown (a country's name, not its code)."""
    row = r'<td><a href="[^"]*"(?: title="[^"]*")?>([^<]*)</a>'
    return [html.unescape(value) for value in re.findall(row, panel_of(page, dimension))]


def link_of(page: str, dimension: str, value: str) -> str:
    row = r'<td><a href="([^"]*)"(?: title="[^"]*")?>' + re.escape(html.escape(value)) + "</a>"
    found = re.search(row, panel_of(page, dimension))
    assert found, f"no row {value!r} in {dimension}"
    return html.unescape(found.group(1))


def country_rows(page: str) -> dict[str, tuple[str, str]]:
    """The Countries table's rows: the code (shown on hover) with the name shown and the row's filter link; the
    row of visitors without a country (no code) under ""."""
    rows = re.findall(r'<td><a href="([^"]*)"(?: title="([^"]*)")?>([^<]*)</a>', panel_of(page, "country"))
    return {html.unescape(code): (html.unescape(name), html.unescape(link)) for link, code, name in rows}


def test_every_panel_and_the_comparison(dashboard: TestClient, site: Site) -> None:
    page = dashboard.get(f"/sites/{site.site_id}?period=7d").text
    for dimension in ("page", "entry_page", "channel", "referrer", "country", "device", "browser", "os",
                      "event_category", "goal", "outlink", "download", "search_keyword", "hour"):
        assert f'id="panel-{dimension}"' in page, dimension
    assert set(panel_values(page, "page")) == {"/", "/prijzen", "/blog", "/blog/=SUM(A1)"}
    assert "Read from the daily rollups" not in page
    # Compared with the 7 days before (one seeded day each): no change, shown as +0 or 0.
    assert re.search(r'class="change[^"]*"[^>]*>0\.0%', page) or "0.0%" in page
    csv = re.search(r'href="(/api/v1/sites/\d+/breakdown\?dimension=country[^"]*)"', page)
    assert csv and dashboard.get(html.unescape(csv.group(1))).headers["content-type"].startswith("text/csv")


def test_clicking_a_row_filters_the_whole_dashboard(dashboard: TestClient, site: Site) -> None:
    page = dashboard.get(f"/sites/{site.site_id}?period=7d").text
    target = link_of(page, "device", "smartphone")
    assert ("filter", "device==smartphone") in parse_qsl(urlsplit(target).query)
    filtered = dashboard.get(target).text
    assert 'id="filters"' in filtered and "device==smartphone" in filtered
    assert panel_values(filtered, "device") == ["smartphone"]
    assert "/prijzen" not in panel_values(filtered, "page")  # the phone visitors never saw it
    both = dashboard.get(link_of(filtered, "browser", panel_values(filtered, "browser")[0])).text
    assert both.count('class="chip"') == 2
    removed = re.search(r'<span class="chip"><code>device==smartphone</code> <a href="([^"]*)"', both)
    assert removed and "device%3D%3Dsmartphone" not in removed.group(1)


def test_dutch_and_english(dashboard: TestClient, site: Site) -> None:
    dutch = dashboard.get(f"/sites/{site.site_id}?period=7d", headers={"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"})
    assert '<html lang="nl">' in dutch.text and "Unieke bezoekers" in dutch.text and "Uitloggen" in dutch.text
    english = dashboard.get(f"/sites/{site.site_id}?period=7d&lang=en", headers={"Accept-Language": "nl"})
    assert '<html lang="en">' in english.text and "Unique visitors" in english.text
    assert choose_language("de-DE,de;q=0.9,nl;q=0.8,en;q=0.7") == "nl"
    assert choose_language("fr, en;q=0.1") == "en" and choose_language("") == "en"
    assert Locale("nl").number(1234567.5, 1) == "1.234.567,5" and Locale("en").number(1234567.5, 1) == "1,234,567.5"
    assert Locale("nl").day("2026-03-21") == "21 mrt. 2026"


# Bad addresses, and what the Dutch page says about each: the reason in Dutch, the typed values as typed.
REFUSED_IN_DUTCH = {
    "period=week": "period=&#39;week&#39; is niet een van today, yesterday, 7d, 30d, 90d, month, year, custom",
    "period=custom&from=2026-13-01&to=2026-12-31": "from=&#39;2026-13-01&#39; is geen datum zoals 2026-01-31",
    "period=custom&from=1999-12-31&to=2026-01-01": "from=&#39;1999-12-31&#39; ligt buiten 2000-01-01 tot 2200-12-31",
    "period=custom&from=2000-01-01&to=2026-01-01": "een periode beslaat hoogstens 3700 dagen",
    "period=custom&from=2026-01-01": "period=custom heeft from en to nodig",
    "filter=nope": "filter &#39;nope&#39; mist een operator",
    "filter=schoenmaat==42":
        "filter &#39;schoenmaat==42&#39;: &#39;schoenmaat&#39; is geen dimensie; kies uit entry_page, exit_page,",
    "filter=page==" + "x" * 1001: "een filterwaarde heeft hoogstens 1000 tekens",
    "&".join(["filter=page==/a"] * 11): "hoogstens 10 filters",
}


def test_every_refused_period_or_filter_is_explained_in_dutch(dashboard: TestClient, site: Site) -> None:
    for query, reason in REFUSED_IN_DUTCH.items():
        page = dashboard.get(f"/sites/{site.site_id}?{query}&lang=nl")
        assert page.status_code == 400, query
        assert f"Deze periode of dit filter kan niet worden getoond: {reason}" in page.text, query
        assert not re.search(r"is not|needs|at most|outside", page.text), query


def test_a_range_past_the_raw_retention_shows_the_rollup_panels(runtime: Runtime, dashboard: TestClient,
                                                                site: Site) -> None:
    runtime.rollups.run([site])
    runtime.registry.update(site.site_id, retention_days=3)
    page = dashboard.get(f"/sites/{site.site_id}?period=30d").text
    assert "Read from the daily rollups" in page
    assert 'id="panel-country"' in page and 'id="panel-outlink"' not in page
    refused = dashboard.get(f"/sites/{site.site_id}?period=30d&filter=device==smartphone&lang=nl")
    assert refused.status_code == 400
    assert "filters hebben bezoekdetails nodig, die deze site 3 dagen bewaart" in refused.text


def test_the_countries_table_names_countries_in_the_pages_language(dashboard: TestClient, site: Site) -> None:
    english = country_rows(dashboard.get(f"/sites/{site.site_id}?period=7d&lang=en").text)
    dutch = country_rows(dashboard.get(f"/sites/{site.site_id}?period=7d", headers={"Accept-Language": "nl"}).text)
    assert english["NL"][0] == "Netherlands" and dutch["NL"][0] == "Nederland"
    assert len(english) == len(dutch) == 4
    assert all(name and name != code for rows in (english, dutch) for code, (name, _) in rows.items())
    # The row still filters on the code, in either language.
    for rows in (english, dutch):
        assert ("filter", "country==NL") in parse_qsl(urlsplit(rows["NL"][1]).query)
    filtered = dashboard.get(dutch["NL"][1]).text
    assert "<code>country==NL</code>" in filtered and list(country_rows(filtered)) == ["NL"]
    # The JSON API and the CSV export keep the codes.
    api = dashboard.get(f"/api/v1/sites/{site.site_id}/breakdown", params={"dimension": "country", "period": "7d"})
    assert {row["value"] for row in api.json()["rows"]} == set(english)
    csv = dashboard.get(f"/api/v1/sites/{site.site_id}/breakdown",
                        params={"dimension": "country", "period": "7d", "format": "csv", "lang": "nl"})
    assert "\nNL," in csv.text and "Nederland" not in csv.text


def goal_rates(page: str) -> dict[str, str]:
    """The Goals panel's conversion rates as shown, by goal."""
    rows = re.findall(r'<td><a href="[^"]*"(?: title="[^"]*")?>([^<]*)</a></td>\s*<td class="num">[^<]*</td>'
                      r'<td class="num">([^<]*)</td>', panel_of(page, "goal"))
    return {html.unescape(goal): rate for goal, rate in rows}


@pytest.mark.parametrize("filters", [[], ["device==desktop"], ["page==/prijzen"]], ids=str)
def test_goal_conversion_rates_come_from_the_summarys_visitors(runtime: Runtime, dashboard: TestClient, site: Site,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              filters: list[str]) -> None:
    queries: list[str] = []
    query_rows = runtime.queries.query_rows

    def recording(sql: str, parameters: dict[str, object]) -> list[tuple[object, ...]]:
        queries.append(sql)
        return query_rows(sql, parameters)

    monkeypatch.setattr(runtime.queries, "query_rows", recording)
    query = [("period", "7d"), *(("filter", text) for text in filters)]
    page = dashboard.get(f"/sites/{site.site_id}", params=query).text
    shown = goal_rates(page)
    assert shown, "no goal rows"
    # The page counted no visitors for the goals: the summary's count of the same visitors served.
    assert not [sql for sql in queries if sql.startswith("SELECT uniq(visitor_id) FROM sessions")]
    api = dashboard.get(f"/api/v1/sites/{site.site_id}/breakdown", params=[("dimension", "goal"), *query]).json()
    assert shown == {row["value"]: f"{row['conversion_rate']:.1f}%" for row in api["rows"]}
    assert [sql for sql in queries if sql.startswith("SELECT uniq(visitor_id) FROM sessions")]  # the API's own


def api_values(dashboard: TestClient, site: Site, dimension: str, *filters: str) -> list[str]:
    """The Stats API report's first ten values over 7 days, labelled as the page shows them."""
    return [row["value"] or "(none)" for row in breakdown(dashboard, site, dimension, *filters, limit="10")["rows"]]


@pytest.mark.parametrize(("panel", "dimension"), [(panel, spec.dimension) for panel, specs in TABS.items()
                                                  for spec in specs])
def test_every_further_report_is_on_a_tab_of_its_panel(dashboard: TestClient, site: Site, panel: str,
                                                       dimension: str) -> None:
    page = dashboard.get(f"/sites/{site.site_id}?period=7d").text
    tabs = panel_of(page, panel).split('<nav class="tabs"', 1)[1].split("</nav>", 1)[0]
    targets = [html.unescape(link) for link in re.findall(r'<a href="([^"]*)"', tabs)]
    assert len(targets) == 1 + len(TABS[panel])
    [target] = [link for link in targets if ("tab", dimension) in parse_qsl(urlsplit(link).query)]
    assert target.endswith(f"#panel-{panel}") and ("period", "7d") in parse_qsl(urlsplit(target).query)
    shown = dashboard.get(target.split("#", 1)[0]).text
    assert f'id="panel-{panel}" data-dimension="{dimension}"' in shown
    values = panel_values(shown, panel)
    assert values and values == api_values(dashboard, site, dimension)  # the same rows as the Stats API's report
    # Its rows filter on its own dimension, and the tab stays chosen.
    filtered_url = link_of(shown, panel, values[0])
    filtered_query = parse_qsl(urlsplit(filtered_url).query, keep_blank_values=True)
    assert ("tab", dimension) in filtered_query and any(
        key == "filter" and value.startswith(f"{dimension}==") for key, value in filtered_query)
    filtered = dashboard.get(filtered_url).text
    assert f'data-dimension="{dimension}"' in filtered and panel_values(filtered, panel) == [values[0]]


def test_tabs_keep_the_view_and_fall_back_where_a_report_is_not_kept(runtime: Runtime, dashboard: TestClient,
                                                                     site: Site) -> None:
    url = f"/sites/{site.site_id}?period=7d&filter=device==smartphone&tab=title&tab=os_version&tab=nope"
    page = dashboard.get(url).text
    assert 'id="panel-page" data-dimension="title"' in page and 'id="panel-os" data-dimension="os_version"' in page
    assert 'id="panel-browser" data-dimension="browser"' in page  # an unknown tab name changes nothing
    assert panel_values(page, "page") == api_values(dashboard, site, "title", "device==smartphone")
    # Back to the panel's own report: that tab's parameter goes, the other panel's stays.
    back = re.search(r'<a href="([^"]*)">Pages</a>', panel_of(page, "page"))
    assert back
    query = parse_qsl(urlsplit(html.unescape(back.group(1))).query)
    assert ("tab", "title") not in query and ("tab", "os_version") in query
    assert ("filter", "device==smartphone") in query
    # A range read from rollups offers only the reports rollups keep.
    runtime.rollups.run([site])
    runtime.registry.update(site.site_id, retention_days=3)
    rollup_page = dashboard.get(f"/sites/{site.site_id}?period=30d&tab=os_version&tab=utm_source").text
    assert 'id="panel-os" data-dimension="os"' in rollup_page and "os_version" not in panel_of(rollup_page, "os")
    assert 'id="panel-utm_campaign" data-dimension="utm_source"' in rollup_page
