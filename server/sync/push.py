"""Push: an installation's queued mutations, each applied exactly once, in ``seq`` order.

    seq <= last_seq       a duplicate: answered from the stored result (same mutation id,
                          or 409: the installation's numbering is broken)
    seq == last_seq + 1   applied now
    seq >  last_seq + 1   a gap: 409 with ``expected_seq``, nothing applied

The installation's row is locked first (``SELECT ... FOR UPDATE``): two pushes of one
installation run one after the other, and the second finds the first's mutations stored.
A mutation's effects, its stored result, its acknowledgement in the feed and ``last_seq``
are written in the request's transaction, so they commit together or not at all.

Fast and careful (docs/adr/0007-hot-paths-in-sql.md): the push first runs inside one
savepoint on the **fast path**: the mutations whose service refuses before its one write
(``mutations.ATOMIC``: labour, notes, answers, check-outs) run without a savepoint of
their own, and an applied mutation's log row and acknowledgement go in one statement.
Every other mutation runs in a savepoint of its own. A database error on the fast path
rolls that savepoint back and the push is applied again the **careful** way: a savepoint
per mutation, the log row in one of its own. After a transient error the careful pass
stops before the mutation that met it (below), rather than waiting for the lock again.
The fast path is ``sync.push`` in server/fastpaths.py: with FIXFLOW_FAST_PATHS=0 every push
is applied the careful way from the start.

A mutation that can never succeed (a protocol error in its name, arguments or device time,
403, 404, 409, 412, 422 from the services, a value PostgreSQL refuses) is **rejected**: the
savepoint is rolled back (no partial write survives: the stock ledger refuses a shortage
after its write, for one), the mutation is stored with the problem, and ``last_seq``
advances: a poison mutation never blocks the queue. A completion that arrives after the
office cancelled the work order is rejected and **flagged** for a dispatcher, and so is
field evidence (a visit, labour, a note, parts, a photo, a signature, an answer) that
arrives after the work order went to a colleague (server/sync/flags.py).

A transient failure stops the batch: a lock wait longer than ``SYNC_LOCK_TIMEOUT_MS``, a
deadlock, a serialisation failure, a cancelled statement, the database short of resources
(SQLSTATE classes 53, 58), a service answering 503/429 or an unreachable store (OSError).
The failed mutation's savepoint is rolled back; the mutations applied before it in this
push are kept and committed (they are complete, each with its result), and the answer is
503 with ``Retry-After``, ``last_seq`` and their results. The phone retries the rest. A
lost database connection loses the whole transaction: 503 too, with nothing applied.

Any other exception inside a mutation is a server bug. Answering 500 would block the
phone's queue until the bug is fixed (every retry fails the same way, and nothing behind
the mutation moves); instead the mutation is **rejected** with ``server_error`` (status
500), logged at ERROR with its traceback, and kept with its arguments for the back office
(``GET /api/v1/sync/rejected``), like any rejection. The stored row itself is written in
its own savepoint: if PostgreSQL refuses it anyway, it is written again with the
arguments as a ``repr`` string, so the sequence still advances.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import exists, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from server import fastpaths, feed
from server.auth import Actor
from server.config import get_settings
from server.db import driver, execute
from server.errors import AppError, Conflict, Forbidden, Unavailable, Unprocessable
from server.field import LabourEntry, Visit
from server.sync import capture, flags, mutations
from server.sync.clients import client_for
from server.sync.models import SyncClient, SyncFlag, SyncMutation
from server.sync.resolve import ACK_ENTITY
from server.text import path as input_path
from server.tickets import Ticket, TicketEvent
from shared.sync import Mutation, Outcome, ProtocolError, Result, device_instant, safe_name

log = logging.getLogger("fixflow.sync")

# SQLSTATEs after which the same mutation may well succeed if tried again.
TRANSIENT = frozenset({"40001", "40P01", "55P03", "57014", "53300", "53200"})
# Whole classes of those: insufficient resources (disk full...), system (I/O) errors.
TRANSIENT_CLASSES = ("53", "58")
# The connection (and with it the transaction) is gone.
LOST_CLASSES = ("08", "57P")
# A value the database cannot store or a constraint it refuses: retrying changes nothing.
PERMANENT_CLASSES = ("22", "23")
# Field evidence: rejected 404 on a work order the engineer held before, it is flagged.
EVIDENCE = frozenset(
    {
        "visit.check_in",
        "visit.check_out",
        "labour.add",
        "labour.void",
        "labour.adjust",
        "note.add",
        "part.use",
        "part.return",
        "attachment.register",
        "signature.capture",
        "checklist.answer",
    }
)
MAX_UNSTORABLE_CHARS = 64 * 1024  # of the repr kept when the arguments cannot be stored
MAX_STORED_DEPTH = 32


class ServerError(AppError):
    """A mutation that failed on a server bug: rejected (the queue moves on) and logged."""

    status, code, title = 500, "server_error", "The server failed on this mutation"


@dataclass(frozen=True)
class Pushed:
    """One pushed mutation as parsed: ``error`` when its name, arguments or device time do
    not check."""

    mutation: Mutation
    error: ProtocolError | None = None


@dataclass
class PushOutcome:
    last_seq: int
    results: list[Result]
    stopped: Unavailable | None = None  # a transient failure stopped the batch here


def _sqlstate(exc: DBAPIError) -> str:
    return str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")


def _lost(exc: DBAPIError) -> bool:
    return exc.connection_invalidated or _sqlstate(exc).startswith(LOST_CLASSES)


def is_transient(exc: DBAPIError) -> bool:
    state = _sqlstate(exc)
    return _lost(exc) or state in TRANSIENT or state.startswith(TRANSIENT_CLASSES)


def _unavailable(detail: str) -> Unavailable:
    error = Unavailable(detail)
    error.headers["Retry-After"] = str(get_settings().SYNC_RETRY_AFTER_SECONDS)
    return error


def _problem(error: AppError) -> dict[str, Any]:
    problem = error.to_problem()
    problem.pop("type", None)
    return problem


def _escaped(value: str) -> str:
    """Text PostgreSQL stores: lone surrogates and U+0000 written as escapes."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")


def storable(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON PostgreSQL accepts: non-finite numbers as strings ("nan"), text
    with escapes instead of lone surrogates and U+0000, nesting cut at 32 levels. Clean
    JSON comes back equal."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return _escaped(value)
        return value.replace("\x00", "\\u0000") if "\x00" in value else value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= MAX_STORED_DEPTH:
        return "(nested too deep to store)"
    if isinstance(value, Mapping):
        return {_escaped(str(k)): storable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v, depth + 1) for v in value]
    return _escaped(repr(value)[:1000])


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


class _Replay(Exception):
    """A database error on the fast path: the push is rolled back and applied again with a
    savepoint per mutation, which tells the failing mutation from the others. After a
    transient error (a lock wait too long, a deadlock) the careful pass stops before the
    mutation that met it (503, retry from it) instead of waiting for the lock again."""

    def __init__(self, seq: int, exc: BaseException | None) -> None:
        super().__init__(seq)
        self.seq = seq
        self.stop: Unavailable | None = None
        if isinstance(exc, DBAPIError) and is_transient(exc):
            self.stop = _unavailable(
                f"mutation {seq} met a busy or conflicting row ({_sqlstate(exc)}); the ones "
                "before it are applied: retry from it"
            )

    @classmethod
    def after(cls, caught: _Replay) -> _Replay:
        """The same verdict without the exception chain (its traceback would keep the
        failed pass's frames, and what they loaded, alive through the careful pass)."""
        replay = cls(caught.seq, None)
        replay.stop = caught.stop
        return replay


async def push(
    session: AsyncSession,
    actor: Actor,
    *,
    client_id: uuid.UUID,
    pushed: list[Pushed],
    clock_offset_s: float | None = None,
) -> PushOutcome:
    try:
        replay: _Replay | None = None
        if fastpaths.enabled("sync.push"):
            try:
                return await _push_now(session, actor, client_id, pushed, clock_offset_s)
            except _Replay as exc:
                replay = _Replay.after(exc)
            # The rollback undid the fast pass, but the session's copies of what it loaded
            # (a work order it moved on, say) would keep the undone values: none is trusted.
            session.expire_all()
            log.info(
                "sync: push of client %s met a database error at seq %s; applied again",
                client_id,
                replay.seq,
            )
        return await _push(
            session, actor, client_id, pushed, clock_offset_s, fast=False, replay=replay
        )
    except DBAPIError as exc:
        # Outside a mutation's savepoint (the bookkeeping): the whole push rolls back.
        if is_transient(exc):
            raise _unavailable("the push met a transient database failure; retry it") from exc
        raise


async def _push_now(
    session: AsyncSession,
    actor: Actor,
    client_id: uuid.UUID,
    pushed: list[Pushed],
    clock_offset_s: float | None,
) -> PushOutcome:
    """The fast path ``sync.push`` (server/fastpaths.py), in one savepoint for the whole
    push: undone if it meets a database error (``_Replay``), and the push applied again
    the careful way."""
    async with session.begin_nested():
        return await _push(session, actor, client_id, pushed, clock_offset_s, fast=True)


async def _push(
    session: AsyncSession,
    actor: Actor,
    client_id: uuid.UUID,
    pushed: list[Pushed],
    clock_offset_s: float | None,
    *,
    fast: bool,
    replay: _Replay | None = None,
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
    settled, stopped = client.last_seq, None
    for item in pushed[len(results) :]:
        if replay is not None and replay.stop is not None and item.mutation.seq == replay.seq:
            stopped = replay.stop
            break
        device_time = device_instant(item.mutation.device_time)
        if device_time is None and item.error is None:  # parse_push_lenient prevents it
            error = ProtocolError("must be an ISO 8601 date-time with an offset", "device_time")
            item = Pushed(item.mutation, error)
        context = mutations.Context(
            client_id=client.id,
            device_time=device_time or dt.datetime.now(dt.UTC),  # unused when rejected
            clock_offset_s=clock_offset_s,
        )
        try:
            result = await _apply(session, actor, client, item, context, device_time, fast)
        except _Stop as stop:
            stopped = stop.error
            break
        results.append(result)
        settled = item.mutation.seq
    if settled != client.last_seq:
        # Once per push (the row is locked): flushed with the commit, after the mutations.
        client.last_seq = settled
        client.last_push_at = dt.datetime.now(dt.UTC)
    return PushOutcome(settled, results, stopped)


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


def _rejected(seq: int, problem: AppError) -> tuple[Result, AppError]:
    return Result(seq, Outcome.REJECTED, error=_problem(problem)), problem


def _server_error(
    item: Pushed, context: mutations.Context, exc: BaseException
) -> tuple[Result, AppError]:
    mutation = item.mutation
    log.error(
        "sync: mutation %s (seq %s of client %s) failed on a server error; stored rejected "
        "as server_error for the back office",
        mutation.name,
        mutation.seq,
        context.client_id,
        exc_info=exc,
    )
    return _rejected(
        mutation.seq,
        ServerError(
            "the server failed on this mutation; it is kept for the back office to review "
            "and the rest of your queue goes on"
        ),
    )


async def _run(
    session: AsyncSession, actor: Actor, item: Pushed, context: mutations.Context, fast: bool
) -> tuple[Result, AppError | None]:
    """Apply one mutation in a savepoint; (result, the refusal when it was rejected).

    On the fast path a mutation whose service writes nothing before it refuses
    (``mutations.ATOMIC``) runs without a savepoint of its own (two round trips fewer); a
    database error there, or an unexpected one, replays the whole push (``_Replay``)."""
    seq = item.mutation.seq
    if item.error is not None:
        return _rejected(seq, _protocol_problem(item.error))
    if fast and item.mutation.name in mutations.ATOMIC:
        try:
            data = await mutations.apply(session, actor, item.mutation, context)
        except (AppError, ValidationError) as exc:
            return _refused(item, context, exc)
        except DBAPIError as exc:
            if _lost(exc):
                raise _unavailable("the database connection was lost; retry the push") from exc
            raise _Replay(seq, exc) from exc
        except OSError as exc:
            return _refused(item, context, exc)
        except Exception as exc:
            raise _Replay(seq, exc) from exc
        return Result(seq, Outcome.APPLIED, data=data), None
    try:
        async with session.begin_nested():
            data = await mutations.apply(session, actor, item.mutation, context)
            await session.flush()
    except Exception as exc:
        return _refused(item, context, exc)
    return Result(seq, Outcome.APPLIED, data=data), None


def _refused(
    item: Pushed, context: mutations.Context, exc: Exception
) -> tuple[Result, AppError | None]:
    """What a mutation's failure means (its writes are already undone): rejected, a
    server error (rejected too), or a stop (``_Stop``) for a transient failure."""
    seq = item.mutation.seq
    if isinstance(exc, AppError):
        if exc.status in (429, 503):
            raise _Stop(
                _unavailable(f"mutation {seq} met a busy service ({exc.detail}); retry from it")
            ) from exc
        if exc.status >= 500:
            return _server_error(item, context, exc)
        return _rejected(seq, exc)
    if isinstance(exc, ValidationError):
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
        where = input_path(first.get("loc", ())) or "args"
        return _rejected(seq, Unprocessable(f"{where}: {first.get('msg')}", field=f"args.{where}"))
    if isinstance(exc, DBAPIError):
        state = _sqlstate(exc)
        if _lost(exc):
            # The transaction is gone with the connection: nothing of this push is kept.
            raise _unavailable("the database connection was lost; retry the push") from exc
        if is_transient(exc):
            raise _Stop(
                _unavailable(
                    f"mutation {seq} met a busy or conflicting row ({state}); the ones "
                    "before it are applied: retry from it"
                )
            ) from exc
        if not state.startswith(PERMANENT_CLASSES):
            return _server_error(item, context, exc)
        return _rejected(seq, Unprocessable(f"the database refused this mutation ({state})"))
    if isinstance(exc, OSError):  # a store or service out of reach (TimeoutError included)
        raise _Stop(
            _unavailable(f"mutation {seq} could not reach a service; retry from it")
        ) from exc
    return _server_error(item, context, exc)  # a bug: see the module's docstring


async def _apply(
    session: AsyncSession,
    actor: Actor,
    client: SyncClient,
    item: Pushed,
    context: mutations.Context,
    device_time: dt.datetime | None,
    fast: bool,
) -> Result:
    mutation = item.mutation
    result, refusal = await _run(session, actor, item, context, fast)
    if fast and refusal is None:
        await _settle(session, client, mutation, device_time, result)
        return result
    work_order_id = _uuid_or_none(mutation.args.get("work_order_id"))
    flag, held = await _flag(session, actor, client, mutation, refusal, device_time)
    if held is not None:
        work_order_id = held.id
    if flag is not None:
        assert result.error is not None
        result = Result(
            mutation.seq, result.outcome, error={**result.error, "flag_id": str(flag.id)}
        )
    if result.outcome is Outcome.REJECTED:
        # What the phone sent may be echoed in a problem: make it storable (and sendable).
        result = Result.from_json(storable(result.to_json()))
    await _store(session, client, mutation, work_order_id, device_time, result)
    # After the effects' own feed rows (flushed in the savepoint): acknowledged after them.
    await _acknowledge(session, client, mutation)
    return result


async def _flag(
    session: AsyncSession,
    actor: Actor,
    client: SyncClient,
    mutation: Mutation,
    refusal: AppError | None,
    device_time: dt.datetime | None,
) -> tuple[SyncFlag | None, Ticket | None]:
    """The flag a refusal raises for a dispatcher (a completion after the office cancelled,
    evidence after the work order went to a colleague), if any, and for the latter the
    work order the engineer held before (which the log row names)."""
    if isinstance(refusal, mutations.CompletedAfterCancel):
        cancelled = refusal
        flag = await _flagged(
            session, mutation, lambda: _cancelled(session, actor, client, mutation, cancelled)
        )
        return flag, None
    if refusal is None or refusal.status != 404 or mutation.name not in EVIDENCE:
        return None, None
    held = await _held_before(session, actor, mutation)
    if held is None:
        return None, None
    flag = await _flagged(
        session,
        mutation,
        lambda: flags.evidence_after_reassignment(
            session,
            actor,
            ticket=held,
            client_id=client.id,
            seq=mutation.seq,
            name=mutation.name,
            device_time=device_time,
        ),
    )
    return flag, held


async def _acknowledge(session: AsyncSession, client: SyncClient, mutation: Mutation) -> None:
    """The mutation's acknowledgement in the installation's feed."""
    await capture.record(
        session,
        [
            capture.Note(
                client.org_id,
                ACK_ENTITY,
                str(mutation.seq),
                feed.ACK,
                "scope",
                feed.client_scope(client.id),
            )
        ],
    )


# The log row and the acknowledgement of an applied mutation, in one statement.
_SETTLE = f"""
    WITH m AS (
        INSERT INTO sync_mutations (client_id, seq, org_id, mutation_id, name, args,
                                    work_order_id, device_time, outcome, result)
        VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, 'applied', $9::jsonb)
    )
    {feed.insert_values("$3", "$10", "$11", "$2::text", feed.literal(feed.ACK))}
"""  # noqa: S608 (module constants only)


async def _settle(
    session: AsyncSession,
    client: SyncClient,
    mutation: Mutation,
    device_time: dt.datetime | None,
    result: Result,
) -> None:
    """``_store`` and the acknowledgement for an applied mutation on the fast path: its
    arguments passed shared/sync.py and the service, so no savepoint guards the log row
    (a refusal all the same replays the push, which stores it the careful way)."""
    try:
        await execute(
            await driver(session),
            _SETTLE,
            client.id,
            mutation.seq,
            client.org_id,
            uuid.UUID(mutation.id),
            safe_name(mutation.name, 60),
            json.dumps(storable(mutation.args)),
            _uuid_or_none(mutation.args.get("work_order_id")),
            device_time,
            json.dumps(result.to_json()),
            feed.client_scope(client.id),
            ACK_ENTITY,
        )
    except DBAPIError as exc:
        if _lost(exc):
            raise _unavailable("the database connection was lost; retry the push") from exc
        raise _Replay(mutation.seq, exc) from exc
    except (TypeError, ValueError) as exc:  # not JSON after all
        raise _Replay(mutation.seq, exc) from exc


async def _cancelled(
    session: AsyncSession,
    actor: Actor,
    client: SyncClient,
    mutation: Mutation,
    refusal: mutations.CompletedAfterCancel,
) -> SyncFlag:
    # Read again: the savepoint that loaded it was rolled back.
    ticket = await session.get(Ticket, refusal.work_order_id, populate_existing=True)
    assert ticket is not None
    return await flags.raise_flag(
        session,
        actor,
        ticket=ticket,
        kind=refusal.flag_kind,
        detail=refusal.detail,
        payload=refusal.flag_payload,
        client_id=client.id,
        seq=mutation.seq,
    )


async def _flagged(
    session: AsyncSession, mutation: Mutation, raising: Callable[[], Awaitable[SyncFlag]]
) -> SyncFlag | None:
    """Raise a flag in a savepoint: a flag that cannot be written is logged, and the
    mutation is stored rejected without it (it is in the rejected list all the same)."""
    try:
        async with session.begin_nested():
            return await raising()
    except DBAPIError as exc:
        if is_transient(exc):
            raise
        log.error("sync: no flag for seq %s (%s)", mutation.seq, mutation.name, exc_info=exc)
    except Exception as exc:
        log.error("sync: no flag for seq %s (%s)", mutation.seq, mutation.name, exc_info=exc)
    return None


async def _held_before(session: AsyncSession, actor: Actor, mutation: Mutation) -> Ticket | None:
    """The work order of a 404-refused evidence mutation, when it exists in the caller's
    organisation, is no longer theirs, and its events show it was assigned to them."""
    engineer_id = actor.engineer_id
    if engineer_id is None:
        return None
    args = mutation.args
    work_order_id = _uuid_or_none(args.get("work_order_id"))
    if work_order_id is None and mutation.name == "visit.check_out":
        if (visit_id := _uuid_or_none(args.get("visit_id"))) is not None:
            work_order_id = await session.scalar(
                select(Visit.ticket_id).where(Visit.id == visit_id, Visit.org_id == actor.org_id)
            )
    elif work_order_id is None and mutation.name == "labour.void":
        if (entry_id := _uuid_or_none(args.get("entry_id"))) is not None:
            work_order_id = await session.scalar(
                select(LabourEntry.ticket_id).where(
                    LabourEntry.id == entry_id, LabourEntry.org_id == actor.org_id
                )
            )
    if work_order_id is None:
        return None
    ticket = await session.scalar(
        select(Ticket)
        .where(Ticket.id == work_order_id, Ticket.org_id == actor.org_id)
        .execution_options(populate_existing=True)
    )
    if ticket is None or ticket.assignee_id == engineer_id:
        return None
    held = await session.scalar(
        select(
            exists().where(
                TicketEvent.ticket_id == ticket.id,
                TicketEvent.org_id == actor.org_id,
                TicketEvent.kind == "transition",
                TicketEvent.changes["assignee_id"][1].astext == str(engineer_id),
            )
        )
    )
    return ticket if held else None


async def _store(
    session: AsyncSession,
    client: SyncClient,
    mutation: Mutation,
    ticket_id: uuid.UUID | None,
    device_time: dt.datetime | None,
    result: Result,
) -> None:
    """The mutation's log row, in its own savepoint: a row PostgreSQL refuses all the same
    is written again with the arguments as their ``repr``, so the sequence advances."""

    def row(args: dict[str, Any], when: dt.datetime | None) -> SyncMutation:
        return SyncMutation(
            client_id=client.id,
            seq=mutation.seq,
            org_id=client.org_id,
            mutation_id=uuid.UUID(mutation.id),
            name=safe_name(mutation.name, 60),
            args=args,
            work_order_id=ticket_id,
            device_time=when,
            outcome=result.outcome.value,
            result=result.to_json(),
        )

    try:
        async with session.begin_nested():
            session.add(row(storable(mutation.args), device_time))
        return
    except DBAPIError as exc:
        if is_transient(exc):
            raise
        failure: Exception = exc
    except Exception as exc:
        failure = exc
    log.error(
        "sync: seq %s of client %s could not be stored as sent; storing its repr",
        mutation.seq,
        client.id,
        exc_info=failure,
    )
    placeholder = {
        "unstorable": _escaped(repr(mutation.args)[:MAX_UNSTORABLE_CHARS]),
        # Dispatchers read this in /sync/rejected: our words, not the driver's (which quote
        # the SQL statement); the log above has those.
        "error": "PostgreSQL refused the arguments as sent"
        if isinstance(failure, DBAPIError)
        else "the arguments could not be stored as sent",
    }
    session.add(row(placeholder, None))
    await session.flush()


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None
