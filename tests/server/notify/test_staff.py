"""Staff messages: who hears of escalations, follow-ups, stock alerts and flags, in their
own language."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.auth import Duty
from server.events import service as events
from server.tickets import audit
from tests.fixtures.factories import make_tenant, make_ticket
from tests.server.notify.test_delivery import deliver, rows


async def test_escalation_and_follow_up_reach_their_one_owner(
    db: AsyncSession, maker: async_sessionmaker[AsyncSession]
) -> None:
    t = await make_tenant(db, "Owner")
    owner, assignee = t.users["agent"], t.users["viewer"]
    owner.locale = "zh_CN"
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site, title="Lift stuck")
    changes = {
        "level": 2,
        "owner_user_id": str(owner.id),
        "due_at": "2030-01-01T08:00:00+00:00",
        "step_action": "reassign",
        "reason": "SLA at risk",
    }
    audit.record(db, ticket, kind="escalated", actor="system:escalation", changes=changes)
    task = {
        "task_id": str(uuid.uuid4()),
        "ticket_id": str(ticket.id),
        "ticket_number": audit.format_number(ticket.number),
        "kind": "complaint_callback",
        "assignee_user_id": str(assignee.id),
        "due_at": "2030-01-02T08:00:00+00:00",
        "note": "Call the customer back",
    }
    events.emit(db, org_id=t.org.id, topic="followup.created", aggregate_id=None, payload=task)
    await db.flush()
    await deliver(maker)
    log = {r.template: r for r in await rows(db, t.org.id)}
    escalated = log["escalated"]
    assert (escalated.recipient_id, escalated.lang) == (owner.id, "zh_CN")
    assert escalated.subject.startswith("工单已升级给您") and "第 2 级" in escalated.subject
    assert "SLA at risk" in escalated.body and "2030-01-01 08:00" in escalated.body
    followup = log["followup_created"]
    assert followup.recipient_id == assignee.id and followup.address == assignee.email
    assert "Call the customer back" in followup.body and "complaint_callback" in followup.body


async def test_stock_alerts_go_to_parts_managers_else_admins(
    db: AsyncSession, maker: async_sessionmaker[AsyncSession]
) -> None:
    with_manager = await make_tenant(db, "Parts")
    with_manager.users["viewer"].duties = [Duty.PARTS_MANAGER.value]
    without = await make_tenant(db, "NoParts")
    payload = {"location_id": str(uuid.uuid4()), "sku": "RLY-1", "on_hand": "1", "minimum": "3"}
    for t in (with_manager, without):
        events.emit(
            db, org_id=t.org.id, topic="stock.below_minimum", aggregate_id=None, payload=payload
        )
    await db.flush()
    await deliver(maker)
    [told] = await rows(db, with_manager.org.id)
    assert told.recipient_id == with_manager.users["viewer"].id
    assert told.subject == "Stock below minimum: RLY-1"
    [fallback] = await rows(db, without.org.id)
    assert fallback.recipient_id == without.users["admin"].id


async def test_flags_and_customer_updates_go_to_dispatchers_only(
    db: AsyncSession, maker: async_sessionmaker[AsyncSession]
) -> None:
    t = await make_tenant(db, "Flags")
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site)
    audit.record(db, ticket, kind="field_after_cancel", actor="system:sync")
    audit.record(db, ticket, kind="customer_update", actor="customer")
    await db.flush()
    await deliver(maker)
    told = {(r.template, r.recipient_id) for r in await rows(db, t.org.id)}
    dispatcher = t.users["dispatcher"].id
    assert told == {("field_after_cancel", dispatcher), ("customer_update", dispatcher)}
