"""The site settings page: who may use it, that changes are validated, stored and audit-logged with the user's
email, that forms need their CSRF token, and the access list; real chDB through the whole ASGI stack."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from dashboards.settings_page import form_values
from ingest.sites import Site
from teller.audit_log import AuditLog
from teller.runtime import Runtime
from teller.users import UserStore
from tests.helpers import add_site, add_user, csrf_token, log_in

OWNER, VIEWER, OTHER, ROOT = "bob@bakkerij.example", "vera@bakkerij.example", "carol@slager.example", \
    "root@host.example"


@pytest.fixture
def shop(runtime: Runtime) -> Site:
    site = add_site(runtime, "Bakkerij", ("bakkerij.example",))
    slager = add_site(runtime, "Slager", ("slager.example",))
    add_user(runtime, OWNER, sites={site.site_id: "admin"})
    add_user(runtime, VIEWER, sites={site.site_id: "viewer"})
    add_user(runtime, OTHER, sites={slager.site_id: "admin"})
    add_user(runtime, ROOT, super_admin=True)
    return site


def settings_url(site: Site | int) -> str:
    return f"/sites/{site if isinstance(site, int) else site.site_id}/settings"


def settings_form(http: TestClient, site: Site, **changes: Any) -> dict[str, Any]:
    """The settings form as the page fills it in, with `changes` typed over it (False unticks a checkbox)."""
    page = http.get(settings_url(site))
    assert page.status_code == 200
    values = {name: value for name, value in form_values(site).items() if value is not False}
    values = {name: ("on" if value is True else value) for name, value in values.items()}
    values |= {"csrf_token": csrf_token(page.text), "action": "settings"}
    for name, value in changes.items():
        if value is False:
            values.pop(name, None)
        else:
            values[name] = "on" if value is True else value
    return values


def audit(runtime: Runtime, site: Site) -> list[tuple[str, str]]:
    return [(entry.action, entry.actor) for entry in AuditLog(runtime.store).entries(site_id=site.site_id)]


def test_a_viewer_gets_no_link_and_a_refusal(runtime: Runtime, http: TestClient, shop: Site) -> None:
    assert log_in(http, VIEWER).status_code == 303
    assert settings_url(shop) not in http.get(f"/sites/{shop.site_id}").text
    refused = http.get(settings_url(shop))
    assert refused.status_code == 403 and "Only the site&#39;s admins" in refused.text
    token = csrf_token(http.get("/").text)  # the logout form's: a valid token of her session
    sent = http.post(settings_url(shop), data={"csrf_token": token, "action": "settings", "name": "Hers now"})
    assert sent.status_code == 403
    assert runtime.registry.get(shop.site_id).name == "Bakkerij"  # type: ignore[union-attr]


def test_an_admin_changes_the_settings_which_are_stored_and_audit_logged(runtime: Runtime, http: TestClient,
                                                                        shop: Site) -> None:
    assert log_in(http, OWNER).status_code == 303
    assert f'href="{settings_url(shop)}"' in http.get(f"/sites/{shop.site_id}").text
    page = http.get(settings_url(shop))
    assert 'value="Bakkerij"' in page.text and "_paq.push([&#39;setSiteId&#39;, &#39;1&#39;])" in page.text
    assert "Europe/Amsterdam" in page.text and OWNER in page.text and VIEWER in page.text

    form = settings_form(http, shop, name="Bakkerij Noord", timezone="America/New_York", cookieless=True,
                         domains="bakkerij.example\nWWW.Bakkerij-Noord.example", excluded_ips="10.0.0.0/8\n192.168.1.*",
                         excluded_user_agents="Pingdom\n/uptime-?robot/i", search_params="q, zoek",
                         retention_days="30", rollup_retention_days="400", visit_timeout_minutes="45",
                         ipv4_mask_bytes="3", ipv6_prefix_bits="32", respect_dnt=True, excluded_params="sid")
    saved = http.post(settings_url(shop), data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text[saved.text.find("alert"):][:300]
    assert saved.headers["location"] == settings_url(shop) + "?saved=settings"
    assert "The settings were saved." in http.get(saved.headers["location"]).text

    site = runtime.registry.get(shop.site_id)
    assert site is not None
    assert (site.name, site.timezone, site.cookieless, site.respect_dnt) == (
        "Bakkerij Noord", "America/New_York", True, True)
    assert site.domains == ("bakkerij.example", "www.bakkerij-noord.example")
    assert (site.excluded_ips, site.excluded_user_agents) == (("10.0.0.0/8", "192.168.1.*"),
                                                              ("Pingdom", "/uptime-?robot/i"))
    assert (site.search_params, site.excluded_params) == (("q", "zoek"), ("sid",))
    assert (site.retention_days, site.rollup_retention_days, site.visit_timeout_minutes) == (30, 400, 45)
    assert (site.ipv4_mask_bytes, site.ipv6_prefix_bits) == (3, 32)
    # The ingest path's copy follows at once.
    assert runtime.sites.get(shop.site_id).cookieless  # type: ignore[union-attr]

    [entry] = [entry for entry in AuditLog(runtime.store).entries(site_id=shop.site_id)
               if entry.actor == OWNER]
    assert entry.action == "site.retention"  # a retention change is recorded as such
    assert entry.details["timezone"] == {"from": "Europe/Amsterdam", "to": "America/New_York"}
    assert entry.details["retention_days"] == {"from": 395, "to": 30}

    # Sending the form unchanged records nothing.
    before = audit(runtime, shop)
    assert http.post(settings_url(shop), data=settings_form(http, site)).status_code == 200
    assert audit(runtime, shop) == before


@pytest.mark.parametrize(("changes", "message"), [
    ({"timezone": "Mars/Olympus"}, "timezone &#39;Mars/Olympus&#39; is not an IANA zone"),
    ({"retention_days": "13 months"}, "retention_days must be a whole number"),
    ({"rollup_retention_days": "10"}, "rollups must be kept at least as long as raw rows"),
    ({"domains": "not a host"}, "is not a host name"),
    ({"excluded_ips": "10.0.0.0/99"}, "is not a range"),
    ({"ipv4_mask_bytes": "4"}, "ipv4_mask_bytes must be 1, 2 or 3"),
    ({"name": "   "}, "a site name has 1 to 200 characters"),
    ({"visitor_cookie_seconds": "59"}, "visitor_cookie_seconds must be 60 seconds to 400 days"),
    ({"session_cookie_seconds": "30m"}, "session_cookie_seconds must be a whole number"),
    ({"referral_cookie_seconds": str(400 * 86400 + 1)}, "referral_cookie_seconds must be 60 seconds to 400 days"),
    ({"visitor_cookie_seconds": ""}, "visitor_cookie_seconds must be a whole number"),
])
def test_an_invalid_field_shows_an_error_and_changes_nothing(runtime: Runtime, http: TestClient, shop: Site,
                                                             changes: dict[str, str], message: str) -> None:
    assert log_in(http, OWNER).status_code == 303
    before = audit(runtime, shop)
    form = settings_form(http, shop, **({"name": "Renamed"} | changes))
    answer = http.post(settings_url(shop), data=form)
    assert answer.status_code == 400 and 'role="alert"' in answer.text and message in answer.text
    # What was typed is shown again, to correct; nothing of it was stored.
    shown = changes.get("timezone", changes.get("name", "Renamed"))
    assert f'value="{shown}"' in answer.text
    assert runtime.registry.get(shop.site_id) == shop
    assert audit(runtime, shop) == before


def test_geolocation_and_cookie_lifetimes_are_saved(runtime: Runtime, http: TestClient, shop: Site) -> None:
    assert log_in(http, OWNER).status_code == 303
    page = http.get(settings_url(shop)).text
    assert '<input type="checkbox" name="geo_full_ip">' in page  # off by default
    for name, seconds in (("visitor_cookie_seconds", 33955200), ("session_cookie_seconds", 1800),
                          ("referral_cookie_seconds", 15768000)):
        assert f'name="{name}" value="{seconds}"' in page, name
    assert "Matomo&#39;s default: 33,955,200" in page and "only the masked one is stored" in page

    form = settings_form(http, shop, geo_full_ip=True, visitor_cookie_seconds="1209600",
                         session_cookie_seconds="3600", referral_cookie_seconds="60")
    assert http.post(settings_url(shop), data=form, follow_redirects=False).status_code == 303
    site = runtime.registry.get(shop.site_id)
    assert site is not None and site.geo_full_ip
    assert (site.visitor_cookie_seconds, site.session_cookie_seconds, site.referral_cookie_seconds) == (
        1209600, 3600, 60)
    assert '<input type="checkbox" name="geo_full_ip" checked>' in http.get(settings_url(shop)).text
    [entry] = [entry for entry in AuditLog(runtime.store).entries(site_id=shop.site_id) if entry.actor == OWNER]
    assert entry.action == "site.update" and entry.details["geo_full_ip"] == {"from": False, "to": True}
    assert entry.details["session_cookie_seconds"] == {"from": 1800, "to": 3600}
    # The tracker script serves the new lifetimes to the site's visitors.
    script = http.get(f"/teller.js?idsite={shop.site_id}").text
    assert '"visitorCookieTimeout":1209600' in script and '"referralCookieTimeout":60' in script

    # Unticked, it is off again; the lifetimes stay as they are.
    assert http.post(settings_url(shop), data=settings_form(http, site, geo_full_ip=False),
                     follow_redirects=False).status_code == 303
    after = runtime.registry.get(shop.site_id)
    assert after is not None and not after.geo_full_ip and after.session_cookie_seconds == 3600


def test_a_form_without_its_csrf_token_is_refused(runtime: Runtime, http: TestClient, shop: Site) -> None:
    assert log_in(http, OWNER).status_code == 303
    form = settings_form(http, shop, name="Forged")
    del form["csrf_token"]
    assert http.post(settings_url(shop), data=form).status_code == 403
    form["csrf_token"] = "0" * 64
    assert http.post(settings_url(shop), data=form).status_code == 403
    assert runtime.registry.get(shop.site_id).name == "Bakkerij"  # type: ignore[union-attr]


def test_another_tenants_site_is_answered_like_a_missing_one(runtime: Runtime, http: TestClient,
                                                             shop: Site) -> None:
    assert log_in(http, OTHER).status_code == 303
    token = csrf_token(http.get("/").text)
    mine = http.get(settings_url(2))
    assert mine.status_code == 200 and "Slager" in mine.text
    for method in ("GET", "POST"):
        data = {"csrf_token": token, "action": "settings", "name": "Taken"} if method == "POST" else None
        theirs = http.request(method, settings_url(shop), data=data)
        missing = http.request(method, settings_url(999), data=data)
        assert theirs.status_code == missing.status_code == 404
        # The same page but for the id (in the message and the language links' URLs).
        assert theirs.text.replace(f"with id {shop.site_id}.", "with id 999.").replace(
            f"/sites/{shop.site_id}/", "/sites/999/") == missing.text
        assert "Bakkerij" not in theirs.text
    assert runtime.registry.get(shop.site_id).name == "Bakkerij"  # type: ignore[union-attr]


def test_admins_grant_and_revoke_access_but_not_their_own(runtime: Runtime, http: TestClient, shop: Site) -> None:
    add_user(runtime, "dirk@bakkerij.example")
    assert log_in(http, OWNER).status_code == 303
    token = csrf_token(http.get(settings_url(shop)).text)

    def send(**fields: str) -> Any:
        return http.post(settings_url(shop), data={"csrf_token": token, **fields}, follow_redirects=False)

    def roles() -> dict[int, str]:
        users = {user.user_id: user.email for user in UserStore(runtime.store).users()}
        return {users[grant.user_id]: grant.role for grant in UserStore(runtime.store).grants(site_id=shop.site_id)}

    assert send(action="grant", email="Dirk@Bakkerij.example", role="viewer").status_code == 303
    assert roles()["dirk@bakkerij.example"] == "viewer"
    assert send(action="grant", email=VIEWER, role="admin").status_code == 303
    assert roles()[VIEWER] == "admin"
    assert send(action="revoke", email="dirk@bakkerij.example").status_code == 303
    assert "dirk@bakkerij.example" not in roles()

    for fields, message in (({"email": "nobody@bakkerij.example", "role": "viewer"}, "no user nobody@"),
                            ({"email": "dirk@bakkerij.example", "role": "owner"}, "role must be one of"),
                            ({"email": OWNER, "role": "viewer"}, "cannot change or take away your own role")):
        refused = send(action="grant", **fields)
        assert refused.status_code == 400 and message in refused.text
    refused = send(action="revoke", email=OWNER)
    assert refused.status_code == 400 and roles()[OWNER] == "admin"
    assert send(action="format-disk").status_code == 400

    grants = [(entry.action, entry.actor, entry.target) for entry in AuditLog(runtime.store).entries(
        site_id=shop.site_id) if entry.actor == OWNER]
    assert grants == [("user.revoke", OWNER, "dirk@bakkerij.example"), ("user.grant", OWNER, VIEWER),
                      ("user.grant", OWNER, "dirk@bakkerij.example")]
    http.cookies.clear()

    # A super-admin manages any site, their own access included (they see every site anyway).
    assert log_in(http, ROOT).status_code == 303
    token = csrf_token(http.get(settings_url(shop)).text)
    assert send(action="revoke", email=OWNER).status_code == 303 and OWNER not in roles()


def test_the_page_is_in_dutch_too(http: TestClient, shop: Site) -> None:
    assert log_in(http, OWNER).status_code == 303
    page = http.get(settings_url(shop) + "?lang=nl")
    assert "Instellingen opslaan" in page.text and "Wie heeft toegang" in page.text and "beheerder" in page.text
    assert "Geolocatie met het volledige IP-adres" in page.text and "Levensduur sessiecookie" in page.text
    assert "Standaard van Matomo: 33.955.200" in page.text and "een dag is 86.400 seconden" in page.text
    assert "Save settings" not in page.text and "Matomo&#39;s default" not in page.text
