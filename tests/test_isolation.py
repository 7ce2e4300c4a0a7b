"""Tenant isolation: for every dashboard page, form and Stats API route of the app (found by walking its routes, so
a route added later is covered without touching this file), a user without access to a site gets 401/403/404
and not one byte of that site's data; roles, super-admins, /metrics, users' API tokens, and shared links, which
reach their one site only."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from ingest.sites import Site
from teller.admin import AdminError, runtime_admin
from teller.app import build_app
from teller.runtime import Runtime
from teller.shared_links import SharedLinkStore
from teller.users import UserStore
from tests.conftest import VISITOR_IP
from tests.helpers import add_site, add_user, csrf_token, log_in, tracking_request

# Reachable without logging in: tracking, the scripts sites embed, health probes, the login pages, the Stats API's
# OpenAPI description (no data in it). Everything
# else that is not the admin API (bearer admin token only, tested below) must be guarded.
PUBLIC_PATHS = {"/teller.js", "/matomo.js", "/piwik.js", "/optout.js", "/healthz", "/readyz", "/login",
                "/api/v1/openapi.json", "/teller-extra.js", "/js/teller-extra.js",
                "/login/totp", "/logout"}
KNOWN_GUARDED = {"/", "/sites/{site_id}", "/retention", "/api/v1/sites", "/api/v1/sites/{site_id}/summary",
                 "/api/v1/sites/{site_id}/breakdown", "/api/v1/sites/{site_id}/realtime", "/api/v1/overview",
                 "/metrics", "/sites/{site_id}/shared-links", "/sites/{site_id}/settings"}
# Pages only a site's admins (and super-admins) may open: its viewers get 403 there, strangers the usual 404.
# They show the site's name (the settings page its domains too), not its numbers.
ADMIN_ONLY = {"/sites/{site_id}/shared-links", "/sites/{site_id}/settings"}
# Reached by a shared link's secret alone, without a session: tested by test_a_shared_link_reaches_its_site_only.
SHARED_PREFIX = "/share/"
KNOWN_SHARED = {"/share/{secret}", "/share/{secret}/export", "/share/{secret}/realtime"}
# What only site B's data contains: its name, its domain and a page path tracked on it.
B_NAME, B_DOMAIN, B_PAGE = "Bravo Geheim", "bravo-geheim.example", "/bravo-geheime-pagina"
B_MARKERS = ("Bravo", "bravo-geheim", "geheime-pagina")


def starlette_app(app: Any) -> Starlette:
    """The Starlette router inside build_app's wrappers (address masking, tracking fast path, CSRF)."""
    while not isinstance(app, Starlette):
        app = app.app
    return app


def guarded_routes(client: TestClient, method: str = "GET") -> list[Route]:
    """The guarded routes that answer `method`."""
    routes = []
    for route in starlette_app(client.app).routes:
        if isinstance(route, Mount):
            assert route.path == "/static", f"a new mount {route.path}: decide who may reach it, then test it"
            continue
        assert isinstance(route, Route)
        if route.path in PUBLIC_PATHS or route.path.startswith(("/api/admin/", SHARED_PREFIX)):
            continue
        unknown = set(route.param_convertors) - {"site_id", "link_id"}
        assert not unknown, f"{route.path}: tell this test which values to try for {sorted(unknown)}"
        if method in (route.methods or set()):
            routes.append(route)
    if method == "GET":
        assert {route.path for route in routes} >= KNOWN_GUARDED
    return routes


def shared_routes(client: TestClient) -> list[Route]:
    routes = [route for route in starlette_app(client.app).routes
              if isinstance(route, Route) and route.path.startswith(SHARED_PREFIX)]
    for route in routes:
        unknown = set(route.param_convertors) - {"secret"}
        assert not unknown, f"{route.path}: tell this test which values to try for {sorted(unknown)}"
    assert {route.path for route in routes} == KNOWN_SHARED, "a new shared-link route: check what it shows, here"
    return routes


def url(route: Route, site: Site | int, link_id: str = "0123456789ab") -> str:
    site_id = site if isinstance(site, int) else site.site_id
    # A breakdown needs a dimension: pages, where site B's secret page path would show.
    extra = "&dimension=page" if route.path.endswith(("/breakdown", "/export")) else ""
    path = route.path.replace("{site_id}", str(site_id)).replace("{link_id}", link_id)
    return path + "?period=30d" + extra


def leaked(text: str) -> list[str]:
    return [marker for marker in B_MARKERS if marker.lower() in text.lower()]


def as_site(text: str, site_id: int) -> str:
    """A page about the missing site 999 as it would read about `site_id`: the id replaced everywhere but in the
    session's random CSRF tokens, which may contain 999 by chance."""
    parts = re.split(r'(name="csrf_token" value="[^"]*")', text)
    return "".join(part if part.startswith('name="csrf_token"') else part.replace("999", str(site_id))
                   for part in parts)


@dataclass
class Tenants:
    alpha: Site
    bravo: Site
    alice_token: str  # Alice: viewer of Alpha only


@pytest.fixture
def tenants(runtime: Runtime) -> Tenants:
    alpha = add_site(runtime, "Alpha", ("alpha.example",))
    bravo = add_site(runtime, B_NAME, (B_DOMAIN,))
    runtime.pipeline.handle(tracking_request(alpha, "/alpha-page", cid="1111111111111111"))
    runtime.pipeline.handle(tracking_request(bravo, B_PAGE, cid="2222222222222222"))
    runtime.drain()
    add_user(runtime, "alice@alpha.example", sites={alpha.site_id: "viewer"})
    add_user(runtime, "bob@bravo.example", sites={bravo.site_id: "admin"})
    add_user(runtime, "root@host.example", super_admin=True)
    secret, _ = runtime_admin(runtime, "test:ops").add_user_token("alice@alpha.example", [], "alice's reports")
    return Tenants(alpha, bravo, secret)


def test_every_route_refuses_strangers_and_shows_them_nothing_of_another_site(
        runtime: Runtime, http: TestClient, tenants: Tenants) -> None:
    routes = guarded_routes(http)
    bravo = tenants.bravo

    # Not logged in: pages send to the login page, the API and /metrics answer 401.
    for route in routes:
        response = http.get(url(route, bravo), follow_redirects=False)
        assert response.status_code in (303, 401), route.path
        if response.status_code == 303:
            assert response.headers["location"].startswith("/login?next="), route.path
        assert leaked(response.text) == [], route.path

    # Bob, Bravo's owner, sees Bravo's data on each site route: the markers are where a leak would show.
    assert log_in(http, "bob@bravo.example").status_code == 303
    for route in routes:
        if "{site_id}" in route.path:
            response = http.get(url(route, bravo))
            # (The HTML page shows the name and the pages; the JSON has the domains too; the settings page the
            # name and the domains, the shared-links page the name.)
            expected = ({"Bravo", "bravo-geheim"} if route.path.endswith("/settings") else {"Bravo"}) \
                if route.path in ADMIN_ONLY else {"Bravo", "geheime-pagina"}
            assert response.status_code == 200 and expected <= set(leaked(response.text)), route.path
    assert "Bravo" in http.get("/").text and "Bravo" in http.get("/api/v1/sites").text
    http.cookies.clear()

    # Alice, viewer of Alpha only, by session and by her API token.
    assert log_in(http, "alice@alpha.example").status_code == 303
    with TestClient(build_app(runtime), client=(VISITOR_IP, 50124)) as api:
        api.headers["Authorization"] = f"Bearer {tenants.alice_token}"
        for route in routes:
            for client, how in ((http, "session"), (api, "token")):
                response = client.get(url(route, bravo), follow_redirects=False)
                where = f"{route.path} by {how}"
                assert leaked(response.text) == [], where
                if "{site_id}" in route.path:
                    assert response.status_code in (303, 403, 404), where
                    # Bravo is answered exactly like a site that does not exist: no way to probe for ids.
                    missing = client.get(url(route, 999), follow_redirects=False)
                    assert (missing.status_code, as_site(missing.text, bravo.site_id)) == (
                        response.status_code, response.text), where
                    # ...while her own site answers, so the refusal above is about Bravo, not the route (on an
                    # admin-only page, with the 403 of a viewer).
                    own = client.get(url(route, tenants.alpha), follow_redirects=False).status_code
                    assert own in ((403, 303) if route.path in ADMIN_ONLY else (200, 303)), where
                else:
                    assert response.status_code in (200, 303, 403, 404), where


def test_the_site_list_and_pages_show_each_user_their_own_sites(runtime: Runtime, http: TestClient,
                                                                 tenants: Tenants) -> None:
    assert log_in(http, "alice@alpha.example").status_code == 303
    index = http.get("/")
    assert "Alpha" in index.text and leaked(index.text) == [] and "viewer" in index.text
    assert "Retention audit" not in index.text
    assert [site["name"] for site in http.get("/api/v1/sites").json()["sites"]] == ["Alpha"]
    assert http.get("/api/v1/sites").json()["sites"][0]["role"] == "viewer"
    assert http.get("/retention").status_code == 404
    assert http.get("/metrics").status_code == 403
    http.cookies.clear()

    # The hosting provider sees every site, the retention audit and /metrics.
    assert log_in(http, "root@host.example").status_code == 303
    assert {site["name"] for site in http.get("/api/v1/sites").json()["sites"]} == {"Alpha", B_NAME}
    index = http.get("/")
    assert "Alpha" in index.text and "Bravo" in index.text and "Retention audit" in index.text
    assert http.get("/retention").status_code == 200
    assert http.get(f"/sites/{tenants.bravo.site_id}").status_code == 200
    assert "teller_hits_total" in http.get("/metrics").text


def api_get(runtime: Runtime, token: str, path: str) -> Any:
    with TestClient(build_app(runtime), client=(VISITOR_IP, 50125)) as client:
        return client.get(path, headers={"Authorization": f"Bearer {token}"}, follow_redirects=False)


def test_api_tokens_reach_their_sites_within_their_users_sites(runtime: Runtime, tenants: Tenants) -> None:
    admin = runtime_admin(runtime, "test:ops")
    alpha, bravo = tenants.alpha.site_id, tenants.bravo.site_id
    add_user(runtime, "carol@agency.example", sites={alpha: "viewer", bravo: "viewer"})
    every, _ = admin.add_user_token("carol@agency.example", [], "all")
    only_alpha, narrowed = admin.add_user_token("carol@agency.example", [alpha], "alpha")
    assert narrowed.site_ids == (alpha,)

    def status(token: str, site: int) -> int:
        return int(api_get(runtime, token, f"/api/v1/sites/{site}/summary").status_code)

    def names(token: str) -> list[str]:
        return [site["name"] for site in api_get(runtime, token, "/api/v1/sites").json()["sites"]]

    assert (status(every, alpha), status(every, bravo)) == (200, 200)
    assert (status(only_alpha, alpha), status(only_alpha, bravo)) == (200, 404)
    assert names(only_alpha) == ["Alpha"] and names(every) == ["Alpha", B_NAME]
    # Pages take sessions, not tokens.
    assert api_get(runtime, every, f"/sites/{alpha}").status_code == 303

    # A token follows its user's grants: taking Bravo away narrows every token of Carol's at once.
    admin.revoke_grant("carol@agency.example", bravo)
    assert (status(every, alpha), status(every, bravo)) == (200, 404)
    with pytest.raises(AdminError, match="no role on site"):
        admin.add_user_token("carol@agency.example", [bravo], "not hers")

    # Revoked: refused at once. A deleted user's tokens die with them.
    admin.revoke_user_token(narrowed.token_id)
    assert status(only_alpha, alpha) == 401
    assert api_get(runtime, only_alpha, "/api/v1/sites").json()["error"]
    admin.delete_user("carol@agency.example")
    assert status(every, alpha) == 401

    for bad in ("", "teller_nonsense", tenants.alice_token + "x"):
        assert api_get(runtime, bad, "/api/v1/sites").status_code == 401
    with TestClient(build_app(runtime), client=(VISITOR_IP, 50126)) as client:
        assert client.get("/api/v1/sites", headers={"Authorization": f"Basic {tenants.alice_token}"}).status_code \
            == 401

    # Only hashes are stored.
    stored = runtime.store.client().query("SELECT token_hash FROM user_api_tokens").result_rows
    hashes = {row[0] for row in stored}
    assert hashlib.sha256(every.encode()).hexdigest() in hashes
    assert not any(secret in str(stored) for secret in (every, only_alpha, tenants.alice_token))


def test_a_super_admins_narrowed_token_is_no_super_admin(runtime: Runtime, tenants: Tenants) -> None:
    admin = runtime_admin(runtime, "test:ops")
    everything, _ = admin.add_user_token("root@host.example", [], "monitoring")
    narrowed, _ = admin.add_user_token("root@host.example", [tenants.alpha.site_id], "one site")
    assert api_get(runtime, everything, "/metrics").status_code == 200
    assert api_get(runtime, narrowed, "/metrics").status_code == 403
    assert api_get(runtime, tenants.alice_token, "/metrics").status_code == 403
    assert api_get(runtime, narrowed, f"/api/v1/sites/{tenants.bravo.site_id}/summary").status_code == 404
    assert len(api_get(runtime, everything, "/api/v1/sites").json()["sites"]) == 2


def test_deleting_a_site_removes_everyones_roles_on_it(runtime: Runtime, tenants: Tenants) -> None:
    admin = runtime_admin(runtime, "test:ops")
    admin.grant("alice@alpha.example", tenants.bravo.site_id, "viewer")
    admin.delete_site(tenants.bravo.site_id)
    assert UserStore(runtime.store).grants(site_id=tenants.bravo.site_id) == []
    [alice] = [user for user in admin.list_users() if user.email == "alice@alpha.example"]
    assert [grant.site_id for grant in alice.grants] == [tenants.alpha.site_id]


def test_the_admin_api_takes_only_the_admin_token(runtime: Runtime, http: TestClient, tenants: Tenants) -> None:
    monitoring, _ = runtime_admin(runtime, "test:ops").add_user_token("root@host.example", [], "")
    assert log_in(http, "root@host.example").status_code == 303
    for route in starlette_app(http.app).routes:
        if isinstance(route, Route) and route.path.startswith("/api/admin/"):
            path = route.path.replace("{site_id}", "1").replace("{email}", "root@host.example")
            path = path.replace("{token_id}", "abc").replace("{action}", "find").replace("{link_id}", "abc")
            for method in sorted((route.methods or set()) - {"HEAD"}):
                # Neither a super-admin's session nor their API token opens the admin API.
                assert http.request(method, path).status_code == 401, (method, path)
                assert http.request(method, path, headers={"Authorization": f"Bearer {monitoring}"}).status_code \
                    == 401, (method, path)


def test_every_form_refuses_strangers_and_changes_nothing_of_another_site(
        runtime: Runtime, http: TestClient, tenants: Tenants) -> None:
    forms = guarded_routes(http, "POST")
    assert {route.path for route in forms} >= {"/sites/{site_id}/shared-links",
                                               "/sites/{site_id}/shared-links/{link_id}/revoke"}
    links = SharedLinkStore(runtime.store)
    _, bravo_link = links.create(tenants.bravo.site_id, "Bravo board", "", "test")
    before = links.list()

    # Not logged in: refused before any route runs (no CSRF token without a session), or sent to log in.
    for route in forms:
        response = http.post(url(route, tenants.bravo, bravo_link.link_id), data={"label": "x"},
                             follow_redirects=False)
        assert response.status_code in (303, 403) and leaked(response.text) == [], route.path

    # Alice, viewer of Alpha, with a valid CSRF token of her session: Bravo is answered like a missing site,
    # and her own site tells her she is no admin of it.
    assert log_in(http, "alice@alpha.example").status_code == 303
    token = csrf_token(http.get("/").text)
    for route in forms:
        data = {"csrf_token": token, "label": "x"}
        response = http.post(url(route, tenants.bravo, bravo_link.link_id), data=data, follow_redirects=False)
        missing = http.post(url(route, 999, bravo_link.link_id), data=data, follow_redirects=False)
        assert response.status_code == 404 and leaked(response.text) == [], route.path
        assert as_site(missing.text, tenants.bravo.site_id) == response.text, route.path
        own = http.post(url(route, tenants.alpha, bravo_link.link_id), data=data, follow_redirects=False)
        assert own.status_code == 403 and leaked(own.text) == [], route.path
    assert links.list() == before


def test_a_shared_link_reaches_its_site_only(runtime: Runtime, http: TestClient, tenants: Tenants) -> None:
    routes = shared_routes(http)
    links = SharedLinkStore(runtime.store)
    alpha_secret, _ = links.create(tenants.alpha.site_id, "", "", "test")
    bravo_secret, bravo_link = links.create(tenants.bravo.site_id, "", "", "test")
    links.revoke(bravo_link.link_id)
    runtime.access.invalidate()
    bravo = str(tenants.bravo.site_id)

    def check(client: TestClient) -> None:
        for route in routes:
            for extra in ("", f"&site_id={bravo}", f"&site={bravo}", f"&idsite={bravo}"):
                response = client.get(url(route, 0).replace("{secret}", alpha_secret) + extra)
                assert response.status_code == 200 and leaked(response.text) == [], (route.path, extra)
            # Unknown, revoked (Bravo's), and a stored hash in place of the secret: all the same 404.
            for secret in ("A" * 32, bravo_secret, bravo_link.secret_hash):
                response = client.get(url(route, 0).replace("{secret}", secret))
                assert response.status_code == 404 and leaked(response.text) == [], (route.path, secret[:4])
        assert "/alpha-page" in client.get(f"/share/{alpha_secret}?period=30d").text

    check(http)
    # A logged-in session (Bob, Bravo's owner; the super-admin) changes nothing a link shows.
    for email in ("bob@bravo.example", "root@host.example"):
        assert log_in(http, email).status_code == 303
        check(http)
        assert email not in http.get(f"/share/{alpha_secret}").text
        http.cookies.clear()
