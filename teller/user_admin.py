"""User administration: accounts, per-site roles, the second factor and users' API tokens.

LocalUserAdmin does the work on a store and writes every change to the audit log (never a password, hash or
secret); it is part of LocalAdmin. RemoteUserAdmin sends the same requests to a running server's admin API;
it is part of RemoteAdmin. `teller user …` reaches one or the other through `with_admin`, like `teller site …`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol
from urllib.parse import quote

from ingest.sites import SiteRegistry
from ingest.store import Store
from teller.admin_errors import AdminError
from teller.api_tokens import ApiToken, ApiTokenStore
from teller.audit_log import AuditLog
from teller.passwords import PasswordError, hash_password
from teller.totp import new_secret, seal
from teller.users import Account, User, UserError, UserStore, account, check_role, normalize_email


class UserAdmin(Protocol):
    def list_users(self) -> list[Account]: ...
    def add_user(self, email: str, password: str, super_admin: bool) -> Account: ...
    def reset_password(self, email: str, password: str) -> Account: ...
    def delete_user(self, email: str) -> Account: ...
    def grant(self, email: str, site_id: int, role: str) -> Account: ...
    def revoke_grant(self, email: str, site_id: int) -> Account: ...
    def enable_totp(self, email: str) -> tuple[str, Account]: ...
    def disable_totp(self, email: str) -> Account: ...
    def add_user_token(self, email: str, site_ids: list[int], label: str) -> tuple[str, ApiToken]: ...
    def list_user_tokens(self, email: str | None) -> list[ApiToken]: ...
    def revoke_user_token(self, token_id: str) -> ApiToken: ...


class LocalUserAdmin:
    # Provided by LocalAdmin.
    store: Store
    registry: SiteRegistry
    secret_key: str
    actor: str
    changed: Callable[[], None]

    @property
    def _users(self) -> UserStore:
        return UserStore(self.store)

    def _record(self, action: str, *, site_id: int = 0, target: str = "",
                details: dict[str, Any] | None = None) -> None:
        AuditLog(self.store).record(self.actor, action, site_id=site_id, target=target, details=details)

    def _user(self, email: str) -> User:
        try:
            user = self._users.by_email(email)
        except UserError as error:
            raise AdminError(str(error)) from None
        if user is None:
            raise AdminError(f"no user {email.strip().lower()}")
        return user

    def _account(self, user: User) -> Account:
        return account(user, self._users.grants(user_id=user.user_id))

    def _site_exists(self, site_id: int) -> None:
        if self.registry.get(site_id) is None:
            raise AdminError(f"no site with id {site_id}")

    def list_users(self) -> list[Account]:
        return self._users.accounts()

    def add_user(self, email: str, password: str, super_admin: bool) -> Account:
        try:
            user = self._users.add(email, hash_password(password), super_admin)
        except (UserError, PasswordError) as error:
            raise AdminError(str(error)) from None
        self.changed()
        self._record("user.add", target=user.email, details={"user_id": user.user_id, "super_admin": super_admin})
        return self._account(user)

    def reset_password(self, email: str, password: str) -> Account:
        user = self._user(email)
        try:
            updated = replace(user, password_hash=hash_password(password))
        except PasswordError as error:
            raise AdminError(str(error)) from None
        self._users.write(updated)  # a new hash ends the user's sessions (dashboards/sessions.py)
        self.changed()
        self._record("user.password", target=user.email)
        return self._account(updated)

    def delete_user(self, email: str) -> Account:
        user = self._user(email)
        before = self._account(user)
        ApiTokenStore(self.store).delete_user(user.user_id)
        self._users.delete(user)
        self.changed()
        self._record("user.delete", target=user.email,
                     details={"grants": {grant.site_id: grant.role for grant in before.grants}})
        return before

    def grant(self, email: str, site_id: int, role: str) -> Account:
        user = self._user(email)
        self._site_exists(site_id)
        try:
            check_role(role)
        except UserError as error:
            raise AdminError(str(error)) from None
        previous = next((grant.role for grant in self._users.grants(user_id=user.user_id, site_id=site_id)), None)
        self._users.grant(user.user_id, site_id, role)
        self.changed()
        self._record("user.grant", site_id=site_id, target=user.email, details={"role": role, "from": previous})
        return self._account(user)

    def revoke_grant(self, email: str, site_id: int) -> Account:
        user = self._user(email)
        try:
            grant = self._users.revoke(user.user_id, site_id)
        except KeyError:
            raise AdminError(f"no role of {user.email} on site {site_id}") from None
        self.changed()
        self._record("user.revoke", site_id=site_id, target=user.email, details={"role": grant.role})
        return self._account(user)

    def enable_totp(self, email: str) -> tuple[str, Account]:
        """A new TOTP secret for the user (shown once); their next login asks for a code."""
        user = self._user(email)
        secret = new_secret()
        updated = replace(user, totp_secret=seal(secret, self.secret_key))
        self._users.write(updated)
        self.changed()
        self._record("user.totp.enable", target=user.email)
        return secret, self._account(updated)

    def disable_totp(self, email: str) -> Account:
        user = self._user(email)
        updated = replace(user, totp_secret="")
        self._users.write(updated)
        self.changed()
        self._record("user.totp.disable", target=user.email)
        return self._account(updated)

    def add_user_token(self, email: str, site_ids: list[int], label: str) -> tuple[str, ApiToken]:
        user = self._user(email)
        granted = {grant.site_id for grant in self._users.grants(user_id=user.user_id)}
        for site_id in site_ids:
            self._site_exists(site_id)
            if not user.is_super_admin and site_id not in granted:
                raise AdminError(f"{user.email} has no role on site {site_id}; grant one first")
        secret, token = ApiTokenStore(self.store).create(user.user_id, tuple(site_ids), label)
        self.changed()
        self._record("user.token.add", target=token.token_id,
                     details={"email": user.email, "site_ids": list(token.site_ids), "label": token.label})
        return secret, replace(token, email=user.email)

    def list_user_tokens(self, email: str | None) -> list[ApiToken]:
        emails = {user.user_id: user.email for user in self._users.users()}
        user_id = self._user(email).user_id if email else None
        return [replace(token, email=emails.get(token.user_id, ""))
                for token in ApiTokenStore(self.store).list(user_id)]

    def revoke_user_token(self, token_id: str) -> ApiToken:
        try:
            token = ApiTokenStore(self.store).revoke(token_id)
        except KeyError:
            raise AdminError(f"no single API token with an id starting with {token_id[:40]!r}") from None
        self.changed()
        owner = next((user.email for user in self._users.users() if user.user_id == token.user_id), "")
        self._record("user.token.revoke", target=token.token_id, details={"email": owner})
        return replace(token, email=owner)


class RemoteUserAdmin:
    _call: Callable[..., Any]  # provided by RemoteAdmin

    @staticmethod
    def _path(email: str) -> str:
        try:
            return "/api/admin/users/" + quote(normalize_email(email), safe="@")
        except UserError as error:
            raise AdminError(str(error)) from None

    def list_users(self) -> list[Account]:
        return [Account.from_json(item) for item in self._call("GET", "/api/admin/users")["users"]]

    def add_user(self, email: str, password: str, super_admin: bool) -> Account:
        return Account.from_json(self._call("POST", "/api/admin/users", {"email": email, "password": password,
                                                                         "super_admin": super_admin}))

    def reset_password(self, email: str, password: str) -> Account:
        return Account.from_json(self._call("PUT", self._path(email) + "/password", {"password": password}))

    def delete_user(self, email: str) -> Account:
        return Account.from_json(self._call("DELETE", self._path(email)))

    def grant(self, email: str, site_id: int, role: str) -> Account:
        return Account.from_json(self._call("PUT", f"{self._path(email)}/grants/{site_id}", {"role": role}))

    def revoke_grant(self, email: str, site_id: int) -> Account:
        return Account.from_json(self._call("DELETE", f"{self._path(email)}/grants/{site_id}"))

    def enable_totp(self, email: str) -> tuple[str, Account]:
        data = self._call("POST", self._path(email) + "/totp", {})
        return str(data["secret"]), Account.from_json(data["user"])

    def disable_totp(self, email: str) -> Account:
        return Account.from_json(self._call("DELETE", self._path(email) + "/totp"))

    def add_user_token(self, email: str, site_ids: list[int], label: str) -> tuple[str, ApiToken]:
        data = self._call("POST", "/api/admin/user-tokens", {"email": email, "site_ids": site_ids, "label": label})
        return str(data["token"]), ApiToken.from_json(data)

    def list_user_tokens(self, email: str | None) -> list[ApiToken]:
        query = f"?email={quote(email, safe='@')}" if email else ""
        return [ApiToken.from_json(item) for item in self._call("GET", "/api/admin/user-tokens" + query)["tokens"]]

    def revoke_user_token(self, token_id: str) -> ApiToken:
        return ApiToken.from_json(self._call("DELETE", f"/api/admin/user-tokens/{quote(token_id, safe='')}"))
