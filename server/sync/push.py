"""Push: an installation's queued mutations, each applied exactly once, in ``seq`` order.

    seq <= last_seq       a duplicate: answered from the stored result (same mutation id,
                          or 409: the installation's numbering is broken)
    seq == last_seq + 1   applied now
    seq >  last_seq + 1   a gap: 409 with ``expected_seq``, nothing applied

The installation's row is locked first (``SELECT ... FOR UPDATE``): two pushes of one
installation run one after the other, and the second finds the first's mutations stored.
Each mutation runs inside a savepoint; its effects, its stored result, its
acknowledgement in the feed and ``last_seq`` are written in the request's transaction, so
they commit together or not at all.

A mutation that can never succeed (a protocol error in its name or arguments, 403, 404,
409, 412, 422 from the services, a value PostgreSQL refuses) is **rejected**: the savepoint
is rolled back (no partial write survives: the stock ledger refuses a shortage after its
write, for one), the mutation is stored with the problem, and ``last_seq`` advances: a
poison mutation never blocks the queue. A completion that arrives after the office
cancelled the work order is rejected and **flagged** for a dispatcher (server/sync/flags.py).

A transient failure stops the batch: a lock wait longer than ``SYNC_LOCK_TIMEOUT_MS``, a
deadlock, a serialisation failure, a cancelled statement. The failed mutation's savepoint is
rolled back; the mutations applied before it in this push are kept and committed (they are
complete, each with its result), and the answer is 503 with ``Retry-After``, ``last_seq``
and their results. The phone retries the rest. A lost database connection loses the whole
transaction: 503 too, with nothing applied. Any other exception is a server bug: a 500,
nothing applied, the phone retries later (the mutation might succeed once fixed).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.config import get_settings
from server.errors import AppError, Conflict, Forbidden, Unavailable, Unprocessable
from server.sync import capture, flags, mutations
from server.sync.clients import client_for
from server.sync.models import SyncClient, SyncMutation
from server.sync.resolve import ACK_ENTITY
from server.tickets.models import Ticket
from shared.sync import Mutation, Outcome, ProtocolError, Result

# SQLSTATEs after which the same mutation may well succeed if tried again.
TRANSIENT = frozenset({"40001", "40P01", "55P03", "57014", "53300", "53200"})
# A value the database cannot store or a constraint it refuses: retrying changes nothing.
PERMANENT_CLASSES = ("22", "23")


@dataclass(frozen=True)
class Pushed:
    """One pushed mutation as parsed: ``error`` when its name or arguments do not check."""

    mutation: Mutation
    error: ProtocolError | None = None


@dataclass
class PushOutcome:
    last_seq: int
    results: list[Result]
    stopped: Unavailable | None = None  # a transient failure stopped the batch here


def _sqlstate(exc: DBAPIError) -> str:
    return str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")


def is_transient(exc: DBAPIError) -> bool:
    state = _sqlstate(exc)
    return exc.connection_invalidated or state in TRANSIENT or state.startswith(("08", "57P"))


def _unavailable(detail: str) -> Unavailable:
    error = Unavailable(detail)
    error.headers["Retry-After"] = str(get_settings().SYNC_RETRY_AFTER_SECONDS)
    return error


def _problem(error: AppError) -> dict[str, Any]:
    problem = error.to_problem()
    problem.pop("type", None)
    return problem


async def _stored(
    session: AsyncSession, client: SyncClient, seqs: list[int]
) -> dict[int, SyncMutation]:
    if not seqs:
        return {}
    rows = await session.scalars(
        select(SyncMutation).where(SyncMutation.client_id == client.id, SyncMutation.seq.in_(seqs))
    )
    return {row.seq: row for row in rows}


def _duplicates(
    pushed: list[Pushed], stored: dict[int, SyncMutation], last_seq: int
) -> list[Result]:
    results = []
    for index, item in enumerate(pushed):
        seq = item.mutation.seq
        if seq > last_seq:
            break
        row = stored.get(seq)
        if row is None or str(row.mutation_id) != item.mutation.id:
            raise Conflict(
                f"seq {seq} was another mutation on this installation: its numbering is "
                "broken (a reinstall?); register a new client id",
                field=f"mutations[{index}].id",
            )
        results.append(Result.from_json(row.result))
    return results


async def push(
    session: AsyncSession,
    actor: Actor,
    *,
    client_id: uuid.UUID,
    pushed: list[Pushed],
    clock_offset_s: float | None = None,
) -> PushOutcome:
    try:
        return await _push(session, actor, client_id, pushed, clock_offset_s)
    except DBAPIError as exc:
        # Outside a mutation's savepoint (the bookkeeping): the whole push rolls back.
        if is_transient(exc):
            raise _unavailable("the push met a transient database failure; retry it") from exc
        raise


async def _push(
    session: AsyncSession,
    actor: Actor,
    client_id: uuid.UUID,
    pushed: list[Pushed],
    clock_offset_s: float | None,
) -> PushOutcome:
    client = await client_for(session, actor, client_id, for_update=True)
    first = pushed[0].mutation.seq
    if first > client.last_seq + 1:
        raise Conflict(
            f"mutation {client.last_seq + 1} is the next one expected, not {first}: send the "
            "queue from there",
            expected_seq=client.last_seq + 1,
            field="mutations[0].seq",
        )
    timeout = get_settings().SYNC_LOCK_TIMEOUT_MS
    await session.execute(text(f"SET LOCAL lock_timeout = {int(timeout)}"))
    old = [p.mutation.seq for p in pushed if p.mutation.seq <= client.last_seq]
    results = _duplicates(pushed, await _stored(session, client, old), client.last_seq)
    for item in pushed[len(results) :]:
        context = mutations.Context(
            client_id=client.id,
            device_time=dt.datetime.fromisoformat(item.mutation.device_time),
            clock_offset_s=clock_offset_s,
        )
        try:
            result = await _apply(session, actor, client, item, context)
        except _Stop as stop:
            return PushOutcome(client.last_seq, results, stop.error)
        results.append(result)
    return PushOutcome(client.last_seq, results)


class DispatchField(Forbidden):
    code, title = "dispatch_field", "This field belongs to the back office"


# Work-order fields the office owns (architecture brief, "Conflicts"): a mutation that
# tries to set one is refused with this reason rather than as an unknown argument.
DISPATCH_FIELDS = frozenset(
    {
        "customer_id",
        "site_id",
        "asset_id",
        "window_start",
        "window_end",
        "assignee_id",
        "engineer_id",
        "priority",
        "title",
        "description",
        "instructions",
        "required_skills",
        "estimated_minutes",
        "type",
        "channel",
        "status",
    }
)


def _protocol_problem(error: ProtocolError) -> AppError:
    name = error.field.rsplit(".", 1)[-1]
    if ".args." in error.field and name in DISPATCH_FIELDS:
        return DispatchField(
            f"{name} is a dispatch field: the back office sets it, the phone cannot",
            field=error.field,
        )
    return Unprocessable(error.message, field=error.field)


class _Stop(Exception):
    def __init__(self, error: Unavailable) -> None:
        self.error = error


async def _run(
    session: AsyncSession, actor: Actor, item: Pushed, context: mutations.Context
) -> tuple[Result, AppError | None]:
    """Apply one mutation in a savepoint; (result, the refusal when it was rejected)."""
    seq = item.mutation.seq
    if item.error is not None:
        problem = _protocol_problem(item.error)
        return Result(seq, Outcome.REJECTED, error=_problem(problem)), problem
    try:
        async with session.begin_nested():
            data = await mutations.apply(session, actor, item.mutation, context)
            await session.flush()
    except AppError as exc:
        return Result(seq, Outcome.REJECTED, error=_problem(exc)), exc
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
        where = ".".join(str(p) for p in first.get("loc", ())) or "args"
        problem = Unprocessable(f"{where}: {first.get('msg')}", field=f"args.{where}")
        return Result(seq, Outcome.REJECTED, error=_problem(problem)), problem
    except DBAPIError as exc:
        state = _sqlstate(exc)
        if exc.connection_invalidated or state.startswith(("08", "57P")):
            # The transaction is gone with the connection: nothing of this push is kept.
            raise _unavailable("the database connection was lost; retry the push") from exc
        if state in TRANSIENT:
            raise _Stop(
                _unavailable(
                    f"mutation {seq} met a busy or conflicting row ({state}); the ones "
                    "before it are applied: retry from it"
                )
            ) from exc
        if not state.startswith(PERMANENT_CLASSES):
            raise
        problem = Unprocessable(f"the database refused this mutation ({state})")
        return Result(seq, Outcome.REJECTED, error=_problem(problem)), problem
    return Result(seq, Outcome.APPLIED, data=data), None


async def _apply(
    session: AsyncSession,
    actor: Actor,
    client: SyncClient,
    item: Pushed,
    context: mutations.Context,
) -> Result:
    mutation = item.mutation
    result, refusal = await _run(session, actor, item, context)
    if isinstance(refusal, mutations.CompletedAfterCancel):
        # Read again: the savepoint that loaded it was rolled back.
        ticket = await session.get(Ticket, refusal.work_order_id, populate_existing=True)
        assert ticket is not None
        flag = await flags.raise_flag(
            session,
            actor,
            ticket=ticket,
            kind=refusal.flag_kind,
            detail=refusal.detail,
            payload=refusal.flag_payload,
            client_id=client.id,
            seq=mutation.seq,
        )
        assert result.error is not None
        result = Result(
            mutation.seq, result.outcome, error={**result.error, "flag_id": str(flag.id)}
        )
    work_order = mutation.args.get("work_order_id")
    session.add(
        SyncMutation(
            client_id=client.id,
            seq=mutation.seq,
            org_id=client.org_id,
            mutation_id=uuid.UUID(mutation.id),
            name=mutation.name[:60],
            args=mutation.args,
            work_order_id=_uuid_or_none(work_order),
            device_time=context.device_time,
            outcome=result.outcome.value,
            result=result.to_json(),
        )
    )
    client.last_seq = mutation.seq
    client.last_push_at = dt.datetime.now(dt.UTC)
    await session.flush()  # stored before the next mutation's savepoint, never inside it
    # After the effects' own feed rows (flushed in the savepoint): acknowledged after them.
    await capture.record(
        session,
        [
            capture.Note(
                client.org_id,
                ACK_ENTITY,
                str(mutation.seq),
                "ack",
                "scope",
                capture.client_scope(client.id),
            )
        ],
    )
    return result


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None
