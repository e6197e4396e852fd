"""Every integer FastAPI reads from a query string or a header carries ``AsciiDigits``
(server/http.py): without it pydantic takes "+5", "1_0", "5.0" and " 5" for 5, and a
client's typo passes silently. Found missing on the dispatch routers' ``limit``."""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any, Union, get_args, get_origin

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from server.http import AsciiDigits
from server.main import create_app


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, through included routers (FastAPI keeps those as wrappers)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (inner := getattr(route, "original_router", None)) is not None:
            yield from _routes(inner.routes)


def _params(dependant: Dependant) -> Iterator[Any]:
    yield from dependant.query_params
    yield from dependant.header_params
    for sub in dependant.dependencies:
        yield from _params(sub)


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return int in get_args(annotation)
    return False


def test_every_integer_query_or_header_parameter_takes_ascii_digits_only() -> None:
    app = create_app()
    checked, missing = 0, []
    for route in _routes(app.routes):
        for param in _params(route.dependant):
            if not _is_int(param.field_info.annotation):
                continue
            checked += 1
            if AsciiDigits not in param.field_info.metadata:
                methods = ",".join(sorted(route.methods or ()))
                missing.append(f"{methods} {route.path}: {param.name}")
    assert checked > 10  # the scan sees the integers (the pages' limit at least)
    assert missing == [], missing
