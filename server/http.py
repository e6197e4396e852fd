"""HTTP helpers shared by the routers: ETags, page-size parameters, error docs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Header, Query, Request, Response, params
from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator
from starlette.types import Scope

from server.crud import NEVER_MATCHES
from server.errors import BadRequest, PreconditionRequired, UnsupportedMediaType
from server.pagination import MAX_CURSOR
from server.schemas import Problem
from server.text import quote
from shared.digits import NumberTooLarge, ascii_uint

# Exactly the tags etag() writes: ASCII digits (\d also takes other scripts'), no leading
# zero (a strong comparison is character by character: "v01" is not "v1").
_STRONG = re.compile(r'"v(0|[1-9][0-9]{0,8})"')
_WEAK = re.compile(r'W/"v(0|[1-9][0-9]{0,8})"')


def etag(version: int) -> str:
    return f'"v{version}"'


def created_headers(path: str, obj: Any) -> dict[str, str]:
    """A create's Location (``/api/v1/{path}/{id}``) and ETag: ``obj`` has ``id`` and
    ``version``."""
    return {"Location": f"/api/v1/{path}/{obj.id}", "ETag": etag(obj.version)}


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=40,
        description='The one strong ETag you read (e.g. "v3"); the change fails with 412 if '
        'the object changed since. A weak tag (W/"v3") never matches (412); `*` names no '
        "version (428); a list of tags is refused (400).",
    ),
]


def expected_version(if_match: str | None, *, required: bool = True) -> int | None:
    """The version an ``If-Match`` header names, for ``server.crud.check_version``.

    Deliberately narrower than RFC 9110 section 13.1.1, because the header exists here to
    prevent lost updates, and only the version the client read does that:

    - absent: 428 when ``required`` (every PATCH and PUT), else None (no check);
    - ``*`` ("any current version"): as if absent (428 when required): it names no
      version, so it would let a stale edit through;
    - one strong tag ``"v3"``: 3;
    - one weak tag ``W/"v3"``: If-Match compares strongly, so a weak tag never matches:
      ``NEVER_MATCHES``, which the check answers with 412 and ``current_version``;
    - a list of tags: 400, send the one you read (a client holding several versions does
      not know which one its change was made on);
    - anything else: 400.
    """
    if if_match is None or if_match.strip() == "*":
        if not required:
            return None
        shown = "" if if_match is None else " (* names no version)"
        raise PreconditionRequired(
            f'send If-Match with the ETag from your last read (e.g. If-Match: "v3"){shown}'
        )
    value = if_match.strip()
    if found := _STRONG.fullmatch(value):
        return int(found.group(1))
    if _WEAK.fullmatch(value):
        return NEVER_MATCHES
    if "," in value:
        raise BadRequest(f'If-Match must be the one ETag you read, like "v3"; got {if_match!r}')
    raise BadRequest(f'If-Match must be an ETag like "v3", got {if_match!r}')


IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        max_length=40,
        description="`*` to create only: 412 if the object exists already",
    ),
]


def none_match(if_none_match: str | None, etag: str) -> bool:
    """Whether a GET's ``If-None-Match`` names the representation ``etag`` (304). Unlike
    If-Match it compares weakly (RFC 9110 section 13.1.2: ``W/"x"`` matches ``"x"``), and
    ``*`` matches any current representation."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def put_precondition(if_match: str | None, if_none_match: str | None) -> int | None:
    """A PUT that creates or replaces names which one it means: ``If-Match`` with the
    version it read (replace; see ``expected_version``), or ``If-None-Match: *`` (create
    only; returns None). Neither is 428, both 400."""
    if if_none_match is None:
        if if_match is None or if_match.strip() == "*":
            # expected_version's 428 would name If-Match alone: a client creating the
            # first one has no ETag to send, and must learn of If-None-Match.
            shown = "" if if_match is None else " (If-Match: * names no version)"
            raise PreconditionRequired(
                "send If-None-Match: * to create it, or If-Match with the ETag from your "
                f'last read (e.g. If-Match: "v3") to replace it{shown}'
            )
        return expected_version(if_match)
    if if_none_match.strip() != "*":
        raise BadRequest(f"If-None-Match must be * (create only), got {if_none_match!r}")
    if if_match is not None:
        raise BadRequest("send If-Match (replace) or If-None-Match: * (create), not both")
    return None


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
    Query(max_length=MAX_CURSOR, description="next_cursor from the previous page"),
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


# --- body formats ------------------------------------------------------------------------
# FastAPI reads a body as JSON only when Content-Type says JSON; any other type (or none)
# hands the validator the raw bytes, and the caller read "body: Input should be a valid
# dictionary" for a JSON body sent as text/plain. The same for JSON sent to a form.
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _media_type(scope: Scope) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers") or []
    for name, value in headers:
        if name == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return None


def _has_body(scope: Scope) -> bool:
    headers = dict(scope.get("headers") or ())
    length = headers.get(b"content-length", b"").strip()
    return b"transfer-encoding" in headers or (length != b"" and length.strip(b"0") != b"")


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def check_request(request: Request) -> None:
    """A dependency of every operation (create_app), for what no parameter type sees:
    text with U+0000 in the query or a form (PostgreSQL refused it as a 422 naming no
    field), and a body of another format than the one the operation reads."""
    route = request.scope.get("route")
    if getattr(getattr(route, "endpoint", None), _OWN_INPUT, False):
        return
    _refuse_nul("query", request.query_params.multi_items())
    body_field = getattr(route, "body_field", None)
    if body_field is None:
        return
    media_type = _media_type(request.scope)
    if isinstance(body_field.field_info, params.Form):
        if media_type is not None and media_type not in _FORMS:
            raise UnsupportedMediaType(
                f"send this form as {_FORMS[0]} (or {_FORMS[1]}), not {media_type[:80]}"
            )
        form = await request.form()  # parsed by FastAPI already, kept
        _refuse_nul("body", [(k, v) for k, v in form.multi_items() if isinstance(v, str)])
    elif media_type is not None or _has_body(request.scope):
        if media_type is None or not _is_json(media_type):
            sent = f"not {media_type[:80]}" if media_type else "the request named no type"
            raise UnsupportedMediaType(
                f"send the body as JSON with Content-Type: application/json ({sent})"
            )
        if not getattr(getattr(route, "endpoint", None), _LAST_KEY_WINS, False):
            _refuse_repeated_keys(await request.body())  # read once by FastAPI, kept


def _refuse_nul(source: str, items: list[tuple[str, str]]) -> None:
    """JSON bodies are checked by ``server.schemas.Input``; query strings and forms here."""
    for name, value in items:
        if "\x00" in value or "\x00" in name:
            raise RequestValidationError(
                [
                    {
                        "type": "string_nul",
                        "loc": (source, name.replace("\x00", "")),
                        "msg": "text cannot contain the NUL character (U+0000)",
                    }
                ]
            )


_LAST_KEY_WINS = "_fixflow_last_key_wins"
_OWN_INPUT = "_fixflow_reads_own_input"
F = TypeVar("F", bound=Callable[..., Any])


def reads_own_input(endpoint: F) -> F:
    """Exempts a customer page from ``check_request``: the page reads its query and form
    itself (server/pages/http.py ``read_form``) and answers bad input with the page in the
    customer's language (a U+0000 in ``?lang=`` is an unknown language, one in a field is
    removed), never with a JSON problem the customer's browser would show raw."""
    setattr(endpoint, _OWN_INPUT, True)
    return endpoint


def last_key_wins(endpoint: F) -> F:
    """Exempts an operation from the repeated-key check: the sync push, where anything
    wrong beyond the envelope is one mutation's own problem (docs/sync.md) and must not
    refuse the whole push (the phone would resend it forever, its queue blocked). A
    repeated key there keeps its last value, as JSON readers commonly do."""
    setattr(endpoint, _LAST_KEY_WINS, True)
    return endpoint


class _RepeatedKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _one_of_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(key)
            seen.add(key)
    return found


def _refuse_repeated_keys(body: bytes) -> None:
    """JSON lets an object name a key twice and Python keeps the last value; a proxy or a
    log in front of us may read the first (``{"role": "viewer", "role": "admin"}``), so
    which one was meant is not ours to guess: 422. FastAPI parsed the body already; this
    second pass (some 50 us for a 7 KB sync push) only looks for repeated keys."""
    try:
        json.loads(body, object_pairs_hook=_one_of_each)
    except _RepeatedKey as exc:
        raise RequestValidationError(
            [
                {
                    "type": "json_repeated_key",
                    "loc": ("body",),
                    "msg": f"the key {quote(exc.key)} appears twice in one object; send it once",
                }
            ]
        ) from None
    except ValueError:
        return  # not JSON: FastAPI's own parse answers it (a 422 like this one)


def document_body_formats(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` (the OpenAPI document) with the 415 of ``check_request`` on every
    operation whose body is JSON or a form."""
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            formats = " or ".join(body.get("content", {})) if body else ""
            if formats.startswith(("application/json", _FORMS[0])):
                operation["responses"]["415"] = {
                    "description": f"The body is not {formats}",
                    "content": {"application/problem+json": problem},
                }
    return spec


def created_links(
    description: str, **operations: dict[str, str]
) -> dict[int | str, dict[str, Any]]:
    """A 201 response with OpenAPI links: operation -> {path parameter: response field}."""
    return {
        201: {
            "description": description,
            "links": {
                operation: {
                    "operationId": operation,
                    "parameters": {p: f"$response.body#/{f}" for p, f in params.items()},
                }
                for operation, params in operations.items()
            },
        }
    }
