"""The phone <-> server sync protocol: the shapes both sides send, and their validation.

Standard library only: the server validates every push with these functions (and answers
422 naming the field), and the phone builds its requests with them, so the two cannot
drift apart. The design is docs/sync.md; in short:

- ``POST /api/v1/sync/clients``  register an installation: ``{"client_id", "device"}``
  -> ``{"client_id", "last_seq"}`` (idempotent: registering again returns the same row).
- ``POST /api/v1/sync/push``     ``{"client_id", "mutations": [Mutation, ...], "sent_at"?}``
  (``sent_at``, optional: the phone's clock when sending, to estimate its offset) where each
  mutation is ``{"seq", "id", "name", "args", "device_time"}``; mutations are applied in
  ``seq`` order, each exactly once: ``seq <= last_seq`` is a duplicate answered from the
  stored result, ``seq > last_seq + 1`` is a gap (409, ``expected_seq``). A mutation that
  can never succeed is stored as rejected (with the reason) and ``last_seq`` advances.
  -> ``{"last_seq", "results": [Result, ...]}``.
- ``GET /api/v1/sync/pull?client_id=&cursor=&limit=``
  -> ``{"cursor", "has_more", "reset", "changes": [Change, ...]}``; a change is
  ``{"op": "put"|"delete"|"remove"|"ack", "entity", "id", "data"}``.

Every id the phone creates (mutations, visits, labour entries, notes, attachments) is a
client-generated UUIDv7, so creating twice is creating once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shared.digits import plain_number_text
from shared.times import InstantError, parse_instant

PROTOCOL_VERSION = 1
MAX_MUTATIONS_PER_PUSH = 100
MAX_PULL_LIMIT = 500
DEFAULT_PULL_LIMIT = 200
MAX_ANSWER_BYTES = 64 * 1024  # a checklist answer's value, serialised
MAX_STROKES_BYTES = 256 * 1024  # a signature's strokes, serialised (some 10,000 points)
MAX_LABOUR_HOURS = 24  # a labour entry (or adjustment) ends after it starts, at most this later


class ProtocolError(ValueError):
    """A request that does not follow the protocol; ``field`` is a JSON path."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Op(StrEnum):
    PUT = "put"  # the full row: insert or replace it locally
    DELETE = "delete"  # the row was deleted on the server
    REMOVE = "remove"  # the row left this client's scope (e.g. the work order was reassigned)
    ACK = "ack"  # the result of one of this client's mutations (entity "mutation", id = seq)


class Outcome(StrEnum):
    APPLIED = "applied"
    REJECTED = "rejected"  # can never succeed: stored with its reason, the queue moves on


# --- argument checkers --------------------------------------------------------------------


def _uuid(value: Any, path: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise ProtocolError("must be a UUID", path) from None


def _unstorable(value: str) -> str | None:
    """Why PostgreSQL could not store this text (U+0000, a lone surrogate), or None."""
    if "\x00" in value:
        return "cannot contain the NUL character (U+0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a JSON "\ud800" escape decodes to a lone surrogate
        return "cannot contain a lone surrogate (it is not Unicode text)"
    return None


def _text(limit: int) -> Callable[[Any, str], str]:
    def check(value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise ProtocolError("must be a string", path)
        if len(value) > limit:
            raise ProtocolError(f"at most {limit} characters", path)
        if (problem := _unstorable(value)) is not None:
            raise ProtocolError(problem, path)
        return value

    return check


def _said(limit: int) -> Callable[[Any, str], str]:
    """Text that must say something (a reason): blank or only spaces is refused, as the
    server's services refuse it, so the phone refuses it before queueing."""
    text = _text(limit)

    def check(value: Any, path: str) -> str:
        checked = text(value, path)
        if not checked.strip():
            raise ProtocolError("must not be blank", path)
        return checked

    return check


def safe_name(value: Any, limit: int = 100) -> str:
    """``value`` as text that is safe to echo in a problem and to store (a name the phone
    sent: a mutation name, an argument's key): itself when clean, else its ``repr``; at
    most ``limit`` characters."""
    if isinstance(value, str) and _unstorable(value) is None:
        return value[:limit]
    return repr(value)[:limit]


def _time(value: Any, path: str) -> str:
    """An ISO 8601 instant with its offset (device clocks are kept, never trusted) within
    the bounds every instant has (shared/times.py: 1970 up to 2200 in UTC)."""
    try:
        parse_instant(value)
    except InstantError as exc:
        raise ProtocolError(exc.message, path) from None
    return str(value)


def _number(low: float, high: float) -> Callable[[Any, str], float]:
    def check(value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ProtocolError("must be a number", path)
        if isinstance(value, float) and not math.isfinite(value):
            raise ProtocolError("must be a finite number (no NaN or Infinity)", path)
        if not low <= value <= high:
            raise ProtocolError(f"must be between {low} and {high}", path)
        return float(value)

    return check


def _decimal(value: Any, path: str) -> str:
    """Quantities travel as decimal strings ("1.5"), never floats."""
    from decimal import Decimal, InvalidOperation

    # Protocol text is sent as it is meant: no padding, no "١٢" (see plain_number_text).
    if not isinstance(value, str) or not plain_number_text(value) or value != value.strip():
        raise ProtocolError('must be a decimal string, e.g. "2"', path)
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ProtocolError('must be a decimal string, e.g. "2"', path) from None
    if not number.is_finite() or number <= 0 or number > 1_000_000_000:
        raise ProtocolError("must be positive and at most 1000000000", path)
    return value


def _choice(*options: str) -> Callable[[Any, str], str]:
    def check(value: Any, path: str) -> str:
        if value not in options:
            raise ProtocolError(f"must be one of {', '.join(options)}", path)
        return str(value)

    return check


def _gps(value: Any, path: str) -> dict[str, float]:
    """``{"lat", "lon", "accuracy_m"}``."""
    if not isinstance(value, Mapping):
        raise ProtocolError("must be an object with lat, lon, accuracy_m", path)
    return {
        "lat": _number(-90, 90)(value.get("lat"), f"{path}.lat"),
        "lon": _number(-180, 180)(value.get("lon"), f"{path}.lon"),
        "accuracy_m": _number(0, 100_000)(value.get("accuracy_m"), f"{path}.accuracy_m"),
    }


def _strings(limit: int, most: int) -> Callable[[Any, str], list[str]]:
    def check(value: Any, path: str) -> list[str]:
        if not isinstance(value, list) or len(value) > most:
            raise ProtocolError(f"must be a list of at most {most} strings", path)
        return [_text(limit)(item, f"{path}[{i}]") for i, item in enumerate(value)]

    return check


def _json_problem(value: Any, depth: int, max_depth: int) -> str | None:
    """Why ``value`` is not JSON that PostgreSQL stores as sent, or None."""
    if depth > max_depth:
        return f"is nested deeper than {max_depth} levels"
    if value is None or isinstance(value, bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "numbers must be finite (no NaN or Infinity)"
    if isinstance(value, str):
        return _unstorable(value)
    if isinstance(value, list):
        items: Any = value
    elif isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                return "object keys must be strings"
            if (problem := _unstorable(key)) is not None:
                return f"a key {problem}"
        items = value.values()
    else:
        return "must be JSON (null, true/false, numbers, strings, lists, objects)"
    for item in items:
        if (problem := _json_problem(item, depth + 1, max_depth)) is not None:
            return problem
    return None


def _json(max_bytes: int, max_depth: int = 20) -> Callable[[Any, str], Any]:
    """Free JSON (checklist answers, signature strokes): finite numbers, Unicode text, at
    most ``max_depth`` levels deep and ``max_bytes`` serialised."""

    def check(value: Any, path: str) -> Any:
        if (problem := _json_problem(value, 1, max_depth)) is not None:
            raise ProtocolError(problem, path)
        try:
            size = len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode())
        except ValueError:  # an integer too long to print
            raise ProtocolError("must be JSON with numbers of a sane size", path) from None
        if size > max_bytes:
            raise ProtocolError(f"at most {max_bytes} bytes as JSON", path)
        return value

    return check


@dataclass(frozen=True)
class Arg:
    check: Callable[[Any, str], Any]
    required: bool = True


_ = Arg
_WO = {"work_order_id": _(_uuid)}

# Every mutation the phone sends, with its arguments. The server maps each name to the
# domain service the REST API uses (one write path). ``id`` arguments are the phone's own
# UUIDv7 for the record it creates.
MUTATIONS: dict[str, dict[str, Arg]] = {
    "work_order.accept": {**_WO},
    "work_order.start_travel": {**_WO},
    "work_order.hold": {
        **_WO,
        "waiting_for": _(_choice("parts", "customer", "other")),
        "reason": _(_said(2000)),
    },
    "work_order.resume": {**_WO},
    # Decline a job (from ``assigned`` only): it goes back to the office, unassigned.
    "work_order.reject": {**_WO, "reason": _(_said(2000))},
    "work_order.resolve": {
        **_WO,
        "resolution_code": _(_said(40)),
        "fault_code": _(_text(40), required=False),
        "root_cause": _(_text(2000), required=False),
        "summary": _(_said(5000)),
    },
    # The engineer's findings and resolution fields, as an engineer's PATCH /tickets/{id}
    # sets them: each one sent replaces the server's (the last received wins), one left
    # out is kept. At least one.
    "work_order.update_findings": {
        **_WO,
        "fault_code": _(_said(40), required=False),
        "resolution_code": _(_said(40), required=False),
        "root_cause": _(_text(2000), required=False),
        "resolution_summary": _(_text(5000), required=False),
        "resolution_notes": _(_text(20_000), required=False),
    },
    "visit.check_in": {
        **_WO,
        "visit_id": _(_uuid),
        "gps": _(_gps, required=False),
    },
    "visit.check_out": {
        "visit_id": _(_uuid),
        "gps": _(_gps, required=False),
    },
    "labour.add": {
        **_WO,
        "entry_id": _(_uuid),
        "visit_id": _(_uuid, required=False),
        "kind": _(_choice("travel", "work", "break")),
        "started_at": _(_time),
        "ended_at": _(_time),
        "note": _(_text(2000), required=False),
    },
    "labour.void": {
        "entry_id": _(_uuid),  # the entry this one voids
        "void_id": _(_uuid),  # the phone's id for the voiding record
        "reason": _(_said(2000)),
    },
    "labour.adjust": {
        **_WO,
        "entry_id": _(_uuid),  # the entry this one replaces
        "adjustment_id": _(_uuid),  # the phone's id for the replacing entry
        "started_at": _(_time),
        "ended_at": _(_time),
        "reason": _(_said(2000)),
        "kind": _(_choice("travel", "work", "break"), required=False),  # default: the original's
        "note": _(_text(2000), required=False),
    },
    "part.use": {
        **_WO,
        "line_id": _(_uuid),
        "visit_id": _(_uuid, required=False),
        "part_id": _(_uuid),
        "quantity": _(_decimal),
        "serial_numbers": _(_strings(100, 500), required=False),
        "removed_serial_numbers": _(_strings(100, 500), required=False),
        "removed_condition": _(_choice("good", "defective"), required=False),
    },
    "part.return": {
        **_WO,
        "line_id": _(_uuid),
        "visit_id": _(_uuid, required=False),
        "part_id": _(_uuid),
        "quantity": _(_decimal),
        "condition": _(_choice("good", "defective")),
        "serial_numbers": _(_strings(100, 500), required=False),
    },
    "attachment.register": {
        **_WO,
        "attachment_id": _(_uuid),
        "sha256": _(_text(64)),
        "size": _(_number(1, 10**12)),
        "mime": _(_text(100)),
        "role": _(_choice("photo", "document")),
        "visit_id": _(_uuid, required=False),
        "caption": _(_text(2000), required=False),
        "captured_at": _(_time, required=False),
        "gps": _(_gps, required=False),
    },
    "signature.capture": {
        **_WO,
        "signature_id": _(_uuid),
        "attachment_id": _(_uuid),  # the PNG, registered and uploaded like a photo
        "sha256": _(_text(64)),
        "size": _(_number(1, 10**8)),
        "signer_name": _(_text(200)),
        "strokes": _(_json(MAX_STROKES_BYTES)),
        "signed_status": _(_text(20)),  # the work-order status the customer signs
        "visit_id": _(_uuid, required=False),
    },
    "checklist.answer": {
        **_WO,
        "visit_id": _(_uuid),
        "item_id": _(_uuid),
        "answer_id": _(_uuid),
        "value": _(_json(MAX_ANSWER_BYTES)),
    },
    "note.add": {
        **_WO,
        "note_id": _(_uuid),
        "visit_id": _(_uuid, required=False),
        "text": _(_said(10_000)),
    },
}


@dataclass(frozen=True)
class Mutation:
    seq: int
    id: str
    name: str
    args: dict[str, Any]
    device_time: str

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "id": self.id,
            "name": self.name,
            "args": self.args,
            "device_time": self.device_time,
        }


def check_args(name: str, args: Any, path: str = "args") -> dict[str, Any]:
    """The mutation's arguments, checked and normalised; ProtocolError names the field."""
    spec = MUTATIONS.get(name)
    if spec is None:
        raise ProtocolError(f"unknown mutation; known: {', '.join(sorted(MUTATIONS))}", "name")
    if not isinstance(args, Mapping):
        raise ProtocolError("must be an object", path)
    unknown = sorted((safe_name(key) for key in set(args) - set(spec)), key=str)
    if unknown:
        raise ProtocolError(f"unknown argument {unknown[0]}", f"{path}.{unknown[0]}")
    out: dict[str, Any] = {}
    for key, arg in spec.items():
        if args.get(key) is None:
            if arg.required:
                raise ProtocolError("required", f"{path}.{key}")
            continue
        out[key] = arg.check(args[key], f"{path}.{key}")
    return out


def parse_mutation(raw: Any, path: str = "mutation") -> Mutation:
    """One pushed mutation, validated (ProtocolError names the field)."""
    if not isinstance(raw, Mapping):
        raise ProtocolError("must be an object", path)
    seq = raw.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise ProtocolError("must be an integer >= 1", f"{path}.seq")
    name = raw.get("name")
    if not isinstance(name, str):
        raise ProtocolError("must be a mutation name", f"{path}.name")
    try:
        args = check_args(name, raw.get("args"), f"{path}.args")
    except ProtocolError as exc:
        if exc.field == "name":
            raise ProtocolError(exc.message, f"{path}.name") from None
        raise
    return Mutation(
        seq=seq,
        id=_uuid(raw.get("id"), f"{path}.id"),
        name=name,
        args=args,
        device_time=_time(raw.get("device_time"), f"{path}.device_time"),
    )


def parse_push(raw: Any) -> tuple[str, list[Mutation]]:
    """A push body: the client id and its mutations, in strictly increasing seq order."""
    if not isinstance(raw, Mapping):
        raise ProtocolError("must be an object", "body")
    client_id = _uuid(raw.get("client_id"), "client_id")
    items = raw.get("mutations")
    if not isinstance(items, list) or not items:
        raise ProtocolError("must be a non-empty list", "mutations")
    if len(items) > MAX_MUTATIONS_PER_PUSH:
        raise ProtocolError(f"at most {MAX_MUTATIONS_PER_PUSH} per push", "mutations")
    mutations = [parse_mutation(item, f"mutations[{i}]") for i, item in enumerate(items)]
    for i, (before, after) in enumerate(itertools.pairwise(mutations), start=1):
        if after.seq != before.seq + 1:
            raise ProtocolError("seq must increase by one", f"mutations[{i}].seq")
    return client_id, mutations


def parse_push_lenient(raw: Any) -> tuple[str, list[tuple[Mutation, ProtocolError | None]]]:
    """``parse_push`` as the server runs it: the envelope (the body, ``client_id``, the list,
    each mutation's ``seq`` and ``id``, the seq order) must be right or the whole push is
    refused, but a mutation whose ``name``, ``args`` or ``device_time`` do not check comes
    back with its ProtocolError (and what it sent, made safe to store: a name or a
    device time that is not clean text becomes its ``repr``): the server stores it as
    rejected and the queue moves on, so one mutation an older server does not know, or a
    phone's broken clock, cannot block the queue. Such a mutation's ``device_time`` need
    not be an instant (:func:`device_instant` says)."""
    if not isinstance(raw, Mapping):
        raise ProtocolError("must be an object", "body")
    client_id = _uuid(raw.get("client_id"), "client_id")
    items = raw.get("mutations")
    if not isinstance(items, list) or not items:
        raise ProtocolError("must be a non-empty list", "mutations")
    if len(items) > MAX_MUTATIONS_PER_PUSH:
        raise ProtocolError(f"at most {MAX_MUTATIONS_PER_PUSH} per push", "mutations")
    out: list[tuple[Mutation, ProtocolError | None]] = []
    lenient = ("name", "args", "device_time")
    for i, item in enumerate(items):
        path = f"mutations[{i}]"
        if not isinstance(item, Mapping):
            raise ProtocolError("must be an object", path)
        try:
            out.append((parse_mutation(item, path), None))
            continue
        except ProtocolError as exc:
            if not exc.field.startswith(tuple(f"{path}.{key}" for key in lenient)):
                raise
            error = exc
        seq = item.get("seq")
        assert isinstance(seq, int)  # parse_mutation checked it before the name
        mutation_id = _uuid(item.get("id"), f"{path}.id")
        name, args, device_time = item.get("name"), item.get("args"), item.get("device_time")
        if error.field == f"{path}.device_time":
            sent = safe_name(device_time, 64)
            error = ProtocolError(f"{error.message} (sent: {sent})", error.field)
        mutation = Mutation(
            seq=seq,
            id=mutation_id,
            name=safe_name(name, 60),
            args=dict(args) if isinstance(args, Mapping) else {"value": args},
            device_time=safe_name(device_time, 64),
        )
        out.append((mutation, error))
    for i, ((before, _), (after, _)) in enumerate(itertools.pairwise(out), start=1):
        if after.seq != before.seq + 1:
            raise ProtocolError("seq must increase by one", f"mutations[{i}].seq")
    return client_id, out


def device_instant(value: str) -> dt.datetime | None:
    """A mutation's ``device_time`` as a datetime (with the phone's offset), or None when
    it does not check (only a mutation ``parse_push_lenient`` returned with an error)."""
    try:
        return parse_instant(value)
    except InstantError:
        return None


@dataclass(frozen=True)
class Result:
    """What the server did with one mutation (also sent back through the pull feed)."""

    seq: int
    outcome: Outcome
    data: dict[str, Any] = field(default_factory=dict)  # e.g. the created record's id
    error: dict[str, Any] | None = None  # problem: code, detail, field

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seq": self.seq, "outcome": self.outcome.value, "data": self.data}
        if self.error is not None:
            out["error"] = self.error
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Result:
        return cls(
            seq=int(raw["seq"]),
            outcome=Outcome(raw["outcome"]),
            data=dict(raw.get("data") or {}),
            error=dict(raw["error"]) if raw.get("error") else None,
        )


@dataclass(frozen=True)
class Change:
    op: Op
    entity: str
    id: str
    data: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op.value, "entity": self.entity, "id": self.id, "data": self.data}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Change:
        if not isinstance(raw, Mapping):
            raise ProtocolError("must be an object", "changes[]")
        try:
            op = Op(str(raw.get("op")))
        except ValueError:
            raise ProtocolError("unknown op", "changes[].op") from None
        data = raw.get("data")
        return cls(
            op=op,
            entity=str(raw.get("entity")),
            id=str(raw.get("id")),
            data=dict(data) if isinstance(data, Mapping) else None,
        )


@dataclass(frozen=True)
class PullPage:
    cursor: str
    has_more: bool
    reset: bool
    changes: list[Change]

    def to_json(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor,
            "has_more": self.has_more,
            "reset": self.reset,
            "changes": [c.to_json() for c in self.changes],
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> PullPage:
        changes = raw.get("changes")
        if not isinstance(changes, list):
            raise ProtocolError("must be a list", "changes")
        return cls(
            cursor=str(raw.get("cursor") or ""),
            has_more=bool(raw.get("has_more")),
            reset=bool(raw.get("reset")),
            changes=[Change.from_json(c) for c in changes],
        )
