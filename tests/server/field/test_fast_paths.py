"""The hot paths write exactly what the ORM paths write.

The phone's everyday records (labour, notes, checklist answers, check-in and check-out)
and field steps (accept, start travel, arrive) are written with hand-written SQL
(server/field/access.py ``NewRecord``, server/field/visits/service.py, server/tickets/service.py
``LIGHT_ACTIONS``), fast paths registered in server/fastpaths.py. Each test runs one
operation twice on two work orders in the same state: once with the fast paths on, noting
which wrote, once with them all off (FIXFLOW_FAST_PATHS, so the ORM path, with its change
capture, writes it) and compares what each wrote: the record, the work order, its events
and outbox rows, and the change-feed rows (as a set: the ORM capture writes a check-in's
visit row twice, once for the visit and once for its check).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import driver
from server.errors import InvalidTransition, NotFound
from server.field import service as field
from server.field.checklists import service as checklists
from server.field.schemas import TemplateCreate
from server.tickets import service as tickets
from server.tickets.models import Ticket
from server.tickets.schemas import TransitionIn
from shared.ids import uuid7
from shared.lifecycle import Action
from tests.fixtures.factories import Tenant, make_tenant, make_ticket
from tests.fixtures.fast_paths import spy, switch
from tests.server.field.helpers import SITE, on_site, travelling

START = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
END = START + dt.timedelta(hours=1)
Snapshot = dict[str, Any]


async def _rows(db: AsyncSession, sql: str, **params: Any) -> list[dict[str, Any]]:
    await db.flush()
    return [dict(r) for r in (await db.execute(text(sql), params)).mappings()]


async def _feed_marker(db: AsyncSession) -> int:
    rows = await _rows(db, "SELECT coalesce(max(id), 0) AS m FROM sync_changes")
    return int(rows[0]["m"])


# The work order's field records, each as JSON with a key that identifies it.
_RECORDS = """
    SELECT 'labour' AS kind, x.id::text AS key, to_jsonb(x) AS row
      FROM labour_entries x WHERE x.ticket_id = :t
    UNION ALL SELECT 'note', x.id::text, to_jsonb(x) FROM ticket_notes x WHERE x.ticket_id = :t
    UNION ALL SELECT 'answer', x.id::text, to_jsonb(x) FROM checklist_answers x
     WHERE x.ticket_id = :t
    UNION ALL SELECT 'visit', x.id::text, to_jsonb(x) FROM visits x WHERE x.ticket_id = :t
    UNION ALL SELECT 'check', c.visit_id || '/' || c.kind, to_jsonb(c)
      FROM visit_checks c JOIN visits v ON v.id = c.visit_id WHERE v.ticket_id = :t
"""
# Columns that differ between two runs by nature: ids, receipt times, and what follows
# from the receipt time.
_RUN_BOUND = frozenset(
    {"id", "org_id", "ticket_id", "visit_id", "item_id", "received_at", "seq", "clock_offset_s"}
)


async def _records(db: AsyncSession, ticket_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    rows = await _rows(db, _RECORDS, t=ticket_id)
    return {f"{r['kind']}:{r['key']}": r["row"] for r in rows}


async def _snapshot(
    db: AsyncSession, t: Tenant, ticket_id: uuid.UUID, marker: int, before: Snapshot
) -> Snapshot:
    """What the operation wrote, with ids replaced by their roles."""
    names = {str(ticket_id): "work_order"}
    for n, engineer in enumerate(t.engineers, start=1):
        names[f"engineer:{engineer.id}"] = f"engineer{n}"
        names[str(engineer.id)] = f"engineer{n}"
    for who in t.users:
        names[t.actor(who).label] = who
    feed = await _rows(
        db,
        "SELECT scope, entity, entity_id, op FROM sync_changes WHERE id > :m AND org_id = :o",
        m=marker,
        o=t.org.id,
    )
    events = [
        e
        for e in await _rows(
            db,
            "SELECT id, kind, action, from_status, to_status, reason, changes, actor "
            "FROM ticket_events WHERE ticket_id = :t ORDER BY id",
            t=ticket_id,
        )
        if e["id"] not in before["event_ids"]
    ]
    outbox = [
        o
        for o in await _rows(
            db,
            "SELECT id, topic, payload FROM outbox_events WHERE aggregate_id = :t ORDER BY id",
            t=ticket_id,
        )
        if o["id"] not in before["outbox_ids"]
    ]
    ticket = (
        await _rows(
            db,
            "SELECT status, version, first_response_at IS NOT NULL AS responded, "
            "response_breached, resolution_breached, sla_state, "
            "sla_next_check_at IS NOT NULL AS next_check FROM tickets WHERE id = :t",
            t=ticket_id,
        )
    )[0]
    counts = (
        await _rows(
            db,
            "SELECT (SELECT count(*) FROM visits WHERE ticket_id = :t) AS visits, "
            "(SELECT count(*) FROM visit_checks c JOIN visits v ON v.id = c.visit_id "
            "  WHERE v.ticket_id = :t) AS checks, "
            "(SELECT count(*) FROM labour_entries WHERE ticket_id = :t) AS labour, "
            "(SELECT count(*) FROM ticket_notes WHERE ticket_id = :t) AS notes, "
            "(SELECT count(*) FROM checklist_answers WHERE ticket_id = :t) AS answers",
            t=ticket_id,
        )
    )[0]

    def changes(value: Any) -> Any:
        """Instants differ between the two runs; where one was written does not."""
        if isinstance(value, dict):
            return {k: changes(v) for k, v in value.items()}
        if isinstance(value, list):
            return [changes(v) for v in value]
        if isinstance(value, str) and "T" in value:
            try:
                dt.datetime.fromisoformat(value)
            except ValueError:
                return value
            return "an instant"
        return value

    written = [
        (kind_key.split(":")[0], row)
        for kind_key, row in (await _records(db, ticket_id)).items()
        if kind_key not in before["records"]
    ]
    records = sorted(
        (
            (
                kind,
                sorted(
                    (name, names.get(value, value) if isinstance(value, str) else value)
                    for name, value in row.items()
                    if name not in _RUN_BOUND
                ),
            )
            for kind, row in written
        ),
        key=repr,
    )
    return {
        "records": records,
        "feed": {
            (
                names.get(r["scope"], r["scope"]),
                r["entity"],
                names.get(r["entity_id"], "record"),
                r["op"],
            )
            for r in feed
        },
        "events": [
            {
                **{k: v for k, v in e.items() if k != "id"},
                "actor": names[e["actor"]],
                "changes": changes(e["changes"]),
            }
            for e in events
        ],
        "outbox": [
            {
                "topic": o["topic"],
                **{
                    k: v
                    for k, v in o["payload"].items()
                    if k not in ("ticket_id", "number", "changes")
                },
                "actor": names[o["payload"]["actor"]],
                "changes": changes(o["payload"]["changes"]),
            }
            for o in outbox
        ],
        "ticket": ticket,
        "counts": counts,
    }


async def _compare(
    db: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
    scene: Callable[[AsyncSession, Tenant], Awaitable[dict[str, Any]]],
    operate: Callable[[AsyncSession, Tenant, dict[str, Any]], Awaitable[Any]],
    hot: set[str],
) -> Snapshot:
    """Run ``operate`` on a fresh scene fast (``hot``: the fast paths it must take, by
    their names in server/fastpaths.py), then on another with every fast path off;
    returns the fast snapshot after asserting both are the same."""
    snapshots = []
    for careful in (False, True):
        t = await make_tenant(db, f"T{careful}")
        state = await scene(db, t)
        ticket_id = state["ticket"].id
        await db.flush()
        before = {
            "event_ids": {
                r["id"]
                for r in await _rows(
                    db, "SELECT id FROM ticket_events WHERE ticket_id = :t", t=ticket_id
                )
            },
            "outbox_ids": {
                r["id"]
                for r in await _rows(
                    db, "SELECT id FROM outbox_events WHERE aggregate_id = :t", t=ticket_id
                )
            },
        }
        before["records"] = set(await _records(db, ticket_id))
        marker = await _feed_marker(db)
        db.expunge_all()  # as in a request: the session holds nothing yet
        taken: list[str] = []
        with monkeypatch.context() as patch:
            switch(patch, not careful)
            spy(patch, taken)
            await operate(db, t, state)
        # Fast: the fast paths named ran. Careful: none did, the ORM paths wrote it all.
        assert sorted(set(taken)) == ([] if careful else sorted(hot)), taken
        snapshots.append(await _snapshot(db, t, ticket_id, marker, before))
    fast, slow = snapshots
    assert fast["events"] == slow["events"], (fast["events"], slow["events"])
    assert fast == slow
    return fast


async def _on_site(db: AsyncSession, t: Tenant) -> dict[str, Any]:
    ticket, visit = await on_site(db, t)
    template = await checklists.create_template(
        db,
        t.actor("admin"),
        data=TemplateCreate.model_validate(
            {
                "name": "Checks",
                "items": [
                    {"kind": "number", "label": "Pressure", "min_value": 0, "max_value": 10},
                    {"kind": "choice", "label": "Noise", "options": ["none", "some"]},
                ],
            }
        ),
    )
    return {"ticket": ticket, "visit_id": visit.id, "items": [i.id for i in template.items]}


async def _travelling(db: AsyncSession, t: Tenant) -> dict[str, Any]:
    return {"ticket": await travelling(db, t)}


async def _assigned(db: AsyncSession, t: Tenant) -> dict[str, Any]:
    assert t.customer and t.site
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, t.asset, assign_to=t.engineers[0]
    )
    return {"ticket": ticket}


def _engineer(t: Tenant) -> Any:
    return t.actor("engineer1")


async def test_labour_is_written_as_the_orm_writes_it(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def add(db: AsyncSession, t: Tenant, s: dict[str, Any]) -> None:
        await field.add_labour(
            db,
            _engineer(t),
            ticket_id=s["ticket"].id,
            entry_id=uuid7(),
            kind="work",
            started_at=START,
            ended_at=END,
            visit_id=s["visit_id"],
            note="replaced the relay",
        )

    wrote = await _compare(db, monkeypatch, _on_site, add, {"field.new_record"})
    assert ("engineer1", "labour_entry", "record", "put") in wrote["feed"]
    assert wrote["counts"]["labour"] == 1


async def test_notes_from_engineers_and_the_office_are_written_as_the_orm_writes_them(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def add(db: AsyncSession, t: Tenant, s: dict[str, Any]) -> None:
        for who, visit_id in (("engineer1", s["visit_id"]), ("agent", None)):
            await field.add_note(
                db,
                t.actor(who),
                ticket_id=s["ticket"].id,
                note_id=uuid7(),
                text=f"from {who}",
                visit_id=visit_id,
                device_time=START,
            )

    wrote = await _compare(db, monkeypatch, _on_site, add, {"field.new_record"})
    assert wrote["counts"]["notes"] == 2
    assert ("engineer1", "note", "record", "put") in wrote["feed"]


async def test_checklist_answers_are_written_as_the_orm_writes_them(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def answer(db: AsyncSession, t: Tenant, s: dict[str, Any]) -> None:
        for item_id, value in zip(s["items"], (7.5, "some"), strict=True):
            stored = await field.answer(
                db,
                _engineer(t),
                ticket_id=s["ticket"].id,
                visit_id=s["visit_id"],
                item_id=item_id,
                answer_id=uuid7(),
                value=value,
                device_time=START,
            )
            assert stored.seq is not None  # the row's identity, as the ORM returns it

    wrote = await _compare(
        db, monkeypatch, _on_site, answer, {"field.new_record", "field.checklist_item"}
    )
    assert wrote["counts"]["answers"] == 2


async def test_a_check_out_is_written_as_the_orm_writes_it(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def check_out(db: AsyncSession, t: Tenant, s: dict[str, Any]) -> None:
        record = await field.check_out(
            db, _engineer(t), visit_id=s["visit_id"], device_time=END, gps=SITE
        )
        assert record.check_in.kind == "in" and record.check_out is not None
        assert record.check_out.distance_m == 0.0 and not record.check_out.far_from_site
        assert record.visit.number == 1

    wrote = await _compare(db, monkeypatch, _on_site, check_out, {"field.check_out"})
    assert wrote["counts"]["checks"] == 2


async def test_a_check_in_with_its_arrival_is_written_as_the_orm_writes_it(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def check_in(db: AsyncSession, t: Tenant, s: dict[str, Any]) -> None:
        record = await field.check_in(
            db,
            _engineer(t),
            ticket_id=s["ticket"].id,
            visit_id=uuid7(),
            device_time=START,
            gps={**SITE, "lat": SITE["lat"] + 0.01},
        )
        assert record.visit.number == 1 and record.check_in.far_from_site

    wrote = await _compare(
        db, monkeypatch, _travelling, check_in, {"field.check_in", "tickets.light_transition"}
    )
    assert wrote["ticket"]["status"] == "on_site"
    assert [e["action"] for e in wrote["events"]] == ["arrive"]
    assert [o["topic"] for o in wrote["outbox"]] == ["ticket.transition"]
    assert ("engineer1", "work_order", "work_order", "put") in wrote["feed"]
    assert ("engineer1", "visit", "record", "put") in wrote["feed"]


async def test_a_second_visit_on_site_is_written_as_the_orm_writes_it(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def again(db: AsyncSession, t: Tenant, s: dict[str, Any]) -> None:
        actor = _engineer(t)
        await field.check_out(db, actor, visit_id=s["visit_id"], device_time=START)
        record = await field.check_in(
            db, actor, ticket_id=s["ticket"].id, visit_id=uuid7(), device_time=END
        )
        assert record.visit.number == 2

    wrote = await _compare(db, monkeypatch, _on_site, again, {"field.check_in", "field.check_out"})
    assert wrote["events"] == []  # already on site: no transition
    assert wrote["counts"]["visits"] == 2


async def test_accept_and_start_travel_are_written_as_the_orm_writes_them(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def steps(db: AsyncSession, t: Tenant, s: dict[str, Any]) -> None:
        accepted = await field.accept(db, _engineer(t), ticket_id=s["ticket"].id)
        assert accepted.status == "accepted"
        travelling = await field.start_travel(db, _engineer(t), ticket_id=s["ticket"].id)
        assert travelling.status == "travelling"

    wrote = await _compare(db, monkeypatch, _assigned, steps, {"tickets.light_transition"})
    assert [e["action"] for e in wrote["events"]] == ["accept", "start_travel"]
    assert "first_response_at" in wrote["events"][0]["changes"]
    assert wrote["ticket"]["responded"]


async def test_a_work_order_the_session_holds_takes_the_orm_path(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caller holding the work order keeps a right copy: the light step is not taken,
    and a savepoint rolled back after the step takes the copy back with it (a copy
    written behind the ORM's back would keep the undone status, and ``hold`` would then
    be applied from ``on_site`` while the work order is ``travelling``)."""
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    ticket_id, version = ticket.id, ticket.version
    taken: list[str] = []
    switch(monkeypatch, True)
    spy(monkeypatch, taken)
    actor = _engineer(t)
    try:
        async with db.begin_nested():
            same = await tickets.apply_transition(
                db, actor, ticket_id=ticket_id, data=TransitionIn(action=Action.ARRIVE)
            )
            assert same is ticket and ticket.status == "on_site"
            raise RuntimeError("undo")
    except RuntimeError:
        pass
    assert taken == []
    with pytest.raises(InvalidTransition):
        await field.hold(db, actor, ticket_id=ticket_id, waiting_for="parts", reason="r")
    row = await db.get(Ticket, ticket_id)
    assert row is ticket and (ticket.status, ticket.version) == ("travelling", version)


async def test_hand_written_sql_runs_inside_the_sessions_transaction(
    committing_db: AsyncSession,
) -> None:
    """Were the transaction not begun, asyncpg would run the statements in autocommit:
    they would stay written when the request fails."""
    conn = await driver(committing_db)
    assert conn.is_in_transaction()
    assert committing_db.in_transaction()
    await committing_db.rollback()
    assert not conn.is_in_transaction()


async def test_sqlalchemy_and_asyncpg_share_one_transaction_which_sqlalchemy_ends(
    committing_db: AsyncSession,
) -> None:
    """driver() sends the BEGIN through SQLAlchemy's adapter, so SQLAlchemy's statements
    after it run in that same transaction (no second BEGIN), and its commit ends it."""
    conn = await driver(committing_db)
    through_asyncpg = await conn.fetchval("SELECT txid_current()")
    through_sqlalchemy = (await committing_db.execute(text("SELECT txid_current()"))).scalar()
    assert through_asyncpg == through_sqlalchemy
    assert await driver(committing_db) is conn  # already begun: nothing sent again
    await committing_db.commit()
    assert not conn.is_in_transaction()
    again = await driver(committing_db)  # the next transaction, begun the same way
    assert again.is_in_transaction()
    assert await again.fetchval("SELECT txid_current()") != through_asyncpg
    await committing_db.rollback()


async def test_an_answer_on_a_colleagues_work_order_is_404_whatever_its_value(
    db: AsyncSession,
) -> None:
    """The work order is checked before the value (as the ORM path always did): a wrong
    value on a work order the engineer cannot see is 404, so the push can flag it as
    evidence after a reassignment."""
    t = await make_tenant(db)
    scene = await _on_site(db, t)
    with pytest.raises(NotFound):
        await field.answer(
            db,
            t.actor("engineer2"),
            ticket_id=scene["ticket"].id,
            visit_id=scene["visit_id"],
            item_id=scene["items"][1],
            answer_id=uuid7(),
            value="not an option",
        )
