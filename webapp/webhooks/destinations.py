"""Which URLs the service will POST to: HTTPS on the public internet only (SSRF protection).

A webhook URL is chosen by a tenant, and the worker that calls it sits
inside our network, so an unchecked URL would let a tenant probe internal
services. Rules:

- ``https://`` only. ``http://`` is accepted just for 127.0.0.1 / localhost / ::1
  when FORENSICS_WEBHOOK_ALLOW_HTTP_LOCALHOST is on (development and tests).
- The host must resolve only to public addresses; private, loopback,
  link-local (cloud metadata at 169.254.169.254), multicast and reserved
  ranges are refused unless FORENSICS_WEBHOOK_ALLOW_PRIVATE_NETWORKS is on.
  IPv6 addresses that encode an IPv4 address (IPv4-mapped/compatible/translated,
  NAT64, 6to4, Teredo) are judged by that IPv4 address too.
- The check runs when the endpoint is registered and again before every
  attempt (DNS may change); redirects are never followed.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class DestinationRefused(ValueError):
    """The URL is not one the service may call; the message says why and what to do."""


def check_destination(url: str) -> None:
    """Raise DestinationRefused unless ``url`` is an allowed webhook target."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DestinationRefused(f"not a valid URL: {exc}") from None
    host = (parts.hostname or "").lower()
    if not host:
        raise DestinationRefused("the URL has no host; use https://your-host/path")
    if parts.username or parts.password:
        raise DestinationRefused("credentials in the URL are not allowed; verify the signature instead")
    if parts.scheme == "http":
        if host in LOCAL_HOSTS and settings.FORENSICS_WEBHOOK_ALLOW_HTTP_LOCALHOST:
            return
        raise DestinationRefused(
            "webhook URLs must use https:// (plain http is allowed only for 127.0.0.1/localhost "
            "with FORENSICS_WEBHOOK_ALLOW_HTTP_LOCALHOST=1)"
        )
    if parts.scheme != "https":
        raise DestinationRefused(f"unsupported scheme {parts.scheme!r}; webhook URLs must use https://")
    if settings.FORENSICS_WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        return
    for address in _addresses(host, port or 443):
        why = _not_public(address)
        if why:
            raise DestinationRefused(
                f"{host} resolves to {address}, {why}; webhooks go to public hosts only "
                "(set FORENSICS_WEBHOOK_ALLOW_PRIVATE_NETWORKS=1 for an internal receiver)"
            )


# IPv6 prefixes that carry an IPv4 address in their low 32 bits (RFC 4291 mapped and compatible, RFC 2765
# translated, RFC 6052 NAT64 well-known prefix). A gateway or the host's own stack may deliver them to that
# IPv4 address, so ``[::ffff:127.0.0.1]`` or ``[64:ff9b::7f00:1]`` must be judged as 127.0.0.1.
_LOW32_PREFIXES = {
    ipaddress.ip_network("::ffff:0:0/96"): "IPv4-mapped",
    ipaddress.ip_network("::/96"): "IPv4-compatible",
    ipaddress.ip_network("::ffff:0:0:0/96"): "IPv4-translated",
    ipaddress.ip_network("64:ff9b::/96"): "NAT64",
}
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: a network's own translator, never public


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address stands for, with the encoding's name."""
    found = [(name, ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
             for net, name in _LOW32_PREFIXES.items() if address in net]
    if address.sixtofour is not None:  # 2002:AABB:CCDD::/48, the 6to4 relay of AA.BB.CC.DD
        found.append(("6to4", address.sixtofour))
    if address.teredo is not None:  # 2001:0::/32: the Teredo server and the (obfuscated) client address
        server, client = address.teredo
        found += [("Teredo server", server), ("Teredo client", client)]
    return found


def _not_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why the address is no public destination, or None."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _LOCAL_NAT64:
            return "a local-use NAT64 address (64:ff9b:1::/48)"
        for encoding, inner in _embedded_ipv4(address):
            if inner.is_unspecified and encoding == "IPv4-compatible" and int(address) <= 1:
                continue  # :: and ::1 are judged as themselves below
            if not inner.is_global:
                return f"an {encoding} encoding of {inner}, a private, loopback or link-local address"
    if not address.is_global:
        return "a private, loopback or link-local address"
    return None


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise DestinationRefused(f"cannot resolve {host}: {exc}; check the host name") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
