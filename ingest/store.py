"""Connections to ClickHouse through clickhouse-connect, for the embedded chDB engine and a server alike.

Both targets run the same SQL. chDB allows one engine path per process, so one Store owns the engine for its
process; every thread gets its own client (a chDB client handle is not shared between threads).
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client


def dsn_database(dsn: str) -> str | None:
    """The database named in a server DSN's path (http://host:8123/db), if any; chdb DSNs name a directory."""
    if dsn.startswith("chdb://"):
        return None
    name = urlsplit(dsn).path.strip("/")
    return name or None


class Store:
    """Hands out per-thread clickhouse-connect clients bound to Teller's database, creating it on first use."""

    def __init__(self, dsn: str, database: str) -> None:
        self.dsn = dsn
        self.database = dsn_database(dsn) or database
        self._local = threading.local()
        self._clients: list[Client] = []
        self._lock = threading.Lock()
        self._database_ready = False

    @property
    def is_embedded(self) -> bool:
        return self.dsn.startswith("chdb://")

    def _connect(self, database: str | None) -> Client:
        if self.is_embedded:
            return clickhouse_connect.get_client(dsn=self.dsn, database=database)
        # A server DSN may carry the database in its path; pass ours only when it does not.
        if dsn_database(self.dsn):
            return clickhouse_connect.get_client(dsn=self.dsn)
        return clickhouse_connect.get_client(dsn=self.dsn, database=database)

    def _ensure_database(self) -> None:
        with self._lock:
            if self._database_ready:
                return
            bootstrap = self._connect(None)
            try:
                bootstrap.command("CREATE DATABASE IF NOT EXISTS {db:Identifier}", parameters={"db": self.database})
            finally:
                bootstrap.close()
            self._database_ready = True

    def client(self) -> Client:
        """This thread's client, connected to Teller's database."""
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            self._ensure_database()
            client = self._connect(self.database)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def drop_database(self) -> None:
        """Remove Teller's database and everything in it (tests, `teller reset`)."""
        self.client().command("DROP DATABASE IF EXISTS {db:Identifier}", parameters={"db": self.database})
        with self._lock:
            self._database_ready = False

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
        self._local = threading.local()
