"""Where the server may send a request it was told to send: the SSRF rules shared by the
webhooks (docs/webhooks.md "Addresses") and the notification channels' provider URLs
(docs/notifications.md "Channels").

A URL is refused unless it is ``http``/``https`` without user information, without
characters a URL parser drops or reads differently (whitespace, control characters,
backslashes), with a host name that is a valid domain name (IDNA: ``bücher.example`` is
sent as ``xn--bcher-kva.example``) or an address, on an allowed port, and every address its
host resolves to is a public unicast address. Numeric hosts in every form the C library
reads (``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``) are read as the address
they name; IPv6 addresses that embed an IPv4 one (IPv4-mapped, IPv4-compatible, NAT64,
6to4, Teredo) are judged by the embedded address too. A caller connects to the address
that was checked (``Target``), so a name that re-binds between the check and the
connection cannot win.

Each user of these rules wraps ``Refused`` into its own problem (its ``code``)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PORTS = {"http": 80, "https": 443}
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
Resolver = Callable[[str, int], Awaitable[list[str]]]


class Refused(ValueError):
    """Why a URL may not be sent to (``detail``: a sentence for the caller)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Unresolved(Refused):
    """The host name does not resolve (now: it may later)."""


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
    """Why ``ip`` may not be sent to (None: a public unicast address)."""
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


def _unclean(url: str) -> bool:
    """Whitespace, control characters or a backslash: urlsplit drops tabs and newlines
    and browsers read ``\\`` as ``/``, so what was checked would not be what is sent."""
    return any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch == "\\" for ch in url)


def parts(url: str) -> SplitResult:
    """The URL's parts, or ``Refused`` saying what is wrong with its form."""
    if _unclean(url):
        raise Refused("the url may not hold spaces, tabs, line breaks or backslashes")
    try:
        split = urlsplit(url)
        port = split.port
    except ValueError as exc:
        raise Refused(f"the url is not valid: {exc}") from None
    if split.scheme not in DEFAULT_PORTS:
        raise Refused("the url must start with http:// or https://")
    if split.username is not None or split.password is not None or "@" in split.netloc:
        raise Refused("the url may not hold a user name or password")
    if not split.hostname:
        raise Refused("the url has no host")
    if port == 0:
        raise Refused("port 0 is not a port: leave the port out or name another")
    return split


def ascii_host(host: str) -> str:
    """A host name as sent on the wire (IDNA, as the resolver reads it), or ``Refused``."""
    if numeric_host(host) is not None:
        return host
    try:
        name = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise Refused(f"the host {host[:80]!r} is not a valid domain name") from None
    if len(name.rstrip(".")) > 253:
        raise Refused("the host name is longer than 253 characters")
    return name


async def _addresses(host: str, port: int, resolver: Resolver) -> list[IP]:
    if (literal := numeric_host(host)) is not None:
        return [literal]
    try:
        found = await resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise Unresolved(f"the host {host} does not resolve ({exc})") from None
    if not found:
        raise Unresolved(f"the host {host} does not resolve")
    return [ipaddress.ip_address(a.split("%")[0]) for a in found]


async def check(
    url: str,
    *,
    resolver: Resolver,
    allowed_ports: Collection[int] | None,
    allow_private: bool,
) -> Target:
    """The target ``url`` names, its host resolved and every address checked; ``Refused``
    saying why otherwise (``Unresolved`` when the name does not resolve). ``allowed_ports``
    None: any port; else the scheme's default and these."""
    split = parts(url)
    port = split.port or DEFAULT_PORTS[split.scheme]
    if allowed_ports is not None and not allow_private:
        allowed = {DEFAULT_PORTS[split.scheme], *allowed_ports}
        if port not in allowed:
            ports = ", ".join(str(p) for p in sorted(allowed))
            raise Refused(f"port {port} is not allowed; use one of {ports}")
    host = ascii_host(split.hostname or "")
    addresses = await _addresses(host, port, resolver)
    if not allow_private:
        for address in addresses:
            if (why := refusal(address)) is not None:
                raise Refused(f"the host {host} resolves to {address}: {why}")
    path = (split.path or "/") + (f"?{split.query}" if split.query else "")
    return Target(url, split.scheme, host, port, addresses[0], path)
