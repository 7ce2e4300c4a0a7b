"""Who may show Teller's pages in a frame: nobody, except a shared link's pages (/share/…), which exist to be
embedded. Refusing frames everywhere else keeps a logged-in dashboard, the login form and their buttons out of
someone else's page (clickjacking). Tracking requests never reach this middleware (TrackingFastPath).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SHARED_PREFIX = "/share/"


class FramingPolicy:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope["path"]).startswith(SHARED_PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_refusing_frames(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Frame-Options", "DENY")  # older browsers
                headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
            await send(message)

        await self.app(scope, receive, send_refusing_frames)
