"""`teller site …`, `teller snippet` and `--help` on every command, against the real embedded ClickHouse."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.store import Store
from teller.cli import main
from teller.runtime import Runtime
from tests.helpers import event_rows, tracking_request

COMMANDS = [[], ["init"], ["serve"], ["migrate"], ["demo"], ["snippet"], ["site"], ["site", "add"], ["site", "list"],
            ["site", "update"], ["site", "delete"], ["token"], ["token", "add"], ["token", "list"],
            ["token", "revoke"], ["retention"], ["retention", "audit"], ["subject"], ["subject", "find"],
            ["subject", "export"], ["subject", "delete"], ["user"], ["user", "add"], ["user", "list"],
            ["user", "reset-password"], ["user", "grant"], ["user", "revoke"], ["user", "delete"], ["user", "totp"],
            ["user", "totp", "enable"], ["user", "totp", "disable"], ["user", "token"], ["user", "token", "add"],
            ["user", "token", "list"], ["user", "token", "revoke"], ["share"], ["share", "add"], ["share", "list"],
            ["share", "revoke"], ["admin-token"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: " ".join(command) or "teller")
def test_every_command_has_help(command: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "teller.cli", *command, "--help"], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: teller")


def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args])


def test_site_add_list_update_delete(config_path: Path, store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config_path, "site", "add", "--name", "Bakkerij", "--domain", "bakkerij.example", "--domain",
               "https://www.bakkerij.example/", "--retention", "400d", "--timezone", "Europe/Amsterdam") == 0
    assert "Added site" in capsys.readouterr().out
    assert run(config_path, "site", "list", "--json") == 0
    [site] = json.loads(capsys.readouterr().out)
    assert site["domains"] == ["bakkerij.example", "www.bakkerij.example"]
    assert (site["retention_days"], site["timezone"]) == (400, "Europe/Amsterdam")

    assert run(config_path, "site", "update", str(site["site_id"]), "--retention", "6w", "--name", "Bakker") == 0
    assert "raw rows kept 42 days, rollups 761 days" in capsys.readouterr().out

    assert run(config_path, "snippet", "--site", str(site["site_id"])) == 0
    snippet = capsys.readouterr().out
    assert "_paq.push(['setSiteId', '1'])" in snippet and 'var u="http://127.0.0.1:8000/"' in snippet
    assert "u+'teller.js?idsite=1'" in snippet and "matomo.php?idsite=1&amp;rec=1" in snippet

    # Without a terminal and without --yes nothing is deleted.
    assert run(config_path, "site", "delete", str(site["site_id"])) == 2
    assert "pass --yes" in capsys.readouterr().err
    assert run(config_path, "site", "delete", str(site["site_id"]), "--yes") == 0
    assert run(config_path, "site", "list") == 0
    assert "No sites yet" in capsys.readouterr().out


def test_bad_site_input_is_refused_with_a_reason(config_path: Path, store: Store,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config_path, "site", "add", "--name", "X", "--domain", "not a domain") == 2
    assert "is not a host name" in capsys.readouterr().err
    assert run(config_path, "site", "add", "--name", "X", "--domain", "x.example", "--timezone", "Mars/Olympus") == 2
    assert "IANA zone" in capsys.readouterr().err
    assert run(config_path, "site", "add", "--name", "X", "--domain", "x.example", "--retention", "1000y") == 2
    assert "--retention" in capsys.readouterr().err
    assert run(config_path, "site", "update", "42", "--name", "Y") == 2
    assert "no site with id 42" in capsys.readouterr().err


def test_site_delete_removes_its_data_and_keeps_others(runtime: Runtime, config_path: Path) -> None:
    keep = runtime.registry.add("Keep", ["keep.example"], "UTC", 30)
    gone = runtime.registry.add("Gone", ["gone.example"], "UTC", 30)
    runtime.sites.invalidate()
    for site in (keep, gone):
        runtime.pipeline.handle(tracking_request(site))
    runtime.drain()
    assert run(config_path, "site", "delete", str(gone.site_id), "--yes") == 0
    assert event_rows(runtime, gone) == []
    assert len(event_rows(runtime, keep)) == 1
    assert [site.site_id for site in runtime.registry.list()] == [keep.site_id]
