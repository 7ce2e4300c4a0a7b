"""The admin API as a hosting panel uses it: external ids, pages of sites and users, the snippet, the OpenAPI
document, refusals and the audit log; against the real embedded ClickHouse through the whole ASGI stack."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from teller.admin_fields import SITE_FIELD_TYPES
from teller.audit_log import AuditLog
from teller.runtime import Runtime, admin_token
from tests.test_isolation import starlette_app

SHOP = {"name": "Bakkerij", "domains": ["bakkerij.example"], "timezone": "Europe/Amsterdam", "retention_days": 395}


@pytest.fixture
def panel(runtime: Runtime, http: TestClient) -> TestClient:
    """`http` with the admin token, naming itself for the audit log as a hosting panel would."""
    http.headers["Authorization"] = f"Bearer {admin_token(runtime.settings.secret_key)}"
    http.headers["X-Teller-Actor"] = "panel%3Ahost-42"
    return http


def create(panel: TestClient, **fields: Any) -> Any:
    return panel.post("/api/admin/sites", json=SHOP | fields)


def test_external_ids_make_creates_idempotent_and_find_sites(runtime: Runtime, panel: TestClient) -> None:
    first = create(panel, external_id="cust-1001/web")
    assert first.status_code == 201 and first.json()["external_id"] == "cust-1001/web"
    site_id = first.json()["site_id"]

    # The panel's retry after a lost answer: no second site, and the answer names the first.
    retry = create(panel, external_id="cust-1001/web", name="Bakkerij again")
    assert retry.status_code == 409
    assert retry.json()["site_id"] == site_id and "cust-1001/web" in retry.json()["error"]
    assert [site["name"] for site in panel.get("/api/admin/sites").json()["sites"]] == ["Bakkerij"]

    found = panel.get("/api/admin/sites", params={"external_id": "cust-1001/web"}).json()
    assert (found["total"], [site["site_id"] for site in found["sites"]]) == (1, [site_id])
    assert panel.get("/api/admin/sites", params={"external_id": "cust-9"}).json() == {
        "sites": [], "total": 0, "limit": None, "offset": 0}

    # Sites without one do not collide; a change to another site's id is refused the same way.
    other = create(panel).json()["site_id"]
    assert create(panel).status_code == 201
    taken = panel.patch(f"/api/admin/sites/{other}", json={"external_id": "cust-1001/web"})
    assert (taken.status_code, taken.json()["site_id"]) == (409, site_id)
    assert panel.get(f"/api/admin/sites/{other}").json()["external_id"] == ""
    assert panel.patch(f"/api/admin/sites/{other}", json={"external_id": "cust-1002"}).json()["external_id"] \
        == "cust-1002"

    # A deleted site's external id is free again: the panel may create the site anew.
    assert panel.delete(f"/api/admin/sites/{site_id}").status_code == 200
    again = create(panel, external_id="cust-1001/web")
    assert again.status_code == 201 and again.json()["site_id"] != site_id
    assert runtime.registry.by_external_id("cust-1001/web").site_id == again.json()["site_id"]  # type: ignore[union-attr]


@pytest.mark.parametrize(("body", "reason"), [
    ({"external_id": " padded "}, "external_id must be printable text"),
    ({"external_id": "x" * 201}, "at most 200 characters"),
    ({"external_id": "tab\there"}, "external_id must be printable"),
    ({"external_id": 42}, "external_id must be a str"),
    ({"timezone": "Mars/Olympus"}, "timezone 'Mars/Olympus' is not an IANA zone"),
    ({"domains": ["not a host"]}, "is not a host name"),
    ({"retention_days": "400d"}, "retention_days must be a int"),
    ({"colour": "red"}, "unknown field 'colour'"),
])
def test_bad_fields_are_refused_with_a_reason_and_create_nothing(panel: TestClient, body: dict[str, Any],
                                                                 reason: str) -> None:
    response = create(panel, **body)
    assert response.status_code == 400 and reason in response.json()["error"]
    assert panel.get("/api/admin/sites").json()["total"] == 0


def test_sites_and_users_come_in_pages_with_a_total(panel: TestClient) -> None:
    ids = [create(panel, name=f"Site {number}").json()["site_id"] for number in range(5)]
    pages = [panel.get("/api/admin/sites", params={"limit": 2, "offset": offset}).json() for offset in (0, 2, 4)]
    assert [[site["site_id"] for site in page["sites"]] for page in pages] == [ids[:2], ids[2:4], ids[4:]]
    assert {(page["total"], page["limit"]) for page in pages} == {(5, 2)}
    assert panel.get("/api/admin/sites", params={"offset": 5}).json()["sites"] == []
    everything = panel.get("/api/admin/sites").json()
    assert (everything["total"], everything["limit"], len(everything["sites"])) == (5, None, 5)

    for number in range(3):
        assert panel.post("/api/admin/users", json={"email": f"user{number}@panel.example",
                                                    "password": "correct horse battery staple"}).status_code == 201
    page = panel.get("/api/admin/users", params={"limit": 2, "offset": 1}).json()
    assert [user["email"] for user in page["users"]] == ["user1@panel.example", "user2@panel.example"]
    assert page["total"] == 3

    for params in ({"limit": "0"}, {"limit": "1001"}, {"limit": "two"}, {"offset": "-1"}, {"limit": "1e3"}):
        for path in ("/api/admin/sites", "/api/admin/users"):
            refused = panel.get(path, params=params)
            assert refused.status_code == 400 and ("limit" in refused.json()["error"]
                                                   or "offset" in refused.json()["error"]), (path, params)


def test_the_snippet_is_the_tracking_code_for_the_public_url(runtime: Runtime, panel: TestClient) -> None:
    site_id = create(panel).json()["site_id"]
    base = runtime.settings.server.public_url
    answer = panel.get(f"/api/admin/sites/{site_id}/snippet")
    assert answer.status_code == 200
    data = answer.json()
    assert (data["site_id"], data["tracker_url"], data["script_url"]) == (
        site_id, base + "matomo.php", f"{base}teller.js?idsite={site_id}")
    assert f"_paq.push(['setSiteId', '{site_id}'])" in data["html"] and f'var u="{base}"' in data["html"]
    assert "optout.js" in data["optout_html"]
    plain = panel.get(f"/api/admin/sites/{site_id}/snippet", params={"format": "html"})
    assert plain.headers["content-type"].startswith("text/plain") and plain.text == data["html"]
    assert panel.get("/api/admin/sites/999/snippet").status_code == 404
    assert panel.get("/api/admin/sites/abc/snippet").json()["error"] == "site id 'abc' is not a number"
    # What the snippet loads is served, with the site's settings baked in.
    script = panel.get(f"/teller.js?idsite={site_id}")
    assert script.status_code == 200 and script.text.startswith("(function(w,c,k){w.tellerConfig")


def test_every_new_route_needs_the_admin_token(runtime: Runtime, http: TestClient) -> None:
    for path in ("/api/admin/openapi.json", "/api/admin/sites/1/snippet", "/api/admin/sites?limit=5",
                 "/api/admin/users?limit=5"):
        assert http.get(path).status_code == 401, path
        assert http.get(path, headers={"Authorization": "Bearer wrong"}).json()["error"] \
            == "a valid admin token is required"


def test_changes_are_in_the_audit_log_under_the_panels_name(runtime: Runtime, panel: TestClient) -> None:
    site_id = create(panel, external_id="cust-7").json()["site_id"]
    panel.patch(f"/api/admin/sites/{site_id}", json={"external_id": "cust-8", "name": "Bakkerij Noord"})
    create(panel, external_id="cust-8")  # refused: nothing recorded
    entries = AuditLog(runtime.store).entries(site_id=site_id)
    assert [(entry.action, entry.actor) for entry in entries] == [("site.update", "panel:host-42"),
                                                                 ("site.add", "panel:host-42")]
    assert entries[0].details == {"external_id": {"from": "cust-7", "to": "cust-8"},
                                  "name": {"from": "Bakkerij", "to": "Bakkerij Noord"}}
    assert entries[1].details["external_id"] == "cust-7"
    assert len(AuditLog(runtime.store).entries(action="site.add")) == 1


def test_the_openapi_document_describes_every_admin_route(panel: TestClient) -> None:
    document = panel.get("/api/admin/openapi.json").json()
    described = {(path, method) for path, operations in document["paths"].items() for method in operations}
    routes = {(route.path, method.lower()) for route in starlette_app(panel.app).routes
              if isinstance(route, Route) and route.path.startswith("/api/admin/")
              for method in (route.methods or set()) - {"HEAD"}}
    assert routes and routes == described
    create_site = document["paths"]["/api/admin/sites"]["post"]
    schema = create_site["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == set(SITE_FIELD_TYPES) and "external_id" in schema["properties"]
    assert {"201", "400", "401", "409"} <= set(create_site["responses"])
    for (path, method) in described:
        assert "401" in document["paths"][path][method]["responses"], (path, method)
