"""Where a webhook may be sent: the SSRF rules (docs/webhooks.md "Addresses").

A URL is refused unless it is ``http``/``https`` without user information, on the scheme's
default port (or one of ``FIXFLOW_WEBHOOKS_ALLOWED_PORTS``), and every address its host
resolves to is a public unicast address. Numeric hosts in every form the C library reads
(``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``) are read as the address they
name; IPv6 addresses that embed an IPv4 one (IPv4-mapped, IPv4-compatible, NAT64, 6to4,
Teredo) are judged by the embedded address too. The check runs at registration and again
before every attempt, and the sender connects to the address it checked (``Target``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from server.config import get_settings
from server.errors import Unprocessable

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PORTS = {"http": 80, "https": 443}
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
Resolver = Callable[[str, int], Awaitable[list[str]]]


class UnsafeUrl(Unprocessable):
    code = "webhook_url_refused"


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to ``address`` (the checked IP), send ``host`` as the Host
    header and TLS server name."""

    url: str
    scheme: str
    host: str
    port: int
    address: IP
    path: str  # path and query, as sent

    @property
    def pinned_url(self) -> str:
        literal = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{self.scheme}://{literal}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == DEFAULT_PORTS[self.scheme] else f"{name}:{self.port}"


async def os_resolver(host: str, port: int) -> list[str]:
    """Every address the operating system's resolver gives ``host``."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(info[4][0]) for info in infos]


resolver: Resolver = os_resolver  # tests put a controlled resolver here


def numeric_host(host: str) -> IP | None:
    """The address a numeric host names in any form the C library reads, else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not host or not all(c in "0123456789abcdefxABCDEFX." for c in host):
        return None
    if not host[0].isdigit():
        return None  # a name such as "cafe.example" is a name
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _embedded(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in NAT64) or (int(ip) >> 32 == 0 and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)  # NAT64, IPv4-compatible
    return None


def refusal(ip: IP) -> str | None:
    """Why ``ip`` may not receive webhooks (None: a public unicast address)."""
    if isinstance(ip, ipaddress.IPv6Address) and (inner := _embedded(ip)) is not None:
        reason = refusal(inner)
        return f"it embeds {inner}, {reason}" if reason else None
    checks = (
        (ip in METADATA, "a cloud metadata address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_unspecified, "the unspecified address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT, "a carrier-grade NAT address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address"),
    )
    return next((why for hit, why in checks if hit), None)


def _parts(url: str) -> SplitResult:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise UnsafeUrl(f"the url is not valid: {exc}", field="url") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise UnsafeUrl("the url must start with http:// or https://", field="url")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeUrl("the url may not hold a user name or password", field="url")
    if not parts.hostname:
        raise UnsafeUrl("the url has no host", field="url")
    return parts


def _port(parts: SplitResult) -> int:
    settings = get_settings()
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    allowed = {DEFAULT_PORTS[parts.scheme], *settings.WEBHOOKS_ALLOWED_PORTS}
    if port not in allowed and not settings.WEBHOOKS_ALLOW_PRIVATE:
        ports = ", ".join(str(p) for p in sorted(allowed))
        raise UnsafeUrl(f"port {port} is not allowed; use one of {ports}", field="url")
    return port


async def check(url: str) -> Target:
    """The target ``url`` names, its host resolved and every address checked; ``UnsafeUrl``
    (422, saying why) when any address is refused or the name does not resolve."""
    parts = _parts(url)
    port = _port(parts)
    host = parts.hostname or ""
    literal = numeric_host(host)
    if literal is not None:
        addresses: list[IP] = [literal]
    else:
        try:
            found = await resolver(host, port)
        except OSError as exc:
            raise UnsafeUrl(f"the host {host} does not resolve ({exc})", field="url") from None
        addresses = [ipaddress.ip_address(a.split("%")[0]) for a in found]
        if not addresses:
            raise UnsafeUrl(f"the host {host} does not resolve", field="url")
    if not get_settings().WEBHOOKS_ALLOW_PRIVATE:
        for address in addresses:
            if (why := refusal(address)) is not None:
                raise UnsafeUrl(f"the host {host} resolves to {address}: {why}", field="url")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(url, parts.scheme, host, port, addresses[0], path)
