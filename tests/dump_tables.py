"""Print every row of every table in Teller's database as TSV (run in its own process: chDB is per process).

Usage: python -m tests.dump_tables CONFIG
"""

from __future__ import annotations

import sys
from pathlib import Path

from ingest.store import Store
from teller.config import load_settings


def main(config: str) -> None:
    settings = load_settings(Path(config))
    store = Store(settings.storage.clickhouse_dsn, settings.storage.database)
    client = store.client()
    tables = client.query("SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name",
                          parameters={"db": store.database}).result_rows
    for (table,) in tables:
        print(f"== {table}")
        result = client.raw_query("SELECT * FROM {table:Identifier} FORMAT TSVWithNames",
                                  parameters={"table": table})
        sys.stdout.write(result.decode("utf-8", "replace"))
    store.close()


if __name__ == "__main__":
    main(sys.argv[1])
