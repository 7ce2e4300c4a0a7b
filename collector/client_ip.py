"""ASGI middleware that masks the client address before any other code sees the request.

It resolves the visitor's address (the socket peer, or the forwarding headers when the peer is a trusted
proxy), truncates it, puts the masked text into scope["client"] and removes the forwarding headers. Routes,
error handlers and loggers downstream only ever see the masked address.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from ingest.ipmask import IPNetwork, client_address, mask_address

_FORWARDING_HEADERS = frozenset({b"x-forwarded-for", b"forwarded", b"x-real-ip", b"true-client-ip",
                                 b"cf-connecting-ip"})


class MaskClientAddress:
    def __init__(self, app: ASGIApp, trusted_proxies: Sequence[IPNetwork], ipv4_mask_bytes: int,
                 ipv6_prefix_bits: int) -> None:
        self.app = app
        self.trusted_proxies = tuple(trusted_proxies)
        self.ipv4_mask_bytes = ipv4_mask_bytes
        self.ipv6_prefix_bits = ipv6_prefix_bits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        peer = scope.get("client")
        headers = scope.get("headers", [])
        address = client_address(peer[0] if peer else None, headers, self.trusted_proxies)
        masked = mask_address(address, self.ipv4_mask_bytes, self.ipv6_prefix_bits) if address else ""
        scope = dict(scope)
        scope["client"] = (masked, 0)
        scope["headers"] = [(name, value) for name, value in headers if name not in _FORWARDING_HEADERS]
        await self.app(scope, receive, send)
