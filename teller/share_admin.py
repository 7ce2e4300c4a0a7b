"""Shared-link administration: make, list, change (label, password) and revoke a site's read-only dashboard links.

LocalShareAdmin does the work on a store and writes every change to the audit log (never the secret or a
password); it is part of LocalAdmin, which the CLI, the admin API and the dashboard's share page all run.
RemoteShareAdmin sends the same requests to a running server's admin API; it is part of RemoteAdmin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote

from ingest.sites import SiteRegistry
from ingest.store import Store
from teller.admin_errors import AdminError
from teller.audit_log import AuditLog
from teller.passwords import PasswordError, hash_password
from teller.shared_links import SharedLink, SharedLinkStore


class ShareAdmin(Protocol):
    def add_shared_link(self, site_id: int, label: str, password: str | None) -> tuple[str, SharedLink]: ...
    def list_shared_links(self, site_id: int, include_revoked: bool = False) -> list[SharedLink]: ...
    def revoke_shared_link(self, link_id: str, site_id: int | None = None) -> SharedLink: ...
    def update_shared_link(self, link_id: str, *, label: str | None = None, password: str | None = None,
                           remove_password: bool = False, site_id: int | None = None) -> SharedLink: ...


def _no_link(link_id: str) -> AdminError:
    return AdminError(f"no single live shared link with an id starting with {link_id[:40]!r}")


def _new_password_hash(password: str | None, remove_password: bool) -> str | None:
    """The hash to store: a new password's (checked against the rules), "" for none, None to keep the old one."""
    if remove_password:
        return ""
    if password is None:
        return None
    try:
        return hash_password(password)
    except PasswordError as error:
        raise AdminError(str(error)) from None


def _password_change(before: SharedLink, after: SharedLink) -> str | None:
    """What happened to the password, for the audit log (never the password or its hash)."""
    if before.password_hash == after.password_hash:
        return None
    if not after.has_password:
        return "removed"
    return "changed" if before.has_password else "set"


class LocalShareAdmin:
    # Provided by LocalAdmin.
    store: Store
    registry: SiteRegistry
    actor: str
    changed: Callable[[], None]

    def _share_site(self, site_id: int) -> None:
        if self.registry.get(site_id) is None:
            raise AdminError(f"no site with id {site_id}")

    def add_shared_link(self, site_id: int, label: str, password: str | None) -> tuple[str, SharedLink]:
        """A new link (its secret is returned once, never stored); a password, when given, follows the rules of
        users' passwords."""
        self._share_site(site_id)
        try:
            password_hash = hash_password(password) if password else ""
        except PasswordError as error:
            raise AdminError(str(error)) from None
        secret, link = SharedLinkStore(self.store).create(site_id, label, password_hash, self.actor)
        self.changed()
        AuditLog(self.store).record(self.actor, "share.add", site_id=site_id, target=link.link_id,
                                    details={"label": link.label, "password": link.has_password})
        return secret, link

    def list_shared_links(self, site_id: int, include_revoked: bool = False) -> list[SharedLink]:
        self._share_site(site_id)
        return SharedLinkStore(self.store).list(site_id, include_revoked)

    def revoke_shared_link(self, link_id: str, site_id: int | None = None) -> SharedLink:
        """Revoke by id (or a unique prefix); `site_id` keeps a site's admin to their own site's links."""
        try:
            link = SharedLinkStore(self.store).revoke(link_id, site_id)
        except KeyError:
            raise _no_link(link_id) from None
        self.changed()
        AuditLog(self.store).record(self.actor, "share.revoke", site_id=link.site_id, target=link.link_id,
                                    details={"label": link.label})
        return link

    def update_shared_link(self, link_id: str, *, label: str | None = None, password: str | None = None,
                           remove_password: bool = False, site_id: int | None = None) -> SharedLink:
        """A new label and/or password (or none: the link becomes public) for a live link, by id (or a unique
        prefix); None leaves a field as it is. The secret stays, so the URL keeps working; a new password
        ends every unlock made with the old one (the unlock cookie is bound to the password's hash)."""
        if password is not None and remove_password:
            raise AdminError("either a new password or no password, not both")
        if label is None and password is None and not remove_password:
            raise AdminError("nothing to change: give a label, a password or no password")
        # Checked and hashed before the link is looked up: a refused password changes nothing.
        password_hash = _new_password_hash(password, remove_password)
        try:
            before, after = SharedLinkStore(self.store).update(link_id, site_id, label, password_hash)
        except KeyError:
            raise _no_link(link_id) from None
        self.changed()
        details: dict[str, Any] = {"label": after.label}
        if before.label != after.label:
            details["label"] = {"from": before.label, "to": after.label}
        if (change := _password_change(before, after)) is not None:
            details["password"] = change
        AuditLog(self.store).record(self.actor, "share.update", site_id=after.site_id, target=after.link_id,
                                    details=details)
        return after


class RemoteShareAdmin:
    _call: Callable[..., Any]  # provided by RemoteAdmin

    def add_shared_link(self, site_id: int, label: str, password: str | None) -> tuple[str, SharedLink]:
        body: dict[str, Any] = {"label": label} | ({"password": password} if password else {})
        data = self._call("POST", f"/api/admin/sites/{site_id}/shared-links", body)
        return str(data["secret"]), SharedLink.from_json(data)

    def list_shared_links(self, site_id: int, include_revoked: bool = False) -> list[SharedLink]:
        query = "?revoked=1" if include_revoked else ""
        return [SharedLink.from_json(item)
                for item in self._call("GET", f"/api/admin/sites/{site_id}/shared-links{query}")["links"]]

    def revoke_shared_link(self, link_id: str, site_id: int | None = None) -> SharedLink:
        return SharedLink.from_json(self._call("DELETE", f"/api/admin/shared-links/{quote(link_id, safe='')}"))

    def update_shared_link(self, link_id: str, *, label: str | None = None, password: str | None = None,
                           remove_password: bool = False, site_id: int | None = None) -> SharedLink:
        # The admin API's PATCH: an absent field is unchanged, a null password removes it.
        body: dict[str, Any] = {} if label is None else {"label": label}
        if password is not None or remove_password:
            body["password"] = password
        return SharedLink.from_json(self._call("PATCH", f"/api/admin/shared-links/{quote(link_id, safe='')}", body))
