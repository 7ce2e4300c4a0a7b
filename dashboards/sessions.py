"""The dashboard session: one signed, HttpOnly, SameSite=Lax cookie (Secure when public_url is https).

The cookie holds no secret and nothing about the visitor's address: a random session id, the user id once
logged in, a fingerprint of the user's credentials and an expiry, signed with a key derived from secret_key
(itsdangerous), so it cannot be forged or altered. A password reset or a new TOTP secret changes the
fingerprint and ends every session of that user; logout lists the session id as revoked (teller/access.py).
A visitor who is not logged in gets a session too, without a user: its id keys the CSRF token of the login form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import HTTPConnection
from starlette.responses import Response

from teller.users import User

SESSION_LIFETIME = timedelta(hours=12)  # from login; then the user logs in again
TOTP_WAIT = timedelta(minutes=5)  # between a correct password and the second factor's code
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True, slots=True)
class Session:
    sid: str
    expires: int  # unix time
    user_id: int | None = None  # None: not logged in
    auth: str = ""  # fingerprint of the user's credentials when the session began
    # Password accepted, second factor awaited: the user it is for, their fingerprint, and until when.
    pending_user_id: int | None = None
    pending_auth: str = ""
    pending_until: int = 0

    @property
    def logged_in(self) -> bool:
        return self.user_id is not None

    def pending(self, now: float | None = None) -> int | None:
        """The user whose TOTP code this session waits for, if it still waits."""
        return self.pending_user_id if self.pending_until > (now or time.time()) else None


class SessionCodec:
    def __init__(self, secret_key: str, secure: bool, lifetime: timedelta = SESSION_LIFETIME) -> None:
        root = secret_key.encode("utf-8")
        self.key = hmac.new(root, b"teller-session-v1", hashlib.sha256).digest()
        self._csrf_key = hmac.new(root, b"teller-csrf-v1", hashlib.sha256).digest()
        self._auth_key = hmac.new(root, b"teller-session-auth-v1", hashlib.sha256).digest()
        self.serializer = URLSafeTimedSerializer(self.key, salt="teller.session")
        self.secure = secure
        self.lifetime = lifetime
        # Browsers accept a __Host- cookie only over https, from the host itself, for every path: it cannot be
        # planted by a sibling subdomain.
        self.cookie_name = "__Host-teller_session" if secure else "teller_session"

    # Reading and writing ------------------------------------------------------------------------------------

    def read(self, connection: HTTPConnection) -> Session | None:
        """The request's session, if its cookie is ours, unaltered and not expired."""
        value = connection.cookies.get(self.cookie_name)
        if not value:
            return None
        try:
            data = self.serializer.loads(value, max_age=int(self.lifetime.total_seconds()))
            session = Session(**data) if isinstance(data, dict) else None
        except (BadSignature, TypeError):
            return None
        if session is None or session.expires <= time.time():
            return None
        return session

    def write(self, response: Response, session: Session) -> None:
        data: dict[str, Any] = {key: value for key, value in asdict(session).items()
                                if value not in (None, "", 0) or key in ("sid", "expires")}
        response.set_cookie(self.cookie_name, self.serializer.dumps(data),
                            max_age=max(int(session.expires - time.time()), 0), path="/", secure=self.secure,
                            httponly=True, samesite="lax")

    def clear(self, response: Response) -> None:
        response.delete_cookie(self.cookie_name, path="/", secure=self.secure, httponly=True, samesite="lax")

    # Making sessions ----------------------------------------------------------------------------------------

    def anonymous(self) -> Session:
        return Session(sid=secrets.token_urlsafe(24), expires=int(time.time() + self.lifetime.total_seconds()))

    def logged_in(self, user: User) -> Session:
        """A new session for `user`: a fresh id, so a session id known before login is worth nothing after."""
        return replace(self.anonymous(), user_id=user.user_id, auth=self.fingerprint(user))

    def awaiting_code(self, session: Session, user: User) -> Session:
        return replace(session, pending_user_id=user.user_id, pending_auth=self.fingerprint(user),
                       pending_until=int(time.time() + TOTP_WAIT.total_seconds()))

    def fingerprint(self, user: User) -> str:
        """Changes when the user's password, TOTP secret or id changes, which ends sessions begun before."""
        material = f"{user.user_id}\0{user.email}\0{user.password_hash}\0{user.totp_secret}".encode()
        return hmac.new(self._auth_key, material, hashlib.sha256).hexdigest()[:32]

    # CSRF ----------------------------------------------------------------------------------------------------

    def csrf_token(self, session: Session) -> str:
        """The token every form of this session carries; derived from the session id, never stored."""
        return hmac.new(self._csrf_key, session.sid.encode("utf-8"), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: Session | None, token: str) -> bool:
        return session is not None and bool(token) and hmac.compare_digest(
            self.csrf_token(session).encode(), token.encode("utf-8", "replace"))
