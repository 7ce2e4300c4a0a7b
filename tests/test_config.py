"""Config: the default file loads, TELLER_* overrides win, and every error names key, source and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from teller.config import ConfigError, load_settings, write_default_config


@pytest.fixture
def default_file(tmp_path: Path) -> Path:
    path = tmp_path / "teller.toml"
    write_default_config(path)
    return path


def test_default_config_loads_with_embedded_storage_and_bundled_geo(default_file: Path) -> None:
    settings = load_settings(default_file, environ={})
    assert settings.is_embedded
    assert settings.storage.clickhouse_dsn == f"chdb://{default_file.parent / 'teller-data' / 'clickhouse'}"
    assert settings.geo_database.name == "dbip-city-lite-latest.mmdb"
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8000)
    assert settings.privacy.ipv4_mask_bytes == 2 and settings.privacy.ipv6_prefix_bits == 48
    assert settings.privacy.default_retention_days == 395
    assert len(settings.secret_key) >= 32
    assert default_file.stat().st_mode & 0o077 == 0  # the secret key is readable by its owner only


def test_environment_overrides_the_file(default_file: Path) -> None:
    settings = load_settings(default_file, environ={"TELLER_SERVER_LISTEN": "0.0.0.0:9100",
                                                    "TELLER_PRIVACY_IPV4_MASK_BYTES": "3",
                                                    "TELLER_PROXY_TRUSTED": "10.0.0.0/8, ::1/128",
                                                    "TELLER_STORAGE_CLICKHOUSE_DSN": "http://u:p@ch:8123/analytics"})
    assert (settings.server.host, settings.server.port) == ("0.0.0.0", 9100)
    assert settings.server.public_url == "http://127.0.0.1:9100/"
    assert settings.privacy.ipv4_mask_bytes == 3
    assert [str(network) for network in settings.trusted_proxies] == ["10.0.0.0/8", "::1/128"]
    assert not settings.is_embedded


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("ipv4_mask_bytes = 2", "ipv4_mask_bytes = 5", "[privacy] ipv4_mask_bytes = 5 is not allowed: 1, 2 or 3"),
    ('listen = "127.0.0.1:8000"', 'listen = "nowhere"', "[server] listen = 'nowhere' is not allowed: host:port"),
    ('default_retention = "395d"', 'default_retention = "forever"', "[privacy] default_retention = 'forever'"),
    ("trusted = []", 'trusted = ["10.0.0.0/33"]', "[proxy] trusted = '10.0.0.0/33' is not allowed"),
    ('database = ""', 'database = "missing.mmdb"', "[geo] database = 'missing.mmdb'"),
    ('clickhouse_dsn = ""', 'clickhouse_dsn = "mysql://x"', "[storage] clickhouse_dsn = 'mysql://x'"),
    ("spool_budget_mb = 2048", 'spool_budget_mb = "lots"', "[ingest] spool_budget_mb = 'lots' is not allowed"),
])
def test_errors_name_key_file_and_what_is_allowed(default_file: Path, old: str, new: str, expected: str) -> None:
    text = default_file.read_text()
    assert old in text
    default_file.write_text(text.replace(old, new))
    with pytest.raises(ConfigError) as error:
        load_settings(default_file, environ={})
    assert str(default_file) in str(error.value)
    assert expected in str(error.value)


def test_environment_errors_name_the_variable(default_file: Path) -> None:
    expected = "environment variable TELLER_PRIVACY_IPV6_PREFIX_BITS = 96 is not allowed: 0 to 64"
    with pytest.raises(ConfigError, match=expected):
        load_settings(default_file, environ={"TELLER_PRIVACY_IPV6_PREFIX_BITS": "96"})


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml", environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("data_dir = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken, environ={})
