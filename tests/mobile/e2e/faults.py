"""A fault-injecting HTTP transport in front of the real app (ASGI): the phone's network.

Rules match a method and a path fragment and fire a number of times:
- ``drop_request``: the connection fails before the server sees anything;
- ``drop_response``: the server handles the request (and commits), the answer is lost;
- ``unavailable``: a 503 with Retry-After, as a load balancer or a struggling server sends;
- ``mangle``: the server's answer arrives with header ``header`` replaced by ``value`` (a
  proxy that rewrites what it should not).
Every request is logged (time, method, path, size of the body, status or the fault).

Pulls on the rolled-back test transaction need one committed transaction elsewhere first
(see tests/server/sync/helpers.py): ``before_pull`` does that.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Rule:
    method: str
    path: str
    action: str
    times: int = 1
    retry_after: str = "1"
    header: str = ""
    value: bytes = b""


@dataclass
class Sent:
    at: float
    method: str
    path: str
    body: bytes
    outcome: str | int


@dataclass
class Faults(httpx.AsyncBaseTransport):
    inner: httpx.AsyncBaseTransport
    before_pull: Callable[[], Awaitable[None]] | None = None
    rules: list[Rule] = field(default_factory=list)
    log: list[Sent] = field(default_factory=list)

    def add(self, method: str, path: str, action: str, *, times: int = 1, **kw: Any) -> None:
        self.rules.append(Rule(method, path, action, times, **kw))

    def sent(self, method: str, path: str) -> list[Sent]:
        return [s for s in self.log if s.method == method and path in s.path]

    def _rule(self, request: httpx.Request) -> Rule | None:
        for rule in self.rules:
            if rule.times > 0 and rule.method == request.method and rule.path in request.url.path:
                rule.times -= 1
                return rule
        return None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        entry = Sent(time.monotonic(), request.method, request.url.path, body, "")
        self.log.append(entry)
        rule = self._rule(request)
        if rule is not None and rule.action == "drop_request":
            entry.outcome = "dropped request"
            raise httpx.ConnectError("injected: connection refused", request=request)
        if rule is not None and rule.action == "unavailable":
            entry.outcome = 503
            return httpx.Response(
                503,
                headers={"Retry-After": rule.retry_after},
                json={"code": "unavailable", "detail": "injected"},
                request=request,
            )
        if request.url.path.endswith("/sync/pull") and self.before_pull is not None:
            await self.before_pull()
        response = await self.inner.handle_async_request(request)
        await response.aread()
        if rule is not None and rule.action == "drop_response":
            entry.outcome = f"dropped response ({response.status_code})"
            await response.aclose()
            raise httpx.ReadError("injected: connection reset", request=request)
        entry.outcome = response.status_code
        if rule is not None and rule.action == "mangle":
            kept = [(k, v) for k, v in response.headers.raw if k.lower() != rule.header.encode()]
            return httpx.Response(
                response.status_code,
                headers=[*kept, (rule.header.encode(), rule.value)],
                content=response.content,
                request=request,
            )
        return response
