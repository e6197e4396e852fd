"""Client ids name records the caller may not see: a colleague's record (same organisation,
a work order the engineer is not assigned) is refused exactly like another organisation's,
never compared field by field (that would tell what the colleague wrote) nor answered."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.errors import ClientIdReused
from server.field import service as field
from server.field.checklists import service as checklists
from server.field.schemas import TemplateCreate
from server.tickets.models import Ticket
from shared.ids import uuid7
from tests.fixtures.factories import Tenant, make_part, make_tenant
from tests.server.field.helpers import SITE, on_site

START = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)
END = START + dt.timedelta(hours=1)


async def test_a_colleagues_note_id_reveals_no_more_than_another_organisations(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Naming another organisation's note id answers 409 with fields ["id"]; naming a
    colleague's (same organisation, a work order the engineer cannot see) answers the same,
    not the list of what differs (an equality oracle on records that are 404-dark)."""
    t = await make_tenant(db)
    theirs, _ = await on_site(db, t, engineer=2)
    mine, _ = await on_site(db, t)
    note_id = uuid7()
    await field.add_note(
        db, t.actor("engineer2"), ticket_id=theirs.id, note_id=note_id, text="key under mat"
    )
    await db.flush()
    probe = await client.post(
        f"/api/v1/tickets/{mine.id}/notes",
        json={"note_id": str(note_id), "text": "key under mat"},
        headers=t.headers("engineer1"),
    )
    assert probe.status_code == 409, probe.text
    assert probe.json()["fields"] == ["id"], probe.json()


@dataclass(frozen=True)
class Scene:
    """One engineer on site at one work order, with what their records refer to."""

    actor: Actor
    ticket: Ticket
    visit_id: uuid.UUID
    item_id: uuid.UUID
    part_id: uuid.UUID
    entry_id: uuid.UUID


async def _scene(db: AsyncSession, t: Tenant, engineer: int) -> Scene:
    actor = t.actor(f"engineer{engineer}")
    ticket, visit = await on_site(db, t, engineer=engineer)
    template = await checklists.create_template(
        db,
        t.actor("admin"),
        data=TemplateCreate.model_validate(
            {"name": f"Safety {engineer}", "items": [{"kind": "yes_no", "label": "Safe?"}]}
        ),
    )
    part = await make_part(db, t.actor("admin"))
    entry = await field.add_labour(
        db,
        actor,
        ticket_id=ticket.id,
        entry_id=uuid7(),
        kind="work",
        started_at=START,
        ended_at=END,
    )
    await db.flush()
    return Scene(actor, ticket, visit.id, template.items[0].id, part.id, entry.id)


# Each kind of record: how its owner creates one (its id), and how the prober (engineer1 of
# the first organisation) creates one with that id and, as far as it can, the same content.
Create = Callable[[AsyncSession, Scene], Awaitable[uuid.UUID]]
Probe = Callable[[AsyncSession, Actor, Scene, Scene, uuid.UUID], Awaitable[Any]]


async def _note(db: AsyncSession, s: Scene) -> uuid.UUID:
    note = await field.add_note(
        db, s.actor, ticket_id=s.ticket.id, note_id=uuid7(), text="key under mat"
    )
    return note.id


async def _probe_note(
    db: AsyncSession, actor: Actor, mine: Scene, owner: Scene, record_id: uuid.UUID
) -> Any:
    return await field.add_note(
        db, actor, ticket_id=mine.ticket.id, note_id=record_id, text="key under mat"
    )


async def _visit(db: AsyncSession, s: Scene) -> uuid.UUID:
    return s.visit_id


async def _probe_visit(
    db: AsyncSession, actor: Actor, mine: Scene, owner: Scene, record_id: uuid.UUID
) -> Any:
    return await field.check_in(
        db, actor, ticket_id=mine.ticket.id, visit_id=record_id, device_time=END, gps=SITE
    )


async def _labour(db: AsyncSession, s: Scene) -> uuid.UUID:
    return s.entry_id


async def _probe_labour(
    db: AsyncSession, actor: Actor, mine: Scene, owner: Scene, record_id: uuid.UUID
) -> Any:
    return await field.add_labour(
        db,
        actor,
        ticket_id=mine.ticket.id,
        entry_id=record_id,
        kind="work",
        started_at=START,
        ended_at=END,
    )


async def _void(db: AsyncSession, s: Scene) -> uuid.UUID:
    void = await field.void_labour(
        db, s.actor, entry_id=s.entry_id, void_id=uuid7(), reason="wrong job"
    )
    return void.id


async def _probe_void(
    db: AsyncSession, actor: Actor, mine: Scene, owner: Scene, record_id: uuid.UUID
) -> Any:
    # Exactly what the owner sent: answered as a retry, the owner's void would come back.
    return await field.void_labour(
        db, actor, entry_id=owner.entry_id, void_id=record_id, reason="wrong job"
    )


async def _adjustment(db: AsyncSession, s: Scene) -> uuid.UUID:
    entry = await field.adjust_labour(
        db,
        s.actor,
        entry_id=s.entry_id,
        adjustment_id=uuid7(),
        started_at=START,
        ended_at=END - dt.timedelta(minutes=10),
        reason="left early",
    )
    return entry.id


async def _probe_adjustment(
    db: AsyncSession, actor: Actor, mine: Scene, owner: Scene, record_id: uuid.UUID
) -> Any:
    return await field.adjust_labour(
        db,
        actor,
        entry_id=owner.entry_id,
        adjustment_id=record_id,
        started_at=START,
        ended_at=END - dt.timedelta(minutes=10),
        reason="left early",
    )


async def _answer(db: AsyncSession, s: Scene) -> uuid.UUID:
    answer = await field.answer(
        db,
        s.actor,
        ticket_id=s.ticket.id,
        visit_id=s.visit_id,
        item_id=s.item_id,
        answer_id=uuid7(),
        value=True,
    )
    return answer.id


async def _probe_answer(
    db: AsyncSession, actor: Actor, mine: Scene, owner: Scene, record_id: uuid.UUID
) -> Any:
    return await field.answer(
        db,
        actor,
        ticket_id=mine.ticket.id,
        visit_id=mine.visit_id,
        item_id=mine.item_id,
        answer_id=record_id,
        value=True,
    )


async def _part_line(db: AsyncSession, s: Scene) -> uuid.UUID:
    line = await field.use_part(
        db, s.actor, ticket_id=s.ticket.id, line_id=uuid7(), part_id=s.part_id, quantity=1
    )
    return line.id


async def _probe_part_line(
    db: AsyncSession, actor: Actor, mine: Scene, owner: Scene, record_id: uuid.UUID
) -> Any:
    return await field.use_part(
        db, actor, ticket_id=mine.ticket.id, line_id=record_id, part_id=mine.part_id, quantity=1
    )


KINDS: dict[str, tuple[Create, Probe]] = {
    "note": (_note, _probe_note),
    "visit": (_visit, _probe_visit),
    "labour entry": (_labour, _probe_labour),
    "labour void": (_void, _probe_void),
    "labour adjustment": (_adjustment, _probe_adjustment),
    "checklist answer": (_answer, _probe_answer),
    "part line": (_part_line, _probe_part_line),
}


async def _refusal(
    db: AsyncSession, probe: Probe, mine: Scene, owner: Scene, record_id: uuid.UUID
) -> dict[str, Any]:
    with pytest.raises(ClientIdReused) as refused:
        async with db.begin_nested():
            await probe(db, mine.actor, mine, owner, record_id)
    return {
        k: v.replace(str(record_id), "<id>") if isinstance(v, str) else v
        for k, v in refused.value.to_problem().items()
    }


@pytest.mark.parametrize("kind", list(KINDS))
async def test_every_field_record_refuses_a_colleagues_id_like_another_organisations(
    db: AsyncSession, kind: str
) -> None:
    create, probe = KINDS[kind]
    t, u = await make_tenant(db), await make_tenant(db, "Other")
    colleague, stranger = await _scene(db, t, engineer=2), await _scene(db, u, engineer=1)
    mine = await _scene(db, t, engineer=1)
    colleagues_id = await create(db, colleague)
    strangers_id = await create(db, stranger)
    await db.flush()
    foreign = await _refusal(db, probe, mine, stranger, strangers_id)
    assert foreign["code"] == "client_id_reused" and foreign["fields"] == ["id"], foreign
    assert await _refusal(db, probe, mine, colleague, colleagues_id) == foreign
