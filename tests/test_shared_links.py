"""Shared links: made, listed and revoked through the CLI, the admin API and the dashboard's form (CSRF and role
checked); the read-only page at /share/<secret> shows its one site and nothing of another, with filters, CSV
exports and the live count under the link; passwords, throttling, framing headers, and no secret in ClickHouse."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from starlette.testclient import TestClient

from dashboards.i18n import DUTCH
from dashboards.share import NO_SUCH_LINK
from teller.admin import runtime_admin
from teller.app import build_app
from teller.audit_log import AuditLog
from teller.cli import main
from teller.passwords import hash_password
from teller.runtime import Runtime, admin_token
from teller.shared_links import SharedLinkStore
from tests.conftest import CHROME_UA, VISITOR_IP
from tests.helpers import add_site, add_user, csrf_token, log_in
from tests.test_dashboard_page import country_rows

LINK_PASSWORD = "board members only"
# What only site B's data holds: its name, a page path and a referrer host.
B_NAME, B_PAGE, B_REFERRER = "Bravo Geheim", "/bravo-geheime-pagina", "bravo-verwijzer.example"
B_MARKERS = ("Bravo", "geheime-pagina", "bravo-verwijzer")


def leaked(text: str, asked: str = "") -> list[str]:
    """Site B's markers in `text`, besides the request's own words echoed back (a filter's chip and links)."""
    for echo in (asked, quote(asked, safe=""), quote_plus(asked)) if asked else ():
        text = text.replace(echo, "")
    return [marker for marker in B_MARKERS if marker.lower() in text.lower()]


def track(http: TestClient, site_id: int, domain: str, path: str, visitor: str, referrer: str = "") -> None:
    """A page view through the collector, as a browser's tracker sends it."""
    params = {"idsite": str(site_id), "rec": "1", "url": f"https://{domain}{path}", "_id": visitor}
    if referrer:
        params["urlref"] = referrer
    response = http.get("/matomo.php", params=params, headers={"User-Agent": CHROME_UA})
    assert response.status_code in (200, 204)


@dataclass
class Sites:
    alpha: int
    bravo: int


@pytest.fixture
def sites(runtime: Runtime, http: TestClient) -> Sites:
    alpha = add_site(runtime, "Alpha", ("alpha.example",))
    bravo = add_site(runtime, B_NAME, ("bravo.example",))
    track(http, alpha.site_id, "alpha.example", "/alpha-home", "1" * 16, "https://alpha-verwijzer.example/x")
    track(http, alpha.site_id, "alpha.example", "/alpha-prijzen", "1" * 16)
    track(http, alpha.site_id, "alpha.example", "/alpha-home", "3" * 16)
    for visitor in ("2" * 16, "4" * 16, "5" * 16):
        track(http, bravo.site_id, "bravo.example", B_PAGE, visitor, f"https://{B_REFERRER}/artikel")
    runtime.drain()
    return Sites(alpha.site_id, bravo.site_id)


def admin_headers(runtime: Runtime) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token(runtime.settings.secret_key)}", "X-Teller-Actor": "panel"}


def path_of(url: str) -> str:
    found = re.search(r"(/share/[A-Za-z0-9_-]+)", url)
    assert found, url
    return found.group(1)


def every_stored_value(runtime: Runtime) -> str:
    """Every row of every table of the test's database, as text."""
    client = runtime.store.client()
    tables = [row[0] for row in client.query("SHOW TABLES").result_rows]
    return "\n".join(str(client.query(f"SELECT * FROM `{table}`").result_rows) for table in tables)  # noqa: S608


def test_the_admin_api_makes_lists_and_revokes_links(runtime: Runtime, http: TestClient, sites: Sites) -> None:
    headers = admin_headers(runtime)
    made = http.post(f"/api/admin/sites/{sites.alpha}/shared-links", json={"label": "board"}, headers=headers)
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    secret, link_id = body["secret"], body["link_id"]
    assert body["url"].endswith(f"/share/{secret}") and body["password"] is False and body["label"] == "board"

    listing = http.get(f"/api/admin/sites/{sites.alpha}/shared-links", headers=headers).json()["links"]
    assert [item["link_id"] for item in listing] == [link_id]
    assert secret not in str(listing) and "secret" not in listing[0]

    page = http.get(f"/share/{secret}")
    assert page.status_code == 200 and "Alpha" in page.text and leaked(page.text) == []

    # Refusals: unknown fields and sites, a short password, no token.
    assert http.post(f"/api/admin/sites/{sites.alpha}/shared-links", json={"site": 2}, headers=headers) \
        .status_code == 400
    assert http.post("/api/admin/sites/999/shared-links", json={}, headers=headers).status_code == 404
    assert http.post(f"/api/admin/sites/{sites.alpha}/shared-links", json={"password": "short"},
                     headers=headers).status_code == 400
    assert http.get("/api/admin/sites/x/shared-links", headers=headers).status_code == 400
    assert http.get(f"/api/admin/sites/{sites.alpha}/shared-links").status_code == 401

    revoked = http.delete(f"/api/admin/shared-links/{link_id}", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert http.delete(f"/api/admin/shared-links/{link_id}", headers=headers).status_code == 404
    assert http.get(f"/share/{secret}").status_code == 404
    assert http.get(f"/api/admin/sites/{sites.alpha}/shared-links", headers=headers).json()["links"] == []
    everything = http.get(f"/api/admin/sites/{sites.alpha}/shared-links?revoked=1", headers=headers).json()["links"]
    assert [item["link_id"] for item in everything] == [link_id]

    entries = [(entry.action, entry.site_id, entry.target, entry.actor)
               for entry in reversed(AuditLog(runtime.store).entries()) if entry.action.startswith("share.")]
    assert entries == [("share.add", sites.alpha, link_id, "panel"), ("share.revoke", sites.alpha, link_id, "panel")]


def test_the_cli_makes_lists_and_revokes_links(runtime: Runtime, http: TestClient, sites: Sites, config_path: Path,
                                               tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def run(*args: str, stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return main(["--config", str(config_path), "share", *args])

    assert run("add", "--site", str(sites.alpha), "--label", "open") == 0
    open_path = path_of(capsys.readouterr().out)
    password_file = tmp_path / "password.txt"
    password_file.write_text(LINK_PASSWORD + "\nignored second line\n")
    assert run("add", "--site", str(sites.alpha), "--password-file", str(password_file)) == 0
    protected_path = path_of(capsys.readouterr().out)
    assert run("add", "--site", str(sites.bravo), "--password-stdin", stdin=LINK_PASSWORD + "\n") == 0
    capsys.readouterr()
    for args, stdin, reason in ((("add", "--site", "99"), "", "no site with id 99"),
                                (("add", "--site", str(sites.alpha), "--password-stdin"), "short\n", "at least 10"),
                                (("add", "--site", "1", "--password-file", str(tmp_path / "none")), "", "cannot read"),
                                (("revoke", "ffffffffffff"), "", "no single live shared link")):
        assert run(*args, stdin=stdin) == 2, args
        assert reason in capsys.readouterr().err, args

    assert run("list", "--site", str(sites.alpha)) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    [open_line] = [line for line in lines if line.endswith("open")]
    [protected_line] = [line for line in lines if "password" in line]
    assert len(lines) == 2 and "live" in open_line and "by cli:" in protected_line
    assert open_path.removeprefix("/share/") not in str(lines)

    runtime.access.invalidate()  # the CLI wrote to the store; the server's cache would refresh within seconds
    assert http.get(open_path).status_code == 200
    assert "Unlock" in http.get(protected_path).text

    link_id = open_line.split()[0]
    assert run("revoke", link_id) == 0 and "Revoked" in capsys.readouterr().out
    runtime.access.invalidate()
    assert http.get(open_path).status_code == 404
    assert run("list", "--site", str(sites.alpha), "--all", "--json") == 0
    assert '"revoked_at": null' in capsys.readouterr().out  # the protected link is live, the open one is not


def test_the_dashboard_form_needs_an_admin_and_a_csrf_token(runtime: Runtime, http: TestClient,
                                                            sites: Sites) -> None:
    add_user(runtime, "owner@alpha.example", sites={sites.alpha: "admin"})
    add_user(runtime, "viewer@alpha.example", sites={sites.alpha: "viewer"})

    # A viewer sees the dashboard but neither the Share link nor the management page, and cannot post to it.
    assert log_in(http, "viewer@alpha.example").status_code == 303
    dashboard = http.get(f"/sites/{sites.alpha}")
    assert dashboard.status_code == 200 and "shared-links" not in dashboard.text
    assert http.get(f"/sites/{sites.alpha}/shared-links").status_code == 403
    token = csrf_token(dashboard.text)  # the logout form's: a valid token of this session
    assert http.post(f"/sites/{sites.alpha}/shared-links", data={"csrf_token": token, "label": "x"}).status_code \
        == 403
    assert http.get(f"/sites/{sites.bravo}/shared-links").status_code == 404  # not her site at all
    assert SharedLinkStore(runtime.store).list() == []
    http.cookies.clear()

    assert log_in(http, "owner@alpha.example").status_code == 303
    assert f'href="/sites/{sites.alpha}/shared-links"' in http.get(f"/sites/{sites.alpha}").text
    page = http.get(f"/sites/{sites.alpha}/shared-links")
    assert page.status_code == 200 and "No shared links yet." in page.text
    # Without the CSRF token the form is refused before anything is made.
    assert http.post(f"/sites/{sites.alpha}/shared-links", data={"label": "forged"}).status_code == 403
    assert http.post(f"/sites/{sites.alpha}/shared-links",
                     data={"label": "forged", "csrf_token": "0" * 64}).status_code == 403
    assert SharedLinkStore(runtime.store).list() == []

    short = http.post(f"/sites/{sites.alpha}/shared-links",
                      data={"csrf_token": csrf_token(page.text), "label": "x", "password": "short"})
    assert short.status_code == 400 and "at least 10 characters" in short.text
    made = http.post(f"/sites/{sites.alpha}/shared-links",
                     data={"csrf_token": csrf_token(page.text), "label": "voor de raad"})
    assert made.status_code == 201
    url = re.search(r'<code id="new-link-url">([^<]+)</code>', made.text)
    assert url, made.text
    shared_path = path_of(url.group(1))
    [link] = SharedLinkStore(runtime.store).list(sites.alpha)
    assert link.label == "voor de raad" and link.created_by == "dashboard:owner@alpha.example"
    # Shown once: the listing has the id, never the URL.
    listing = http.get(f"/sites/{sites.alpha}/shared-links").text
    assert link.link_id in listing and shared_path not in listing

    # Revoking needs the token too, and only reaches this site's links.
    revoke = f"/sites/{sites.alpha}/shared-links/{link.link_id}/revoke"
    assert http.post(revoke).status_code == 403
    assert http.post(f"/sites/{sites.bravo}/shared-links/{link.link_id}/revoke",
                     data={"csrf_token": csrf_token(listing)}).status_code == 404
    assert http.get(shared_path).status_code == 200
    done = http.post(revoke, data={"csrf_token": csrf_token(listing)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/sites/{sites.alpha}/shared-links"
    http.cookies.clear()
    assert http.get(shared_path).status_code == 404
    actions = [(entry.action, entry.actor) for entry in AuditLog(runtime.store).entries() if
               entry.action.startswith("share.")]
    assert actions == [("share.revoke", "dashboard:owner@alpha.example"),
                       ("share.add", "dashboard:owner@alpha.example")]


def test_a_link_shows_its_one_site_with_filters_exports_and_live_count(runtime: Runtime, http: TestClient,
                                                                       sites: Sites) -> None:
    secret, _ = SharedLinkStore(runtime.store).create(sites.alpha, "open", "", "test")
    runtime.access.invalidate()
    base = f"/share/{secret}"

    page = http.get(base + "?period=7d")
    assert page.status_code == 200
    assert "/alpha-home" in page.text and "alpha-verwijzer.example" in page.text
    assert re.search(r'id="visits">2<', page.text) and re.search(r'id="pageviews">3<', page.text)
    assert leaked(page.text) == []
    # Read-only and self-contained: no account, no management, no other sites, no Stats API, no /retention.
    for absent in ('href="/"', "/logout", "shared-links", "/retention", "/api/v1/", f'/sites/{sites.alpha}'):
        assert absent not in page.text, absent
    # Every link on the page stays under this shared link (or is the geolocation credit).
    hrefs = set(re.findall(r'href="([^"]+)"', page.text)) - {"/static/teller.css", "https://db-ip.com"}
    assert hrefs and all(href.startswith(base) for href in hrefs), hrefs
    assert f'data-realtime="{base}/realtime"' in page.text

    # Filters in the URL work; a filter on site B's values finds nothing here, and site switches are ignored.
    filtered = http.get(base, params={"period": "7d", "filter": "page==/alpha-prijzen"})
    assert filtered.status_code == 200 and re.search(r'id="visits">1<', filtered.text)
    for tricky in ({"filter": f"page=={B_PAGE}"}, {"filter": f"referrer=={B_REFERRER}"}, {"site": str(sites.bravo)},
                   {"idsite": str(sites.bravo)}, {"site_id": str(sites.bravo)}):
        response = http.get(base, params={"period": "7d", **tricky})
        assert response.status_code == 200 and leaked(response.text, tricky.get("filter", "")) == [], tricky
    assert re.search(r'id="visits">0<', http.get(base, params={"filter": f"page=={B_PAGE}"}).text)
    for path in (f"{base}/../../sites/{sites.bravo}", f"{base}/export/../../{sites.bravo}", f"{base}%2F..%2F2"):
        response = http.get(path, follow_redirects=False)
        assert leaked(response.text) == [] and response.status_code in (303, 404), path
    assert http.get(base, params={"period": "nonsense"}).status_code == 400
    assert http.get(base, params={"filter": "nope"}).status_code == 400

    # CSV exports under the link: this site's rows, filtered as asked, and nothing of site B.
    csv_links = re.findall(r'href="(/share/[^"]+/export\?[^"]+)"', page.text)
    assert len(csv_links) > 5
    page_csv = http.get(next(link for link in csv_links if "dimension=page" in link).replace("&amp;", "&"))
    assert page_csv.status_code == 200 and page_csv.headers["content-type"].startswith("text/csv")
    assert "/alpha-home" in page_csv.text and leaked(page_csv.text) == []
    for dimension in ("page", "referrer", "entry_page", "channel"):
        for extra in ({}, {"filter": f"page=={B_PAGE}"}, {"site_id": str(sites.bravo)}):
            response = http.get(f"{base}/export", params={"dimension": dimension, "period": "7d", "format": "csv",
                                                          **extra})
            assert response.status_code == 200 and leaked(response.text, extra.get("filter", "")) == [], \
                (dimension, extra)
    referrers = http.get(f"{base}/export", params={"dimension": "referrer", "period": "7d"}).json()
    assert sorted(row["value"] for row in referrers["rows"]) == ["", "alpha-verwijzer.example"]  # "": direct
    assert referrers["site_id"] == sites.alpha
    assert http.get(f"{base}/export", params={"dimension": "nonsense"}).status_code == 400
    assert http.get(f"{base}/export", params={"dimension": "page", "limit": "x"}).status_code == 400

    live = http.get(f"{base}/realtime")
    assert live.status_code == 200 and live.json()["current_visitors"] == 2

    # Languages and embedding keep to the link.
    dutch = http.get(base + "?lang=nl&embed=1")
    assert dutch.status_code == 200 and "Unieke bezoekers" in dutch.text
    assert '<header class="top">' not in dutch.text and "privacy-friendly" not in dutch.text
    assert '<header class="top">' in page.text


def test_unknown_revoked_and_odd_secrets_answer_404(runtime: Runtime, http: TestClient, sites: Sites) -> None:
    links = SharedLinkStore(runtime.store)
    secret, link = links.create(sites.alpha, "", "", "test")
    runtime.access.invalidate()
    missing = http.get("/share/" + "x" * 32)
    assert missing.status_code == 404 and "no such shared link" in missing.text.lower()
    assert 'href="/"' not in missing.text and leaked(missing.text) == []
    for odd in (secret[:-1], secret + "x", secret.upper(), "x" * 500, link.secret_hash, link.link_id):
        for suffix in ("", "/export?dimension=page", "/realtime"):
            response = http.get(f"/share/{odd}{suffix}")
            assert response.status_code == 404 and "Alpha" not in response.text, (odd, suffix)
    assert http.get("/share/").status_code == 404
    assert http.get(f"/share/{secret}").status_code == 200
    links.revoke(link.link_id)
    runtime.access.invalidate()
    for suffix in ("", "/export?dimension=page", "/realtime"):
        assert http.get(f"/share/{secret}{suffix}").status_code == 404, suffix

    # A deleted site's links die with it, so a new site that is handed its id is not shown through them.
    secret, _ = links.create(sites.bravo, "", "", "test")
    runtime_admin(runtime, "test:ops").delete_site(sites.bravo)
    assert http.get(f"/share/{secret}").status_code == 404
    assert links.list(sites.bravo) == []


def test_a_password_link_asks_throttles_and_unlocks_only_itself(runtime: Runtime, sites: Sites) -> None:
    links = SharedLinkStore(runtime.store)
    secret, _ = links.create(sites.alpha, "board", hash_password(LINK_PASSWORD), "test")
    other, _ = links.create(sites.alpha, "other", hash_password(LINK_PASSWORD), "test")
    runtime.access.invalidate()
    base = f"/share/{secret}"
    with TestClient(build_app(runtime), client=(VISITOR_IP, 50200)) as http:
        form = http.get(base + "?period=7d")
        assert form.status_code == 200 and "Unlock" in form.text and "/alpha-home" not in form.text
        assert http.get(f"{base}/export?dimension=page").status_code == 401
        assert http.get(f"{base}/realtime").status_code == 401
        # The form's POST needs its CSRF token like every form.
        assert http.post(base, data={"password": LINK_PASSWORD}).status_code == 403

        wrong = http.post(base + "?period=7d", data={"csrf_token": csrf_token(form.text), "password": "nope"})
        assert wrong.status_code == 401 and "Wrong password." in wrong.text
        right = http.post(base + "?period=7d", data={"csrf_token": csrf_token(form.text),
                                                     "password": LINK_PASSWORD}, follow_redirects=False)
        assert right.status_code == 303 and right.headers["location"] == base + "?period=7d"
        cookie = right.headers["set-cookie"]
        assert f"Path={base}" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
        unlocked = http.get(base + "?period=7d")
        assert unlocked.status_code == 200 and "/alpha-home" in unlocked.text
        assert http.get(f"{base}/export?dimension=page&format=csv").status_code == 200
        assert http.get(f"{base}/realtime").status_code == 200
        # The cookie names its link: another link with the same password stays locked, even if sent its cookie.
        http.cookies.set("teller_share", http.cookies.get("teller_share", path=base) or "", path=f"/share/{other}")
        assert "Unlock" in http.get(f"/share/{other}").text
        # A forged cookie opens nothing.
        http.cookies.clear()
        http.cookies.set("teller_share", "forged.value.here")
        assert "Unlock" in http.get(base).text

        # Embedded, the form links out to a tab (the frame cannot keep the cookies it needs).
        embedded = http.get(base + "?embed=1&lang=nl")
        assert 'target="_blank"' in embedded.text and f'href="{base}?lang=nl"' in embedded.text

        # Throttled like login: after repeated failures even the right password waits.
        form = http.get(base)
        for _ in range(5):
            assert http.post(base, data={"csrf_token": csrf_token(form.text), "password": "wrong guess"}) \
                .status_code == 401
        throttled = http.post(base, data={"csrf_token": csrf_token(form.text), "password": LINK_PASSWORD},
                              follow_redirects=False)
        assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
        assert "/alpha-home" not in http.get(base).text


def test_only_shared_pages_may_be_framed(runtime: Runtime, dashboard: TestClient, sites: Sites) -> None:
    secret, _ = SharedLinkStore(runtime.store).create(sites.alpha, "", "", "test")
    runtime.access.invalidate()
    for path in (f"/share/{secret}", f"/share/{secret}?embed=1", f"/share/{secret}/export?dimension=page",
                 "/share/unknown"):
        response = dashboard.get(path)
        assert "x-frame-options" not in response.headers, path
        assert "frame-ancestors" not in response.headers.get("content-security-policy", ""), path
        assert response.headers["referrer-policy"] == "no-referrer", path
        assert response.headers["cache-control"] == "private, no-store", path
    for path in ("/", f"/sites/{sites.alpha}", f"/sites/{sites.alpha}/shared-links", "/login",
                 f"/api/v1/sites/{sites.alpha}/summary", "/sites/999"):
        response = dashboard.get(path)
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["content-security-policy"] == "frame-ancestors 'none'", path


def test_no_secret_is_stored(runtime: Runtime, http: TestClient, sites: Sites) -> None:
    made = http.post(f"/api/admin/sites/{sites.alpha}/shared-links",
                     json={"label": "raad", "password": LINK_PASSWORD}, headers=admin_headers(runtime)).json()
    secret = made["secret"]
    assert http.get(f"/share/{secret}").status_code == 200
    stored = every_stored_value(runtime)
    assert secret not in stored and LINK_PASSWORD not in stored
    [link] = SharedLinkStore(runtime.store).list(sites.alpha)
    assert link.secret_hash in stored and link.password_hash.startswith("$argon2id$")


def test_every_shared_link_text_is_in_dutch(runtime: Runtime, http: TestClient, sites: Sites) -> None:
    templates = Path(__file__).resolve().parent.parent / "dashboards" / "templates"
    texts = {match for name in ("share_links.html", "share_password.html")
             for match in re.findall(r"""t\((?:"([^"]+)"|'([^']+)')\)""", (templates / name).read_text())}
    missing = [text for pair in texts for text in pair if text and text not in DUTCH]
    assert texts and missing == []
    secret, _ = SharedLinkStore(runtime.store).create(sites.alpha, "", hash_password(LINK_PASSWORD), "test")
    runtime.access.invalidate()
    form = http.get(f"/share/{secret}?lang=nl")
    assert "Ontgrendelen" in form.text and 'lang="nl"' in form.text
    assert f'href="/share/{secret}?lang=en" hreflang="en"' in form.text  # the language switch of every page
    wrong = http.post(f"/share/{secret}?lang=nl", data={"csrf_token": csrf_token(form.text), "password": "x"})
    assert "Onjuist wachtwoord." in wrong.text


def test_a_missing_link_and_a_bad_address_answer_in_the_visitors_language(runtime: Runtime, http: TestClient,
                                                                         sites: Sites) -> None:
    dutch = {"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"}
    missing = http.get("/share/" + "x" * 32, headers=dutch)
    assert missing.status_code == 404 and '<html lang="nl">' in missing.text
    assert "Deze gedeelde link bestaat niet. Misschien is hij ingetrokken." in missing.text
    assert "no such shared link" not in missing.text.lower() and "Sorry" in missing.text
    assert 'href="/share/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx?lang=en" hreflang="en"' in missing.text
    english = http.get("/share/" + "x" * 32 + "?lang=en", headers=dutch)
    assert english.status_code == 404 and '<html lang="en">' in english.text and NO_SUCH_LINK in english.text

    secret, _ = SharedLinkStore(runtime.store).create(sites.alpha, "", "", "test")
    runtime.access.invalidate()
    base = f"/share/{secret}"
    backwards = http.get(base, params={"period": "custom", "from": "2026-02-01", "to": "2026-01-01"}, headers=dutch)
    assert backwards.status_code == 400 and '<html lang="nl">' in backwards.text
    assert "Deze periode of dit filter kan niet worden getoond: from mag niet na to liggen" in backwards.text
    odd = http.get(base, params={"filter": "nope", "lang": "nl"})
    assert odd.status_code == 400 and ("Deze periode of dit filter kan niet worden getoond: filter &#39;nope&#39; "
                                       "mist een operator: ==, !=, ~ (bevat) of !~") in odd.text
    assert 'href="/"' not in odd.text and leaked(odd.text) == []
    english = http.get(base, params={"filter": "nope"})
    assert ("This period or filter cannot be shown: filter &#39;nope&#39; needs an operator: ==, !=, ~ (contains) "
            "or !~") in english.text

    # The shared dashboard names countries in the page's language too; a row still filters on the code.
    rows = country_rows(http.get(base, params={"period": "7d"}, headers=dutch).text)
    assert list(rows) == ["NL"] and rows["NL"][0] == "Nederland"
    assert rows["NL"][1].startswith(base + "?") and "filter=country%3D%3DNL" in rows["NL"][1]
