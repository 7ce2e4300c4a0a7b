"""The login, second-factor, error and sites pages in Dutch and English: the browser's language decides, `?lang=`
overrides it, and a language picked on the login page holds through the login, with `next` and CSRF intact."""

from __future__ import annotations

import html
import re

import pyotp
from starlette.testclient import TestClient

from dashboards.throttle import ACCOUNT_LIMIT
from teller.admin import runtime_admin
from teller.runtime import Runtime
from tests.helpers import PASSWORD, add_site, add_user, csrf_token, log_in

DUTCH = {"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"}


def language_links(page: str) -> dict[str, str]:
    return {code: html.unescape(url) for url, code in re.findall(r'<a href="([^"]*)" hreflang="(\w+)"', page)}


def form_action(page: str) -> str:
    found = re.search(r'<form class="login" method="post" action="([^"]*)"', page)
    assert found, "no login form"
    return html.unescape(found.group(1))


def test_the_login_page_follows_the_browser_and_the_switch(runtime: Runtime, http: TestClient) -> None:
    dutch = http.get("/login?next=%2Fsites%2F1%3Fperiod%3D7d", headers=DUTCH)
    assert dutch.status_code == 200 and '<html lang="nl">' in dutch.text
    assert "<h1>Inloggen</h1>" in dutch.text and "Wachtwoord" in dutch.text and "Log in" not in dutch.text
    english = http.get("/login?lang=en", headers=DUTCH)
    assert '<html lang="en">' in english.text and "<h1>Log in</h1>" in english.text and "Wachtwoord" not in english.text
    assert '<html lang="en">' in http.get("/login").text  # no preference: English

    # The switch keeps where to go after login; the form posts in the chosen language.
    links = language_links(dutch.text)
    assert links == {"en": "/login?next=%2Fsites%2F1%3Fperiod%3D7d&lang=en",
                     "nl": "/login?next=%2Fsites%2F1%3Fperiod%3D7d&lang=nl"}
    switched = http.get(links["nl"])  # an English browser that picked Dutch
    assert '<html lang="nl">' in switched.text and form_action(switched.text) == "/login?lang=nl"
    assert 'name="next" value="/sites/1?period=7d"' in html.unescape(switched.text)
    assert form_action(http.get("/login").text) == "/login"


def test_wrong_password_and_throttling_messages_in_dutch(runtime: Runtime, http: TestClient) -> None:
    add_user(runtime, "anna@shop.example", super_admin=True)
    form = http.get("/login?next=%2F&lang=nl")
    wrong = http.post("/login?lang=nl", data={"csrf_token": csrf_token(form.text), "email": "anna@shop.example",
                                              "password": "niet het wachtwoord", "next": "/retention"})
    assert wrong.status_code == 401 and '<html lang="nl">' in wrong.text
    assert "Onjuist e-mailadres of wachtwoord." in wrong.text and "Wrong email" not in wrong.text
    # The page answering the POST still switches language without losing `next`.
    assert language_links(wrong.text)["en"] == "/login?next=%2Fretention&lang=en"
    english = http.post("/login", data={"csrf_token": csrf_token(form.text), "email": "anna@shop.example",
                                        "password": "not the password"})
    assert english.status_code == 401 and "Wrong email or password." in english.text
    for _ in range(ACCOUNT_LIMIT):
        throttled = http.post("/login", headers=DUTCH, data={
            "csrf_token": csrf_token(form.text), "email": "anna@shop.example", "password": "nee"})
    assert throttled.status_code == 429
    assert re.search(r"Te veel mislukte pogingen\. Probeer het over \d+ seconden opnieuw\.", throttled.text)


def test_a_language_picked_at_login_holds_through_the_second_factor(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime)
    add_user(runtime, "anna@shop.example", sites={site.site_id: "viewer"})
    secret, _ = runtime_admin(runtime, "test:ops").enable_totp("anna@shop.example")
    target = f"/sites/{site.site_id}?period=7d"
    form = http.get("/login", params={"next": target, "lang": "nl"})
    answer = http.post(form_action(form.text), data={"csrf_token": csrf_token(form.text), "email": "anna@shop.example",
                                                     "password": PASSWORD, "next": target}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login/totp?next=%2Fsites%2F{site.site_id}%3Fperiod%3D7d&lang=nl"
    code_page = http.get(answer.headers["location"])
    assert '<html lang="nl">' in code_page.text and "Code uit je authenticator-app" in code_page.text
    assert "Code van zes cijfers" in code_page.text and 'href="/login?lang=nl">Opnieuw beginnen' in code_page.text
    assert form_action(code_page.text) == "/login/totp?lang=nl"
    token = csrf_token(code_page.text)
    totp = pyotp.TOTP(secret)
    wrong = http.post("/login/totp?lang=nl", data={"csrf_token": token, "next": target,
                                                   "code": f"{(int(totp.now()) + 1) % 1_000_000:06d}"})
    assert wrong.status_code == 401 and "Onjuiste of al gebruikte code." in wrong.text
    assert "Wrong or used code." in http.post("/login/totp", data={"csrf_token": token, "code": "000000"}).text
    accepted = http.post("/login/totp?lang=nl", data={"csrf_token": token, "code": totp.now(), "next": target},
                         follow_redirects=False)
    assert accepted.status_code == 303 and accepted.headers["location"] == target + "&lang=nl"
    dashboard = http.get(accepted.headers["location"])
    assert '<html lang="nl">' in dashboard.text and "Unieke bezoekers" in dashboard.text


def test_error_and_sites_pages_in_dutch(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime, "Fietsen", ("fietsen.example",))
    add_user(runtime, "anna@shop.example", sites={site.site_id: "viewer"})
    form = http.get("/login")
    assert http.post("/login", data={"csrf_token": csrf_token(form.text), "email": "anna@shop.example",
                                     "password": PASSWORD}, follow_redirects=False).status_code == 303
    missing = http.get("/sites/999", headers=DUTCH)
    assert missing.status_code == 404 and '<html lang="nl">' in missing.text
    assert "Er is geen site met id 999." in missing.text and "Terug naar de sites" in missing.text
    assert "There is no site with id 999." in http.get("/sites/999?lang=en", headers=DUTCH).text
    assert language_links(missing.text)["en"] == "/sites/999?lang=en"
    refused = http.get("/retention", headers=DUTCH)  # super-admins only
    assert refused.status_code == 404 and "Deze pagina bestaat niet." in refused.text
    sites = http.get("/", headers=DUTCH).text
    assert '<html lang="nl">' in sites and "Tijdzone" in sites and "395 dagen" in sites and "kijker" in sites
    assert "Your role" not in sites and "Your role" in http.get("/?lang=en", headers=DUTCH).text


def form_actions(page: str) -> list[str]:
    return [html.unescape(action) for action in re.findall(r'<form[^>]* method="post" action="([^"]*)"', page)]


def test_every_admin_form_and_its_redirect_keep_the_chosen_language(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime, "Bakkerij", ("bakkerij.example",))
    add_user(runtime, "bob@bakkerij.example", sites={site.site_id: "admin"})
    add_user(runtime, "dirk@bakkerij.example")
    assert log_in(http, "bob@bakkerij.example").status_code == 303
    links = f"/sites/{site.site_id}/shared-links"
    token = csrf_token(http.get(links).text)
    assert http.post(links + "?lang=nl", data={"csrf_token": token, "label": "raad"}).status_code == 201

    # An English browser that picked Dutch: every form of the page posts with the choice, logout included.
    page = http.get(links + "?lang=nl").text
    [link] = runtime_admin(runtime, "test:ops").list_shared_links(site.site_id)
    link_path = f"{links}/{link.link_id}"
    assert sorted(form_actions(page)) == sorted([
        "/logout?lang=nl", links + "?lang=nl", link_path + "/revoke?lang=nl", link_path + "/update?lang=nl"])
    revoked = http.post(link_path + "/revoke?lang=nl", data={"csrf_token": token}, follow_redirects=False)
    assert revoked.status_code == 303 and revoked.headers["location"] == links + "?lang=nl"

    settings = f"/sites/{site.site_id}/settings"
    page = http.get(settings + "?lang=nl").text
    assert '<html lang="nl">' in page and set(form_actions(page)) == {"/logout?lang=nl", settings + "?lang=nl"}
    granted = http.post(settings + "?lang=nl", data={"csrf_token": token, "action": "grant",
                                                     "email": "dirk@bakkerij.example", "role": "viewer"},
                        follow_redirects=False)
    assert granted.status_code == 303 and granted.headers["location"] == settings + "?saved=grant&lang=nl"
    assert '<html lang="nl">' in http.get(granted.headers["location"]).text

    # Without a choice the browser's language keeps deciding: no ?lang= anywhere.
    assert "lang=" not in "".join(form_actions(http.get(settings).text))
    left = http.post("/logout?lang=nl", data={"csrf_token": token}, follow_redirects=False)
    assert left.status_code == 303 and left.headers["location"] == "/login?lang=nl"
