"""Only a holder of the site's tracking token may set the visitor's address (cip), backdate a hit by more
than a day (cdt) or set its location; lat/long are accepted and thrown away."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from ingest.store import Store
from teller.cli import main
from teller.runtime import Runtime
from tests.conftest import CHROME_UA
from tests.helpers import add_site, event_rows, visit_rows

FULL_ADDRESS = "145.97.183.201"


def track(http: TestClient, site_id: int, **params: str) -> tuple[int, str]:
    query = {"idsite": str(site_id), "rec": "1", "url": "https://shop.example/", **params}
    response = http.get("/matomo.php?" + urlencode(query), headers={"User-Agent": CHROME_UA})
    return response.status_code, response.text


def test_protected_parameters_need_the_sites_token(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime)
    other = add_site(runtime, "Other", ("other.example",))
    token, _ = runtime.tokens.create(site.site_id, "backend")
    other_token, _ = runtime.tokens.create(other.site_id, "other backend")
    runtime.token_cache.invalidate()
    three_days_ago = int((datetime.now(UTC) - timedelta(days=3)).timestamp())

    for params in ({"cip": FULL_ADDRESS}, {"country": "de"}, {"cdt": str(three_days_ago)},
                   {"cip": FULL_ADDRESS, "token_auth": other_token}, {"cip": FULL_ADDRESS, "token_auth": "nope"}):
        status, text = track(http, site.site_id, **params)
        assert status == 400 and "token_auth" in text, params
    assert event_rows(runtime, site) == []

    assert track(http, site.site_id, cip=FULL_ADDRESS, token_auth=token, url="https://shop.example/cip")[0] == 200
    assert track(http, site.site_id, cdt=str(three_days_ago), token_auth=token,
                 url="https://shop.example/backdated")[0] == 200
    assert track(http, site.site_id, country="de", region="Bayern", city="München", token_auth=token,
                 url="https://shop.example/located")[0] == 200
    rows = {row["pathname"]: row for row in event_rows(runtime, site)}
    cip = rows["/cip"]
    assert (cip["ip_masked"], cip["country_code"]) == ("145.97.0.0", "NL")  # cip is masked like any address
    assert FULL_ADDRESS not in json.dumps(rows, default=str)
    assert abs(rows["/backdated"]["ts"].replace(tzinfo=UTC).timestamp() - three_days_ago) < 1
    located = rows["/located"]
    assert (located["country_code"], located["region"], located["city"]) == ("DE", "Bayern", "München")
    # The located hit continued the visit /cip started (same address and browser): as in Matomo, the sender's
    # location becomes the visit's (and its actions' from then on), so reports by country count the visit under DE.
    assert located["visit_id"] == cip["visit_id"]
    [visit] = [row for row in visit_rows(runtime, site) if row["visit_id"] == cip["visit_id"]]
    assert (visit["country_code"], visit["city"]) == ("DE", "München")


def test_recent_custom_times_and_fine_locations_need_no_token(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert track(http, site.site_id, cdt=an_hour_ago.strftime("%Y-%m-%d %H:%M:%S"), lat="52.09", long="5.12")[0] == 200
    [row] = event_rows(runtime, site)
    assert abs(row["ts"].replace(tzinfo=UTC) - an_hour_ago) < timedelta(seconds=1)
    assert "52.09" not in json.dumps(row, default=str)  # coordinates are never stored


def test_malformed_overrides_are_refused(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime)
    token, _ = runtime.tokens.create(site.site_id, "")
    runtime.token_cache.invalidate()
    assert track(http, site.site_id, cip="not-an-address", token_auth=token)[0] == 400
    assert track(http, site.site_id, country="NLD", token_auth=token)[0] == 400


def test_token_commands(config_path: Path, store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    def run(*args: str) -> int:
        return main(["--config", str(config_path), *args])

    assert run("site", "add", "--name", "Shop", "--domain", "shop.example") == 0
    assert run("token", "add", "--site", "1", "--label", "webshop backend") == 0
    shown = capsys.readouterr().out
    secret = shown.split("shown only now:")[1].split()[0]
    assert len(secret) == 32
    assert run("token", "list", "--json") == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["label"] == "webshop backend" and secret not in json.dumps(listed)
    stored = store.client().query("SELECT token_hash FROM tracking_tokens").result_rows
    assert secret not in str(stored)  # only a hash is kept
    assert run("token", "add", "--site", "99") == 2
    assert "no site with id 99" in capsys.readouterr().err
    assert run("token", "revoke", listed["token_id"]) == 0
    assert run("token", "list") == 0
    assert "No tracking tokens." in capsys.readouterr().out
