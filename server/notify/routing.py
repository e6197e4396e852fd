"""From an outbox event to the messages it causes (the outbox handler, ``on_event``).

Runs in the outbox delivery's transaction: the rows are written with INSERT .. ON CONFLICT
DO NOTHING on (event, template, recipient, channel), so an event delivered twice writes
them once, and an event whose transaction rolled back never reached the outbox at all.
Who is told what is the table in docs/notifications.md."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Duty, Role, User
from server.auth import service as auth
from server.db import after_commit
from server.events import OutboxEvent
from server.languages import choose
from server.notify import audience
from server.notify.audience import Person
from server.notify.drafts import Draft
from server.notify.models import ChannelKind, Notification
from server.notify.templates import render
from server.text import fit_column
from shared.ids import uuid7

SEND_JOB = "notify.send_pending"
SEND_JOB_ID = "notify-send"


Route = Callable[[AsyncSession, OutboxEvent], Awaitable[list[Draft]]]


async def _staff(
    session: AsyncSession,
    event: OutboxEvent,
    template: str,
    roles: tuple[Role, ...] = (),
    duties: tuple[Duty, ...] = (),
    fallback: tuple[Role, ...] = (),
) -> list[Draft]:
    users = await audience.cached(
        session,
        ("staff", event.org_id, roles, duties, fallback),
        lambda: _staff_users(session, event.org_id, roles, duties, fallback),
    )
    params = await audience.event_params(session, event)
    return await staff_drafts(session, event.org_id, users, template, params)


async def _staff_users(
    session: AsyncSession,
    org_id: uuid.UUID,
    roles: tuple[Role, ...],
    duties: tuple[Duty, ...],
    fallback: tuple[Role, ...],
) -> list[Person]:
    users = await auth.staff_to_tell(session, org_id, roles=roles, duties=duties)
    if not users and fallback:
        users = await auth.staff_to_tell(session, org_id, roles=fallback)
    return [Person(u.id, u.email, u.locale) for u in users]


async def staff_drafts(
    session: AsyncSession,
    org_id: uuid.UUID,
    users: list[Person],
    template: str,
    params: dict[str, Any],
) -> list[Draft]:
    """An e-mail to each of ``users`` in their own language, and one message to the
    organisation's IM group when it has a robot configured."""
    ticket_id = audience.uuid_or_none(params.get("ticket_id"))
    drafts = [
        Draft(template, "user", u.id, ChannelKind.EMAIL, u.email, choose(None, u.locale), params)
        for u in users
        if u.email
    ]
    for draft in drafts:
        draft.ticket_id = ticket_id
    group = await audience.im_channel(session, org_id)
    if users and group is not None:
        lang = choose(None, users[0].locale)
        drafts.append(
            Draft(template, "group", group.id, ChannelKind.IM, group.kind, lang, params, ticket_id)
        )
    return drafts


async def _one_user(
    session: AsyncSession, event: OutboxEvent, template: str, user_id: Any
) -> list[Draft]:
    uid = audience.uuid_or_none(user_id)
    if uid is None:
        return []
    user = await session.scalar(
        select(User).where(User.id == uid, User.org_id == event.org_id, User.is_active)
    )
    if user is None:
        return []
    params = await audience.event_params(session, event)
    person = Person(user.id, user.email, user.locale)
    return await staff_drafts(session, event.org_id, [person], template, params)


def _staff_route(template: str, **who: Any) -> Route:
    async def route(session: AsyncSession, event: OutboxEvent) -> list[Draft]:
        return await _staff(session, event, template, **who)

    return route


_MANAGERS = {"roles": (Role.DISPATCHER,), "duties": (Duty.SERVICE_MANAGER,)}
_DISPATCHERS = {"roles": (Role.DISPATCHER,)}
_PARTS = {"duties": (Duty.PARTS_MANAGER,), "fallback": (Role.ADMIN,)}
_ACTION_TEMPLATES = {
    "assign": "engineer_assigned",
    "start_travel": "engineer_on_the_way",
    "resolve": "ticket_resolved",
}


async def _transition(session: AsyncSession, event: OutboxEvent) -> list[Draft]:
    template = _ACTION_TEMPLATES.get(str(event.payload.get("action")))
    if template is None:
        return []
    return await audience.customer_drafts(session, event, template)


async def _created(session: AsyncSession, event: OutboxEvent) -> list[Draft]:
    return await audience.customer_drafts(session, event, "ticket_received")


async def _survey(session: AsyncSession, event: OutboxEvent) -> list[Draft]:
    return await audience.customer_drafts(session, event, "survey_invitation")


async def _escalated(session: AsyncSession, event: OutboxEvent) -> list[Draft]:
    owner = (event.payload.get("changes") or {}).get("owner_user_id")
    return await _one_user(session, event, "escalated", owner)


async def _followup(session: AsyncSession, event: OutboxEvent) -> list[Draft]:
    return await _one_user(
        session, event, "followup_created", event.payload.get("assignee_user_id")
    )


ROUTES: dict[str, Route] = {
    "ticket.created": _created,
    "ticket.transition": _transition,
    "survey.invited": _survey,
    "ticket.sla_at_risk": _staff_route("sla_at_risk", **_MANAGERS),
    "ticket.sla_breached": _staff_route("sla_breached", **_MANAGERS),
    "ticket.field_conflict": _staff_route("field_conflict", **_DISPATCHERS),
    "ticket.field_after_cancel": _staff_route("field_after_cancel", **_DISPATCHERS),
    "ticket.customer_update": _staff_route("customer_update", **_DISPATCHERS),
    "stock.below_minimum": _staff_route("stock_below_minimum", **_PARTS),
    "stock.discrepancy": _staff_route("stock_discrepancy", **_PARTS),
    "stock_unit.discrepancy": _staff_route("stock_discrepancy", **_PARTS),
    "ticket.escalated": _escalated,
    "followup.created": _followup,
}


async def on_event(session: AsyncSession, event: OutboxEvent) -> None:
    """The outbox handler (subscribed to every topic): write the event's messages."""
    route = ROUTES.get(event.topic)
    if route is None:
        return
    drafts = await route(session, event)
    if not drafts:
        return
    await store(session, event, drafts)
    after_commit(session, SEND_JOB, _job_id=SEND_JOB_ID)


def _row(event: OutboxEvent, draft: Draft) -> dict[str, Any]:
    subject, body = render(draft.template, draft.lang, draft.params)
    return {
        "id": uuid7(),
        "org_id": event.org_id,
        "event_id": event.id,
        "topic": event.topic,
        "template": draft.template,
        "recipient_kind": draft.recipient_kind,
        "recipient_id": draft.recipient_id,
        "channel": str(draft.channel),
        "address": fit_column(Notification.address, draft.address),
        "lang": draft.lang,
        "subject": fit_column(Notification.subject, subject),
        "body": body,
        "ticket_id": draft.ticket_id,
        "status": draft.status.value,
        "attempts": 0,
        "next_attempt_at": draft.not_before or dt.datetime.now(dt.UTC),
    }


async def store(session: AsyncSession, event: OutboxEvent, drafts: list[Draft]) -> None:
    statement = insert(Notification).values([_row(event, d) for d in drafts])
    await session.execute(statement.on_conflict_do_nothing(constraint="uq_notif_key"))
