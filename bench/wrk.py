"""Runs wrk with bench/mix.lua and reads the numbers mix.lua's done() prints."""

from __future__ import annotations

import dataclasses
import json
import resource
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIX_LUA = Path(__file__).resolve().parent / "mix.lua"
RESULT_PREFIX = "BENCH_RESULT "


@dataclass(frozen=True, slots=True)
class WrkResult:
    seconds: float
    requests: int  # responses received
    issued: int  # requests written; issued - requests were in flight when wrk stopped
    statuses: dict[int, int]
    errors: dict[str, int]
    latency_us: dict[str, float]
    output: str  # wrk's own report
    cpu_seconds: float = 0.0  # what wrk itself used (user + system)

    @property
    def ok(self) -> int:
        return sum(count for status, count in self.statuses.items() if 200 <= status < 300)

    @property
    def not_ok(self) -> int:
        return self.requests - self.ok

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def socket_errors(self) -> int:
        return sum(count for name, count in self.errors.items() if name != "status")

    def latency_ms(self, name: str) -> float:
        return self.latency_us[name] / 1000


def wrk_binary() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    return path


def parse_result(output: str) -> WrkResult:
    line = next((line for line in output.splitlines() if line.startswith(RESULT_PREFIX)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no {RESULT_PREFIX.strip()} line:\n{output}")
    data: dict[str, Any] = json.loads(line[len(RESULT_PREFIX):])
    report = "\n".join(line for line in output.splitlines() if not line.startswith(RESULT_PREFIX))
    return WrkResult(seconds=data["duration_us"] / 1e6, requests=int(data["requests"]), issued=int(data["issued"]),
                     statuses={int(status): int(count) for status, count in data["statuses"].items()},
                     errors={name: int(count) for name, count in data["errors"].items()},
                     latency_us={name: float(value) for name, value in data["latency_us"].items()}, output=report)


def run_wrk(url: str, requests_file: Path, *, threads: int, connections: int, seconds: float,
            timeout_seconds: float = 10) -> WrkResult:
    """One bounded wrk run against `url` (127.0.0.1 only); wrk is killed if it outlives its duration."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"load only 127.0.0.1, not {url}")
    command = [wrk_binary(), f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", f"--timeout={timeout_seconds:g}s",
               "--latency", "-s", str(MIX_LUA), url, "--", str(requests_file)]
    before = _children_cpu()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=seconds + timeout_seconds + 60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"wrk exited with {process.returncode}:\n{output}")
    return dataclasses.replace(parse_result(output), cpu_seconds=_children_cpu() - before)


def _children_cpu() -> float:
    """CPU seconds of every waited-for child so far; the difference around one wrk run is wrk's own."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
