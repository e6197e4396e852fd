"""Survey invitations: made when a work order is resolved, sent when their time comes.

``on_transition`` (an outbox subscriber of ``ticket.transition``) makes the invitation of a
resolved work order: the assignee is the engineer surveyed, ``send_at`` is the resolution
plus the template's delay, ``expires_at`` the send time plus its expiry. The insert is ON
CONFLICT DO NOTHING on (organisation, work order): a redelivered event, or a reopen and a
second resolve, invite nobody twice.

``send_due`` (the cron job ``surveys.send_due``) takes the pending invitations whose time
has come (SKIP LOCKED: several workers share them) whose work order is still resolved or
closed (a reopened one waits for its next resolve), issues each one's ``/s/`` link, and
emits ``survey.invited``, which the notifications send to the customer. Cancelled work and
invitations whose expiry passed before they could go are ``skipped``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.customers import Asset
from server.events import OutboxEvent, emit
from server.links import LinkKind
from server.links import service as links
from server.surveys import templates
from server.surveys.models import SurveyInvitation
from server.tickets import Ticket, format_number
from shared.ids import uuid7

SENT_STATUSES = ("resolved", "closed")


async def on_transition(session: AsyncSession, event: OutboxEvent) -> None:
    """The outbox handler: a resolve invites the work order's customer (once)."""
    if event.payload.get("action") != "resolve" or event.aggregate_id is None:
        return
    ticket = await session.scalar(
        select(Ticket).where(Ticket.id == event.aggregate_id, Ticket.org_id == event.org_id)
    )
    if ticket is None:
        return
    await invite(session, ticket, resolved_at=event.created_at, event_id=event.id)


async def invite(
    session: AsyncSession,
    ticket: Ticket,
    *,
    resolved_at: dt.datetime,
    event_id: uuid.UUID | None = None,
) -> uuid.UUID | None:
    """Make ``ticket``'s invitation unless it has one; its id, or None (it had one, or no
    active template matches)."""
    template = await templates.for_ticket(
        session, ticket.org_id, ticket_type=ticket.type, priority=ticket.priority
    )
    if template is None:
        return None
    model = None
    if ticket.asset_id is not None:
        model = await session.scalar(select(Asset.product_model).where(Asset.id == ticket.asset_id))
    send_at = resolved_at + dt.timedelta(minutes=template.delay_minutes)
    values: dict[str, Any] = {
        "id": uuid7(),
        "org_id": ticket.org_id,
        "ticket_id": ticket.id,
        "template_id": template.id,
        "customer_id": ticket.customer_id,
        "engineer_id": ticket.assignee_id,
        "product_model": model,
        "language": template.language,
        "status": "pending",
        "resolved_at": resolved_at,
        "send_at": send_at,
        "expires_at": send_at + dt.timedelta(days=template.expiry_days),
        "event_id": event_id,
    }
    statement = (
        insert(SurveyInvitation)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["org_id", "ticket_id"])
        .returning(SurveyInvitation.id)
    )
    made: uuid.UUID | None = await session.scalar(statement)
    return made


async def send_due(
    session: AsyncSession, *, now: dt.datetime | None = None, limit: int = 200
) -> int:
    """Send a batch of invitations whose time has come; returns how many went out."""
    now = now or dt.datetime.now(dt.UTC)
    rows = await session.execute(
        select(SurveyInvitation, Ticket)
        .join(
            Ticket,
            (Ticket.id == SurveyInvitation.ticket_id) & (Ticket.org_id == SurveyInvitation.org_id),
        )
        .where(
            SurveyInvitation.status == "pending",
            SurveyInvitation.send_at <= now,
            Ticket.status.in_((*SENT_STATUSES, "cancelled")),
        )
        .order_by(SurveyInvitation.send_at, SurveyInvitation.id)
        .limit(limit)
        .with_for_update(of=SurveyInvitation, skip_locked=True)
    )
    sent = 0
    for invitation, ticket in rows:
        if ticket.status == "cancelled" or invitation.expires_at <= now:
            invitation.status = "skipped"
            continue
        _send(session, invitation, ticket, now)
        sent += 1
    await session.flush()
    return sent


def _send(
    session: AsyncSession, invitation: SurveyInvitation, ticket: Ticket, now: dt.datetime
) -> None:
    link, token = links.issue(
        session,
        org_id=invitation.org_id,
        kind=LinkKind.SURVEY,
        subject_id=invitation.id,
        expires_at=invitation.expires_at,
    )
    invitation.link_id = link.id
    invitation.status = "sent"
    invitation.sent_at = now
    emit(
        session,
        org_id=invitation.org_id,
        topic="survey.invited",
        aggregate_id=ticket.id,
        payload={
            "invitation_id": str(invitation.id),
            "ticket_id": str(ticket.id),
            "ticket_number": format_number(ticket.number),
            "customer_id": str(invitation.customer_id),
            "url": links.url(LinkKind.SURVEY, token),
            "expires_at": invitation.expires_at.isoformat(),
            "lang": invitation.language,
        },
    )


async def of_ticket(
    session: AsyncSession, org_id: uuid.UUID, ticket_id: uuid.UUID
) -> SurveyInvitation | None:
    return await session.scalar(
        select(SurveyInvitation).where(
            SurveyInvitation.org_id == org_id, SurveyInvitation.ticket_id == ticket_id
        )
    )
