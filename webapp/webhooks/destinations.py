"""Which URLs the service will POST to: HTTPS on the public internet only (SSRF protection).

A webhook URL is chosen by a tenant, and the worker that calls it sits
inside our network, so an unchecked URL would let a tenant probe internal
services. Rules:

- ``https://`` only. ``http://`` is accepted just for 127.0.0.1 / localhost / ::1
  when FORENSICS_WEBHOOK_ALLOW_HTTP_LOCALHOST is on (development and tests).
- The host must resolve only to public addresses; private, loopback,
  link-local (cloud metadata at 169.254.169.254), multicast and reserved
  ranges are refused unless FORENSICS_WEBHOOK_ALLOW_PRIVATE_NETWORKS is on.
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
        if not address.is_global:
            raise DestinationRefused(
                f"{host} resolves to {address}, a private, loopback or link-local address; webhooks go to "
                "public hosts only (set FORENSICS_WEBHOOK_ALLOW_PRIVATE_NETWORKS=1 for an internal receiver)"
            )


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise DestinationRefused(f"cannot resolve {host}: {exc}; check the host name") from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
