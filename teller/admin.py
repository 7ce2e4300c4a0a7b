"""Site administration for the CLI, either directly on the store or through a running server.

In embedded mode the serving process owns the chDB engine and no other process can open it, so while a
server runs the CLI sends its changes to that server's admin API; otherwise it opens the store itself.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from ingest.sites import Site, SiteRegistry
from ingest.tokens import TokenRegistry, TrackingToken
from teller.config import Settings
from teller.runtime import admin_token

PIDFILE_NAME = "teller.pid"


class AdminError(Exception):
    """A request was refused; the message is for the operator."""


class Admin(Protocol):
    def list_sites(self) -> list[Site]: ...
    def add_site(self, name: str, domains: list[str], timezone: str, retention_days: int,
                 **settings: Any) -> Site: ...
    def update_site(self, site_id: int, changes: dict[str, Any]) -> Site: ...
    def delete_site(self, site_id: int) -> Site: ...
    def add_token(self, site_id: int, label: str) -> tuple[str, TrackingToken]: ...
    def list_tokens(self, site_id: int | None) -> list[TrackingToken]: ...
    def revoke_token(self, token_id: str) -> TrackingToken: ...


class LocalAdmin:
    def __init__(self, registry: SiteRegistry, tokens: TokenRegistry) -> None:
        self.registry = registry
        self.tokens = tokens

    def list_sites(self) -> list[Site]:
        return self.registry.list()

    def add_site(self, name: str, domains: list[str], timezone: str, retention_days: int,
                 **settings: Any) -> Site:
        return self.registry.add(name, domains, timezone, retention_days, **settings)

    def update_site(self, site_id: int, changes: dict[str, Any]) -> Site:
        try:
            return self.registry.update(site_id, **changes)
        except KeyError:
            raise AdminError(f"no site with id {site_id}") from None

    def delete_site(self, site_id: int) -> Site:
        try:
            site = self.registry.delete(site_id)
        except KeyError:
            raise AdminError(f"no site with id {site_id}") from None
        self.tokens.delete_site(site_id)
        return site

    def add_token(self, site_id: int, label: str) -> tuple[str, TrackingToken]:
        if self.registry.get(site_id) is None:
            raise AdminError(f"no site with id {site_id}")
        return self.tokens.create(site_id, label)

    def list_tokens(self, site_id: int | None) -> list[TrackingToken]:
        return self.tokens.list(site_id)

    def revoke_token(self, token_id: str) -> TrackingToken:
        try:
            return self.tokens.revoke(token_id)
        except KeyError:
            raise AdminError(f"no single token with an id starting with {token_id!r}") from None


class RemoteAdmin:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(  # noqa: S310 - the URL is our own server's, from its pidfile
            self.base_url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                return json.load(response)
        except urllib.error.HTTPError as error:
            try:
                reason = json.load(error).get("error", "")
            except ValueError:
                reason = ""
            raise AdminError(reason or f"the server answered {error.code}") from None
        except (urllib.error.URLError, OSError) as error:
            raise AdminError(f"cannot reach the Teller server at {self.base_url} ({error}); if it is not "
                             f"running, remove the stale pidfile in the data directory") from None

    def list_sites(self) -> list[Site]:
        return [Site.from_json(item) for item in self._call("GET", "/api/admin/sites")["sites"]]

    def add_site(self, name: str, domains: list[str], timezone: str, retention_days: int,
                 **settings: Any) -> Site:
        body = {"name": name, "domains": domains, "timezone": timezone, "retention_days": retention_days, **settings}
        return Site.from_json(self._call("POST", "/api/admin/sites", body))

    def update_site(self, site_id: int, changes: dict[str, Any]) -> Site:
        return Site.from_json(self._call("PATCH", f"/api/admin/sites/{site_id}", changes))

    def delete_site(self, site_id: int) -> Site:
        return Site.from_json(self._call("DELETE", f"/api/admin/sites/{site_id}"))

    def add_token(self, site_id: int, label: str) -> tuple[str, TrackingToken]:
        data = self._call("POST", "/api/admin/tokens", {"site_id": site_id, "label": label})
        return data["token"], token_from_json(data)

    def list_tokens(self, site_id: int | None) -> list[TrackingToken]:
        query = f"?site_id={site_id}" if site_id is not None else ""
        return [token_from_json(item) for item in self._call("GET", "/api/admin/tokens" + query)["tokens"]]

    def revoke_token(self, token_id: str) -> TrackingToken:
        return token_from_json(self._call("DELETE", f"/api/admin/tokens/{quote(token_id, safe='')}"))


def token_from_json(data: dict[str, Any]) -> TrackingToken:
    return TrackingToken(str(data["token_id"]), int(data["site_id"]), str(data["label"]),
                         datetime.fromisoformat(str(data["created_at"])))


@dataclass(frozen=True, slots=True)
class RunningServer:
    pid: int
    url: str


def pidfile(settings: Settings) -> Path:
    return settings.data_dir / PIDFILE_NAME


def write_pidfile(settings: Settings, url: str) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    pidfile(settings).write_text(json.dumps({"pid": os.getpid(), "url": url}), encoding="utf-8")


def remove_pidfile(settings: Settings) -> None:
    path = pidfile(settings)
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def running_server(settings: Settings) -> RunningServer | None:
    """The server that owns this data directory, if one is alive."""
    try:
        record = json.loads(pidfile(settings).read_text(encoding="utf-8"))
        pid, url = int(record["pid"]), str(record["url"])
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return RunningServer(pid, url)


def remote_admin_for(settings: Settings) -> RemoteAdmin | None:
    server = running_server(settings) if settings.is_embedded else None
    return RemoteAdmin(server.url, admin_token(settings.secret_key)) if server else None
