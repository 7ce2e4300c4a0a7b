"""How much shipping one spool segment slows the thread that runs the event loop, in one process.

    .venv/bin/python bench/shipping_stall.py [--hits 1200] [--rounds 4]

Builds a Runtime (embedded chDB in a temporary directory) with its shipper thread stopped, feeds `--hits`
demo hits through Pipeline.handle (about one 1-second segment at 1,200 hits/s), seals the segment, then ships
it from a thread while this (main) thread does what an event-loop iteration with 32 busy connections does
to the GIL: 64 small socket calls (each releases and retakes the GIL, like recv and send per connection).
It prints the time per such turn with nobody else running and while the shipper runs; the difference is time
the event loop would wait for the GIL while the shipper decodes and serialises rows in Python (the convoy
effect: a thread that retakes the GIL often waits up to sys.getswitchinterval() each time). No assertions.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.enrichment_costs import DOMAIN, demo_hits, tracking_request
from teller.config import load_settings, write_default_config
from teller.demo_traffic import DemoHit

SOCKET_CALLS = 64


def turn(left: socket.socket, right: socket.socket) -> None:
    for _ in range(SOCKET_CALLS // 2):
        left.send(b"x")
        right.recv(1)


def turns(left: socket.socket, right: socket.socket, work: threading.Thread | None, count: int = 200) -> list[float]:
    """Milliseconds per turn: `count` turns, or as many as fit while `work` runs."""
    took: list[float] = []
    if work is not None:
        work.start()
    while (work.is_alive() if work is not None else len(took) < count):
        started = time.perf_counter()
        turn(left, right)
        took.append((time.perf_counter() - started) * 1000)
    if work is not None:
        work.join()
    return sorted(took)


def describe(label: str, took: list[float]) -> str:
    return (f"{label}: {len(took)} turns, median {took[len(took) // 2]:.2f} ms, "
            f"p90 {took[int(len(took) * 0.9)]:.2f} ms, max {took[-1]:.1f} ms")


def ship_round(runtime: Any, hits: list[DemoHit]) -> str:
    for hit in hits:
        runtime.pipeline.handle(tracking_request(hit))
    runtime.spool.seal_now()
    left, right = socket.socketpair()
    try:
        idle = turns(left, right, None)
        started = time.perf_counter()
        busy = turns(left, right, threading.Thread(target=runtime.shipper.ship_pending))
        took = (time.perf_counter() - started) * 1000
    finally:
        left.close()
        right.close()
    share = len(busy) / (took / (sum(idle) / len(idle)))
    return (f"shipping {len(hits):,} hits took {took:.0f} ms; meanwhile the main thread did {100 * share:.0f}% of the "
            f"turns it does alone in that time\n  {describe('alone', idle)}\n  {describe('while shipping', busy)}")


def run(hits_per_round: int, rounds: int) -> None:
    from teller.runtime import Runtime

    root = Path(tempfile.mkdtemp(prefix="teller-shipping-"))
    try:
        write_default_config(root / "teller.toml", data_dir=str(root / "data"))
        runtime = Runtime.open(load_settings(root / "teller.toml", environ={}))
        try:
            runtime.shipper.stop()  # this script ships by hand
            site = runtime.registry.add("Fietsenwinkel De Spaak", [DOMAIN], "Europe/Amsterdam", 395)
            runtime.sites.invalidate()
            hits = [DemoHit({**hit.params, "idsite": str(site.site_id)}, hit.user_agent, hit.accept_language,
                            hit.client_ip, hit.at) for hit in demo_hits(hits_per_round * rounds)]
            for index in range(rounds):
                print(ship_round(runtime, hits[index * hits_per_round:(index + 1) * hits_per_round]), flush=True)
        finally:
            runtime.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hits", type=int, default=1200, help="hits per segment (1200)")
    parser.add_argument("--rounds", type=int, default=4, help="segments to ship (4; the first is slower)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    run(args.hits, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
