"""Nothing acknowledged is lost: a server killed with SIGKILL while hits stream in comes back and delivers every
acknowledged hit exactly once; while ClickHouse is away hits are spooled, answered 503 past the disk budget, and
delivered when it is back."""

from __future__ import annotations

import collections
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from starlette.testclient import TestClient

from teller.app import build_app
from teller.runtime import Runtime
from tests.conftest import CHROME_UA
from tests.helpers import add_site, event_rows, super_admin_token
from tests.server import TellerServer

REPO = Path(__file__).resolve().parent.parent


def send(base: str, path: str) -> int:
    query = urlencode({"idsite": "1", "rec": "1", "url": f"https://durable.example{path}", "send_image": "0"})
    request = urllib.request.Request(f"{base}matomo.php?{query}", headers={"User-Agent": CHROME_UA})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0  # the server died mid-request: not acknowledged


def stored_pathnames(config: Path) -> collections.Counter[str]:
    dump = subprocess.run([sys.executable, "-m", "tests.dump_tables", str(config)], cwd=REPO, capture_output=True,
                          check=True, timeout=120, text=True).stdout
    events = dump.split("== events\n", 1)[1].split("\n== ", 1)[0].splitlines()
    header = events[0].split("\t")
    column = header.index("pathname")
    return collections.Counter(line.split("\t")[column] for line in events[1:] if line)


def test_sigkill_loses_no_acknowledged_hit_and_duplicates_none(tmp_path: Path) -> None:
    server = TellerServer(tmp_path).start()
    server.cli("site", "add", "--name", "Durable", "--domain", "durable.example")
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def stream(worker: int) -> None:
        for index in range(100_000):
            if stop.is_set():
                return
            path = f"/w{worker}/{index}"
            if send(server.url, path) == 204:
                with lock:
                    acknowledged.append(path)

    workers = [threading.Thread(target=stream, args=(worker,)) for worker in range(4)]
    for worker in workers:
        worker.start()
    time.sleep(2.5)
    assert server.process is not None
    server.process.send_signal(signal.SIGKILL)  # no shutdown handler runs
    server.process.wait(timeout=30)
    stop.set()
    for worker in workers:
        worker.join()
    assert len(acknowledged) > 200

    server.start()  # replays the spool
    server.stop()
    stored = stored_pathnames(server.config)
    missing = [path for path in acknowledged if stored[path] == 0]
    duplicated = [path for path, count in stored.items() if count > 1]
    assert missing == [] and duplicated == []


def test_clickhouse_away_hits_are_spooled_then_delivered(runtime: Runtime) -> None:
    site = add_site(runtime, "Away", ("away.example",))
    monitoring = super_admin_token(runtime)
    client = runtime.store.client()
    with TestClient(build_app(runtime)) as http:
        def track(path: str) -> int:
            query = urlencode({"idsite": site.site_id, "rec": "1", "url": f"https://away.example{path}"})
            return http.get(f"/matomo.php?{query}", headers={"User-Agent": CHROME_UA}).status_code

        client.command("DETACH TABLE events")  # ClickHouse can no longer take events
        try:
            assert [track(f"/while-away/{index}") for index in range(20)] == [200] * 20
            deadline = time.monotonic() + 20
            while runtime.shipper.errors == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert runtime.shipper.errors > 0
            assert http.get("/readyz").status_code == 503
            metrics = http.get("/metrics", headers=monitoring).text
            assert "teller_clickhouse_errors_total 0" not in metrics
            assert runtime.spool.stats().segments > 0  # the hits wait on disk
        finally:
            client.command("ATTACH TABLE events")
        deadline = time.monotonic() + 60
        while runtime.spool.sealed_segments() and time.monotonic() < deadline:
            time.sleep(0.1)
        paths = sorted(row["pathname"] for row in event_rows(runtime, site))
        assert paths == sorted(f"/while-away/{index}" for index in range(20))
        assert http.get("/readyz").status_code == 200


def test_past_the_spool_budget_the_collector_answers_503(runtime: Runtime) -> None:
    site = add_site(runtime, "Full", ("full.example",))
    monitoring = super_admin_token(runtime)
    runtime.store.client().command("DETACH TABLE events")
    runtime.spool.budget_bytes = runtime.spool.stats().bytes + 200_000  # a small budget for this test
    try:
        with TestClient(build_app(runtime)) as http:
            statuses = collections.Counter()
            for index in range(2000):
                query = urlencode({"idsite": site.site_id, "rec": "1", "url": f"https://full.example/{index}"})
                statuses[http.get(f"/matomo.php?{query}", headers={"User-Agent": CHROME_UA}).status_code] += 1
                if statuses[503]:
                    break
            assert statuses[503] == 1 and statuses[200] > 100
            assert "teller_spool_full 1" in http.get("/metrics", headers=monitoring).text
    finally:
        runtime.store.client().command("ATTACH TABLE events")
