"""Ingest throughput: Teller against a bare Starlette app, same uvicorn, same wrk load, in one run.

    .venv/bin/python bench/ingest_throughput.py [--duration 20] [--connections 32]

1. Starts Teller (`teller serve`, embedded chDB, temporary data directory), adds a site with `teller site add`
   against the running server, stops it again, and builds the request mix for that site from the demo traffic
   generator (bench/traffic_mix.py): a Lua file under the temporary directory, read by bench/mix.lua.
2. Bare app (bench/bare_app.py under uvicorn): one beacon alone (the first visitor's wait), a warm-up, then
   `--duration` seconds of wrk while the server's CPU time is read from /proc.
3. Teller: the same. Then waits until the spool is empty and every tracked hit is shipped (/metrics), stops
   the server with SIGTERM, and counts the rows in a separate process (bench/store_report.py).
4. Prints requests/s, latency percentiles, non-2xx counts and CPU per request for both, the ratios, the
   stored-rows check (every hit acknowledged with a 2xx is stored exactly once) and bytes on disk per hit.

Load goes to 127.0.0.1 only and every wrk run is bounded in time. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench.profiling import Profiler
from bench.servers import (
    REPO,
    BareProcess,
    CpuTimes,
    ServerProcess,
    TellerProcess,
    clean_env,
    cpu_times,
    machine_busy_seconds,
)
from bench.stall_probe import ProbeResult, StallProbe
from bench.traffic_mix import Beacon, MixSummary, demo_beacons, summarise, write_lua
from bench.wrk import WrkResult, run_wrk, wrk_binary

DOMAIN = "shop.example"
TARGET_RATIO = 0.60
TARGET_P99_MS = 20.0
TRACKED = 'teller_hits_total{outcome="tracked"}'
SHIPPED_EVENTS = 'teller_rows_shipped_total{table="events"}'


@dataclass(frozen=True, slots=True)
class Options:
    duration: float
    warmup: float
    connections: int
    threads: int
    hits: int
    drain_timeout: float
    fsync_interval_ms: int | None
    segment_seconds: float | None
    profile: bool
    probe: bool
    keep: bool
    output: Path | None

    def ingest_overrides(self) -> dict[str, str]:
        overrides = {"fsync_interval_ms": self.fsync_interval_ms, "segment_seconds": self.segment_seconds}
        return {key: str(value) for key, value in overrides.items() if value is not None}


@dataclass(slots=True)
class Measurement:
    label: str
    first_hit_ms: float  # one beacon right after start-up, alone: the first visitor's wait
    warmup: WrkResult | None
    main: WrkResult
    cpu: CpuTimes  # the server's CPU time during the measured run
    machine_busy: float  # CPU seconds of the whole machine during the measured run
    probe: ProbeResult | None = None
    log_problems: list[str] = field(default_factory=list)

    @property
    def runs(self) -> list[WrkResult]:
        return [run for run in (self.warmup, self.main) if run is not None]

    def others_cores(self) -> float:
        """Cores busy with anything but the server and wrk: other processes, the kernel, the probe."""
        return max(0.0, self.machine_busy - self.cpu.total - self.main.cpu_seconds) / self.main.seconds

    def cpu_us_per_request(self) -> float:
        return self.cpu.total / self.main.requests * 1e6 if self.main.requests else 0.0


@dataclass(slots=True)
class EndToEnd:
    drain_seconds: float = 0.0
    stop_seconds: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)
    stored: dict[str, Any] = field(default_factory=dict)


def parse_options(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20, help="seconds of measured load per app (20)")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load before measuring (5; 0: none)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--hits", type=int, default=40_000,
                        help="distinct requests in the mix (40000: Teller sees no hit twice in a 20 s run)")
    parser.add_argument("--drain-timeout", type=float, default=180, help="seconds to wait for the spool (180)")
    parser.add_argument("--fsync-interval-ms", type=int, default=None,
                        help="diagnostic: Teller's [ingest] fsync_interval_ms (default: Teller's own, 5)")
    parser.add_argument("--segment-seconds", type=float, default=None,
                        help="diagnostic: Teller's [ingest] segment_seconds (default: Teller's own, 1.0)")
    parser.add_argument("--profile", action="store_true",
                        help="sample Teller with py-spy during its measured run (slows it down a little)")
    parser.add_argument("--probe", action="store_true",
                        help="one extra connection sends beacons one by one and reports when the slow ones happen")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, data)")
    parser.add_argument("--json", dest="output", type=Path, default=REPO / "bench" / "results" /
                        "ingest_throughput.json", help="write the figures here (default bench/results/...)")
    args = parser.parse_args(argv)
    if args.connections < args.threads or args.duration <= 0:
        parser.error("need --connections >= --threads and a positive --duration")
    return Options(args.duration, args.warmup, args.connections, args.threads, args.hits, args.drain_timeout,
                   args.fsync_interval_ms, args.segment_seconds, args.profile, args.probe, args.keep, args.output)


# Phases ------------------------------------------------------------------------------------------------------


def load(server: ServerProcess, requests: Path, options: Options, seconds: float) -> WrkResult:
    return run_wrk(server.url + "/", requests, threads=options.threads, connections=options.connections,
                   seconds=seconds)


def first_hit(server: ServerProcess, beacon: Beacon) -> float:
    """Milliseconds to answer one beacon right after start-up: what the first visitor waits."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        started = time.perf_counter()
        connection.request("GET", beacon.path, headers=beacon.headers)
        response = connection.getresponse()
        response.read()
        elapsed = (time.perf_counter() - started) * 1000
    finally:
        connection.close()
    if response.status >= 300:
        raise RuntimeError(f"{server.name} answered the first beacon with {response.status}")
    return elapsed


def measure(server: ServerProcess, requests: Path, beacons: list[Beacon], options: Options,
            profiler: Profiler | None = None) -> Measurement:
    """Start the server, send it one beacon, warm it up, measure it; the caller stops it."""
    print(f"[{server.name}] starting", flush=True)
    server.start()
    first_hit_ms = first_hit(server, beacons[-1])
    warmup = load(server, requests, options, options.warmup) if options.warmup > 0 else None
    print(f"[{server.name}] {options.duration:g} s of wrk, {options.connections} connections", flush=True)
    if profiler is not None:
        profiler.start(server.pid, options.duration)
    probe = StallProbe(server.port, beacons) if options.probe else None
    if probe is not None:
        probe.start()
    before, machine_before = cpu_times(server.pid), machine_busy_seconds()
    main = load(server, requests, options, options.duration)
    cpu, machine_busy = cpu_times(server.pid) - before, machine_busy_seconds() - machine_before
    probed = probe.stop() if probe is not None else None
    if profiler is not None:
        profiler.finish()
    print(main.output, flush=True)
    return Measurement(server.name, first_hit_ms, warmup, main, cpu, machine_busy, probed)


def prepare_site(teller: TellerProcess, requests: Path, hits: int) -> tuple[MixSummary, list[Beacon]]:
    """Start Teller once to add the site through the CLI, stop it, write the request mix for that site."""
    print("[setup] starting Teller to add the site", flush=True)
    teller.start()
    site_id = teller.add_site("Fietsenwinkel De Spaak", DOMAIN)
    teller.stop()
    beacons = demo_beacons(site_id, DOMAIN, hits)
    write_lua(beacons, requests)
    summary = summarise(beacons)
    print(f"[setup] site {site_id} ({DOMAIN}); mix: {summary}", flush=True)
    return summary, beacons


def fsync_probe(directory: Path, rounds: int = 200) -> dict[str, float]:
    """Milliseconds per fsync of a 4 KiB append in `directory`: what one group commit costs on this disk."""
    path = directory / "fsync-probe"
    took = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(rounds):
            os.write(fd, b"x" * 4096)
            started = time.perf_counter()
            os.fsync(fd)
            took.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    took.sort()
    return {"p50": took[len(took) // 2], "p99": took[int(len(took) * 0.99) - 1], "max": took[-1]}


def wait_drained(teller: TellerProcess, timeout: float) -> tuple[float, dict[str, float]]:
    """Poll /metrics until the spool is empty and every tracked hit's event row is shipped."""
    started = time.monotonic()
    metrics = teller.metrics()
    while time.monotonic() - started < timeout:
        metrics = teller.metrics()
        if metrics.get("teller_spool_bytes", 1) == 0 and metrics.get(SHIPPED_EVENTS, 0) >= metrics.get(TRACKED, 0):
            break
        time.sleep(0.2)
    else:
        print(f"[teller] the spool did not drain within {timeout:g} s; stopping anyway", flush=True)
    return time.monotonic() - started, metrics


def store_report(config: Path) -> dict[str, Any]:
    """Counts and bytes from a separate process, after the server has stopped."""
    result = subprocess.run([sys.executable, "-m", "bench.store_report", str(config)], capture_output=True,
                            text=True, env=clean_env(), cwd=REPO, timeout=300, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"bench.store_report failed: {result.stderr}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def end_to_end(teller: TellerProcess, options: Options) -> EndToEnd:
    outcome = EndToEnd()
    outcome.drain_seconds, outcome.metrics = wait_drained(teller, options.drain_timeout)
    print(f"[teller] spool drained {outcome.drain_seconds:.1f} s after the load stopped; stopping (SIGTERM)",
          flush=True)
    outcome.stop_seconds = teller.stop()
    outcome.stored = store_report(teller.config)
    return outcome


# Report ------------------------------------------------------------------------------------------------------


def row(measurement: Measurement) -> str:
    run = measurement.main
    return (f"| {measurement.label} | {run.rate:,.0f} | {run.latency_ms('p50'):.2f} | {run.latency_ms('p90'):.2f} | "
            f"{run.latency_ms('p99'):.2f} | {run.latency_ms('max'):.1f} | {run.requests:,} | {run.not_ok} | "
            f"{run.socket_errors} | {measurement.cpu.total / run.seconds:.2f} | "
            f"{measurement.cpu.main_thread / run.seconds:.2f} | {measurement.cpu_us_per_request():,.0f} | "
            f"{run.cpu_seconds / run.seconds:.2f} | {measurement.others_cores():.2f} |")


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def throughput_lines(bare: Measurement, teller: Measurement) -> list[str]:
    ratio = teller.main.rate / bare.main.rate if bare.main.rate else 0.0
    p99 = teller.main.latency_ms("p99")
    return [
        "| app | requests/s | p50 ms | p90 ms | p99 ms | max ms | responses | non-2xx | socket errors | "
        "server CPU (cores) | event-loop thread CPU (cores) | server CPU µs/request | wrk CPU (cores) | "
        "rest of the machine (cores) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        row(bare), row(teller), "",
        f"Teller/bare requests/s: {ratio:.2f} (target >= {TARGET_RATIO:.2f}: {verdict(ratio >= TARGET_RATIO)})",
        f"Teller/bare p50 latency: {teller.main.latency_us['p50'] / bare.main.latency_us['p50']:.2f}",
        f"Teller/bare server CPU per request: {teller.cpu_us_per_request() / bare.cpu_us_per_request():.2f}",
        f"Teller p99: {p99:.2f} ms (target < {TARGET_P99_MS:g} ms: {verdict(p99 < TARGET_P99_MS)})",
        f"first beacon after (re)start, alone: bare {bare.first_hit_ms:.1f} ms, Teller {teller.first_hit_ms:.1f} ms",
    ]


def accounting_lines(teller: Measurement, e2e: EndToEnd) -> list[str]:
    acknowledged = 1 + sum(run.ok for run in teller.runs)  # 1: the first beacon, sent alone
    issued = 1 + sum(run.issued for run in teller.runs)
    stored, tracked = int(e2e.stored["events"]), int(e2e.metrics.get(TRACKED, 0))
    in_flight = issued - 1 - sum(run.requests for run in teller.runs)
    exact = stored == tracked and acknowledged <= stored <= issued
    return [
        f"2xx responses received (first beacon + warm-up + measured): {acknowledged:,}",
        f"requests written: {issued:,} ({in_flight} were in flight when wrk stopped: the server may have stored "
        "them, wrk did not read the answers)",
        f"hits Teller counted as tracked (/metrics): {tracked:,}",
        f"rows in events (separate process, after SIGTERM): {stored:,}",
        f"check: events == tracked and 2xx <= events <= written: {'OK' if exact else 'MISMATCH'} "
        f"(events - 2xx = {stored - acknowledged})",
        f"visits (sum(sign) in sessions): {e2e.stored['visits']:,}; dropped hits: {e2e.stored['dropped_hits']:,}",
        f"spool drained {e2e.drain_seconds:.1f} s after the load; SIGTERM to exit took {e2e.stop_seconds:.1f} s",
    ]


def disk_lines(e2e: EndToEnd, fsync_ms: dict[str, float]) -> list[str]:
    parts = e2e.stored["parts_after_optimize"]
    events = int(e2e.stored["events"]) or 1
    total = sum(int(table["bytes_on_disk"]) for table in parts.values())
    lines = [f"bytes on disk per stored hit ({' + '.join(sorted(parts))}, after OPTIMIZE TABLE ... FINAL): "
             f"{total / events:.1f}"]
    for name, table in sorted(parts.items()):
        lines.append(f"  {name}: {table['bytes_on_disk']:,} bytes in {table['parts']} part(s), {table['rows']:,} rows, "
                     f"{table['bytes_on_disk'] / events:.1f} bytes per hit, compression "
                     f"{table['uncompressed'] / max(table['compressed'], 1):.1f}x")
    lines.append(f"fsync of a 4 KiB append in the data directory: p50 {fsync_ms['p50']:.2f} ms, "
                 f"p99 {fsync_ms['p99']:.2f} ms, max {fsync_ms['max']:.2f} ms")
    return lines


def problem_lines(measurements: list[Measurement]) -> list[str]:
    lines = []
    for measurement in measurements:
        if measurement.probe is not None:
            lines += [f"{measurement.label} {line}" if index == 0 else line
                      for index, line in enumerate(measurement.probe.summary())]
        problems = measurement.log_problems
        lines.append(f"{measurement.label} log: {len(problems)} warning/error line(s)")
        lines += [f"  {line}" for line in problems[:10]]
    return lines


def measurement_json(measurement: Measurement) -> dict[str, Any]:
    def run_json(run: WrkResult | None) -> dict[str, Any] | None:
        if run is None:
            return None
        return {key: value for key, value in asdict(run).items() if key != "output"} | {"rate": run.rate}

    return {"first_hit_ms": measurement.first_hit_ms, "warmup": run_json(measurement.warmup),
            "main": run_json(measurement.main), "cpu": asdict(measurement.cpu),
            "machine_busy_seconds": measurement.machine_busy,
            "cpu_us_per_request": measurement.cpu_us_per_request(), "log_problems": measurement.log_problems,
            "probe": measurement.probe.samples if measurement.probe is not None else None}


def report(options: Options, mix: MixSummary, bare: Measurement, teller: Measurement, e2e: EndToEnd,
           fsync_ms: dict[str, float]) -> None:
    sections = [throughput_lines(bare, teller), accounting_lines(teller, e2e), disk_lines(e2e, fsync_ms),
                problem_lines([bare, teller])]
    print("\n" + "\n\n".join("\n".join(section) for section in sections), flush=True)
    if options.output is None:
        return
    figures = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
               "options": asdict(options) | {"output": str(options.output)}, "mix": asdict(mix),
               "bare": measurement_json(bare), "teller": measurement_json(teller), "end_to_end": asdict(e2e),
               "fsync_ms": fsync_ms}
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nFigures written to {options.output}")


# Main --------------------------------------------------------------------------------------------------------


def run(options: Options, root: Path) -> None:
    requests = root / "requests.lua"
    teller = TellerProcess(root / "teller", options.ingest_overrides())
    bare = BareProcess(root / "bare")
    profiler = Profiler(root / "profile") if options.profile else None
    try:
        mix, beacons = prepare_site(teller, requests, options.hits)
        fsync_ms = fsync_probe(teller.data_dir)
        bare_run = measure(bare, requests, beacons, options)
        bare.stop()
        bare_run.log_problems = bare.log_problems()
        teller_run = measure(teller, requests, beacons, options, profiler)
        e2e = end_to_end(teller, options)
        teller_run.log_problems = teller.log_problems()
        report(options, mix, bare_run, teller_run, e2e, fsync_ms)
        if profiler is not None:
            profiler.report(REPO / "bench" / "results" / "teller_profile.txt")
    finally:
        if profiler is not None:
            profiler.stop()
        bare.stop()
        teller.stop()


def interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    options = parse_options(sys.argv[1:] if argv is None else argv)
    wrk_binary()
    # Ctrl+C and SIGTERM (a `timeout`, a CI runner) both unwind through the finally blocks that stop the servers,
    # wrk and py-spy; SIGINT is set explicitly because a shell may start background jobs with it ignored.
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    root = Path(tempfile.mkdtemp(prefix="teller-bench-"))
    try:
        run(options, root)
    except KeyboardInterrupt:
        print("\ninterrupted; servers and wrk stopped", file=sys.stderr)
        return 130
    finally:
        if options.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
