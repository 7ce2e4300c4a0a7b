"""The two servers under test, each in its own subprocess on a free 127.0.0.1 port.

`TellerProcess` runs `python -m teller.cli --config <tmp> serve` with embedded chDB in a temporary data
directory, as an operator would (the same approach as tests/server.py, written again so bench/ does not import
from tests/). `BareProcess` runs `uvicorn bench.bare_app:app` with Teller's uvicorn settings.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from teller.config import write_default_config

REPO = Path(__file__).resolve().parent.parent
_METRIC = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$", re.MULTILINE)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_env() -> dict[str, str]:
    """This environment without TELLER_* overrides, so only the benchmark's config file counts."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TELLER_")}
    env["PYTHONPATH"] = str(REPO)
    return env


def get(url: str, timeout: float = 5, headers: dict[str, str] | None = None) -> str:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - always http://127.0.0.1
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return str(response.read().decode("utf-8"))


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text to {"name" or "name{labels}": value}."""
    metrics: dict[str, float] = {}
    for match in _METRIC.finditer(text):
        key = match["name"] + (f"{{{match['labels']}}}" if match["labels"] else "")
        metrics[key] = float(match["value"])
    return metrics


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """CPU seconds (user + system) a process has used: all its threads, and its main thread alone."""

    total: float
    main_thread: float

    def __sub__(self, other: CpuTimes) -> CpuTimes:
        return CpuTimes(self.total - other.total, self.main_thread - other.main_thread)


def _stat_seconds(path: Path) -> float:
    # Fields after the parenthesised command name: state is index 0, utime 11, stime 12 (proc(5)).
    fields = path.read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: everything but idle and iowait)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def cpu_times(pid: int) -> CpuTimes:
    return CpuTimes(_stat_seconds(Path(f"/proc/{pid}/stat")), _stat_seconds(Path(f"/proc/{pid}/task/{pid}/stat")))


class ServerProcess(ABC):
    """A server subprocess whose output goes to files under its root; stop() is safe to call twice."""

    name = "server"

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / f"{self.name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @abstractmethod
    def command(self) -> list[str]:
        """The command line that starts this server."""

    @abstractmethod
    def health_path(self) -> str:
        """The path that answers 200 once the server is up."""

    def start(self, timeout: float = 90) -> None:
        with self.log.open("ab") as out:
            # A session of its own: Ctrl+C reaches only the benchmark, which then stops the server with SIGTERM.
            self.process = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT, env=clean_env(),
                                            cwd=REPO, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}: {self.log_text()[-2000:]}")
            try:
                get(self.url + self.health_path(), timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"{self.name} did not answer within {timeout} s: {self.log_text()[-2000:]}")

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self.process.pid

    def stop(self, timeout: float = 120) -> float:
        """SIGTERM (Teller commits and ships its spool), SIGKILL after `timeout`; returns the seconds it took."""
        started = time.monotonic()
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return 0.0
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        return time.monotonic() - started

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def log_problems(self) -> list[str]:
        """Log lines that name a warning, an error or a traceback."""
        markers = ("WARNING", "ERROR", "CRITICAL", "Traceback", "Exception")
        return [line for line in self.log_text().splitlines() if any(marker in line for marker in markers)]


class BareProcess(ServerProcess):
    name = "bare"

    def command(self) -> list[str]:
        # Teller's uvicorn.run(): one worker, no access log, no proxy headers, no server header, log level info.
        return [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--host", "127.0.0.1", "--port",
                str(self.port), "--workers", "1", "--no-access-log", "--no-proxy-headers", "--no-server-header",
                "--log-level", "info"]

    def health_path(self) -> str:
        return "/matomo.php"


class TellerProcess(ServerProcess):
    name = "teller"

    def __init__(self, root: Path, ingest: dict[str, str] | None = None) -> None:
        super().__init__(root)
        self.data_dir = root / "data"
        self.config = root / "teller.toml"
        self._metrics_token: str | None = None
        write_default_config(self.config, data_dir=str(self.data_dir))
        text = self.config.read_text(encoding="utf-8")
        text = text.replace('listen = "127.0.0.1:8000"', f'listen = "127.0.0.1:{self.port}"')
        # The load generator plays the TLS-terminating proxy: X-Forwarded-For carries the visitor's address.
        text = text.replace("trusted = []", 'trusted = ["127.0.0.1/32"]')
        for key, value in (ingest or {}).items():  # diagnostics; the reported figures use Teller's defaults
            text, count = re.subn(rf"^{key} = .*$", f"{key} = {value}", text, flags=re.MULTILINE)
            if count != 1:
                raise ValueError(f"[ingest] {key} is not in the default config")
        self.config.write_text(text, encoding="utf-8")

    def command(self) -> list[str]:
        return [sys.executable, "-m", "teller.cli", "--config", str(self.config), "serve"]

    def health_path(self) -> str:
        return "/healthz"

    def cli(self, *args: str, timeout: float = 120, stdin: str | None = None) -> str:
        """A `teller` command against this config, as an operator would run it in another terminal."""
        result = subprocess.run([sys.executable, "-m", "teller.cli", "--config", str(self.config), *args],
                                capture_output=True, text=True, env=clean_env(), cwd=REPO, check=False,
                                timeout=timeout, input=stdin)
        if result.returncode != 0:
            raise RuntimeError(f"teller {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def add_site(self, name: str, domain: str) -> int:
        self.cli("site", "add", "--name", name, "--domain", domain)
        sites = json.loads(self.cli("site", "list", "--json"))
        return int(next(site["site_id"] for site in sites if domain in site["domains"]))

    def metrics(self) -> dict[str, float]:
        """/metrics, with the Stats API token of a super-admin made for the benchmark (only they may read it)."""
        if self._metrics_token is None:
            self.cli("user", "add", "bench@teller.local", "--super-admin", "--password-stdin",
                     stdin=secrets.token_urlsafe(16) + "\n")
            shown = self.cli("user", "token", "add", "bench@teller.local", "--label", "benchmark")
            self._metrics_token = shown.split("shown only now:")[1].split()[0]
        return parse_metrics(get(self.url + "/metrics", headers={"Authorization": f"Bearer {self._metrics_token}"}))


def write_log_tail(stream: IO[str], process: ServerProcess, lines: int = 20) -> None:
    for line in process.log_text().splitlines()[-lines:]:
        stream.write(f"  | {line}\n")
