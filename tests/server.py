"""`teller serve` in a subprocess with its own data directory: the way a user runs it.

Used by the tests that must see everything a real server writes (privacy) or that drive a real browser.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from teller.config import write_default_config

OPERATOR = "ops@teller.test"  # the super-admin whose API token summary() uses
OPERATOR_PASSWORD = "operator passphrase 1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TellerServer:
    def __init__(self, root: Path, config_changes: dict[str, str] | None = None) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.config = root / "teller.toml"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.stdout = root / "server.stdout"
        self.stderr = root / "server.stderr"
        write_default_config(self.config, data_dir=str(self.data_dir))
        text = self.config.read_text().replace('listen = "127.0.0.1:8000"', f'listen = "127.0.0.1:{self.port}"')
        text = text.replace("segment_seconds = 1.0", "segment_seconds = 0.1")
        for old, new in (config_changes or {}).items():
            assert old in text, old
            text = text.replace(old, new)
        self.config.write_text(text)
        self.process: subprocess.Popen[bytes] | None = None
        self._api_token: str | None = None

    def env(self) -> dict[str, str]:
        return {key: value for key, value in os.environ.items() if not key.startswith("TELLER_")}

    def start(self, timeout: float = 60) -> TellerServer:
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.process = subprocess.Popen([sys.executable, "-m", "teller.cli", "--config", str(self.config), "serve"],
                                            stdout=out, stderr=err, env=self.env())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"teller serve exited: {self.stderr.read_text()}")
            try:
                with urllib.request.urlopen(self.url + "healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"teller serve did not answer within {timeout} s: {self.stderr.read_text()}")

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run a `teller` command against this server's config, as an operator would in another terminal."""
        result = subprocess.run([sys.executable, "-m", "teller.cli", "--config", str(self.config), *args],
                                capture_output=True, text=True, env=self.env(), check=False, timeout=120,
                                input=stdin)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def add_user(self, email: str, password: str, *args: str) -> None:
        """`teller user add` with the password on stdin, as a provisioning script would."""
        self.cli("user", "add", email, "--password-stdin", *args, stdin=password + "\n")

    def api_token(self) -> str:
        """A super-admin's Stats API token, made (through the CLI and the server's admin API) on first use."""
        if self._api_token is None:
            self.add_user(OPERATOR, OPERATOR_PASSWORD, "--super-admin")
            shown = self.cli("user", "token", "add", OPERATOR, "--label", "tests")
            self._api_token = shown.split("shown only now:")[1].split()[0]
        return self._api_token

    def summary(self, site_id: int, period: str = "today") -> dict[str, Any]:
        request = urllib.request.Request(f"{self.url}api/v1/sites/{site_id}/summary?period={period}",
                                         headers={"Authorization": f"Bearer {self.api_token()}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return dict(json.load(response))

    def wait_for_pageviews(self, site_id: int, expected: int, timeout: float = 10) -> bool:
        """Poll the Stats API until the spool has shipped `expected` page views (it ships in segments)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.summary(site_id)["totals"]["pageviews"] >= expected:
                return self.summary(site_id)["totals"]["pageviews"] == expected
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        """SIGTERM, as a service manager would: the server flushes its queue and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        self.process = None

    def logs(self) -> bytes:
        return self.stdout.read_bytes() + self.stderr.read_bytes()
