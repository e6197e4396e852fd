"""Pure ASGI middleware: request id, body size limit, access log and latency metrics."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import logs
from server.errors import AppError, BadRequest, PayloadTooLarge
from shared.digits import NumberTooLarge, ascii_uint

log = logging.getLogger("fixflow.http")

REQUEST_LATENCY = Histogram(
    "fixflow_http_request_duration_seconds",
    "HTTP request latency by route",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
REQUESTS = Counter("fixflow_http_requests_total", "HTTP requests", ["method", "route", "status"])


class RequestContext:
    """Assigns X-Request-ID, enforces the body limit, logs and measures each request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        streamed_prefixes: tuple[str, ...] = (),
        larger_posts: tuple[tuple[str, int], ...] = (),
        page_prefixes: tuple[str, ...] = (),
        too_large_page: Callable[[Scope, int], Response] | None = None,
    ) -> None:
        self.app = app
        # Paths of the customer pages: a body over the limit answers ``too_large_page``
        # (in the customer's language), not the API's JSON problem.
        self.page_prefixes = page_prefixes
        self.too_large_page = too_large_page
        self.max_body = max_body
        # POST bodies under these paths may be larger (the customer pages' photo forms).
        self.larger_posts = larger_posts
        # PATCH bodies under these paths are streamed by handlers that enforce their own
        # limit (tus uploads); the default limit would refuse a legitimate large chunk.
        self.streamed_prefixes = streamed_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_headers = scope.get("headers") or []
        headers = dict(raw_headers)
        rid = _request_id(headers.get(b"x-request-id", b""))
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        status = 500
        declared = headers.get(b"content-length")
        limit: int | None = self._limit(scope)
        if scope.get("method") == "PATCH" and str(scope.get("path", "")).startswith(
            self.streamed_prefixes
        ):
            declared, limit = None, None
        try:
            if (twice := _repeated(raw_headers)) is not None:
                status = 400
                detail = f"send the {twice} header once; it came more than once"
                await _send_problem(send, rid, scope, BadRequest(detail))
                return
            if declared is not None and _declares_too_much(declared, limit or self.max_body):
                status = 413
                await self._reject(send, rid, scope, limit or self.max_body)
                return
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request" and limit is not None:
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise _TooLarge(413, f"the body is larger than {limit} bytes")
                return message

            async def send_with_id(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    message.setdefault("headers", [])
                    message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
                await send(message)

            try:
                await self.app(scope, limited_receive, send_with_id)
            except _TooLarge:
                status = 413
                await self._reject(send, rid, scope, limit or self.max_body)
        finally:
            self._observe(scope, status, time.perf_counter() - started)
            logs.request_id.reset(token)

    def _limit(self, scope: Scope) -> int:
        path = str(scope.get("path", ""))
        if scope.get("method") == "POST":
            for prefix, size in self.larger_posts:
                if path.startswith(prefix):
                    return size
        return self.max_body

    async def _reject(self, send: Send, rid: str, scope: Scope, limit: int) -> None:
        if self.too_large_page is not None and str(scope.get("path", "")).startswith(
            self.page_prefixes
        ):
            page = self.too_large_page(scope, limit)
            headers = [*page.raw_headers, (b"x-request-id", rid.encode())]
            await send({"type": "http.response.start", "status": 413, "headers": headers})
            await send({"type": "http.response.body", "body": page.body})
            return
        detail = f"the body is larger than {limit} bytes"
        await _send_problem(send, rid, scope, PayloadTooLarge(detail))

    def _observe(self, scope: Scope, status: int, elapsed: float) -> None:
        route: Any = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "")
        REQUEST_LATENCY.labels(method, path, str(status)).observe(elapsed)
        REQUESTS.labels(method, path, str(status)).inc()
        log.info(
            "%s %s %s",
            method,
            scope.get("path"),
            status,
            extra={"route": path, "status": status, "ms": round(elapsed * 1000, 2)},
        )


async def _send_problem(send: Send, rid: str, scope: Scope, error: AppError) -> None:
    """A problem answered before the app runs: the same body the app's handlers write."""
    body = json.dumps(error.to_problem(str(scope.get("path", "")))).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", rid.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# Headers that name one thing. Sent twice, the framework reads the first and a proxy in
# front may have read the other: two If-Match lines are a list of tags (400, as one line
# with a comma), two credentials or two Idempotency-Keys are two requests in one, and two
# tus offsets or lengths are no offset. (Content-Length is refused twice by the HTTP
# parser itself; list headers such as Accept-Language and If-None-Match may repeat.)
SINGLE_HEADERS = (
    b"authorization",
    b"content-type",
    b"idempotency-key",
    b"if-match",
    b"range",
    b"tus-resumable",
    b"upload-length",
    b"upload-metadata",
    b"upload-offset",
)


def _repeated(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The name of a one-value header the request carries more than once, or None."""
    seen: set[bytes] = set()
    for name, _ in headers:
        if name in SINGLE_HEADERS:
            if name in seen:
                return name.decode().title()  # if-match: If-Match
            seen.add(name)
    return None


# Visible ASCII only: the id is echoed in a header and written to every log line, where a
# control character or a byte outside ASCII would corrupt both.
_CALLER_ID = re.compile(rb"[!-~]{1,64}")


def _request_id(sent: bytes) -> str:
    """The caller's X-Request-ID (its first 64 characters) if it is visible ASCII, else ours."""
    if _CALLER_ID.fullmatch(sent[:64]):
        return sent[:64].decode("ascii")
    return uuid.uuid4().hex


def _declares_too_much(content_length: bytes, limit: int) -> bool:
    """A Content-Length above the limit; one that is not a number is left to the server
    (the body's real size is still counted as it arrives)."""
    try:
        ascii_uint(content_length, maximum=limit)
    except NumberTooLarge:
        return True
    except ValueError:
        return False
    return False


class _TooLarge(HTTPException):
    """Raised from receive() when a body without Content-Length grows past the limit.

    An HTTPException because FastAPI re-raises those from body parsing (the app's handler
    renders the 413); any other exception there becomes a 400 "error parsing the body".
    """
