"""ASGI middleware that masks the client address before any other code sees the request.

It resolves the visitor's address (the socket peer, or the forwarding headers when the peer is a trusted
proxy), puts the masked text into scope["client"], removes the forwarding headers and hands the tracking
endpoint an opaque ClientAddress for per-site masks and exclusions. Routes, error handlers and loggers
downstream only ever see masked text.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from ingest.ipmask import ClientAddress, IPNetwork, client_address

# The scope key under which the opaque ClientAddress travels to the tracking endpoint.
CLIENT_ADDRESS_KEY = "teller.client_address"

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
        address = ClientAddress(client_address(peer[0] if peer else None, headers, self.trusted_proxies))
        scope = dict(scope)
        scope["client"] = (address.masked(self.ipv4_mask_bytes, self.ipv6_prefix_bits), 0)
        scope[CLIENT_ADDRESS_KEY] = address
        if any(name in _FORWARDING_HEADERS for name, _ in headers):
            scope["headers"] = [(name, value) for name, value in headers if name not in _FORWARDING_HEADERS]
        await self.app(scope, receive, send)
