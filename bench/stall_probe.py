"""A latency probe: one extra connection sending beacons one after another while wrk loads the server.

wrk's percentiles say how slow the slow requests are; the probe says when they happened. Spikes that repeat
at a fixed period point at periodic work in the server (Teller seals and ships a spool segment every
`segment_seconds`, refreshes its site cache every 10 s). Used by `ingest_throughput.py --probe`.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field

from bench.traffic_mix import Beacon


@dataclass(slots=True)
class ProbeResult:
    samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, latency ms)

    def percentile(self, fraction: float) -> float:
        latencies = sorted(latency for _, latency in self.samples)
        return latencies[min(len(latencies) - 1, int(len(latencies) * fraction))] if latencies else 0.0

    def spikes(self, factor: float = 2.5) -> list[tuple[float, float]]:
        """Samples slower than `factor` times the median, with their time."""
        threshold = self.percentile(0.5) * factor
        return [(at, latency) for at, latency in self.samples if latency > threshold]

    def summary(self) -> list[str]:
        spikes = self.spikes()
        lines = [f"probe: {len(self.samples)} sequential beacons, p50 {self.percentile(0.5):.1f} ms, "
                 f"p99 {self.percentile(0.99):.1f} ms, max {self.percentile(1.0):.1f} ms; "
                 f"{len(spikes)} slower than 2.5x the median, at (s: ms):"]
        lines += ["  " + ", ".join(f"{at:.2f}: {latency:.0f}" for at, latency in spikes[index:index + 10])
                  for index in range(0, len(spikes), 10)]
        return lines


class StallProbe:
    def __init__(self, port: int, beacons: list[Beacon]) -> None:
        self.port = port
        self.beacons = beacons
        self.result = ProbeResult()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stall-probe", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> ProbeResult:
        self._stop.set()
        self._thread.join(timeout=30)
        return self.result

    def _run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        started = time.perf_counter()
        try:
            for index in range(10**9):
                if self._stop.is_set():
                    break
                beacon = self.beacons[index % len(self.beacons)]
                sent = time.perf_counter()
                connection.request("GET", beacon.path, headers=beacon.headers)
                connection.getresponse().read()
                self.result.samples.append((sent - started, (time.perf_counter() - sent) * 1000))
        except OSError:
            pass  # the server went away; the samples so far stand
        finally:
            connection.close()
