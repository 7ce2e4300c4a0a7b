"""Logins: password, session cookie, logout, expiry, CSRF, throttling and the TOTP second factor, over real HTTP
against the real embedded ClickHouse."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from http.cookies import SimpleCookie

import pyotp
import pytest
from argon2 import Type
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from dashboards.sessions import Session, SessionCodec
from dashboards.throttle import ACCOUNT_LIMIT, ADDRESS_LIMIT, FIRST_WAIT_SECONDS, LoginThrottle
from teller.admin import runtime_admin
from teller.app import build_app
from teller.runtime import Runtime
from teller.totp import matching_step, seal, unseal
from teller.users import UserStore
from tests.conftest import PRODUCTION_HASHER, VISITOR_IP
from tests.helpers import PASSWORD, add_site, add_user, csrf_token, log_in
from tests.test_isolation import starlette_app


def use_cookie(client: TestClient, value: str) -> None:
    """Replace the client's session cookie (setting one beside the server's would send both)."""
    client.cookies.clear()
    client.cookies.set("teller_session", value)


def session_cookie(response: object) -> SimpleCookie:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    cookie: SimpleCookie = SimpleCookie()
    for header in headers:
        cookie.load(header)
    return cookie


def test_login_session_cookie_and_logout(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime)
    add_user(runtime, "anna@shop.example", sites={site.site_id: "viewer"})

    away = http.get(f"/sites/{site.site_id}?period=7d", follow_redirects=False)
    assert away.status_code == 303
    assert away.headers["location"] == f"/login?next=%2Fsites%2F{site.site_id}%3Fperiod%3D7d"
    form = http.get(away.headers["location"])
    assert form.status_code == 200 and 'name="password"' in form.text
    assert form.headers["x-frame-options"] == "DENY" and form.headers["cache-control"] == "no-store"
    cookie = session_cookie(form)["teller_session"]
    assert cookie["httponly"] and cookie["samesite"].lower() == "lax" and cookie["path"] == "/"
    assert not cookie["secure"]  # public_url is http here; see the https test below

    wrong = http.post("/login", data={"csrf_token": csrf_token(form.text), "email": "anna@shop.example",
                                      "password": "not the password", "next": "/"}, follow_redirects=False)
    assert wrong.status_code == 401 and "Wrong email or password" in wrong.text
    unknown = http.post("/login", data={"csrf_token": csrf_token(form.text), "email": "nobody@shop.example",
                                        "password": PASSWORD}, follow_redirects=False)
    assert unknown.status_code == 401 and "Wrong email or password" in unknown.text  # the same answer
    assert http.get("/", follow_redirects=False).status_code == 303

    before = http.cookies.get("teller_session")
    answer = log_in(http, "Anna@Shop.example", next_path=f"/sites/{site.site_id}?period=7d")
    assert answer.status_code == 303 and answer.headers["location"] == f"/sites/{site.site_id}?period=7d"
    logged_in = session_cookie(answer)["teller_session"]
    assert logged_in["httponly"] and logged_in["samesite"].lower() == "lax"
    assert int(logged_in["max-age"]) > 11 * 3600
    assert http.cookies.get("teller_session") != before  # a new session id at login (no session fixation)
    page = http.get(f"/sites/{site.site_id}?period=7d")
    assert page.status_code == 200 and "anna@shop.example" in page.text and "Log out" in page.text
    assert page.headers["cache-control"] == "private, no-store"

    stolen = http.cookies.get("teller_session")
    assert stolen is not None
    assert http.post("/logout", data={"csrf_token": csrf_token(page.text)}, follow_redirects=False).headers[
        "location"] == "/login"
    assert http.get("/", follow_redirects=False).status_code == 303
    # A copy of the cookie taken before logout no longer opens anything.
    with TestClient(build_app(runtime), client=(VISITOR_IP, 50124)) as other:
        use_cookie(other, stolen)
        assert other.get("/", follow_redirects=False).status_code == 303
        assert other.get("/api/v1/sites").status_code == 401


def test_a_tampered_or_foreign_cookie_is_rejected(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime)
    anna = add_user(runtime, "anna@shop.example", sites={site.site_id: "viewer"})
    add_user(runtime, "root@host.example", super_admin=True)
    assert log_in(http, "anna@shop.example").status_code == 303
    value = http.cookies["teller_session"]
    assert http.get("/api/v1/sites").status_code == 200

    codec = SessionCodec(runtime.settings.secret_key, secure=False)
    payload, _, signature = value.rpartition(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    forged = SessionCodec("not-our-secret-key", secure=False)
    root = UserStore(runtime.store).by_email("root@host.example")
    assert root is not None
    as_root = forged.logged_in(root)  # a well-formed session for the super-admin, signed with another key
    response = Response()
    forged.write(response, as_root)
    forged_value = SimpleCookie(response.headers["set-cookie"])["teller_session"].value
    for bad in (payload + "." + flipped, forged_value, value[:-5], "garbage"):
        use_cookie(http, bad)
        assert http.get("/api/v1/sites").status_code == 401, bad
        assert http.get("/", follow_redirects=False).status_code == 303

    # Past its expiry a correctly signed session is refused too.
    user = UserStore(runtime.store).by_email(anna.email)
    assert user is not None
    expired = dataclasses.replace(codec.logged_in(user), expires=int(time.time()) - 1)
    response = Response()
    codec.write(response, dataclasses.replace(expired, expires=int(time.time()) + 60))
    fresh_value = SimpleCookie(response.headers["set-cookie"])["teller_session"].value
    use_cookie(http, fresh_value)
    assert http.get("/api/v1/sites").status_code == 200  # the same session, not yet expired, works
    response = Response()
    codec.write(response, expired)
    use_cookie(http, SimpleCookie(response.headers["set-cookie"])["teller_session"].value)
    assert http.get("/api/v1/sites").status_code == 401


def test_a_new_password_ends_the_users_sessions(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime)
    add_user(runtime, "anna@shop.example", sites={site.site_id: "admin"})
    assert log_in(http, "anna@shop.example").status_code == 303
    assert http.get("/api/v1/sites").status_code == 200
    runtime_admin(runtime, "test:ops").reset_password("anna@shop.example", "a brand new passphrase")
    assert http.get("/api/v1/sites").status_code == 401
    assert log_in(http, "anna@shop.example").status_code == 401
    assert log_in(http, "anna@shop.example", "a brand new passphrase").status_code == 303


def test_session_cookie_is_secure_and_host_bound_behind_https(runtime: Runtime) -> None:
    server = dataclasses.replace(runtime.settings.server, public_url="https://stats.example/")
    secure = dataclasses.replace(runtime, settings=dataclasses.replace(runtime.settings, server=server))
    add_user(runtime, "root@host.example", super_admin=True)
    with TestClient(build_app(secure), base_url="https://testserver", client=(VISITOR_IP, 50123)) as client:
        form = client.get("/login")
        cookie = session_cookie(form)["__Host-teller_session"]
        assert cookie["secure"] and cookie["httponly"] and cookie["samesite"].lower() == "lax"
        assert cookie["path"] == "/" and not cookie["domain"]
        answer = log_in(client, "root@host.example")
        assert answer.status_code == 303 and session_cookie(answer)["__Host-teller_session"]["secure"]
        assert client.get("/api/v1/sites").status_code == 200


def test_stored_passwords_are_argon2id_hashes(runtime: Runtime) -> None:
    add_user(runtime, "anna@shop.example")
    [row] = runtime.store.client().query("SELECT password_hash FROM users").result_rows
    assert row[0].startswith("$argon2id$") and PASSWORD not in row[0]
    # Production's parameters (tests swap in cheap ones): RFC 9106's second recommendation or stronger.
    assert PRODUCTION_HASHER.type is Type.ID
    assert PRODUCTION_HASHER.memory_cost >= 64 * 1024 and PRODUCTION_HASHER.time_cost >= 3


def test_next_never_leads_off_site(runtime: Runtime, http: TestClient) -> None:
    add_user(runtime, "root@host.example", super_admin=True)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        answer = log_in(http, "root@host.example", next_path=target)
        assert answer.status_code == 303 and answer.headers["location"] == "/", target
    assert http.get("/login?next=//evil.example", follow_redirects=False).headers["location"] == "/"


# CSRF --------------------------------------------------------------------------------------------------------


def unsafe_routes(client: TestClient) -> Iterator[tuple[str, str]]:
    """Every (method, path) a browser form could send with the session cookie: all but GET/HEAD routes, except
    the admin API, which takes only its bearer token."""
    for route in starlette_app(client.app).routes:
        if isinstance(route, Route) and not route.path.startswith("/api/admin/"):
            for method in sorted((route.methods or set()) - {"GET", "HEAD"}):
                yield method, route.path.replace("{site_id}", "1")


def test_every_form_needs_the_sessions_csrf_token(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime)
    add_user(runtime, "anna@shop.example", sites={site.site_id: "viewer"})
    routes = list(unsafe_routes(http))
    assert ("POST", "/login") in routes and ("POST", "/logout") in routes and ("POST", "/login/totp") in routes

    for method, path in routes:  # no session at all
        assert http.request(method, path, data={"email": "anna@shop.example", "password": PASSWORD}).status_code \
            == 403, path
    form = http.get("/login")
    token = csrf_token(form.text)
    wrong_token = token[:-1] + ("1" if token.endswith("0") else "0")  # always differs from the real one
    for method, path in routes:  # a session, but no token or a wrong one
        assert http.request(method, path, data={"email": "anna@shop.example", "password": PASSWORD}).status_code \
            == 403, path
        assert http.request(method, path, data={"csrf_token": wrong_token, "email": "anna@shop.example",
                                                "password": PASSWORD}).status_code == 403, path
        assert http.request(method, path, headers={"X-CSRF-Token": "x" * 64}).status_code == 403, path
    assert http.get("/", follow_redirects=False).status_code == 303  # nothing logged anyone in

    # Another visitor's token does not fit this session.
    with TestClient(build_app(runtime), client=(VISITOR_IP, 50124)) as other:
        foreign = csrf_token(other.get("/login").text)
    refused = http.post("/login", data={"csrf_token": foreign, "email": "anna@shop.example", "password": PASSWORD})
    assert refused.status_code == 403

    # The right token works as a form field and as the X-CSRF-Token header.
    assert http.post("/login", data={"csrf_token": token, "email": "anna@shop.example", "password": PASSWORD},
                     follow_redirects=False).status_code == 303
    page = http.get("/")
    assert http.post("/logout", follow_redirects=False).status_code == 403
    assert http.get("/").status_code == 200  # still logged in
    assert http.post("/logout", headers={"X-CSRF-Token": csrf_token(page.text)},
                     follow_redirects=False).status_code == 303
    assert http.get("/", follow_redirects=False).status_code == 303


def test_oversized_or_multipart_forms_are_refused(runtime: Runtime, http: TestClient) -> None:
    token = csrf_token(http.get("/login").text)
    huge = http.post("/login", content=b"csrf_token=" + token.encode() + b"&pad=" + b"x" * 70_000,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert huge.status_code == 413
    multipart = http.post("/login", files={"file": b"x"}, data={"csrf_token": token})
    assert multipart.status_code == 403  # the token must come as a header with any other body


# Throttling -------------------------------------------------------------------------------------------------


def wrong_login(client: TestClient, email: str) -> int:
    return log_in(client, email, "not the password").status_code


def test_repeated_failures_lock_the_account_and_never_log_the_address(
        runtime: Runtime, http: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    add_user(runtime, "anna@shop.example", super_admin=True)
    add_user(runtime, "bob@shop.example", super_admin=True)
    caplog.set_level(logging.DEBUG)
    assert [wrong_login(http, "anna@shop.example") for _ in range(ACCOUNT_LIMIT)] == [401] * ACCOUNT_LIMIT
    locked = log_in(http, "anna@shop.example")  # the right password, but the account waits now
    assert locked.status_code == 429 and "Try again in" in locked.text
    assert 0 < int(locked.headers["retry-after"]) <= FIRST_WAIT_SECONDS
    assert http.get("/", follow_redirects=False).status_code == 303
    assert log_in(http, "bob@shop.example").status_code == 303  # another account from the same address is not
    logs = caplog.text
    assert "anna@shop.example" in logs  # the lockout is logged, by account
    assert VISITOR_IP not in logs and "145.97." not in logs  # never the address, not even masked


def test_many_failures_from_one_address_lock_it_for_every_account(runtime: Runtime, http: TestClient) -> None:
    add_user(runtime, "anna@shop.example", super_admin=True)
    statuses = [wrong_login(http, f"guess{index}@shop.example") for index in range(ADDRESS_LIMIT)]
    assert statuses == [401] * ADDRESS_LIMIT
    assert log_in(http, "anna@shop.example").status_code == 429
    # A visitor from another network (a different masked address) is not held back.
    with TestClient(build_app(runtime), client=("81.2.69.160", 40000)) as elsewhere:
        assert log_in(elsewhere, "anna@shop.example").status_code == 303


def test_throttle_waits_double_and_are_forgotten() -> None:
    now = [1000.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    keys = throttle.keys("Anna@Shop.example", "145.97.0.0")
    for _ in range(ACCOUNT_LIMIT - 1):
        throttle.failed(keys)
    assert throttle.wait_seconds(keys) == 0
    throttle.failed(keys)
    assert throttle.wait_seconds(keys) == FIRST_WAIT_SECONDS
    now[0] += FIRST_WAIT_SECONDS
    assert throttle.wait_seconds(keys) == 0
    throttle.failed(keys)  # the next failure doubles the wait
    assert throttle.wait_seconds(keys) == 2 * FIRST_WAIT_SECONDS
    now[0] += 2 * FIRST_WAIT_SECONDS
    throttle.failed(keys)
    assert throttle.wait_seconds(keys) == 4 * FIRST_WAIT_SECONDS
    for _ in range(30):
        throttle.failed(keys)
    assert throttle.wait_seconds(keys) == 3600  # at most an hour
    throttle.succeeded(keys[0])
    assert throttle.wait_seconds(keys[:1]) == 0 and throttle.wait_seconds(keys[1:]) == 3600  # the address still waits
    now[0] += 3600 + 15 * 60 + 1
    assert throttle.wait_seconds(keys) == 0
    throttle.failed(keys)
    assert throttle.wait_seconds(keys) == 0  # old failures were forgotten: counting starts again


# TOTP --------------------------------------------------------------------------------------------------------


def test_totp_second_factor(runtime: Runtime, http: TestClient) -> None:
    site = add_site(runtime)
    add_user(runtime, "anna@shop.example", sites={site.site_id: "admin"})
    assert log_in(http, "anna@shop.example").status_code == 303
    assert http.get("/").status_code == 200
    secret, account = runtime_admin(runtime, "test:ops").enable_totp("anna@shop.example")
    assert account.totp
    assert http.get("/", follow_redirects=False).status_code == 303  # enabling TOTP ended the session

    stored = UserStore(runtime.store).by_email("anna@shop.example")
    assert stored is not None and secret not in stored.totp_secret  # sealed, not stored as is
    assert unseal(stored.totp_secret, runtime.settings.secret_key) == secret

    answer = log_in(http, "anna@shop.example", next_path="/sites/1")
    assert answer.status_code == 303 and answer.headers["location"] == "/login/totp?next=%2Fsites%2F1"
    assert http.get("/", follow_redirects=False).status_code == 303  # a password alone is not a login
    assert http.get("/api/v1/sites").status_code == 401
    form = http.get(answer.headers["location"])
    assert form.status_code == 200 and 'name="code"' in form.text
    token = csrf_token(form.text)
    totp = pyotp.TOTP(secret)
    wrong = f"{(int(totp.now()) + 1) % 1_000_000:06d}"
    refused = http.post("/login/totp", data={"csrf_token": token, "code": wrong, "next": "/sites/1"},
                        follow_redirects=False)
    assert refused.status_code == 401 and "Wrong or used code" in refused.text
    code = totp.now()
    accepted = http.post("/login/totp", data={"csrf_token": token, "code": code, "next": "/sites/1"},
                         follow_redirects=False)
    assert accepted.status_code == 303 and accepted.headers["location"] == "/sites/1"
    assert http.get("/sites/1").status_code == 200

    # The same code cannot log in twice (someone who saw it over a shoulder, a replayed request); the server
    # remembers used codes in memory, so this is another browser on the same server.
    with TestClient(http.app, client=(VISITOR_IP, 50124)) as other:
        assert log_in(other, "anna@shop.example").status_code == 303
        form = other.get("/login/totp")
        replay = other.post("/login/totp", data={"csrf_token": csrf_token(form.text), "code": code},
                            follow_redirects=False)
        assert replay.status_code == 401

    runtime_admin(runtime, "test:ops").disable_totp("anna@shop.example")
    assert log_in(http, "anna@shop.example").headers["location"] == "/"


def test_totp_codes_are_throttled_and_a_bare_totp_page_sends_to_login(runtime: Runtime, http: TestClient) -> None:
    assert http.get("/login/totp", follow_redirects=False).headers["location"] == "/login"
    add_user(runtime, "anna@shop.example", super_admin=True)
    runtime_admin(runtime, "test:ops").enable_totp("anna@shop.example")
    assert log_in(http, "anna@shop.example").status_code == 303
    token = csrf_token(http.get("/login/totp").text)
    statuses = [http.post("/login/totp", data={"csrf_token": token, "code": "000000"}).status_code
                for _ in range(ACCOUNT_LIMIT + 1)]
    assert statuses[-1] == 429 and set(statuses[:-1]) <= {401}

    # The wait for the code is short: a session whose password step is too old is sent back to the login.
    codec = SessionCodec(runtime.settings.secret_key, secure=False)
    user = UserStore(runtime.store).by_email("anna@shop.example")
    assert user is not None
    waiting = codec.awaiting_code(codec.anonymous(), user)
    for pending_until, location in ((int(time.time()) + 60, None), (int(time.time()) - 1, "/login")):
        response = Response()
        codec.write(response, dataclasses.replace(waiting, pending_until=pending_until))
        use_cookie(http, SimpleCookie(response.headers["set-cookie"])["teller_session"].value)
        answer = http.get("/login/totp", follow_redirects=False)
        assert answer.headers.get("location") == location and answer.status_code == (303 if location else 200)


def test_totp_helpers() -> None:
    secret = pyotp.random_base32()
    at = 1_700_000_000.0
    code = pyotp.TOTP(secret).at(at)
    assert matching_step(secret, code, at) == int(at // 30)
    assert matching_step(secret, code, at + 30) == int(at // 30)  # one step of drift is allowed
    assert matching_step(secret, code, at + 90) is None
    assert matching_step(secret, "12345", at) is None and matching_step(secret, "abcdef", at) is None
    sealed = seal(secret, "key one")
    assert seal(secret, "key one") != sealed  # a new nonce each time
    assert unseal(sealed, "key one") == secret
    with pytest.raises(ValueError, match="another secret_key"):
        unseal(sealed, "key two")


def test_session_helpers_round_trip() -> None:
    codec = SessionCodec("a secret key", secure=False)
    session = codec.anonymous()
    response = Response()
    codec.write(response, session)
    value = SimpleCookie(response.headers["set-cookie"])["teller_session"].value
    request = Request({"type": "http", "headers": [(b"cookie", f"teller_session={value}".encode())]})
    assert codec.read(request) == session
    assert isinstance(session, Session) and not session.logged_in
    assert codec.csrf_ok(session, codec.csrf_token(session))
    assert not codec.csrf_ok(session, codec.csrf_token(codec.anonymous())) and not codec.csrf_ok(None, "x")
