"""The tracking endpoint speaks Matomo's wire protocol: the request shapes matomo.js sends, bulk requests,
/js/ endpoints, limits, CORS and the debug switch (shared/ref/matomo-tracking.md sections 1.1-1.5)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from collector.limits import MAX_BULK_REQUESTS, MAX_PARAMS
from collector.snippet import tracker_script
from collector.tracking import TRACKING_PATHS, TRANSPARENT_GIF
from ingest.pipeline import Outcome, TrackingRequest, Verdict
from ingest.sites import Site
from teller.runtime import Runtime
from tests.conftest import CHROME_UA, VISITOR_IP
from tests.helpers import add_site, dropped, event_rows

FORM = "application/x-www-form-urlencoded; charset=UTF-8"
BROWSER = {"User-Agent": CHROME_UA, "Accept-Language": "nl-NL,nl;q=0.9"}
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def hit(site: Site, path: str = "/", **extra: str) -> dict[str, str]:
    """A page view as matomo.js builds it (getRequest), send_image=0 included."""
    return {"action_name": "Fietsen", "idsite": str(site.site_id), "rec": "1", "r": "123456", "h": "14", "m": "3",
            "s": "9", "url": f"https://shop.example{path}", "_id": "0123456789abcdef", "_idn": "0",
            "send_image": "0", "_refts": "0", "pv_id": "Ab12Cd", "uadata": "{}", "cookie": "1", "res": "1920x1080",
            **extra}


def paths(runtime: Runtime, site: Site) -> list[str]:
    return sorted(row["pathname"] for row in event_rows(runtime, site))


def bulk(http: TestClient, payload: Any, query: str = "", **headers: str) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return http.post("/matomo.php" + query, content=body, headers={**BROWSER, "Content-Type": FORM, **headers})


@pytest.fixture
def site(runtime: Runtime) -> Site:
    return add_site(runtime)


@pytest.fixture
def seen(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[TrackingRequest]]:
    """Every TrackingRequest the collector hands the pipeline."""
    requests: list[TrackingRequest] = []
    handle = runtime.pipeline.handle

    def spy(request: TrackingRequest) -> Outcome:
        requests.append(request)
        return handle(request)

    monkeypatch.setattr(runtime.pipeline, "handle", spy)
    yield requests


# --- the transports of matomo.js (section 1.2) ---------------------------------------------------------------

def test_beacon_post_with_empty_body_and_the_query_in_the_url(runtime: Runtime, http: TestClient,
                                                             site: Site) -> None:
    response = http.post("/matomo.php?" + urlencode(hit(site, "/beacon")), content=b"",
                         headers={**BROWSER, "Content-Type": FORM, "Origin": "https://shop.example"})
    assert response.status_code == 204 and response.content == b""
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["access-control-allow-origin"] == "https://shop.example"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert paths(runtime, site) == ["/beacon"]


def test_xhr_post_with_a_form_body(runtime: Runtime, http: TestClient, site: Site) -> None:
    silent = http.post("/matomo.php", content=urlencode(hit(site, "/xhr")).encode(),
                       headers={**BROWSER, "Content-Type": FORM, "Origin": "https://shop.example"})
    assert silent.status_code == 204
    params = hit(site, "/xhr-image")
    del params["send_image"]
    image = http.post("/matomo.php", content=urlencode(params).encode(), headers={**BROWSER, "Content-Type": FORM})
    assert image.status_code == 200 and image.content == TRANSPARENT_GIF
    assert image.headers["access-control-allow-origin"] == "*"  # no Origin header: the wildcard
    assert paths(runtime, site) == ["/xhr", "/xhr-image"]


def test_get_image_answers_the_43_byte_gif_without_cors(runtime: Runtime, http: TestClient, site: Site) -> None:
    params = hit(site, "/image") | {"send_image": "1"}
    response = http.get("/matomo.php?" + urlencode(params), headers=BROWSER)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/gif" and len(response.content) == 43
    assert response.content == TRANSPARENT_GIF
    assert response.headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in response.headers
    del params["send_image"]  # absent works the same
    assert http.get("/matomo.php?" + urlencode(params), headers=BROWSER).content == TRANSPARENT_GIF
    assert paths(runtime, site) == ["/image", "/image"]


def test_the_query_wins_over_the_body(runtime: Runtime, http: TestClient, site: Site) -> None:
    response = http.post("/matomo.php?" + urlencode({"url": "https://shop.example/query"}),
                         content=urlencode(hit(site, "/body")).encode(), headers={**BROWSER, "Content-Type": FORM})
    assert response.status_code == 204
    assert paths(runtime, site) == ["/query"]


# --- bulk (section 1.3) ----------------------------------------------------------------------------------------

def test_bulk_with_string_and_object_items(runtime: Runtime, http: TestClient, site: Site) -> None:
    items = ["?" + urlencode(hit(site, "/one")), hit(site, "/two") | {"idsite": site.site_id, "rec": 1}]
    quiet = bulk(http, {"requests": items, "send_image": 0}, Origin="https://shop.example")
    assert quiet.status_code == 204 and quiet.content == b""
    assert quiet.headers["cache-control"] == "no-store"
    assert quiet.headers["access-control-allow-origin"] == "https://shop.example"
    assert paths(runtime, site) == ["/one", "/two"]

    counted = bulk(http, {"requests": ["?" + urlencode(hit(site, "/three"))]})
    assert counted.status_code == 200
    assert counted.headers["content-type"] == "application/json"
    assert counted.json() == {"status": "success", "tracked": 1, "invalid": 0}
    assert "/three" in paths(runtime, site)


def test_bulk_counts_invalid_items_and_excluded_ones_as_tracked(runtime: Runtime, http: TestClient,
                                                                site: Site) -> None:
    items = ["?" + urlencode(hit(site, "/a")), "?" + urlencode(hit(site) | {"idsite": "999"}),
             "?" + urlencode(hit(site) | {"cid": "nothex"}), 42, "no question mark",
             "?" + urlencode(hit(site) | {"url": "https://attacker.example/"}), {"idsite": site.site_id, "rec": 1,
                                                                              "url": "https://shop.example/b"}]
    response = bulk(http, {"requests": items})
    assert response.status_code == 200
    assert response.json() == {"status": "success", "tracked": 3, "invalid": 4}
    assert paths(runtime, site) == ["/a", "/b"]
    assert dropped(runtime, site) == {"wrong_host": 1}


@pytest.mark.parametrize(("send_image", "status"), [(0, 204), ("0", 204), (False, 200), ("", 200), (1, 200),
                                                    (None, 200)])
def test_bulk_send_image_only_0_or_string_0_means_204(runtime: Runtime, http: TestClient, site: Site,
                                                      send_image: Any, status: int) -> None:
    payload: dict[str, Any] = {"requests": ["?" + urlencode(hit(site))]}
    if send_image is not None:
        payload["send_image"] = send_image
    response = bulk(http, payload)
    assert response.status_code == status
    if status == 200:
        assert response.json()["tracked"] == 1


def test_bulk_top_level_token_and_item_user_agent(http: TestClient, site: Site,
                                                  seen: list[TrackingRequest]) -> None:
    items = [hit(site), hit(site) | {"token_auth": "own", "ua": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"}]
    assert bulk(http, {"requests": items, "token_auth": "shared", "send_image": 0}).status_code == 204
    assert [request.params["token_auth"] for request in seen] == ["shared", "own"]
    assert seen[0].user_agent == CHROME_UA
    assert seen[1].user_agent.endswith("Firefox/133.0")
    assert {request.address for request in seen} == {seen[0].address}


def test_bulk_is_recognised_by_content_not_by_content_type(runtime: Runtime, http: TestClient, site: Site) -> None:
    body = json.dumps({"requests": ["?" + urlencode(hit(site, "/json"))]}).encode()
    for content_type in ("application/json", "text/plain", FORM):
        assert http.post("/piwik.php", content=body, headers={**BROWSER, "Content-Type": content_type}).json() == {
            "status": "success", "tracked": 1, "invalid": 0}
    assert len(event_rows(runtime, site)) == 3


def test_bulk_that_is_not_json_is_400(runtime: Runtime, http: TestClient, site: Site) -> None:
    for body in (b'{"requests": [', b"\"requests\"", b'{"requests": "?idsite=1"}', b'{"requests": ' + b"[" * 50_000,
                 b'{"requests": []}', b'\xff{"requests": []}'):
        response = bulk(http, body)
        assert response.status_code == 400, body[:30]
        assert response.headers["content-type"] == "application/json"
        answer = response.json()
        assert (answer["status"], answer["tracked"], answer["invalid"]) == ("error", 0, 0)
    assert event_rows(runtime, site) == []


def test_bulk_overload_is_503(runtime: Runtime, http: TestClient, site: Site,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    handle = runtime.pipeline.handle
    calls: list[int] = []

    def fill_up(request: TrackingRequest) -> Outcome:
        calls.append(1)
        return handle(request) if len(calls) == 1 else Outcome(Verdict.OVERLOADED, "the spool is full")

    monkeypatch.setattr(runtime.pipeline, "handle", fill_up)
    items = ["?" + urlencode(hit(site, f"/{n}")) for n in range(3)]
    response = bulk(http, {"requests": items, "send_image": 0})
    assert response.status_code == 503 and response.headers["retry-after"]
    assert response.json() | {"message": ""} == {"status": "error", "tracked": 1, "invalid": 0, "message": ""}
    assert len(calls) == 2  # it stopped at the first refusal
    assert paths(runtime, site) == ["/0"]  # the acknowledged one is on disk

    monkeypatch.setattr(runtime.spool, "has_room", lambda: False)
    response = bulk(http, {"requests": items})
    assert response.status_code == 503 and response.json()["tracked"] == 0
    assert len(calls) == 2  # refused before any item


# --- /js/ endpoints (section 1.1) -----------------------------------------------------------------------------

def test_js_paths_serve_the_script_or_track(runtime: Runtime, http: TestClient, site: Site) -> None:
    assert {"/matomo.php", "/piwik.php", "/js/", "/js/tracker.php"} <= TRACKING_PATHS
    reference = http.get("/teller.js")
    for path in ("/js/", "/js/tracker.php"):
        script = http.get(path)
        assert script.status_code == 200
        assert script.content == reference.content == tracker_script()
        for header in ("content-type", "cache-control"):
            assert script.headers[header] == reference.headers[header]
    image = http.get("/js/?" + urlencode(hit(site, "/js-get") | {"send_image": "1"}), headers=BROWSER)
    assert image.status_code == 200 and image.content == TRANSPARENT_GIF
    posted = http.post("/js/tracker.php", content=urlencode(hit(site, "/js-post")).encode(),
                       headers={**BROWSER, "Content-Type": FORM})
    assert posted.status_code == 204
    bulked = http.post("/js/", content=json.dumps({"requests": ["?" + urlencode(hit(site, "/js-bulk"))]}),
                       headers={**BROWSER, "Content-Type": FORM})
    assert bulked.json()["tracked"] == 1
    assert paths(runtime, site) == ["/js-bulk", "/js-get", "/js-post"]


# --- limits ----------------------------------------------------------------------------------------------------

def test_a_long_url_is_414(runtime: Runtime, http: TestClient, site: Site) -> None:
    response = http.get("/matomo.php?" + urlencode(hit(site) | {"action_name": "x" * 9000}), headers=BROWSER)
    assert response.status_code == 414
    assert response.headers["cache-control"] == "no-store"
    assert event_rows(runtime, site) == [] and dropped(runtime, site) == {}


def test_large_bodies_are_413(runtime: Runtime, http: TestClient, site: Site) -> None:
    single = urlencode(hit(site) | {"data": "x" * 70_000}).encode()
    assert http.post("/matomo.php", content=single, headers={**BROWSER, "Content-Type": FORM}).status_code == 413
    # A bulk body may be larger than a single one, up to its own limit.
    items = ["?" + urlencode(hit(site, f"/{n}") | {"data": "x" * 5000}) for n in range(20)]
    assert bulk(http, {"requests": items}).json()["tracked"] == 20
    too_big = ["?" + urlencode(hit(site) | {"data": "x" * 8000}) for _ in range(MAX_BULK_REQUESTS - 1)]
    response = bulk(http, {"requests": [*too_big, "?" + "y" * 400_000]})  # 100 items, but 1.2 MiB
    assert response.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the stream is abandoned once it is too large
        yield b'{"requests": ["?' + urlencode(hit(site)).encode() + b'", "'
        for _ in range(64):
            yield b"x" * 65536

    streamed = http.post("/matomo.php", content=chunks(), headers={**BROWSER, "Content-Type": FORM})
    assert streamed.status_code == 413
    assert len(event_rows(runtime, site)) == 20


def test_too_many_bulk_items_is_413_and_tracks_nothing(runtime: Runtime, http: TestClient, site: Site) -> None:
    items = ["?" + urlencode(hit(site))] * (MAX_BULK_REQUESTS + 1)
    response = bulk(http, {"requests": items})
    assert response.status_code == 413
    assert response.json()["status"] == "error" and str(MAX_BULK_REQUESTS) in response.json()["message"]
    assert event_rows(runtime, site) == []
    assert bulk(http, {"requests": items[:MAX_BULK_REQUESTS]}).json()["tracked"] == MAX_BULK_REQUESTS


def test_too_many_parameters_is_400(runtime: Runtime, http: TestClient, site: Site) -> None:
    extra = {f"dimension{n}": "x" for n in range(MAX_PARAMS)}
    response = http.get("/matomo.php?" + urlencode(hit(site) | extra), headers=BROWSER)
    assert response.status_code == 400
    body_and_query = http.post("/matomo.php?" + urlencode(dict(list(extra.items())[:150])),
                               content=urlencode(hit(site) | dict(list(extra.items())[150:])).encode(),
                               headers={**BROWSER, "Content-Type": FORM})
    assert body_and_query.status_code == 400
    in_bulk = bulk(http, {"requests": ["?" + urlencode(hit(site)), hit(site) | extra]})
    assert in_bulk.status_code == 400 and in_bulk.json()["tracked"] == 0
    as_string = bulk(http, {"requests": ["?" + urlencode(hit(site)), "?" + "&".join(["a=1"] * (MAX_PARAMS + 1))]})
    assert as_string.status_code == 400
    assert event_rows(runtime, site) == []


def test_long_values_are_cut_and_long_names_dropped(runtime: Runtime, http: TestClient, site: Site,
                                                    seen: list[TrackingRequest]) -> None:
    params = hit(site, "/long?q=" + "a" * 5000) | {"action_name": "T" * 2000, "k" * 101: "junk",
                                                    "dimension3": "d" * 900}
    response = http.post("/matomo.php", content=urlencode(params).encode(), headers={**BROWSER, "Content-Type": FORM})
    assert response.status_code == 204
    [row] = event_rows(runtime, site)
    assert row["title"] == "T" * 500
    assert row["pathname"] == "/long" and len(row["url"]) <= 2048
    [request] = seen
    assert "k" * 101 not in request.params
    assert len(request.params["url"]) == 2048 and len(request.params["dimension3"]) == 250


# --- CORS and caching (section 1.5) ---------------------------------------------------------------------------

def test_preflight_and_cors(http: TestClient, site: Site) -> None:
    for path in ("/matomo.php", "/piwik.php", "/js/", "/js/tracker.php"):
        preflight = http.options(path, headers={"Origin": "https://shop.example",
                                                "Access-Control-Request-Method": "POST",
                                                "Access-Control-Request-Headers": "content-type"})
        assert preflight.status_code == 204 and preflight.content == b""
        assert preflight.headers["access-control-allow-methods"] == "GET, POST"
        assert preflight.headers["access-control-allow-headers"] == "*"
        assert preflight.headers["access-control-allow-origin"] == "*"
        assert preflight.headers["cache-control"] == "no-store"
    posted = http.post("/piwik.php?" + urlencode(hit(site)), headers={**BROWSER, "Origin": "https://shop.example"})
    assert posted.headers["access-control-allow-origin"] == "https://shop.example"
    assert posted.headers["access-control-allow-credentials"] == "true"
    refused = http.post("/piwik.php?" + urlencode(hit(site) | {"idsite": "999"}),
                        headers={**BROWSER, "Origin": "https://shop.example"})
    assert refused.status_code == 400
    assert refused.headers["access-control-allow-origin"] == "https://shop.example"
    assert refused.headers["cache-control"] == "no-store"
    # An OPTIONS without preflight headers is no preflight: Matomo treats it as a (here: empty) request.
    assert http.options("/matomo.php").status_code == 400


def test_every_answer_is_no_store(http: TestClient, site: Site) -> None:
    answers = [http.get("/matomo.php"), http.post("/matomo.php"), http.get("/matomo.php?idsite=999&rec=1"),
               http.get("/matomo.php?" + urlencode(hit(site)), headers=BROWSER),
               bulk(http, {"requests": []}), bulk(http, {"requests": [hit(site)]}),
               http.get("/matomo.php?" + urlencode(hit(site) | {"debug": "1"}), headers=BROWSER)]
    for response in answers:
        assert response.headers["cache-control"] == "no-store", response.request.url


# --- debug=1 ---------------------------------------------------------------------------------------------------

def debug(http: TestClient, params: dict[str, str], **headers: str) -> Any:
    return http.get("/matomo.php?" + urlencode(params | {"debug": "1"}), headers={**BROWSER, **headers})


def test_debug_explains_what_happened(runtime: Runtime, http: TestClient, site: Site) -> None:
    tracked = debug(http, hit(site, "/debug"))
    assert tracked.status_code == 200 and tracked.headers["content-type"].startswith("text/plain")
    assert tracked.text.startswith("tracked:")
    wrong = debug(http, hit(site) | {"url": "https://attacker.example/x"})
    assert wrong.status_code == 200
    assert ("dropped: the page host attacker.example is not one of the site's domains: shop.example"
            in wrong.text)
    bot = debug(http, hit(site), **{"User-Agent": GOOGLEBOT})
    assert bot.status_code == 200 and bot.text.startswith("dropped:") and "bot" in bot.text
    unknown = debug(http, hit(site) | {"idsite": "999"})
    assert unknown.status_code == 400
    assert unknown.text.startswith("invalid:") and "999" in unknown.text
    no_rec = debug(http, hit(site) | {"rec": "0"})
    assert no_rec.status_code == 200 and "rec=1" in no_rec.text
    for response in (tracked, wrong, bot, unknown, no_rec):
        assert VISITOR_IP not in response.text and "145.97" not in response.text
        assert response.headers["cache-control"] == "no-store"
    assert paths(runtime, site) == ["/debug"]  # debug hits are real hits
    assert dropped(runtime, site) == {"wrong_host": 1, "bot_ua_parser": 1, "rec_missing": 1}


def test_debug_falls_back_to_the_reason_code(runtime: Runtime, http: TestClient, site: Site,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime.pipeline, "handle", lambda request: Outcome(Verdict.EXCLUDED, "some_new_rule"))
    response = debug(http, hit(site))
    assert response.status_code == 200 and response.text.startswith("dropped: some_new_rule")


def test_debug_for_bulk(runtime: Runtime, http: TestClient, site: Site) -> None:
    items = ["?" + urlencode(hit(site, "/ok")), hit(site) | {"url": "https://attacker.example/"},
             hit(site) | {"idsite": "999"}]
    for query, payload in (("?debug=1", {"requests": items, "send_image": 0}),
                           ("", {"requests": items, "debug": 1})):
        response = bulk(http, payload, query)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        lines = response.text.splitlines()
        assert lines[0].startswith("request 1: tracked")
        assert lines[1].startswith("request 2: dropped: the page host attacker.example")
        assert lines[2].startswith("request 3: invalid:")
        assert "2 tracked" in response.text and "1 invalid" in response.text
        assert VISITOR_IP not in response.text
    assert paths(runtime, site) == ["/ok", "/ok"]
