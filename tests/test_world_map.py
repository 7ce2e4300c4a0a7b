"""The Countries panel's world map: shading by share of visitors, the same filter links as the table, visitors
the map cannot show, and the committed geometry built by tools/world-map/build.mjs."""

from __future__ import annotations

import hashlib
import html
import ipaddress
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.testclient import TestClient

from dashboards.world_map import GEOMETRY, STEPS, country_name, geometry, world_map
from ingest.ipmask import ClientAddress
from ingest.pipeline import TrackingRequest, Verdict
from ingest.sites import Site
from teller.runtime import Runtime
from tests.conftest import CHROME_UA
from tests.test_dashboard_page import country_rows, site  # noqa: F401 - `site` is a fixture: seeded Fietsen

BUILD_SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "world-map" / "build.mjs"
REBUILD = "run `npm ci && node build.mjs` in tools/world-map"
# SVG path data as build.mjs writes it: per ring an absolute move, relative lines, a close.
RING = r"M-?\d+ -?\d+l-?\d+(?:[ -]-?\d+)*z"


def map_of(page: str) -> str:
    section = page.split('id="panel-country"', 1)[1].split("</section>", 1)[0]
    return section.split('<figure class="world-map">', 1)[1].split("</figure>", 1)[0]


def shapes(figure: str) -> dict[str, tuple[str, str | None, str]]:
    """country code: (shading class, filter link or None, hover title)."""
    found = {}
    shape = r'(?:<a href="([^"]*)">)?<path class="(step-\d)" data-country="([A-Z]{2})" d="[^"]*"><title>([^<]*)<'
    for link, step, code, title in re.findall(shape, figure):
        found[code] = (step, html.unescape(link) or None, html.unescape(title))
    return found


def test_the_map_shades_countries_by_share_and_links_to_their_filter(dashboard: TestClient, site: Site) -> None:  # noqa: F811
    page = dashboard.get(f"/sites/{site.site_id}?period=7d").text
    drawn = shapes(map_of(page))
    assert len(drawn) == len(geometry().paths) > 150
    # Seeded: 5 visitors, 2 from the Netherlands (40%: the darkest step), 1 each from three others (20%).
    assert drawn["NL"][0] == "step-5" and drawn["NL"][2] == "Netherlands: 2 visitors (40.0%)"
    visited = {code for code, (step, _, _) in drawn.items() if step != "step-0"}
    assert visited == set(country_rows(page)) - {""} and len(visited) == 4
    assert {drawn[code][0] for code in visited - {"NL"}} == {"step-4"}
    assert drawn["DE"] == ("step-0", None, "Germany: 0 visitors")  # grey, nothing to filter on
    # A country links where its row in the table links: the whole dashboard filtered by it.
    assert drawn["NL"][1] == country_rows(page)["NL"][1]
    filtered = dashboard.get(drawn["NL"][1]).text
    assert "country==NL" in filtered and re.search(r'id="visits">2<', filtered)
    filtered_map = shapes(map_of(filtered))
    assert filtered_map["NL"][0] == "step-5" and filtered_map["SE"][0] == "step-0"
    legend = map_of(page).split('class="legend', 1)[1]
    assert legend.count('class="swatch step-') == len(STEPS) + 1 and "&lt; 1%" in legend and "≥ 40%" in legend

    dutch = shapes(map_of(dashboard.get(f"/sites/{site.site_id}?period=7d&lang=nl").text))
    assert dutch["NL"][2] == "Nederland: 2 bezoekers (40,0%)" and dutch["DE"][2] == "Duitsland: 0 bezoekers"


def test_visitors_the_map_cannot_show_count_in_the_shares(runtime: Runtime, dashboard: TestClient,
                                                           site: Site) -> None:  # noqa: F811
    # Singapore is too small for the 110m map; a private address has no country at all.
    token, _ = runtime.tokens.create(site.site_id, "backend")
    at = datetime.now(UTC) - timedelta(days=1)
    for visitor, address, extra in (("a" * 16, "81.2.69.160", {"country": "sg", "token_auth": token}),
                                    ("b" * 16, "10.1.2.3", {})):
        params = {"idsite": str(site.site_id), "rec": "1", "url": "https://fietsen.example/", "_id": visitor, **extra}
        request = TrackingRequest(params, CHROME_UA, ClientAddress(ipaddress.ip_address(address)), at)
        assert runtime.pipeline.handle(request).verdict is Verdict.TRACKED
    runtime.drain()
    page = dashboard.get(f"/sites/{site.site_id}?period=7d").text
    # In the table by name (the names cover every country, not only the map's), the unknown one as such.
    table = country_rows(page)
    assert (table["SG"][0], table[""][0]) == ("Singapore", "Unknown")
    assert table[""][1].endswith("filter=country%3D%3D")  # visitors without a country can be filtered on too
    dutch = country_rows(dashboard.get(f"/sites/{site.site_id}?period=7d&lang=nl").text)
    assert (dutch["SG"][0], dutch[""][0]) == ("Singapore", "Onbekend")
    drawn = shapes(map_of(page))
    assert "SG" not in drawn and drawn["NL"] == (
        "step-4", drawn["NL"][1], "Netherlands: 2 visitors (28.6%)")  # 2 of 7, the two unmapped included

    view = world_map([{"value": "", "visitors": 3}, {"value": "ZZ", "visitors": 1}, {"value": "nl", "visitors": 96}])
    by_code = {shape.code: shape for shape in view.shapes}
    assert (by_code["NL"].visitors, by_code["NL"].share, by_code["NL"].step) == (96, 96.0, 5)
    assert "ZZ" not in by_code and all(shape.step == 0 for shape in view.shapes if shape.code != "NL")
    assert all(shape.step == 0 for shape in world_map([]).shapes)
    assert country_name("ZZ", "nl") == "ZZ" and country_name("XK", "en") == "Kosovo"
    assert country_name("be", "nl") == "België" and country_name("MT", "en") == "Malta"  # Malta: not on the map
    assert [shape.step for shape in world_map([{"value": code, "visitors": visitors} for code, visitors in (
        ("NL", 9950), ("DE", 200), ("FR", 600), ("BE", 1500), ("US", 4000), ("GB", 50))]).shapes
        if shape.visitors] == [3, 2, 2, 1, 5, 4]  # BE DE FR GB NL US: 9.2% 1.2% 3.7% 0.3% 61% 24.5%


def test_the_geometry_is_built_from_the_current_script_and_well_formed() -> None:
    data = json.loads(GEOMETRY.read_text(encoding="utf-8"))
    script = hashlib.sha256(BUILD_SCRIPT.read_bytes()).hexdigest()[:16]
    assert data["build"] == script, f"world_map.json is older than build.mjs: {REBUILD}"
    assert "Natural Earth" in data["about"] and "public domain" in data["about"]
    assert GEOMETRY.stat().st_size < 60_000
    assert 0 < data["height"] < data["width"] == 1000
    for code, path in data["paths"].items():
        assert re.fullmatch("[A-Z]{2}", code), code
        assert re.fullmatch(f"(?:{RING})+", path), code
        assert code in data["names"]["en"] and code in data["names"]["nl"], code
    assert {"NL", "US", "BR", "XK", "FJ"} <= set(data["paths"]) and "AQ" not in data["paths"]  # no Antarctica
    for language in ("en", "nl"):
        assert len(data["names"][language]) >= 249 and all(data["names"][language].values())
