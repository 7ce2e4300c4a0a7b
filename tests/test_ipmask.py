"""The client address: which one is the visitor's, and how much of it is kept."""

from __future__ import annotations

import ipaddress

import pytest

from ingest.ipmask import client_address, mask_address

TRUSTED = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128")]


@pytest.mark.parametrize(("address", "v4_bytes", "v6_bits", "masked"), [
    ("192.168.100.7", 1, 48, "192.168.100.0"),
    ("192.168.100.7", 2, 48, "192.168.0.0"),
    ("192.168.100.7", 3, 48, "192.0.0.0"),
    ("2001:db8:abcd:1234:5678::1", 2, 48, "2001:db8:abcd::"),
    ("2001:db8:abcd:1234:5678::1", 2, 32, "2001:db8::"),
    ("2001:db8:abcd:1234:5678::1", 2, 64, "2001:db8:abcd:1234::"),
    ("::ffff:81.2.69.160", 2, 48, "81.2.0.0"),  # IPv4-mapped IPv6 is masked as IPv4
])
def test_mask_widths(address: str, v4_bytes: int, v6_bits: int, masked: str) -> None:
    assert mask_address(ipaddress.ip_address(address), v4_bytes, v6_bits) == masked


def headers(**values: str) -> list[tuple[bytes, bytes]]:
    return [(name.replace("_", "-").encode(), value.encode()) for name, value in values.items()]


def test_forwarding_headers_are_ignored_from_untrusted_peers() -> None:
    forged = headers(x_forwarded_for="1.2.3.4")
    assert str(client_address("81.2.69.160", forged, TRUSTED)) == "81.2.69.160"
    assert str(client_address("81.2.69.160", forged, [])) == "81.2.69.160"


def test_trusted_proxy_chain_is_read_right_to_left() -> None:
    # The client forged "6.6.6.6"; the proxy appended the real peer it saw, then another trusted hop.
    chain = headers(x_forwarded_for="6.6.6.6, 81.2.69.160, 10.1.1.1")
    assert str(client_address("10.0.0.2", chain, TRUSTED)) == "81.2.69.160"
    forwarded = headers(forwarded='for="[2001:db8::7]:4711";proto=https')
    assert str(client_address("::1", forwarded, TRUSTED)) == "2001:db8::7"
    assert client_address("10.0.0.2", headers(x_forwarded_for="garbage"), TRUSTED) is None
    assert str(client_address("10.0.0.2", [], TRUSTED)) == "10.0.0.2"


def test_addresses_carrying_an_ipv4_address_are_masked_as_ipv4() -> None:
    # 6to4 (2002:AABB:CCDD::/48) holds the whole IPv4 address inside the kept /48.
    assert mask_address(ipaddress.ip_address("2002:cb00:7107::1"), 2, 48) == "203.0.0.0"


def test_only_one_forwarding_header_is_read() -> None:
    # The proxy maintains X-Forwarded-For; a client-sent Forwarded header must not be able to win.
    spoofed = headers(x_forwarded_for="198.51.100.23", forwarded="for=203.0.113.99")
    assert str(client_address("10.0.0.2", spoofed, TRUSTED)) == "198.51.100.23"
