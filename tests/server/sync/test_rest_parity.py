"""What an engineer may do over REST, the phone may do offline: every field transition,
every hold kind and the findings an engineer edits with ``PATCH /tickets/{id}`` have a
mutation, applied through the same service."""

from __future__ import annotations

from typing import get_args

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.field.service import HOLD_KINDS
from server.tickets.models import Ticket, TicketEvent
from server.tickets.schemas import HoldKind
from server.tickets.service import ENGINEER_FIELDS, FIELD_ACTIONS
from shared.ids import uuid7
from shared.lifecycle import Action
from shared.sync import MUTATIONS, check_args
from tests.fixtures.factories import make_tenant
from tests.server.field.helpers import on_site
from tests.server.sync.helpers import Phone, registered_phone

# The phone arrives by checking in (server/field/visits/service.py runs ``arrive``).
BY_ACTION = {Action.ARRIVE: "visit.check_in"}


def test_every_field_action_of_an_engineer_has_a_mutation() -> None:
    for action in FIELD_ACTIONS:
        assert BY_ACTION.get(action, f"work_order.{action.value}") in MUTATIONS, action


def test_every_hold_kind_can_be_sent() -> None:
    assert set(HOLD_KINDS.values()) == set(get_args(HoldKind))
    for waiting_for in HOLD_KINDS:
        args = {"work_order_id": str(uuid7()), "waiting_for": waiting_for, "reason": "x"}
        assert check_args("work_order.hold", args)["waiting_for"] == waiting_for


def test_every_field_an_engineer_edits_has_a_findings_argument() -> None:
    assert set(MUTATIONS["work_order.update_findings"]) == ENGINEER_FIELDS | {"work_order_id"}


async def _fresh(db: AsyncSession, ticket: Ticket) -> Ticket:
    found = await db.scalar(
        select(Ticket).where(Ticket.id == ticket.id).execution_options(populate_existing=True)
    )
    assert found is not None
    return found


async def test_a_hold_for_another_reason_keeps_the_sla_clock_running(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket, _ = await on_site(db, t)
    phone = await registered_phone(client, t)
    pushed = await phone.push(
        phone.mutation(
            "work_order.hold",
            work_order_id=str(ticket.id),
            waiting_for="other",
            reason="site closed for a safety drill",
        )
    )
    [result] = pushed.json()["results"]
    assert result["outcome"] == "applied", result
    stored = await _fresh(db, ticket)
    assert (stored.status, stored.on_hold_since) == ("on_hold", None)
    event = await db.scalar(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.action == "hold")
    )
    assert event is not None and event.changes == {"hold_kind": "other"}


async def test_findings_recorded_offline_are_the_last_write_per_field(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    """The office corrected the notes meanwhile; the engineer's later mutation replaces
    the fields it sends (the last write received wins, no version check) and keeps the
    others, with an ``updated`` event as a PATCH writes; the phone pulls the result."""
    t = await make_tenant(db)
    ticket, _ = await on_site(db, t)
    phone = Phone(client, t.headers("engineer1"), engine=engine)
    await phone.register()
    office = await client.patch(
        f"/api/v1/tickets/{ticket.id}",
        json={"resolution_notes": "office: customer reports noise", "fault_code": "E10"},
        headers={**t.headers("dispatcher"), "If-Match": f'"v{ticket.version}"'},
    )
    assert office.status_code == 200, office.text

    findings = phone.mutation(
        "work_order.update_findings",
        work_order_id=str(ticket.id),
        resolution_notes="bearing worn, fan rubbing the shroud",
        root_cause="no lubrication since install",
    )
    pushed = await phone.push(findings)
    [result] = pushed.json()["results"]
    assert result["outcome"] == "applied", result
    stored = await _fresh(db, ticket)
    assert stored.resolution_notes == "bearing worn, fan rubbing the shroud"
    assert stored.root_cause == "no lubrication since install"
    assert stored.fault_code == "E10"  # not sent: kept
    assert result["data"]["version"] == stored.version
    event = await db.scalar(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "updated")
        .order_by(TicketEvent.created_at.desc(), TicketEvent.id.desc())
        .limit(1)
    )
    assert event is not None and set(event.changes) == {"resolution_notes", "root_cause"}

    again = await phone.push(findings)
    assert again.json()["results"] == [result]
    assert (await _fresh(db, ticket)).version == stored.version

    await phone.sync()
    pulled = phone.get("work_order", ticket.id)
    assert pulled["root_cause"] == "no lubrication since install"
    assert pulled["fault_code"] == "E10"


async def test_findings_refuse_dispatch_fields_and_an_empty_change(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket, _ = await on_site(db, t)
    phone = await registered_phone(client, t)
    wo, before = str(ticket.id), (await _fresh(db, ticket)).version
    pushed = await phone.push(
        phone.mutation("work_order.update_findings", work_order_id=wo, priority="P1"),
        phone.mutation("work_order.update_findings", work_order_id=wo),
        phone.mutation("work_order.update_findings", work_order_id=wo, fault_code=" "),
        phone.mutation("work_order.update_findings", work_order_id=wo, fault_code="E" * 41),
    )
    errors = [r["error"] for r in pushed.json()["results"]]
    assert [(e["status"], e["code"]) for e in errors] == [
        (403, "dispatch_field"),
        (422, "unprocessable"),
        (422, "unprocessable"),
        (422, "unprocessable"),
    ]
    assert errors[1]["fields"] == sorted(ENGINEER_FIELDS)
    assert [e.get("field") for e in errors[2:]] == [
        "mutations[2].args.fault_code",
        "mutations[3].args.fault_code",
    ]
    assert (await _fresh(db, ticket)).version == before
