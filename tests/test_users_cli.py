"""`teller user …` in-process on the store, the admin API's user endpoints, and both through a real server (the
CLI's remote path), with every change in the audit log and no password, hash or token in it."""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

import pyotp
import pytest
from starlette.testclient import TestClient

from teller.audit_log import AuditLog
from teller.cli import main
from teller.runtime import Runtime, admin_token
from tests.helpers import add_site, csrf_token, log_in
from tests.server import TellerServer

PASSWORD = "a long enough passphrase"


def run(config: Path, *args: str, stdin: str | None = None, monkeypatch: pytest.MonkeyPatch | None = None) -> int:
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin or ""))
    return main(["--config", str(config), *args])


def audit_actions(runtime: Runtime) -> list[tuple[str, int, str]]:
    return [(entry.action, entry.site_id, entry.target) for entry in reversed(AuditLog(runtime.store).entries())]


def test_user_commands_on_the_store(runtime: Runtime, http: TestClient, config_path: Path,
                                    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    site = add_site(runtime, "Bakkerij", ("bakkerij.example",))
    other = add_site(runtime, "Slagerij", ("slagerij.example",))

    assert run(config_path, "user", "add", "Anna@Bakkerij.example", "--password-stdin", stdin=PASSWORD + "\n",
               monkeypatch=monkeypatch) == 0
    assert "Added user anna@bakkerij.example" in capsys.readouterr().out
    assert run(config_path, "user", "add", "root@host.example", "--super-admin", "--password-stdin",
               stdin=PASSWORD + "\n", monkeypatch=monkeypatch) == 0
    capsys.readouterr()
    # Refusals, each with a reason and exit status 2.
    for args, stdin, reason in (
            (("user", "add", "anna@bakkerij.example", "--password-stdin"), PASSWORD, "exists already"),
            (("user", "add", "short@bakkerij.example", "--password-stdin"), "short", "at least 10 characters"),
            (("user", "add", "not an address", "--password-stdin"), PASSWORD, "is not an email address"),
            (("user", "add", "tty@bakkerij.example"), PASSWORD, "--password-stdin"),
            (("user", "grant", "anna@bakkerij.example", "--site", "99", "--role", "viewer"), "", "no site with id 99"),
            (("user", "grant", "nobody@bakkerij.example", "--site", "1", "--role", "viewer"), "", "no user nobody@"),
            (("user", "revoke", "anna@bakkerij.example", "--site", "1"), "", "no role of anna@"),
            (("user", "token", "add", "anna@bakkerij.example", "--site", str(other.site_id)), "", "no role on site")):
        assert run(config_path, *args, stdin=stdin, monkeypatch=monkeypatch) == 2, args
        assert reason in capsys.readouterr().err, args

    assert run(config_path, "user", "grant", "anna@bakkerij.example", "--site", str(site.site_id), "--role",
               "viewer") == 0
    assert run(config_path, "user", "grant", "anna@bakkerij.example", "--site", str(site.site_id), "--role",
               "admin") == 0
    assert "is now admin of site" in capsys.readouterr().out
    assert run(config_path, "user", "list", "--json") == 0
    users = {user["email"]: user for user in json.loads(capsys.readouterr().out)}
    assert users["root@host.example"]["super_admin"] and users["root@host.example"]["grants"] == []
    assert [(grant["site_id"], grant["role"]) for grant in users["anna@bakkerij.example"]["grants"]] == [
        (site.site_id, "admin")]
    assert run(config_path, "user", "list") == 0
    listing = capsys.readouterr().out
    assert f"Bakkerij #{site.site_id} (admin)" in listing and "every site (super-admin)" in listing

    # She logs in with the password set on the command line.
    runtime.access.invalidate()  # the CLI wrote to the store directly (no server was running)
    assert log_in(http, "anna@bakkerij.example", PASSWORD).status_code == 303
    assert [item["name"] for item in http.get("/api/v1/sites").json()["sites"]] == ["Bakkerij"]

    assert run(config_path, "user", "token", "add", "anna@bakkerij.example", "--site", str(site.site_id), "--label",
               "intranet") == 0
    shown = capsys.readouterr().out
    token = shown.split("shown only now:")[1].split()[0]
    runtime.access.invalidate()
    with TestClient(http.app) as api:
        api.headers["Authorization"] = f"Bearer {token}"
        assert api.get(f"/api/v1/sites/{site.site_id}/summary").status_code == 200
        assert run(config_path, "user", "token", "list", "anna@bakkerij.example", "--json") == 0
        [listed] = json.loads(capsys.readouterr().out)
        assert listed["label"] == "intranet" and listed["site_ids"] == [site.site_id] and "token" not in listed
        assert run(config_path, "user", "token", "revoke", listed["token_id"][:8]) == 0
        runtime.access.invalidate()
        assert api.get(f"/api/v1/sites/{site.site_id}/summary").status_code == 401
    capsys.readouterr()

    assert run(config_path, "user", "totp", "enable", "anna@bakkerij.example") == 0
    enabled = capsys.readouterr().out
    uri = re.search(r"otpauth://totp/\S+", enabled)
    assert uri and "issuer=Teller" in uri.group(0)
    secret = re.search(r"secret: (\S+)", enabled)
    assert secret and pyotp.parse_uri(uri.group(0)).secret == secret.group(1)
    assert run(config_path, "user", "totp", "disable", "anna@bakkerij.example") == 0

    assert run(config_path, "user", "reset-password", "anna@bakkerij.example", "--password-stdin",
               stdin="another good passphrase\n", monkeypatch=monkeypatch) == 0
    runtime.access.invalidate()
    assert http.get("/api/v1/sites").status_code == 401  # her session ended with the old password
    assert run(config_path, "user", "revoke", "anna@bakkerij.example", "--site", str(site.site_id)) == 0
    assert run(config_path, "user", "delete", "anna@bakkerij.example") == 0
    assert "Deleted user anna@bakkerij.example" in capsys.readouterr().out
    runtime.access.invalidate()
    assert log_in(http, "anna@bakkerij.example", "another good passphrase").status_code == 401

    actions = [(action, site_id) for action, site_id, _ in audit_actions(runtime)]
    assert actions == [("user.add", 0), ("user.add", 0), ("user.grant", site.site_id), ("user.grant", site.site_id),
                       ("user.token.add", 0), ("user.token.revoke", 0), ("user.totp.enable", 0),
                       ("user.totp.disable", 0), ("user.password", 0), ("user.revoke", site.site_id),
                       ("user.delete", 0)]
    entries = AuditLog(runtime.store).entries()
    assert all(entry.actor.startswith("cli:") for entry in entries)
    regrant = next(entry for entry in reversed(entries) if entry.action == "user.grant" and entry.details["from"])
    assert regrant.details == {"role": "admin", "from": "viewer"}
    logged = json.dumps([entry.as_json() for entry in entries])
    for secret_text in (PASSWORD, "another good passphrase", token, secret.group(1), "$argon2"):
        assert secret_text not in logged


def test_user_admin_api(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime)
    headers = {"Authorization": f"Bearer {admin_token(runtime.settings.secret_key)}", "X-Teller-Actor": "panel"}
    assert http.get("/api/admin/users").status_code == 401
    created = http.post("/api/admin/users", headers=headers,
                        json={"email": "Klant@Shop.example", "password": PASSWORD})
    assert created.status_code == 201 and created.json()["email"] == "klant@shop.example"
    assert "password" not in created.text and "argon2" not in created.text
    for body, status in (({"email": "klant@shop.example", "password": PASSWORD}, 400),
                         ({"email": "x@shop.example", "password": "short"}, 400),
                         ({"email": "x@shop.example"}, 400), ({"email": "x@shop.example", "password": 5}, 400),
                         ({"email": "x@shop.example", "password": PASSWORD, "role": "god"}, 400)):
        refused = http.post("/api/admin/users", headers=headers, json=body)
        assert refused.status_code == status and refused.json()["error"], body

    base = "/api/admin/users/klant@shop.example"
    granted = http.put(f"{base}/grants/{site.site_id}", headers=headers, json={"role": "viewer"})
    assert granted.status_code == 200 and granted.json()["grants"][0]["role"] == "viewer"
    assert http.put(f"{base}/grants/{site.site_id}", headers=headers, json={"role": "owner"}).status_code == 400
    assert http.put(f"{base}/grants/77", headers=headers, json={"role": "viewer"}).status_code == 404
    assert http.put("/api/admin/users/nobody@shop.example/grants/1", headers=headers,
                    json={"role": "viewer"}).status_code == 404

    totp = http.post(f"{base}/totp", headers=headers)
    assert totp.status_code == 200 and totp.json()["uri"].startswith("otpauth://totp/Teller:klant%40shop.example")
    assert totp.json()["user"]["totp"] is True
    assert http.delete(f"{base}/totp", headers=headers).json()["totp"] is False

    token = http.post("/api/admin/user-tokens", headers=headers,
                      json={"email": "klant@shop.example", "site_ids": [site.site_id], "label": "panel"})
    assert token.status_code == 201 and token.json()["token"].startswith("teller_")
    assert http.post("/api/admin/user-tokens", headers=headers,
                     json={"email": "klant@shop.example", "site_ids": ["1"]}).status_code == 400
    listed = http.get("/api/admin/user-tokens?email=klant@shop.example", headers=headers).json()["tokens"]
    assert [item["token_id"] for item in listed] == [token.json()["token_id"]] and "token" not in listed[0]
    with TestClient(http.app) as api:
        reply = api.get(f"/api/v1/sites/{site.site_id}/summary",
                        headers={"Authorization": f"Bearer {token.json()['token']}"})
        assert reply.status_code == 200

    assert http.put(f"{base}/password", headers=headers, json={"password": "new but long enough"}).status_code == 200
    assert log_in(http, "klant@shop.example", "new but long enough").status_code == 303
    assert http.delete(f"/api/admin/user-tokens/{token.json()['token_id']}", headers=headers).status_code == 200
    assert http.delete(f"{base}/grants/{site.site_id}", headers=headers).json()["grants"] == []
    assert http.delete(base, headers=headers).status_code == 200
    assert http.delete(base, headers=headers).status_code == 404
    assert [(action, entry_site) for action, entry_site, _ in audit_actions(runtime)] == [
        ("user.add", 0), ("user.grant", site.site_id), ("user.totp.enable", 0), ("user.totp.disable", 0),
        ("user.token.add", 0), ("user.password", 0), ("user.token.revoke", 0), ("user.revoke", site.site_id),
        ("user.delete", 0)]
    assert {entry.actor for entry in AuditLog(runtime.store).entries()} == {"panel"}


def test_user_commands_reach_a_running_server_and_its_logins_work(server: TellerServer) -> None:
    """With `teller serve` running (it owns the embedded engine) the CLI goes through its admin API; the
    server's dashboard then lets the user in, with argon2's production parameters."""
    server.cli("site", "add", "--name", "Remote", "--domain", "remote.example")
    server.add_user("remote@shop.example", PASSWORD)
    server.cli("user", "grant", "remote@shop.example", "--site", "1", "--role", "viewer")
    [user] = [item for item in json.loads(server.cli("user", "list", "--json"))
              if item["email"] == "remote@shop.example"]
    assert [(grant["site_id"], grant["role"]) for grant in user["grants"]] == [(1, "viewer")]

    jar = CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with browser.open(server.url + "login", timeout=10) as form:
        token = csrf_token(form.read().decode())
    body = urlencode({"csrf_token": token, "email": "remote@shop.example", "password": PASSWORD,
                      "next": "/api/v1/sites"}).encode()
    with browser.open(server.url + "login", data=body, timeout=30) as landed:
        assert [site["name"] for site in json.load(landed)["sites"]] == ["Remote"]
    assert any(cookie.name == "teller_session" and cookie.has_nonstandard_attr("HttpOnly") for cookie in jar)

    shown = server.cli("user", "token", "add", "remote@shop.example", "--label", "remote")
    api_token = shown.split("shown only now:")[1].split()[0]
    request = urllib.request.Request(server.url + "api/v1/sites/1/summary",
                                     headers={"Authorization": f"Bearer {api_token}"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 200
    token_id = shown.split("Stats API token ")[1].split()[0]
    server.cli("user", "token", "revoke", token_id)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401
    server.cli("user", "delete", "remote@shop.example")
    audit = json.loads(server.cli("retention", "audit", "--json"))["audit_log"]
    assert {"user.add", "user.grant", "user.token.add", "user.token.revoke", "user.delete"} <= {
        entry["action"] for entry in audit}
