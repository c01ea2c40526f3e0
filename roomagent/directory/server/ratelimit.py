"""Who is redeeming: the client address the brute-force limit is keyed on.

The counting itself lives in the store (atomic with the code lookup); this module only decides which
address a request comes from, and which network that address counts for: an IPv4 address counts alone,
an IPv6 address for its whole prefix (``/64`` by default), since one host is routinely given a /64 and
could otherwise guess from 2**64 addresses without limit. ``X-Forwarded-For`` is believed only when the TCP peer is a listed
trusted proxy; otherwise anyone could dodge the limit by inventing a header.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address.strip())
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, proxies: Sequence[Network]) -> bool:
    return any(address in net for net in proxies)


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxies: Sequence[Network]) -> str:
    """The address to count failures against.

    ``peer`` is the TCP peer (``request.client.host``), ``forwarded_for`` the raw ``X-Forwarded-For``
    header. Walking the header from the right, trusted proxies are skipped; the first other address is
    the client. A malformed entry stops the walk at the last address we could trust.
    """
    if peer is None:
        return "unknown"
    if not trusted_proxies or not forwarded_for:
        return peer
    peer_ip = _parse(peer)
    if peer_ip is None or not _trusted(peer_ip, trusted_proxies):
        return peer
    current = str(peer_ip)
    for hop in reversed(forwarded_for.split(",")):
        hop_ip = _parse(hop)
        if hop_ip is None:
            return current
        current = str(hop_ip)
        if not _trusted(hop_ip, trusted_proxies):
            return current
    return current


def rate_network(address: str, ipv6_prefix: int = 64) -> str:
    """The network failures of ``address`` count against: the IPv4 address itself, the IPv6 ``/ipv6_prefix``.

    IPv4-mapped IPv6 addresses (``::ffff:192.0.2.1``, a dual-stack socket) count as their IPv4 address;
    anything unparseable counts as itself.
    """
    ip = _parse(address)
    if ip is None:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, ipv6_prefix), strict=False))
    return str(ip)
