"""Micro-benchmarks of the enrichment steps of Teller's ingest path, in one process, with perf_counter_ns.

    .venv/bin/python bench/enrichment_costs.py [--unique-agents 20000] [--addresses 50000] [--hits 20000]

Expensive calls (never-seen user agents, uncached lookups, Pipeline.handle) are timed one by one, so the
table has percentiles; cheap cached calls are timed as a loop and reported as a mean. Nothing asserts on time.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Address, ip_address
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from bench.servers import REPO
from bench.traffic_mix import client_hints
from ingest import bots
from ingest.bots import bot_reason, is_listed_crawler
from ingest.geo import GeoLocator
from ingest.ipmask import ClientAddress
from ingest.pipeline import TrackingRequest
from ingest.referrers import classify_referrer
from ingest.spool import encode_line
from ingest.useragent import parse_user_agent
from teller.config import default_geo_database, load_settings, write_default_config
from teller.demo_traffic import DemoHit, generate_demo_hits

T = TypeVar("T")
DOMAIN = "shop.example"
_VERSIONED = re.compile(r"(Chrome|CriOS|Edg|Firefox|Version|SamsungBrowser|Gecko)/[\d.]+")
_RV = re.compile(r"rv:\d+\.\d+")
_OS = re.compile(r"(iPhone OS|CPU OS|Android|Mac OS X) [\d_.]+")
_RESERVED_FIRST_OCTETS = frozenset({0, 10, 100, 127, 169, 172, 192, 198, 203})


@dataclass(frozen=True, slots=True)
class Cost:
    name: str
    calls: int
    mean_ns: float
    p50_ns: float | None = None
    p99_ns: float | None = None
    note: str = ""

    def row(self) -> str:
        def us(value: float | None) -> str:
            return "" if value is None else f"{value / 1000:,.2f}"

        return (f"| {self.name} | {self.calls:,} | {us(self.mean_ns)} | {us(self.p50_ns)} | {us(self.p99_ns)} "
                f"| {self.note} |")


# Timing ----------------------------------------------------------------------------------------------------


def each(name: str, function: Callable[[T], object], items: Sequence[T], note: str = "") -> Cost:
    """Time every call on its own: for calls of a microsecond or more, with percentiles."""
    gc.collect()
    took = []
    clock = time.perf_counter_ns
    for item in items:
        started = clock()
        function(item)
        took.append(clock() - started)
    took.sort()
    return Cost(name, len(took), sum(took) / len(took), took[len(took) // 2], took[int(len(took) * 0.99) - 1], note)


def loop(name: str, function: Callable[[T], object], items: Sequence[T], note: str = "", rounds: int = 5) -> Cost:
    """Time whole passes over `items`: for cheap (cached) calls, where a clock read per call would dominate."""
    gc.collect()
    best = None
    for _ in range(rounds):
        started = time.perf_counter_ns()
        for item in items:
            function(item)
        elapsed = time.perf_counter_ns() - started
        best = elapsed if best is None else min(best, elapsed)
    return Cost(name, len(items) * rounds, (best or 0) / len(items), note=note + " (best of 5 passes)")


# Inputs ----------------------------------------------------------------------------------------------------


def demo_hits(count: int) -> list[DemoHit]:
    hits = list(generate_demo_hits(1, DOMAIN, days=count // 300 + 2, now=datetime.now(UTC)))
    return hits[:count]


def _vary(template: str, rng: random.Random) -> str:
    major = rng.randrange(60, 140)

    def version(match: re.Match[str]) -> str:
        return f"{match[1]}/{major}.{rng.randrange(10)}.{rng.randrange(9999)}.{rng.randrange(300)}"

    text = _VERSIONED.sub(version, template)
    text = _RV.sub(f"rv:{major}.0", text)
    return _OS.sub(lambda match: f"{match[1]} {rng.randrange(8, 19)}_{rng.randrange(8)}", text)


def unique_agents(templates: Iterable[str], count: int, seed: int = 1) -> list[str]:
    """`count` distinct user agents: real ones from the demo traffic with their version numbers varied."""
    rng = random.Random(seed)
    pool = sorted(set(templates))
    agents: dict[str, None] = {}
    while len(agents) < count:
        agents[_vary(rng.choice(pool), rng)] = None
    return list(agents)


def masked_addresses(count: int, seed: int = 2) -> list[str]:
    """`count` distinct public IPv4 addresses with two bytes zeroed, as Teller looks them up by default."""
    rng = random.Random(seed)
    networks = [first << 8 | second for first in range(1, 224) if first not in _RESERVED_FIRST_OCTETS
                for second in range(256)]
    return [str(IPv4Address(network << 16)) for network in rng.sample(networks, count)]


# Benchmarks ------------------------------------------------------------------------------------------------


def user_agent_costs(agents: list[str]) -> list[Cost]:
    parse_user_agent.cache_clear()
    unique = each("parse_user_agent, never-seen UA", parse_user_agent, agents, "ua-parser regexes")
    cached = loop("parse_user_agent, cached UA", parse_user_agent, agents, "lru_cache hit")
    return [unique, cached]


def bot_costs(agents: list[str]) -> list[Cost]:
    no_headers: dict[str, str] = {}
    parse_user_agent.cache_clear()
    bots._user_agent_reason.cache_clear()
    cold = each("bot_reason, never-seen UA", lambda agent: bot_reason(agent, no_headers), agents,
                "includes the UA parse it triggers")
    crawler = each("is_listed_crawler, never-seen UA", is_listed_crawler, agents, "crawler-user-agents patterns")
    cached = loop("bot_reason, cached UA", lambda agent: bot_reason(agent, no_headers), agents, "lru_cache hit")
    return [cold, crawler, cached]


def geo_costs(addresses: list[str]) -> list[Cost]:
    geo = GeoLocator(default_geo_database())
    try:
        first = each("GeoLocator.locate, first lookup", geo.locate, addresses, "mmdb read + cache insert")
        cached = loop("GeoLocator.locate, cached", geo.locate, addresses, "lru_cache hit")
        uncached = each("GeoLocator.locate_uncached", geo.locate_uncached, addresses, "mmdb read, no cache")
    finally:
        geo.close()
    return [first, cached, uncached]


def referrer_costs(hits: list[DemoHit], count: int) -> list[Cost]:
    def allows(host: str) -> bool:
        return host == DOMAIN

    def classify(hit: DemoHit) -> object:
        return classify_referrer(hit.params.get("urlref", ""), hit.params["url"], allows, hit.params)

    unique = [DemoHit({**hit.params, "urlref": f"https://blog{index}.example.net/post/{index}?ref=x"},
                      hit.user_agent, hit.accept_language, hit.client_ip, hit.at)
              for index, hit in enumerate(hits[:count])]
    return [loop("classify_referrer, demo mix", classify, hits, "search, social, internal, campaigns"),
            each("classify_referrer, never-seen host", classify, unique, "unknown website referrers")]


def request_costs(hits: list[DemoHit]) -> list[Cost]:
    queries = [urlencode(hit.params) for hit in hits]
    return [loop("parse_qsl of the beacon's query", lambda query: parse_qsl(query, keep_blank_values=True),
                 queries, "URL-encoded, as browsers send it")]


# Pipeline.handle -------------------------------------------------------------------------------------------


def tracking_request(hit: DemoHit) -> TrackingRequest:
    page = urlsplit(hit.params["url"])
    headers = {"user-agent": hit.user_agent, "accept": "*/*", "accept-language": hit.accept_language,
               "referer": f"{page.scheme}://{page.netloc}/", **client_hints(hit.user_agent)}
    return TrackingRequest(params=dict(hit.params), user_agent=hit.user_agent,
                           address=ClientAddress(ip_address(hit.client_ip)), received_at=datetime.now(UTC),
                           headers=headers)


def pipeline_costs(hits: list[DemoHit]) -> list[Cost]:
    """Pipeline.handle with a real Runtime (embedded chDB in a temporary directory, spool and shipper running)."""
    from teller.runtime import Runtime

    root = Path(tempfile.mkdtemp(prefix="teller-enrichment-"))
    try:
        config = root / "teller.toml"
        write_default_config(config, data_dir=str(root / "data"))
        runtime = Runtime.open(load_settings(config, environ={}))
        try:
            return _time_pipeline(runtime, hits)
        finally:
            runtime.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _time_pipeline(runtime: Any, hits: list[DemoHit]) -> list[Cost]:
    site = runtime.registry.add("Fietsenwinkel De Spaak", [DOMAIN], "Europe/Amsterdam", 395)
    runtime.sites.invalidate()
    hits = [DemoHit({**hit.params, "idsite": str(site.site_id)}, hit.user_agent, hit.accept_language,
                    hit.client_ip, hit.at) for hit in hits]
    parse_user_agent.cache_clear()
    handle = runtime.pipeline.handle
    first = each("Pipeline.handle, 1st pass", handle, [tracking_request(hit) for hit in hits],
                 "new visits; shipper thread ships each sealed segment meanwhile")
    captured: list[Any] = []
    append = runtime.spool.append

    def capture(records: Any) -> int:
        captured.append(records)
        return int(append(records))

    runtime.spool.append = capture
    second = each("Pipeline.handle, 2nd pass", handle, [tracking_request(hit) for hit in hits],
                  "visits continue; shipper thread busy with the 1st pass")
    runtime.spool.append = append
    runtime.drain()  # ship everything, then stop the shipper: the 3rd pass has the GIL to itself
    runtime.shipper.stop()
    third = each("Pipeline.handle, 3rd pass", handle, [tracking_request(hit) for hit in hits],
                 "as the 2nd, shipper thread stopped")
    encode = loop("spool encode_line (JSON + CRC) per hit", encode_line, captured, "part of Pipeline.handle")
    print(f"Pipeline outcomes over the three passes: {dict(runtime.pipeline.outcomes)}", flush=True)
    return [first, second, third, encode]


# Main ------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--unique-agents", type=int, default=20_000)
    parser.add_argument("--addresses", type=int, default=50_000)
    parser.add_argument("--hits", type=int, default=20_000, help="demo hits for the referrer and pipeline runs")
    parser.add_argument("--skip-pipeline", action="store_true", help="do not build a Runtime (chDB)")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "enrichment_costs.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    hits = demo_hits(args.hits)
    agents = unique_agents((hit.user_agent for hit in hits), args.unique_agents)
    costs = [*user_agent_costs(agents), *bot_costs(agents), *geo_costs(masked_addresses(args.addresses)),
             *referrer_costs(hits, args.unique_agents), *request_costs(hits)]
    if not args.skip_pipeline:
        costs += pipeline_costs(hits)
    print("| step | calls | mean µs | p50 µs | p99 µs | note |\n| --- | ---: | ---: | ---: | ---: | --- |")
    print("\n".join(cost.row() for cost in costs))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        figures = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
                   "args": vars(args) | {"json": str(args.json)}, "costs": [asdict(cost) for cost in costs]}
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"\nFigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
