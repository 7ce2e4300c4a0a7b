"""Shared fixtures: one embedded ClickHouse engine per test process, one database per test.

chDB allows one engine path per process, so every test in this process uses the same engine directory and
isolates itself by database name. Tests that need a whole server (privacy, browser) start `teller serve` in
a subprocess with its own data directory.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser
from starlette.testclient import TestClient

from ingest.store import Store
from teller import passwords
from teller.app import build_app
from teller.config import Settings, load_settings, write_default_config
from teller.runtime import Runtime
from tests.browser import chromium
from tests.server import TellerServer

# A real Dutch address (DB-IP resolves its /16 to the Netherlands), used as the "visitor" in HTTP tests.
VISITOR_IP = "145.97.183.201"
CHROME_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/131.0.0.0 Safari/537.36")


# The parameters production hashes passwords with, before the fixture below swaps them for tests.
PRODUCTION_HASHER = passwords.HASHER


@pytest.fixture(autouse=True)
def quick_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with production parameters (64 MiB, 3 passes) takes most of a second on a busy 2-core machine;
    in-process tests hash with cheap ones. Each hash records its parameters, so verifying follows them. Servers
    started as subprocesses (TellerServer) hash with the production parameters."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def engine_dsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"chdb://{tmp_path_factory.mktemp('chdb-engine')}"


@pytest.fixture
def database() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def config_path(tmp_path: Path, engine_dsn: str, database: str) -> Path:
    path = tmp_path / "teller.toml"
    write_default_config(path, data_dir=str(tmp_path / "data"))
    text = path.read_text()
    text = text.replace('clickhouse_dsn = ""', f'clickhouse_dsn = "{engine_dsn}"')
    text = text.replace('database = "teller"', f'database = "{database}"')
    # Short segments so tests see rows quickly; the spool still batches.
    text = text.replace("segment_seconds = 1.0", "segment_seconds = 0.1")
    path.write_text(text)
    return path


@pytest.fixture
def settings(config_path: Path) -> Settings:
    return load_settings(config_path, environ={})


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    store = Store(settings.storage.clickhouse_dsn, settings.storage.database)
    yield store
    store.drop_database()
    store.close()


@pytest.fixture
def runtime(settings: Settings, store: Store) -> Iterator[Runtime]:
    runtime = Runtime.open(settings, store=store)
    yield runtime
    runtime.stop_ingest()
    runtime.geo.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium, one per test module."""
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module", name="server")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TellerServer]:
    """A real `teller serve` shared by a test module (test files that need a fresh one define their own)."""
    server = TellerServer(tmp_path_factory.mktemp("teller")).start()
    yield server
    server.stop()


@pytest.fixture
def http(runtime: Runtime) -> Iterator[TestClient]:
    """A client whose requests come from VISITOR_IP, through the whole ASGI stack."""
    with TestClient(build_app(runtime), client=(VISITOR_IP, 50123)) as client:
        yield client


@pytest.fixture
def dashboard(runtime: Runtime, http: TestClient) -> TestClient:
    """`http`, logged in as a super-admin: for tests about the dashboard's and the Stats API's numbers."""
    from tests.helpers import add_user, log_in  # tests.helpers imports this module

    add_user(runtime, "ops@teller.test", super_admin=True)
    assert log_in(http, "ops@teller.test").status_code == 303
    return http
