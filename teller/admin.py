"""Site administration for the CLI, either directly on the store or through a running server.

In embedded mode the serving process owns the chDB engine and no other process can open it, so while a
server runs the CLI sends its changes to that server's admin API; otherwise it opens the store itself.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from ingest.salts import SaltBook
from ingest.sites import Site, SiteRegistry
from ingest.store import Store
from ingest.tokens import TokenRegistry, TrackingToken
from teller.admin_errors import AdminError
from teller.audit_log import AuditLog, local_actor
from teller.config import Settings
from teller.retention import RetentionAudit
from teller.runtime import Runtime, admin_token
from teller.share_admin import LocalShareAdmin, RemoteShareAdmin, ShareAdmin
from teller.shared_links import SharedLinkStore
from teller.subjects import Subject, SubjectData, SubjectError, by_cookieless, by_user_id, by_visitor
from teller.user_admin import LocalUserAdmin, RemoteUserAdmin, UserAdmin
from teller.users import UserStore

PIDFILE_NAME = "teller.pid"
ACTOR_HEADER = "X-Teller-Actor"  # who asks, for the audit log (percent-encoded); trusted from admin-token holders


# What names a data subject in an admin request: exactly one of "visitor" (the _pk_id value), "user_id", or
# "cookieless" ({"day", "ip", "user_agent"}, with "site_id"); optionally "site_id" to look at one site only.
SubjectRequest = dict[str, Any]


class Admin(UserAdmin, ShareAdmin, Protocol):
    def list_sites(self) -> list[Site]: ...
    def add_site(self, name: str, domains: list[str], timezone: str, retention_days: int,
                 **settings: Any) -> Site: ...
    def update_site(self, site_id: int, changes: dict[str, Any]) -> Site: ...
    def delete_site(self, site_id: int) -> Site: ...
    def add_token(self, site_id: int, label: str) -> tuple[str, TrackingToken]: ...
    def list_tokens(self, site_id: int | None) -> list[TrackingToken]: ...
    def revoke_token(self, token_id: str) -> TrackingToken: ...
    def retention_audit(self, enforce: bool) -> dict[str, Any]: ...
    def subject_find(self, request: SubjectRequest) -> dict[str, Any]: ...
    def subject_export(self, request: SubjectRequest) -> dict[str, Any]: ...
    def subject_delete(self, request: SubjectRequest) -> dict[str, Any]: ...


def _nothing(*_: Any) -> None:
    return None


RETENTION_FIELDS = ("retention_days", "rollup_retention_days")


@dataclass
class LocalAdmin(LocalUserAdmin, LocalShareAdmin):
    """Administration on the store itself; every change is written to the audit log under `actor`."""

    store: Store
    registry: SiteRegistry
    tokens: TokenRegistry
    secret_key: str
    actor: str
    # Before a subject's rows are deleted: ship what the spool holds and close their open visits, so
    # nothing of theirs is written after the DELETE.
    settle: Callable[[Subject], None] = _nothing
    changed: Callable[[], None] = _nothing  # after a change: refresh the caches the ingest path reads

    @property
    def audit_log(self) -> AuditLog:
        return AuditLog(self.store)

    def list_sites(self) -> list[Site]:
        return self.registry.list()

    def get_site(self, site_id: int) -> Site:
        site = self.registry.get(site_id)
        if site is None:
            raise AdminError(f"no site with id {site_id}")
        return site

    def add_site(self, name: str, domains: list[str], timezone: str, retention_days: int,
                 **settings: Any) -> Site:
        site = self.registry.add(name, domains, timezone, retention_days, **settings)
        self.changed()
        self.audit_log.record(self.actor, "site.add", site_id=site.site_id, target=site.name, details=site.as_json())
        return site

    def update_site(self, site_id: int, changes: dict[str, Any]) -> Site:
        before = self.get_site(site_id)
        site = self.registry.update(site_id, **changes)
        self.changed()
        details = {name: {"from": _plain(getattr(before, name)), "to": _plain(getattr(site, name))}
                   for name in changes if getattr(before, name) != getattr(site, name)}
        retention = any(name in details for name in RETENTION_FIELDS)
        self.audit_log.record(self.actor, "site.retention" if retention else "site.update", site_id=site_id,
                              target=site.name, details=details)
        return site

    def delete_site(self, site_id: int) -> Site:
        self.get_site(site_id)
        site = self.registry.delete(site_id)
        self.tokens.delete_site(site_id)
        # Site ids can be handed out again; nobody's role on the deleted site may carry over to a new one.
        UserStore(self.store).delete_site(site_id)
        SharedLinkStore(self.store).revoke_site(site_id)  # likewise its shared links
        self.changed()
        self.audit_log.record(self.actor, "site.delete", site_id=site_id, target=site.name)
        return site

    def add_token(self, site_id: int, label: str) -> tuple[str, TrackingToken]:
        self.get_site(site_id)
        secret, token = self.tokens.create(site_id, label)
        self.changed()
        self.audit_log.record(self.actor, "token.add", site_id=site_id, target=token.token_id,
                              details={"label": label})
        return secret, token

    def list_tokens(self, site_id: int | None) -> list[TrackingToken]:
        return self.tokens.list(site_id)

    def revoke_token(self, token_id: str) -> TrackingToken:
        try:
            token = self.tokens.revoke(token_id)
        except KeyError:
            raise AdminError(f"no single token with an id starting with {token_id!r}") from None
        self.changed()
        self.audit_log.record(self.actor, "token.revoke", site_id=token.site_id, target=token.token_id)
        return token

    def retention_audit(self, enforce: bool) -> dict[str, Any]:
        audit = RetentionAudit(self.store, self.registry, self.audit_log)
        return (audit.enforce(self.actor) if enforce else audit.report()).as_json()

    def _subject(self, request: SubjectRequest) -> Subject:
        site_id = request.get("site_id")
        if site_id is not None and (not isinstance(site_id, int) or isinstance(site_id, bool)):
            raise AdminError("site_id must be a number")
        if site_id is not None:
            self.get_site(site_id)
        given = [key for key in ("visitor", "user_id", "cookieless") if request.get(key)]
        if len(given) != 1:
            raise AdminError("name the subject by exactly one of visitor (the _pk_id cookie value), user_id, "
                             "or cookieless (day, ip and user_agent, with site_id)")
        try:
            if given == ["visitor"]:
                return by_visitor(str(request["visitor"]), site_id)
            if given == ["user_id"]:
                return by_user_id(str(request["user_id"]), site_id)
            details = request["cookieless"]
            if site_id is None or not isinstance(details, dict):
                raise AdminError("cookieless needs site_id and {day, ip, user_agent}")
            try:
                day = date.fromisoformat(str(details.get("day", "")))
            except ValueError:
                raise AdminError("cookieless day must be a date like 2026-11-20") from None
            return by_cookieless(self.get_site(site_id), day, str(details.get("ip", "")),
                                 str(details.get("user_agent", "")), self.secret_key.encode("utf-8"),
                                 SaltBook(self.store))
        except SubjectError as error:
            raise AdminError(str(error)) from None

    def subject_find(self, request: SubjectRequest) -> dict[str, Any]:
        subject = self._subject(request)
        return {"subject": subject.as_json(), "found": SubjectData(self.store).find(subject)}

    def subject_export(self, request: SubjectRequest) -> dict[str, Any]:
        subject = self._subject(request)
        rows = SubjectData(self.store).export(subject)
        self.audit_log.record(self.actor, "subject.export", site_id=subject.site_id or 0,
                              target=subject.describe(), details={name: len(items) for name, items in rows.items()})
        return {"subject": subject.as_json(), **rows}

    def subject_delete(self, request: SubjectRequest) -> dict[str, Any]:
        subject = self._subject(request)
        data = SubjectData(self.store)
        self.settle(subject)
        deleted = data.delete(subject)
        # A hit that was between its visit update and the spool during the first pass is shipped by now.
        self.settle(subject)
        data.delete(subject)
        self.audit_log.record(self.actor, "subject.delete", site_id=subject.site_id or 0,
                              target=subject.describe(), details={"deleted_rows": deleted})
        return {"subject": subject.as_json(), "deleted_rows": deleted}


def runtime_admin(runtime: Runtime, actor: str) -> LocalAdmin:
    """Administration inside a running Teller: changes reach its caches, deletions settle its spool and visits."""
    def settle(subject: Subject) -> None:
        runtime.visits.forget(subject.visitor_ids, subject.site_id)
        runtime.drain()

    def changed() -> None:
        runtime.sites.invalidate()
        runtime.token_cache.invalidate()
        runtime.access.invalidate()

    return LocalAdmin(runtime.store, runtime.registry, runtime.tokens, runtime.settings.secret_key, actor,
                      settle, changed)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


class RemoteAdmin(RemoteUserAdmin, RemoteShareAdmin):
    def __init__(self, base_url: str, token: str, actor: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.actor = actor

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(  # noqa: S310 - the URL is our own server's, from its pidfile
            self.base_url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
                     ACTOR_HEADER: quote(self.actor, safe="")})
        try:
            with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310
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

    def retention_audit(self, enforce: bool) -> dict[str, Any]:
        if enforce:
            return dict(self._call("POST", "/api/admin/retention/enforce", {}))
        return dict(self._call("GET", "/api/admin/retention"))

    def subject_find(self, request: SubjectRequest) -> dict[str, Any]:
        return dict(self._call("POST", "/api/admin/subjects/find", request))

    def subject_export(self, request: SubjectRequest) -> dict[str, Any]:
        return dict(self._call("POST", "/api/admin/subjects/export", request))

    def subject_delete(self, request: SubjectRequest) -> dict[str, Any]:
        return dict(self._call("POST", "/api/admin/subjects/delete", request))


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
    """The running server of this data directory: it owns an embedded engine, and on a server DSN it owns the
    spool and open visits a data-subject deletion must settle."""
    server = running_server(settings)
    return RemoteAdmin(server.url, admin_token(settings.secret_key), local_actor()) if server else None
