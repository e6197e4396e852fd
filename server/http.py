"""HTTP helpers shared by the routers: ETags, page-size parameters, error docs."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Header, Query, Response
from pydantic import BeforeValidator

from server.errors import BadRequest
from server.schemas import Problem
from shared.digits import NumberTooLarge, ascii_uint

_ETAG = re.compile(r'^\s*(?:W/)?"v(\d{1,9})"\s*$')


def etag(version: int) -> str:
    return f'"v{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=40,
        description='The ETag you read (e.g. "v3"); the update fails with 412 if the object '
        "changed since.",
    ),
]


def expected_version(if_match: str | None, *, required: bool = True) -> int | None:
    from server.errors import PreconditionRequired

    if if_match is None:
        if required:
            raise PreconditionRequired(
                'send If-Match with the ETag from your last read (e.g. If-Match: "v3")'
            )
        return None
    found = _ETAG.match(if_match)
    if not found:
        raise BadRequest(f'If-Match must be an ETag like "v3", got {if_match!r}')
    return int(found.group(1))


def _digits(value: Any) -> Any:
    """A number in the query string as ASCII digits only: pydantic alone also takes
    " 5", "+5", "1_0" and "5.0" for an integer (ge/le still bound the value after)."""
    if not isinstance(value, str):
        return value
    try:
        return ascii_uint(value, maximum=2**63 - 1)
    except NumberTooLarge:
        raise ValueError("the number is too large") from None
    except ValueError:
        raise ValueError("must be a whole number written with the digits 0-9") from None


# For every integer read from a query string or header by FastAPI: Annotated[int, Query(...),
# AsciiDigits].
AsciiDigits = BeforeValidator(_digits)

Limit = Annotated[
    int,
    Query(ge=1, le=200, description="Page size (default 50, at most 200)"),
    AsciiDigits,
]
Cursor = Annotated[
    str | None,
    Query(max_length=500, description="next_cursor from the previous page"),
]


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error responses an operation can give."""
    text = {
        400: "Malformed request (bad cursor, bad header)",
        401: "Missing, invalid or expired credentials",
        403: "Authenticated, but the role or scope does not allow this",
        404: "No such object in your organisation",
        409: "Conflicts with the current state",
        412: "If-Match names a stale version",
        413: "Body too large",
        422: "The body or parameters are invalid; `errors` lists each problem",
        428: "If-Match is required",
        429: "Too many requests",
    }
    out: dict[int | str, dict[str, Any]] = {}
    for code in (401, 422, *codes):
        out[code] = {
            "model": Problem,
            "description": text[code],
            "content": {"application/problem+json": {}},
        }
    return out


def created(description: str, **links: tuple[str, str]) -> dict[int | str, dict[str, Any]]:
    """The 201 response of a create operation with OpenAPI links to what can be done next:
    ``created("Work order created", read=("read_ticket", "ticket_id"))``."""
    return {
        201: {
            "description": description,
            "links": {
                name: {"operationId": operation, "parameters": {param: "$response.body#/id"}}
                for name, (operation, param) in links.items()
            },
        }
    }
