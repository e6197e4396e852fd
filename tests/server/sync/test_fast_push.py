"""The push's fast path (server/sync/push.py): most mutations run without a savepoint of
their own and their log row and acknowledgement go in one statement. A database error on
that path rolls the push back to its start and applies it again the careful way (a
savepoint per mutation): the answer is the one the careful path gives, nothing is written
twice and nothing is lost. The errors here are real PostgreSQL errors, raised by
triggers the tests add inside their rolled-back transaction."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.field.checklists import service as checklists
from server.field.models import LabourEntry, TicketNote, Visit
from server.field.schemas import TemplateCreate
from server.tickets.models import TicketEvent
from tests.fixtures.attachments import png, registered_photo
from tests.fixtures.factories import make_tenant
from tests.fixtures.fast_paths import spy, switch
from tests.server.field.helpers import SITE, on_site, travelling
from tests.server.sync.helpers import (
    Phone,
    assigned,
    new_id,
    registered_phone,
    stored_mutations,
)

START, END = "2026-11-24T09:00:00+08:00", "2026-11-24T10:00:00+08:00"


@pytest.fixture(autouse=True)
def _fast_paths_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the fast path's replay: on, whatever FIXFLOW_FAST_PATHS says
    (the twin test at the end switches it itself)."""
    switch(monkeypatch, True)


async def _refuse(
    db: AsyncSession, table: str, condition: str, errcode: str = "check_violation"
) -> None:
    """A trigger on ``table`` that refuses rows matching ``condition`` with ``errcode``
    (by default a check violation, SQLSTATE 23514, as a constraint would)."""
    await db.execute(
        text(
            f"""
            CREATE FUNCTION test_refuse_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF {condition} THEN
                    RAISE EXCEPTION 'refused by the test' USING ERRCODE = '{errcode}';
                END IF;
                RETURN NEW;
            END $$
            """
        )
    )
    await db.execute(
        text(
            f"CREATE TRIGGER test_refuse BEFORE INSERT ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION test_refuse_{table}()"
        )
    )


async def _acks(db: AsyncSession, phone: Phone) -> list[str]:
    rows = await db.execute(
        text("SELECT entity_id FROM sync_changes WHERE scope = :s AND op = 'ack' ORDER BY id"),
        {"s": f"client:{phone.client_id}"},
    )
    return [r[0] for r in rows]


async def test_a_database_error_on_the_fast_path_replays_the_push_carefully(
    client: httpx.AsyncClient, db: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    t = await make_tenant(db)
    ticket, visit = await on_site(db, t)
    await _refuse(db, "ticket_notes", "NEW.text = 'boom'")
    phone = await registered_phone(client, t)
    wo = str(ticket.id)
    with caplog.at_level(logging.INFO, logger="fixflow.sync"):
        response = await phone.push(
            phone.mutation(
                "labour.add",
                work_order_id=wo,
                entry_id=new_id(),
                kind="work",
                started_at=START,
                ended_at=END,
            ),
            phone.mutation("note.add", work_order_id=wo, note_id=new_id(), text="boom"),
            phone.mutation("note.add", work_order_id=wo, note_id=new_id(), text="after"),
            phone.mutation("visit.check_out", visit_id=str(visit.id)),
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["last_seq"] == 4
    assert [r["outcome"] for r in body["results"]] == ["applied", "rejected", "applied", "applied"]
    assert body["results"][1]["error"]["status"] == 422
    assert "23514" in body["results"][1]["error"]["detail"]
    assert any("applied again" in r.getMessage() for r in caplog.records)
    # Applied once each (the first attempt was undone), each with its log row and ack.
    labour = await db.scalars(select(LabourEntry).where(LabourEntry.ticket_id == ticket.id))
    assert len(list(labour)) == 1
    notes = await db.scalars(select(TicketNote.text).where(TicketNote.ticket_id == ticket.id))
    assert list(notes) == ["after"]
    assert [(m.seq, m.outcome) for m in await stored_mutations(db, phone)] == [
        (1, "applied"),
        (2, "rejected"),
        (3, "applied"),
        (4, "applied"),
    ]
    assert await _acks(db, phone) == ["1", "2", "3", "4"]


async def test_a_log_row_refused_on_the_fast_path_is_stored_the_careful_way(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """The fast path writes an applied mutation's log row without a savepoint; were it
    refused, the replay stores it as its repr (as the careful path always has), and the
    mutation stays applied."""
    t = await make_tenant(db)
    ticket, _ = await on_site(db, t)
    await _refuse(db, "sync_mutations", "NEW.args ->> 'text' = 'unloggable'")
    phone = await registered_phone(client, t)
    note_id = new_id()
    response = await phone.push(
        phone.mutation("note.add", work_order_id=str(ticket.id), note_id=note_id, text="fine"),
        phone.mutation(
            "note.add", work_order_id=str(ticket.id), note_id=new_id(), text="unloggable"
        ),
    )
    assert response.status_code == 200, response.text
    assert [r["outcome"] for r in response.json()["results"]] == ["applied", "applied"]
    stored = await stored_mutations(db, phone)
    assert stored[0].args["text"] == "fine"
    assert "unloggable" in stored[1].args["unstorable"]
    notes = await db.scalars(select(TicketNote.text).where(TicketNote.ticket_id == ticket.id))
    assert sorted(notes) == ["fine", "unloggable"]
    assert await _acks(db, phone) == ["1", "2"]


async def test_a_refusal_on_the_fast_path_writes_nothing_and_the_queue_moves_on(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """A mutation the service refuses on the fast path (no savepoint) leaves no row of its
    own: the refusals of the hot paths come before their one write."""
    t = await make_tenant(db)
    ticket, visit = await on_site(db, t)
    other, _ = await on_site(db, t, engineer=2)
    phone = await registered_phone(client, t)
    response = await phone.push(
        # A colleague's work order: 404.
        phone.mutation("note.add", work_order_id=str(other.id), note_id=new_id(), text="x"),
        # A visit of another work order: 422.
        phone.mutation(
            "labour.add",
            work_order_id=str(other.id),
            entry_id=new_id(),
            kind="work",
            started_at=START,
            ended_at=END,
            visit_id=str(visit.id),
        ),
        phone.mutation("note.add", work_order_id=str(ticket.id), note_id=new_id(), text="ok"),
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["rejected", "rejected", "applied"]
    assert results[0]["error"]["status"] == 404
    notes = await db.scalars(select(TicketNote.text).where(TicketNote.ticket_id == other.id))
    assert list(notes) == []
    labour = await db.scalars(select(LabourEntry).where(LabourEntry.ticket_id == other.id))
    assert list(labour) == []


async def _photo_scene(db: AsyncSession) -> tuple[Any, Any, uuid.UUID, uuid.UUID]:
    """An engineer travelling to a work order with a photo checklist item and a photo
    registered: a photo answer takes the ORM path (its attachments are checked), which
    loads the work order into the session."""
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    template = await checklists.create_template(
        db,
        t.actor("admin"),
        data=TemplateCreate.model_validate(
            {"name": "Evidence", "items": [{"kind": "photo", "label": "Nameplate"}]}
        ),
    )
    photo = await registered_photo(db, t.actor("engineer1"), ticket.id, png(colour=(1, 1, 2)))
    return t, ticket, template.items[0].id, photo.id


@pytest.mark.parametrize("error", ["lock_not_available", "invalid_parameter_value"])
async def test_the_careful_pass_does_not_trust_what_the_fast_pass_loaded(
    client: httpx.AsyncClient, db: AsyncSession, error: str
) -> None:
    """The fast pass checks in (arrive: travelling → on_site) and then loads the work
    order for a photo answer, which PostgreSQL refuses. Its rollback undoes the arrival;
    the careful pass must see the work order travelling again, not the loaded copy's
    on_site (which refused the check-in, or let a hold jump from travelling)."""
    t, ticket, item_id, photo_id = await _photo_scene(db)
    await _refuse(db, "checklist_answers", "true", errcode=error)
    phone = await registered_phone(client, t)
    wo, visit_id = str(ticket.id), new_id()
    response = await phone.push(
        phone.mutation("visit.check_in", work_order_id=wo, visit_id=visit_id, gps=SITE),
        phone.mutation(
            "checklist.answer",
            work_order_id=wo,
            visit_id=visit_id,
            item_id=str(item_id),
            answer_id=new_id(),
            value=[str(photo_id)],
        ),
        phone.mutation("work_order.hold", work_order_id=wo, waiting_for="parts", reason="r"),
    )
    outcomes = [r["outcome"] for r in response.json()["results"]]
    if error == "lock_not_available":  # transient: 503 from the answer, the check-in kept
        assert response.status_code == 503, response.text
        assert outcomes == ["applied"]
    else:  # permanent: the answer rejected, the hold applied after the arrival
        assert response.status_code == 200, response.text
        assert outcomes == ["applied", "rejected", "applied"]
    visits = await db.scalar(select(func.count()).where(Visit.ticket_id == ticket.id))
    assert visits == 1
    steps = await db.execute(
        select(TicketEvent.action, TicketEvent.from_status, TicketEvent.to_status)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "transition")
        .order_by(TicketEvent.created_at, TicketEvent.id)
    )
    after_travel = [tuple(s) for s in steps if s[0] in ("arrive", "hold")]
    expected = [("arrive", "travelling", "on_site")]
    if error != "lock_not_available":
        expected.append(("hold", "on_site", "on_hold"))
    assert after_travel == expected


# --- the twin: the fast push writes what the careful push writes ----------------------------


def _named(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _named(v, names) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_named(v, names) for v in value]
    key = str(value) if isinstance(value, uuid.UUID) else value
    if not isinstance(key, str):
        return value
    if key in names:
        return names[key]
    for raw, name in names.items():  # ids inside text (a problem's detail)
        key = key.replace(raw, name)
    return key


async def _push_scene(
    client: httpx.AsyncClient, db: AsyncSession, careful: bool
) -> tuple[Phone, list[dict[str, Any]], dict[str, str], Any]:
    """An engineer on site at one work order (a visit open, a checklist to answer) with
    another assigned and not yet accepted, and a colleague's; the phone's mutations for a
    morning's work, and the roles of every id they name."""
    t = await make_tenant(db, f"Push {careful}")
    ticket, visit = await on_site(db, t)
    waiting = await assigned(db, t)
    colleagues = await assigned(db, t, engineer=2)
    template = await checklists.create_template(
        db,
        t.actor("admin"),
        data=TemplateCreate.model_validate(
            {"name": "Checks", "items": [{"kind": "number", "label": "Bar", "min_value": 0}]}
        ),
    )
    item = template.items[0]
    phone = await registered_phone(client, t)
    ids = {role: new_id() for role in ("entry", "note", "answer", "visit2", "stray")}
    wo, other = str(ticket.id), str(waiting.id)
    mutations = [
        phone.mutation("work_order.accept", work_order_id=other),
        phone.mutation(
            "labour.add",
            work_order_id=wo,
            entry_id=ids["entry"],
            kind="work",
            started_at=START,
            ended_at=END,
            visit_id=str(visit.id),
        ),
        phone.mutation("note.add", work_order_id=wo, note_id=ids["note"], text="fixed"),
        phone.mutation(
            "checklist.answer",
            work_order_id=wo,
            visit_id=str(visit.id),
            item_id=str(item.id),
            answer_id=ids["answer"],
            value=4.5,
        ),
        phone.mutation("visit.check_out", visit_id=str(visit.id), gps=SITE),
        # A colleague's work order: rejected (404), the queue moves on.
        phone.mutation(
            "note.add", work_order_id=str(colleagues.id), note_id=ids["stray"], text="x"
        ),
        phone.mutation("work_order.start_travel", work_order_id=other),
        phone.mutation("visit.check_in", work_order_id=other, visit_id=ids["visit2"], gps=SITE),
    ]
    for mutation in mutations:
        mutation["device_time"] = END
    names = {str(v): role for role, v in ids.items()}
    names.update(
        {
            wo: "work_order",
            other: "waiting",
            str(colleagues.id): "colleagues",
            str(visit.id): "visit",
            str(item.id): "item",
            phone.client_id: "phone",
            f"client:{phone.client_id}": "phone's acks",
            f"engineer:{t.engineers[0].id}": "engineer1",
        }
    )
    return phone, mutations, names, t


def _by_mutation(rows: list[Any]) -> list[tuple[list[tuple[str, ...]], str]]:
    """The feed rows as each mutation's effects (a set: the ORM capture writes a check-in's
    visit row twice, for the visit and for its check, and orders a mutation's rows its own
    way), then its acknowledgement, in the order written."""
    out, effects = [], set()
    for row in rows:
        if row[3] == "ack":
            out.append((sorted(effects), row[2]))
            effects = set()
        else:
            effects.add(tuple(row))
    assert not effects, "effects after the last acknowledgement"
    return out


# The fast paths this push takes (server/fastpaths.py).
_PUSHED_FAST_PATHS = {
    "sync.push",
    "field.new_record",
    "field.checklist_item",
    "field.check_out",
    "field.check_in",
    "tickets.light_transition",
}


async def test_a_push_is_written_as_the_careful_push_writes_it(
    client: httpx.AsyncClient, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same push, on twin data, with the fast paths on (``sync.push``: no savepoint
    for the ATOMIC mutations, log row and acknowledgement in one statement, and the
    services' own fast paths) and with every fast path off: the same answer, the same
    log rows, the same records and work orders, the same feed rows and acknowledgements
    in the same order."""
    snapshots = []
    for careful in (False, True):
        phone, mutations, names, t = await _push_scene(client, db, careful)
        marker = await db.scalar(text("SELECT coalesce(max(id), 0) FROM sync_changes"))
        db.expunge_all()
        taken: list[str] = []
        with monkeypatch.context() as patch:
            switch(patch, not careful)
            spy(patch, taken)
            response = await phone.push(*mutations)
        assert response.status_code == 200, response.text
        expected = set() if careful else _PUSHED_FAST_PATHS
        assert set(taken) == expected, taken
        log = [
            _named(
                {
                    "seq": m.seq,
                    "name": m.name,
                    "args": m.args,
                    "work_order_id": m.work_order_id,
                    "device_time": m.device_time,
                    "outcome": m.outcome,
                    "result": m.result,
                },
                names,
            )
            for m in await stored_mutations(db, phone)
        ]
        feed = await db.execute(
            text(
                "SELECT scope, entity, entity_id, op FROM sync_changes "
                "WHERE id > :m AND org_id = :o ORDER BY id"
            ),
            {"m": marker, "o": t.org.id},
        )
        rows = [_named(list(r), names) for r in feed]
        records = await db.execute(
            text(
                """
                SELECT 'status', status || ' v' || version FROM tickets WHERE org_id = :o
                UNION ALL SELECT 'visit', number::text FROM visits WHERE org_id = :o
                UNION ALL SELECT 'check', kind FROM visit_checks WHERE org_id = :o
                UNION ALL SELECT 'labour', kind FROM labour_entries WHERE org_id = :o
                UNION ALL SELECT 'note', text FROM ticket_notes WHERE org_id = :o
                UNION ALL SELECT 'answer', value::text FROM checklist_answers WHERE org_id = :o
                UNION ALL SELECT 'event', coalesce(action, kind) FROM ticket_events
                 WHERE org_id = :o
                """
            ),
            {"o": t.org.id},
        )
        snapshots.append(
            {
                "answer": _named(response.json(), names),
                "log": log,
                "feed": _by_mutation(rows),
                "records": sorted(tuple(r) for r in records),
            }
        )
    fast, slow = snapshots
    for part in fast:
        assert fast[part] == slow[part], part
    outcomes = [r["outcome"] for r in fast["answer"]["results"]]
    assert outcomes == ["applied"] * 5 + ["rejected"] + ["applied"] * 2
    assert [ack for _, ack in fast["feed"]] == [str(n) for n in range(1, 9)]
    assert fast["feed"][-1] == (
        [("engineer1", "visit", "visit2", "put"), ("engineer1", "work_order", "waiting", "put")],
        "8",
    )
