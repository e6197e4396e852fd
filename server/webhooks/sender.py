"""One POST of a webhook to a checked, pinned address.

The URL is checked again (DNS can change since registration) and the connection goes to
the address that was checked, with the original name as the Host header and the TLS server
name (certificates are verified against it), so a name that re-binds between the check and
the connection cannot win. Redirects are not followed (a 3xx is a failure), connecting and
reading are bounded, and at most ``MAX_RESPONSE_BYTES`` of the answer are read.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass

import httpx

from server.outbound import tls_context
from server.webhooks import addresses

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
TOTAL_SECONDS = 30.0  # the whole attempt; below delivery.LEASE_SECONDS (60)
MAX_RESPONSE_BYTES = 64 * 1024
EXCERPT_CHARS = 1000
USER_AGENT = "Fixflow-Webhooks/1"
# Certificates are verified against httpx's trust store (certifi's roots, or SSL_CERT_FILE /
# SSL_CERT_DIR); tests put a context with their own CA here.
tls: ssl.SSLContext | bool = True


def _verify() -> ssl.SSLContext | bool:
    """The shared context (server/outbound.py), unless a test put its own in ``tls``."""
    return tls_context() if tls is True else tls


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None
    excerpt: str | None
    duration_ms: int


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT, write=READ_TIMEOUT, pool=1)


async def _read_bounded(response: httpx.Response) -> bytes:
    data = b""
    async for chunk in response.aiter_raw():
        data += chunk
        if len(data) >= MAX_RESPONSE_BYTES:
            break
    return data[:MAX_RESPONSE_BYTES]


def _judge(status: int, raw: bytes, location: str | None) -> tuple[bool, str | None, str]:
    excerpt = raw[:EXCERPT_CHARS].decode("utf-8", "replace")[:EXCERPT_CHARS]
    if 200 <= status < 300:
        return True, None, excerpt
    if 300 <= status < 400:
        where = (location or "")[:200]
        return False, f"redirect to {where!r} not followed: answer 2xx to acknowledge", excerpt
    return False, f"answered {status}", excerpt


async def post(url: str, body: str, headers: dict[str, str]) -> Outcome:
    """POST ``body`` to ``url``; the outcome, never an exception for the receiver's faults."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = await addresses.check(url)
    except addresses.UnsafeUrl as exc:
        return Outcome(False, None, f"refused: {exc.detail}"[:500], None, took())
    sent = {
        **headers,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "host": target.host_header,
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        # One deadline for the whole attempt, inside the lease: per-read timeouts alone let a
        # receiver that drips a byte every few seconds outlive the lease, and another worker
        # would send the same delivery again meanwhile.
        async with (
            asyncio.timeout(TOTAL_SECONDS),
            httpx.AsyncClient(
                timeout=_timeout(), follow_redirects=False, verify=_verify()
            ) as client,
        ):
            request = client.build_request(
                "POST", target.pinned_url, content=body.encode(), headers=sent
            )
            request.extensions.update(extensions)
            response = await client.send(request, stream=True)
            try:
                raw = await _read_bounded(response)
            finally:
                await response.aclose()
    except TimeoutError:
        late = f"no complete answer within {TOTAL_SECONDS:.0f} s"
        return Outcome(False, None, late, None, took())
    except httpx.HTTPError as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500], None, took())
    ok, error, excerpt = _judge(response.status_code, raw, response.headers.get("location"))
    return Outcome(ok, response.status_code, error, excerpt, took())
