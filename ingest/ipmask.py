"""Finding the client address and truncating it, before anything else sees it.

The full address lives only in local variables here; everything downstream gets the masked text.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def mask_address(address: IPAddress, ipv4_mask_bytes: int, ipv6_prefix_bits: int) -> str:
    """Zero the last `ipv4_mask_bytes` bytes of an IPv4 address (Matomo's mask) or keep the first
    `ipv6_prefix_bits` bits of an IPv6 one. IPv4-mapped IPv6 addresses are masked as IPv4."""
    if isinstance(address, ipaddress.IPv6Address):
        # IPv4-mapped and 6to4 addresses carry a whole IPv4 address inside the kept prefix: mask that instead.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            address = embedded
    # Integer arithmetic: building ip_network objects cost more than the rest of the request's masking.
    if isinstance(address, ipaddress.IPv4Address):
        keep = 0xFFFFFFFF ^ ((1 << (8 * ipv4_mask_bytes)) - 1)
        return str(ipaddress.IPv4Address(int(address) & keep))
    keep = ((1 << ipv6_prefix_bits) - 1) << (128 - ipv6_prefix_bits)
    return str(ipaddress.IPv6Address(int(address) & keep))


def _parse(text: str) -> IPAddress | None:
    text = text.strip().strip('"')
    if text.startswith("["):  # "[2001:db8::1]:4711" in Forwarded
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # "192.0.2.1:4711"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _forwarded_chain(headers: Sequence[tuple[bytes, bytes]]) -> list[str]:
    """Addresses from X-Forwarded-For, or from Forwarded when there is no X-Forwarded-For; nearest hop last.

    Only one header is read: a proxy that maintains X-Forwarded-For passes a client's own Forwarded header on
    untouched, and mixing the two would let the client choose its address."""
    forwarded_for = [value for name, value in headers if name == b"x-forwarded-for"]
    if forwarded_for:
        return [part for value in forwarded_for for part in value.decode("latin-1").split(",") if part.strip()]
    chain: list[str] = []
    for name, value in headers:
        if name == b"forwarded":
            for element in value.decode("latin-1").split(","):
                for pair in element.split(";"):
                    key, _, val = pair.strip().partition("=")
                    if key.lower() == "for":
                        chain.append(val)
    return chain


def client_address(peer: str | None, headers: Sequence[tuple[bytes, bytes]],
                   trusted: Sequence[IPNetwork]) -> IPAddress | None:
    """The visitor's address: the socket peer, or, when the peer is a trusted proxy, the nearest untrusted
    address in the forwarding headers (read right to left, so a client cannot forge its way past a proxy)."""
    address = _parse(peer) if peer else None
    if address is None or not trusted:
        return address
    if not any(address in network for network in trusted):
        return address
    for hop in reversed(_forwarded_chain(headers)):
        hop_address = _parse(hop)
        if hop_address is None:
            return None
        if not any(hop_address in network for network in trusted):
            return hop_address
        address = hop_address
    return address


_WILDCARD = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){0,3})((?:\.\*){1,4})$|^\*(?:\.\*){0,3}$")


def parse_range(entry: str) -> IPNetwork | None:
    entry = entry.strip()
    if "*" in entry:
        match = _WILDCARD.match(entry)
        if match is None:
            return None
        fixed = match.group(1).split(".") if match.group(1) else []
        if len(fixed) + entry.count("*") != 4:
            return None
        entry = ".".join([*fixed, *["0"] * (4 - len(fixed))]) + f"/{8 * len(fixed)}"
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None


@lru_cache(maxsize=1024)
def _parse_ranges(ranges: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(network for network in map(parse_range, ranges) if network is not None)


def ip_in_ranges(address: IPAddress, ranges: Sequence[str]) -> bool:
    """True if `address` is in any entry: a single IP, CIDR (``10.0.0.0/8``, ``2001:db8::/32``) or a Matomo
    IPv4 wildcard with trailing stars (``1.2.3.*``, ``1.2.*.*``). Invalid entries are ignored. An IPv4-mapped
    IPv6 address (``::ffff:1.2.3.4``) is checked as its IPv4 address too.
    """
    networks = _parse_ranges(tuple(ranges))
    candidates = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        candidates.append(address.ipv4_mapped)
    return any(
        candidate in network
        for network in networks
        for candidate in candidates
        if candidate.version == network.version
    )


class ClientAddress:
    """The visitor's address behind a narrow interface: masked text, range checks and a geo lookup.

    The collector middleware creates it and puts only masked text in the request; per-site rules (a site's own
    mask width, excluded ranges, geolocation on the full address when a site chose it) ask this object, so no
    code ever holds the full address as a value it could log, store or put in an error report.
    """

    __slots__ = ("_address",)

    def __init__(self, address: IPAddress | None) -> None:
        self._address = address

    def __bool__(self) -> bool:
        return self._address is not None

    def masked(self, ipv4_mask_bytes: int, ipv6_prefix_bits: int) -> str:
        if self._address is None:
            return ""
        return mask_address(self._address, ipv4_mask_bytes, ipv6_prefix_bits)

    def in_ranges(self, ranges: Sequence[str]) -> bool:
        """True when the address is in one of the ranges (see ip_in_ranges)."""
        return self._address is not None and ip_in_ranges(self._address, ranges)

    def unmasked_text(self) -> str:
        """Only for an in-memory lookup a site asked for (geolocation on the full address); never store it."""
        return str(self._address) if self._address is not None else ""

    def __repr__(self) -> str:
        return "ClientAddress(<hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a ClientAddress is never serialised")
