"""Invitations: one per work order, made by the outbox handler, sent by the job."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.events import OutboxEvent
from server.links import AccessLink
from server.surveys import invitations
from server.surveys.models import SurveyInvitation
from server.tickets import service as tickets
from server.tickets.schemas import TransitionIn
from shared.lifecycle import Action
from tests.fixtures.factories import make_tenant, make_ticket
from tests.fixtures.surveys import invite, make_template, resolve, resolve_events


async def _count(db: AsyncSession, ticket_id: object) -> int:
    return int(
        await db.scalar(select(func.count()).where(SurveyInvitation.ticket_id == ticket_id)) or 0
    )


async def test_the_handler_run_twice_and_a_second_resolve_invite_once(db: AsyncSession) -> None:
    t = await make_tenant(db)
    template = await make_template(db, t, delay_minutes=90, expiry_days=3)
    assert t.customer
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, t.asset, assign_to=t.engineers[0]
    )
    await resolve(db, t, ticket)
    [event] = await resolve_events(db, ticket)
    await invitations.on_transition(db, event)
    await invitations.on_transition(db, event)  # the outbox delivers at least once
    me = t.actor("engineer1")
    await tickets.apply_transition(
        db,
        t.actor("dispatcher"),
        ticket_id=ticket.id,
        data=TransitionIn(action=Action.REOPEN, reason="still noisy"),
    )
    await tickets.apply_transition(
        db, me, ticket_id=ticket.id, data=TransitionIn(action=Action.RESOLVE)
    )
    await db.flush()
    events = await resolve_events(db, ticket)
    assert len(events) == 2
    await invitations.on_transition(db, events[1])
    assert await _count(db, ticket.id) == 1
    invitation = await invitations.of_ticket(db, t.org.id, ticket.id)
    assert invitation is not None
    assert invitation.template_id == template.id
    assert invitation.engineer_id == t.engineers[0].id
    assert invitation.customer_id == t.customer.id
    assert invitation.product_model == "CH-200"
    assert invitation.send_at == event.created_at + dt.timedelta(minutes=90)
    assert invitation.expires_at == invitation.send_at + dt.timedelta(days=3)
    assert invitation.status == "pending"


async def test_other_transitions_and_no_template_invite_nobody(db: AsyncSession) -> None:
    t = await make_tenant(db)
    assert t.customer
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, assign_to=t.engineers[0])
    await resolve(db, t, ticket)
    rows = await db.scalars(select(OutboxEvent).where(OutboxEvent.aggregate_id == ticket.id))
    for event in rows:
        await invitations.on_transition(db, event)
    assert await _count(db, ticket.id) == 0  # no template in this organisation


async def test_a_filtered_template_wins_over_the_default(db: AsyncSession) -> None:
    t = await make_tenant(db)
    await make_template(db, t)
    p1 = await make_template(db, t, is_default=False, priorities=["P1"])
    await make_template(
        db, t, is_default=False, active=False, priorities=["P1"], ticket_types=["repair"]
    )
    assert t.customer
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, assign_to=t.engineers[0], priority="P1"
    )
    await resolve(db, t, ticket)
    [event] = await resolve_events(db, ticket)
    await invitations.on_transition(db, event)
    invitation = await invitations.of_ticket(db, t.org.id, ticket.id)
    assert invitation is not None and invitation.template_id == p1.id


async def test_sending_issues_a_survey_link_and_announces_it_once(db: AsyncSession) -> None:
    t = await make_tenant(db)
    await make_template(db, t, language="zh_CN")
    got = await invite(db, t)
    assert set(got.invited) == {
        "invitation_id",
        "ticket_id",
        "ticket_number",
        "customer_id",
        "url",
        "expires_at",
        "lang",
    }
    assert got.invited["ticket_number"].startswith("WO-")
    assert got.invited["lang"] == "zh_CN"
    assert got.invited["url"].split("/")[-2] == "s"
    link = await db.get(AccessLink, got.invitation.link_id)
    assert link is not None and link.kind == "survey" and link.subject_id == got.invitation.id
    assert link.expires_at == got.invitation.expires_at
    assert got.invitation.status == "sent"
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    await invitations.send_due(db, now=later)  # a second run (or a second worker)
    sent = await db.scalar(
        select(func.count()).where(
            OutboxEvent.topic == "survey.invited", OutboxEvent.aggregate_id == got.ticket.id
        )
    )
    assert sent == 1


async def test_a_pending_invitation_waits_for_its_time_and_skips_cancelled_work(
    db: AsyncSession,
) -> None:
    t = await make_tenant(db)
    await make_template(db, t, delay_minutes=60)
    assert t.customer
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, assign_to=t.engineers[0])
    await resolve(db, t, ticket)
    [event] = await resolve_events(db, ticket)
    await invitations.on_transition(db, event)
    invitation = await invitations.of_ticket(db, t.org.id, ticket.id)
    assert invitation is not None
    await invitations.send_due(db, now=invitation.send_at - dt.timedelta(seconds=1))
    assert invitation.status == "pending"
    dispatcher = t.actor("dispatcher")
    reopen = TransitionIn(action=Action.REOPEN, reason="still noisy")
    await tickets.apply_transition(db, dispatcher, ticket_id=ticket.id, data=reopen)
    await db.flush()
    due = invitation.send_at + dt.timedelta(seconds=1)
    await invitations.send_due(db, now=due)
    assert invitation.status == "pending"  # reopened: waits for the next resolve
    cancel = TransitionIn(action=Action.CANCEL, reason="duplicate")
    await tickets.apply_transition(db, dispatcher, ticket_id=ticket.id, data=cancel)
    await db.flush()
    await invitations.send_due(db, now=due)
    assert invitation.status == "skipped" and invitation.link_id is None


async def test_the_outbox_delivers_the_resolve_to_the_surveys(db: AsyncSession) -> None:
    """The subscription is plugged in (server/surveys/plug.py): the worker's delivery of the
    resolve's event makes the invitation."""
    from server.events import service as outbox

    t = await make_tenant(db)
    await make_template(db, t)
    assert t.customer
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, assign_to=t.engineers[0])
    await resolve(db, t, ticket)
    while sum(await outbox.deliver_pending(db)):
        pass
    assert await _count(db, ticket.id) == 1
