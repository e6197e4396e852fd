"""Nothing on a request's path hops to a thread without a reason.

FastAPI runs a plain ``def`` endpoint or dependency in its thread pool (anyio's, 40
threads shared by the whole process): a thread hop and a GIL hand-over on every request
for what is usually a dictionary lookup, and, for the work that really blocks, a pool the
PDF and image work shares. Endpoints and dependencies are ``async def``; blocking work is
sent to a thread explicitly (password hashing on its own pool, server/auth/security.py)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, through included routers (FastAPI keeps those as wrappers)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (inner := getattr(route, "original_router", None)) is not None:
            yield from _routes(inner.routes)


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _is_async(call: Any) -> bool:
    if inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call):
        return True
    dunder = inspect.getattr_static(type(call), "__call__", None)  # security schemes: objects
    return inspect.iscoroutinefunction(dunder) or inspect.isasyncgenfunction(dunder)


def test_no_endpoint_or_dependency_runs_in_the_thread_pool(app: Any) -> None:
    offenders = set()
    routes = list(_routes(app.routes))
    assert len(routes) > 100  # the walk reached the routers' routes
    for route in routes:
        if not _is_async(route.endpoint):
            offenders.add(f"endpoint {route.endpoint.__module__}.{route.endpoint.__qualname__}")
        for call in _calls(route.dependant):
            if not _is_async(call):
                name = getattr(call, "__qualname__", type(call).__qualname__)
                offenders.add(f"dependency {getattr(call, '__module__', '?')}.{name}")
    assert not offenders, sorted(offenders)
