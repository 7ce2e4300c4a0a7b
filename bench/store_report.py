"""Counts what a stopped Teller stored, in a process of its own: `python -m bench.store_report CONFIG`.

Prints one JSON object: event rows, session rows and visits (sum(sign)) as stored, dropped hits, then
OPTIMIZE TABLE … FINAL of the raw tables (sessions collapse their +1/-1 pairs) and the active parts' bytes on
disk per table. Run it only while no server owns the embedded database.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ingest.store import Store
from teller.config import load_settings

TABLES = ("events", "sessions", "page_visits")  # the raw tables (ingest.sites.RAW_TABLES)


def scalar(store: Store, sql: str) -> int:
    return int(store.client().query(sql).result_rows[0][0] or 0)


def parts(store: Store) -> dict[str, dict[str, int]]:
    result = store.client().query(
        "SELECT table, sum(bytes_on_disk), sum(data_compressed_bytes), sum(data_uncompressed_bytes), sum(rows), "
        "count() FROM system.parts WHERE database = {db:String} AND active AND table IN {tables:Array(String)} "
        "GROUP BY table", parameters={"db": store.database, "tables": list(TABLES)})
    names = ("bytes_on_disk", "compressed", "uncompressed", "rows", "parts")
    return {str(row[0]): dict(zip(names, (int(value) for value in row[1:]), strict=True))
            for row in result.result_rows}


def report(config: Path) -> dict[str, Any]:
    settings = load_settings(config, environ={})
    store = Store(settings.storage.clickhouse_dsn, settings.storage.database)
    try:
        counts = {
            "events": scalar(store, "SELECT count() FROM events"),
            "sessions_rows": scalar(store, "SELECT count() FROM sessions"),
            "visits": scalar(store, "SELECT sum(sign) FROM sessions"),
            "dropped_hits": scalar(store, "SELECT sum(hits) FROM dropped_hits"),
        }
        before = parts(store)
        for table in TABLES:
            store.client().command(f"OPTIMIZE TABLE {table} FINAL")
        after = parts(store)
        counts["sessions_rows_after_optimize"] = scalar(store, "SELECT count() FROM sessions")
        return {**counts, "parts_before_optimize": before, "parts_after_optimize": after}
    finally:
        store.close()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bench.store_report CONFIG", file=sys.stderr)
        return 2
    print(json.dumps(report(Path(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
