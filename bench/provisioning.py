"""Provisioning through the admin API as a hosting panel does it: create many sites one by one against a real
`teller serve` (embedded chDB, temporary data directory), then check the site list, the external-id lookup, a
retried create and the newest site's tracker script and snippet.

    .venv/bin/python -m bench.provisioning [--sites 1000]

Prints JSON: sites per second, create latency percentiles, and the mean latency of the first and last 100
creates (a create that reloaded every site would show here as a last-100 mean far above the first-100 one).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.servers import TellerProcess


class AdminClient:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                        "X-Teller-Actor": "bench%3Aprovisioning"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(  # noqa: S310 - always http://127.0.0.1
            self.base_url + path, method=method, headers=self.headers,
            data=json.dumps(body).encode() if body is not None else None)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(count: int, root: Path) -> dict[str, Any]:
    server = TellerProcess(root)
    server.start()
    try:
        admin = AdminClient(server.url, server.cli("admin-token").strip())
        latencies: list[float] = []
        site_ids: list[int] = []
        started = time.perf_counter()
        for number in range(count):
            body = {"name": f"Customer {number}", "domains": [f"customer{number}.example"],
                    "timezone": "Europe/Amsterdam", "retention_days": 395, "external_id": f"panel-{number}"}
            before = time.perf_counter()
            status, site = admin.call("POST", "/api/admin/sites", body)
            latencies.append(time.perf_counter() - before)
            if status != 201:
                raise RuntimeError(f"create {number} answered {status}: {site}")
            site_ids.append(site["site_id"])
        elapsed = time.perf_counter() - started
        newest = site_ids[-1]

        retry_status, retry = admin.call("POST", "/api/admin/sites", body)
        before = time.perf_counter()
        _, page = admin.call("GET", f"/api/admin/sites?limit=100&offset={count - 100 if count > 100 else 0}")
        page_ms = (time.perf_counter() - before) * 1000
        before = time.perf_counter()
        _, everything = admin.call("GET", "/api/admin/sites")
        list_all_ms = (time.perf_counter() - before) * 1000
        _, found = admin.call("GET", f"/api/admin/sites?external_id=panel-{count - 1}")
        _, snippet = admin.call("GET", f"/api/admin/sites/{newest}/snippet")
        with urllib.request.urlopen(f"{server.url}/teller.js?idsite={newest}", timeout=10) as response:  # noqa: S310
            script = response.read().decode()
        return {
            "sites": count,
            "seconds": round(elapsed, 2),
            "sites_per_second": round(count / elapsed, 1),
            "create_ms": {"p50": round(percentile(latencies, 0.5) * 1000, 1),
                          "p95": round(percentile(latencies, 0.95) * 1000, 1),
                          "max": round(max(latencies) * 1000, 1),
                          "first_100_mean": round(statistics.mean(latencies[:100]) * 1000, 1),
                          "last_100_mean": round(statistics.mean(latencies[-100:]) * 1000, 1)},
            "retry_answers_409_with_the_site": retry_status == 409 and retry.get("site_id") == newest,
            "page_of_100_ms": round(page_ms, 1),
            "page_total": page["total"],
            "page_last_id_is_newest": page["sites"][-1]["site_id"] == newest,
            "list_all_ms": round(list_all_ms, 1),
            "list_all_count": len(everything["sites"]),
            "external_id_lookup": [site["site_id"] for site in found["sites"]] == [newest],
            "snippet_names_newest": f"setSiteId', '{newest}'" in snippet["html"],
            "tracker_script_has_newest_config": script.startswith("(function(w,c,k){w.tellerConfig")
                                                and f"customer{count - 1}.example/" in script,
            "server_log_problems": server.log_problems(),
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="teller-provisioning-") as directory:
        print(json.dumps(run(args.sites, Path(directory)), indent=2))


if __name__ == "__main__":
    main()
