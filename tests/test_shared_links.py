"""Shared links: made, listed, changed (label, password) and revoked through the CLI, the admin API and the
dashboard's form (CSRF and role checked); the read-only page at /share/<secret> shows its one site and nothing of
another, with filters, CSV exports and the live count under the link; passwords, throttling, framing headers, and
no secret in ClickHouse."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from starlette.testclient import TestClient

from dashboards.i18n import DUTCH
from dashboards.share import NO_SUCH_LINK
from teller.admin import runtime_admin
from teller.admin_errors import AdminError
from teller.app import build_app
from teller.audit_log import AuditEntry, AuditLog
from teller.cli import main
from teller.passwords import hash_password
from teller.runtime import Runtime, admin_token
from teller.share_admin import RemoteShareAdmin
from teller.shared_links import SharedLink, SharedLinkStore
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


ShareCli = Callable[..., int]


@pytest.fixture
def run(config_path: Path, monkeypatch: pytest.MonkeyPatch) -> ShareCli:
    """`teller share ARGS…` in this process, with `stdin` as its standard input; returns the exit status."""
    def share(*args: str, stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return main(["--config", str(config_path), "share", *args])
    return share


def test_the_cli_makes_lists_and_revokes_links(runtime: Runtime, http: TestClient, sites: Sites, run: ShareCli,
                                               tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
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
    # A panel's tab (page titles instead of pages) works under the link too, and its links stay there.
    titles = http.get(base, params={"period": "7d", "tab": "title", "filter": "page==/alpha-prijzen"})
    assert titles.status_code == 200 and 'id="panel-page" data-dimension="title"' in titles.text
    assert leaked(titles.text) == []
    assert all(href.startswith(base) for href in set(re.findall(r'href="([^"]+)"', titles.text))
               - {"/static/teller.css", "https://db-ip.com"})
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


# Changing a link: its label and password, never its secret ---------------------------------------------------

NEW_PASSWORD = "the new board passphrase"


def unlock(http: TestClient, base: str, password: str) -> int:
    """The password form, filled in as a browser does; the POST's status (303 when it unlocked)."""
    form = http.get(base)
    return http.post(base, data={"csrf_token": csrf_token(form.text), "password": password},
                     follow_redirects=False).status_code


def share_updates(runtime: Runtime) -> list[AuditEntry]:
    return list(reversed(AuditLog(runtime.store).entries(action="share.update")))


def test_the_admin_api_changes_a_links_label_and_password(runtime: Runtime, http: TestClient, sites: Sites) -> None:
    headers = admin_headers(runtime)
    made = http.post(f"/api/admin/sites/{sites.alpha}/shared-links", json={"label": "board"}, headers=headers).json()
    secret, link_id = made["secret"], made["link_id"]
    base, change = f"/share/{secret}", f"/api/admin/shared-links/{link_id}"

    renamed = http.patch(change, json={"label": "  raad  "}, headers=headers)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["label"] == "raad" and renamed.json()["password"] is False
    assert renamed.json()["link_id"] == link_id and "secret" not in renamed.json()
    assert "/alpha-home" in http.get(base).text  # the same URL, still open

    # Protected at once: no manual cache refresh, the serving process sees the change itself.
    protected = http.patch(change, json={"password": LINK_PASSWORD}, headers=headers)
    assert protected.status_code == 200 and protected.json()["password"] is True
    assert protected.json()["label"] == "raad"  # an absent label stays
    assert "Unlock" in http.get(base).text and http.get(f"{base}/realtime").status_code == 401
    assert unlock(http, base, LINK_PASSWORD) == 303 and "/alpha-home" in http.get(base).text

    # A new password locks out whoever unlocked with the old one: their cookie opens nothing now.
    assert http.patch(change, json={"password": NEW_PASSWORD}, headers=headers).status_code == 200
    assert http.cookies.get("teller_share", path=base)  # still sent, no longer accepted
    assert "Unlock" in http.get(base).text and "/alpha-home" not in http.get(base).text
    assert http.get(f"{base}/export?dimension=page").status_code == 401
    assert unlock(http, base, LINK_PASSWORD) == 401
    assert unlock(http, base, NEW_PASSWORD) == 303 and "/alpha-home" in http.get(base).text
    # Even the same password again ends earlier unlocks (it gets a new salted hash).
    assert http.patch(change, json={"password": NEW_PASSWORD}, headers=headers).status_code == 200
    assert "Unlock" in http.get(base).text

    # Refused bodies change nothing.
    for body, reason in (({}, "send"), ({"password": "short"}, "at least 10"), ({"label": 3}, "label must be"),
                         ({"label": None}, "label must be"), ({"secret": "x"}, "unknown field"),
                         ({"password": 12345678901}, "password must be")):
        refused = http.patch(change, json=body, headers=headers)
        assert refused.status_code == 400 and reason in refused.json()["error"], body
        assert "short" not in refused.text
    assert http.patch(change, content=b"label=x", headers=headers).status_code == 400
    assert http.patch(change, json=[], headers=headers).status_code == 400
    assert http.patch(change, json={"label": "x"}).status_code == 401
    assert http.patch("/api/admin/shared-links/ffffffffffff", json={"label": "x"}, headers=headers).status_code \
        == 404
    [link] = SharedLinkStore(runtime.store).list(sites.alpha)
    assert link.label == "raad" and link.has_password

    # null and "" both remove the password: the link is public again.
    for removal in (None, ""):
        assert http.patch(change, json={"password": LINK_PASSWORD}, headers=headers).status_code == 200
        http.cookies.clear()
        assert "Unlock" in http.get(base).text
        public = http.patch(change, json={"password": removal}, headers=headers)
        assert public.status_code == 200 and public.json()["password"] is False, removal
        assert "/alpha-home" in http.get(base).text and http.get(f"{base}/realtime").status_code == 200

    # A revoked link cannot be changed, nor brought back by a change.
    assert http.delete(change, headers=headers).status_code == 200
    gone = http.patch(change, json={"label": "back"}, headers=headers)
    assert gone.status_code == 404 and "no single live shared link" in gone.json()["error"]
    assert http.get(base).status_code == 404 and SharedLinkStore(runtime.store).list(sites.alpha) == []

    # The audit log says what changed, by whom; never a password or its hash.
    updates = share_updates(runtime)
    assert [(entry.site_id, entry.target, entry.actor) for entry in updates] == [(sites.alpha, link_id, "panel")] * 8
    assert updates[0].details == {"label": {"from": "board", "to": "raad"}}
    assert updates[1].details == {"label": "raad", "password": "set"}
    assert [entry.details.get("password") for entry in updates] == [
        None, "set", "changed", "changed", "changed", "removed", "set", "removed"]
    logged = str([entry.as_json() for entry in AuditLog(runtime.store).entries()])
    assert LINK_PASSWORD not in logged and NEW_PASSWORD not in logged and "argon2" not in logged
    stored = every_stored_value(runtime)
    assert LINK_PASSWORD not in stored and NEW_PASSWORD not in stored and secret not in stored


def test_the_openapi_document_describes_changing_a_link(runtime: Runtime, http: TestClient) -> None:
    document = http.get("/api/admin/openapi.json", headers=admin_headers(runtime)).json()
    patch = document["paths"]["/api/admin/shared-links/{link_id}"]["patch"]
    schema = patch["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"label", "password"} and schema["additionalProperties"] is False
    assert schema["properties"]["password"]["type"] == ["string", "null"]
    assert {"200", "400", "401", "404"} <= set(patch["responses"])


def test_the_dashboard_form_changes_a_link_for_the_sites_admins_only(runtime: Runtime, http: TestClient,
                                                                   sites: Sites) -> None:
    add_user(runtime, "owner@alpha.example", sites={sites.alpha: "admin"})
    add_user(runtime, "viewer@alpha.example", sites={sites.alpha: "viewer"})
    add_user(runtime, "owner@bravo.example", sites={sites.bravo: "admin"})
    links = SharedLinkStore(runtime.store)
    secret, link = links.create(sites.alpha, "board", hash_password(LINK_PASSWORD), "test")
    runtime.access.invalidate()
    update = f"/sites/{sites.alpha}/shared-links/{link.link_id}/update"

    def unchanged() -> bool:
        return links.list(sites.alpha) == [link]

    # A viewer of the site is refused; an admin of another site sees no such site, nor the link under her own.
    assert log_in(http, "viewer@alpha.example").status_code == 303
    token = csrf_token(http.get(f"/sites/{sites.alpha}").text)
    assert http.post(update, data={"csrf_token": token, "label": "x", "remove_password": "1"}).status_code == 403
    http.cookies.clear()
    assert log_in(http, "owner@bravo.example").status_code == 303
    token = csrf_token(http.get(f"/sites/{sites.bravo}/shared-links").text)
    assert http.post(update, data={"csrf_token": token, "label": "x", "remove_password": "1"}).status_code == 404
    assert http.post(f"/sites/{sites.bravo}/shared-links/{link.link_id}/update",
                     data={"csrf_token": token, "label": "x", "remove_password": "1"}).status_code == 404
    assert unchanged()
    http.cookies.clear()

    assert log_in(http, "owner@alpha.example").status_code == 303
    page = http.get(f"/sites/{sites.alpha}/shared-links")
    assert f'action="{update}"' in page.text and 'value="board"' in page.text and 'name="remove_password"' in page.text
    token = csrf_token(page.text)
    # Without the CSRF token (or with a forged one) nothing changes.
    assert http.post(update, data={"label": "forged", "remove_password": "1"}).status_code == 403
    assert http.post(update, data={"csrf_token": "0" * 64, "label": "forged", "remove_password": "1"}) \
        .status_code == 403
    # A password against the rules is shown on the page; nothing changes.
    short = http.post(update, data={"csrf_token": token, "label": "raad", "password": "short"})
    assert short.status_code == 400 and "at least 10 characters" in short.text and 'role="alert"' in short.text
    assert 'value="short"' not in short.text  # the refused password is not put back into the form
    dutch = http.post(update + "?lang=nl", data={"csrf_token": token, "label": "raad", "password": "short"})
    assert dutch.status_code == 400 and "een wachtwoord heeft minstens 10 tekens" in dutch.text
    assert unchanged()

    # A new label; an empty password field keeps the password.
    done = http.post(update, data={"csrf_token": token, "label": "voor de raad", "password": ""},
                     follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/sites/{sites.alpha}/shared-links"
    [renamed] = links.list(sites.alpha)
    assert renamed.label == "voor de raad" and renamed.password_hash == link.password_hash
    assert renamed.secret_hash == link.secret_hash

    # A visitor who unlocked the link with the old password is asked again after a new one.
    with TestClient(build_app(runtime), client=(VISITOR_IP, 50300)) as visitor:
        base = f"/share/{secret}"
        assert unlock(visitor, base, LINK_PASSWORD) == 303 and "/alpha-home" in visitor.get(base).text
        assert http.post(update, data={"csrf_token": token, "label": "voor de raad", "password": NEW_PASSWORD},
                         follow_redirects=False).status_code == 303
        assert "Unlock" in visitor.get(base).text
        assert unlock(visitor, base, NEW_PASSWORD) == 303
        # Removing the password opens the link to anyone with the URL.
        assert http.post(update, data={"csrf_token": token, "label": "voor de raad", "remove_password": "1"},
                         follow_redirects=False).status_code == 303
        visitor.cookies.clear()
        assert "/alpha-home" in visitor.get(base).text
    assert not links.list(sites.alpha)[0].has_password

    # A revoked link's form answers 404 and does not bring it back.
    assert http.post(f"/sites/{sites.alpha}/shared-links/{link.link_id}/revoke",
                     data={"csrf_token": token}).status_code == 200
    assert http.post(update, data={"csrf_token": token, "label": "back"}).status_code == 404
    assert links.list(sites.alpha) == []

    updates = share_updates(runtime)
    assert [(entry.actor, entry.details.get("password")) for entry in updates] == [
        ("dashboard:owner@alpha.example", None), ("dashboard:owner@alpha.example", "changed"),
        ("dashboard:owner@alpha.example", "removed")]
    assert NEW_PASSWORD not in str([entry.as_json() for entry in updates])

    # The form's texts are in Dutch too, and a change made in Dutch leads back to the Dutch page.
    http.post(f"/sites/{sites.alpha}/shared-links", data={"csrf_token": token, "label": "nog een"})
    dutch_page = http.get(f"/sites/{sites.alpha}/shared-links?lang=nl").text
    assert "Wijzigen" in dutch_page and "Opslaan" in dutch_page and "het huidige blijft" in dutch_page
    [other] = links.list(sites.alpha)
    other_update = f"/sites/{sites.alpha}/shared-links/{other.link_id}/update?lang=nl"
    assert f'action="{other_update}"' in dutch_page
    back = http.post(other_update, data={"csrf_token": token, "label": "nog één"}, follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == f"/sites/{sites.alpha}/shared-links?lang=nl"


def test_the_cli_changes_a_link(runtime: Runtime, http: TestClient, sites: Sites, run: ShareCli,
                                tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    links = SharedLinkStore(runtime.store)
    secret, link = links.create(sites.alpha, "board", "", "test")
    base = f"/share/{secret}"

    assert run("update", link.link_id, "--label", "raad") == 0
    assert f"Updated shared link {link.link_id}" in capsys.readouterr().out
    assert links.list(sites.alpha)[0].label == "raad"

    assert run("update", link.link_id, "--password-stdin", stdin=LINK_PASSWORD + "\n") == 0
    assert "Viewers need the password." in capsys.readouterr().out
    runtime.access.invalidate()  # the CLI wrote to the store; the server's cache would refresh within seconds
    assert unlock(http, base, LINK_PASSWORD) == 303 and "/alpha-home" in http.get(base).text

    password_file = tmp_path / "password.txt"
    password_file.write_text(NEW_PASSWORD + "\n")
    assert run("update", link.link_id, "--password-file", str(password_file)) == 0
    capsys.readouterr()
    runtime.access.invalidate()
    assert "Unlock" in http.get(base).text  # the old unlock is gone
    assert unlock(http, base, NEW_PASSWORD) == 303
    [changed] = links.list(sites.alpha)
    assert changed.label == "raad" and changed.has_password  # --password-file kept the label

    for args, stdin, reason in ((("update", link.link_id), "", "nothing to change"),
                                (("update", link.link_id, "--password-stdin"), "short\n", "at least 10"),
                                (("update", "ffffffffffff", "--label", "x"), "", "no single live shared link")):
        assert run(*args, stdin=stdin) == 2, args
        assert reason in capsys.readouterr().err, args
    with pytest.raises(SystemExit):  # one password option at most
        run("update", link.link_id, "--no-password", "--password-file", str(password_file))
    capsys.readouterr()
    assert links.list(sites.alpha) == [changed]

    assert run("update", link.link_id, "--no-password") == 0
    assert "Anyone with the URL can see it." in capsys.readouterr().out
    runtime.access.invalidate()
    http.cookies.clear()
    assert "/alpha-home" in http.get(base).text

    assert run("revoke", link.link_id) == 0
    assert run("update", link.link_id, "--label", "back") == 2
    assert "no single live shared link" in capsys.readouterr().err and links.list(sites.alpha) == []
    assert [entry.actor.startswith("cli:") for entry in share_updates(runtime)] == [True] * 4


class AdminApiThroughTestClient(RemoteShareAdmin):
    """RemoteShareAdmin's requests, sent through the app in process instead of over a socket (RemoteAdmin's
    _call), so the body it builds is checked by the real admin API."""

    def __init__(self, http: TestClient, headers: dict[str, str]) -> None:
        self.http = http
        self.headers = headers

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, path, json=body, headers=self.headers)
        if response.status_code >= 400:
            raise AdminError(response.json()["error"])
        return response.json()


def test_the_cli_through_a_running_server_changes_a_link(runtime: Runtime, http: TestClient, sites: Sites) -> None:
    remote = AdminApiThroughTestClient(http, admin_headers(runtime))
    secret, link = remote.add_shared_link(sites.alpha, "board", LINK_PASSWORD)
    assert remote.update_shared_link(link.link_id, label="raad").label == "raad"
    assert SharedLinkStore(runtime.store).list(sites.alpha)[0].has_password  # only the label was sent
    assert not remote.update_shared_link(link.link_id, remove_password=True).has_password
    assert "/alpha-home" in http.get(f"/share/{secret}").text
    assert remote.update_shared_link(link.link_id, password=NEW_PASSWORD).has_password
    assert "Unlock" in http.get(f"/share/{secret}").text
    with pytest.raises(AdminError, match="at least 10"):
        remote.update_shared_link(link.link_id, password="short")


class RevokedWhileChanging(SharedLinkStore):
    """A store on which another admin revokes the link between a change's read of it and its write."""

    def _live_match(self, link_id: str, site_id: int | None) -> tuple[SharedLink, int]:
        found = super()._live_match(link_id, site_id)
        SharedLinkStore(self.store).revoke(link_id)
        return found


def test_a_change_racing_a_revocation_never_revives_the_link(runtime: Runtime, sites: Sites) -> None:
    _, link = SharedLinkStore(runtime.store).create(sites.alpha, "board", "", "test")
    RevokedWhileChanging(runtime.store).update(link.link_id, label="raad")
    assert SharedLinkStore(runtime.store).list(sites.alpha) == []
    [stored] = SharedLinkStore(runtime.store).list(sites.alpha, include_revoked=True)
    assert stored.revoked
