"""Who a customer message goes to and what it says: the customer's preferences (channel
order, language, quiet hours, opt-out), the work order's facts in the organisation's time
zone, the engineer's first name and the status link."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import dispatch
from server.customers import Customer
from server.engineers import Engineer
from server.events import OutboxEvent
from server.languages import choose
from server.notify.drafts import Draft
from server.notify.models import (
    ChannelKind,
    NotificationChannel,
    NotificationPreference,
    Provider,
    Status,
)
from server.notify.templates import first_name
from server.orgs import service as orgs
from server.tickets import Ticket, format_number, status_links

DEFAULT_CHANNELS = (ChannelKind.EMAIL.value, ChannelKind.SMS.value)
IM_PROVIDERS = (Provider.WECOM.value, Provider.DINGTALK.value, Provider.FEISHU.value)


T = TypeVar("T")


async def cached(
    session: AsyncSession, key: tuple[Any, ...], read: Callable[[], Awaitable[T]]
) -> T:
    """``read()`` once per transaction (the outbox delivers a batch of events in one): who
    the staff are, the organisation's zone and robot do not change within it."""
    memo: dict[tuple[Any, ...], Any] = session.info.setdefault("notify.cache", {})
    if key not in memo:
        memo[key] = await read()
    value: T = memo[key]
    return value


def uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


async def zone_of(session: AsyncSession, org_id: uuid.UUID) -> str:
    return await cached(session, ("zone", org_id), lambda: orgs.zone(session, org_id))


def local(moment: dt.datetime | None, zone: str) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def window(start: dt.datetime | None, end: dt.datetime | None, zone: str) -> str:
    if start is None:
        return ""
    first = local(start, zone)
    if end is None:
        return first
    last = local(end, zone)
    same_day = first[:10] == last[:10]
    return f"{first}-{last[11:] if same_day else last} ({zone})"


@dataclass(frozen=True)
class Robot:
    """An organisation's IM group robot (plain values: kept for a whole delivery batch)."""

    id: uuid.UUID
    kind: str


@dataclass(frozen=True)
class Person:
    """A member of staff to tell (plain values, like ``Robot``)."""

    id: uuid.UUID
    email: str
    locale: str


async def im_channel(session: AsyncSession, org_id: uuid.UUID) -> Robot | None:
    """The organisation's enabled IM robot (the first of WeCom, DingTalk, Feishu)."""
    return await cached(session, ("im", org_id), lambda: _im_channel(session, org_id))


async def _im_channel(session: AsyncSession, org_id: uuid.UUID) -> Robot | None:
    rows = await session.scalars(
        select(NotificationChannel).where(
            NotificationChannel.org_id == org_id,
            NotificationChannel.enabled,
            NotificationChannel.kind.in_(IM_PROVIDERS),
        )
    )
    found = {row.kind: Robot(row.id, row.kind) for row in rows}
    return next((found[k] for k in IM_PROVIDERS if k in found), None)


async def _sms_enabled(session: AsyncSession, org_id: uuid.UUID) -> bool:
    return (
        await session.scalar(
            select(NotificationChannel.id).where(
                NotificationChannel.org_id == org_id,
                NotificationChannel.enabled,
                NotificationChannel.kind == Provider.SMS_GATEWAY.value,
            )
        )
        is not None
    )


async def _ticket_of(session: AsyncSession, event: OutboxEvent) -> Ticket | None:
    ticket_id = uuid_or_none(event.payload.get("ticket_id"))
    if ticket_id is None and event.topic.startswith("ticket."):
        ticket_id = event.aggregate_id
    if ticket_id is None:
        return None
    return await session.scalar(
        select(Ticket).where(Ticket.id == ticket_id, Ticket.org_id == event.org_id)
    )


async def event_params(session: AsyncSession, event: OutboxEvent) -> dict[str, Any]:
    """What a template may say about the event: its payload (and its changes), the work
    order's number, title, status and resolution deadline, times in the organisation's zone."""
    payload = event.payload
    params: dict[str, Any] = {**(payload.get("changes") or {}), **payload}
    zone = await zone_of(session, event.org_id)
    params["location"] = payload.get("location_id") or payload.get("reported_at_location_id")
    if payload.get("serial_number"):
        params["serial"] = f" (S/N {payload['serial_number']})"
    params["due"] = _local_iso(params.get("due_at"), zone)
    params["number"] = payload.get("number") or payload.get("ticket_number")
    ticket = await _ticket_of(session, event)
    if ticket is not None:
        params |= {
            "ticket_id": str(ticket.id),
            "number": format_number(ticket.number),
            "title": ticket.title,
            "status": ticket.status,
        }
        if not params["due"]:
            params["due"] = local(ticket.resolution_due_at, zone)
    return params


def _local_iso(value: Any, zone: str) -> str:
    try:
        return local(dt.datetime.fromisoformat(str(value)), zone) if value else ""
    except ValueError:
        return str(value)


async def _channel_for(
    session: AsyncSession, customer: Customer, prefs: NotificationPreference | None
) -> tuple[str, str] | None:
    """The first channel of the customer's order that can reach them: e-mail with an
    address; SMS with a phone and the organisation's gateway; IM with its robot."""
    for kind in prefs.channels if prefs is not None else DEFAULT_CHANNELS:
        if kind == ChannelKind.EMAIL and customer.email:
            return kind, customer.email
        if (
            kind == ChannelKind.SMS
            and customer.phone
            and await _sms_enabled(session, customer.org_id)
        ):
            return kind, customer.phone
        if kind == ChannelKind.IM:
            group = await im_channel(session, customer.org_id)
            if group is not None:
                return kind, group.kind
    return None


async def _status_link(session: AsyncSession, ticket: Ticket) -> str:
    """The work order's status link, by the one rule the staff API and the pages follow
    (server/tickets/status_links.py: reused while live, 90 days while open)."""
    return (await status_links.status_link_for(session, ticket)).url


async def _ticket_params(
    session: AsyncSession, ticket: Ticket, template: str, zone: str
) -> dict[str, Any]:
    params: dict[str, Any] = {"link": await _status_link(session, ticket)}
    if template in ("engineer_assigned", "engineer_on_the_way") and ticket.assignee_id:
        engineer = await session.get(Engineer, ticket.assignee_id)
        params["engineer"] = first_name(engineer.display_name) if engineer else ""
    if template == "engineer_assigned":
        told = status_links.appointment(ticket)  # the status page's rule too
        params["window"] = window(*told, zone) if told is not None else ""
    if template == "engineer_on_the_way":
        eta = await dispatch.eta(session, ticket)
        params["eta"] = f"{local(eta.at, zone)} ({zone})" if eta is not None else ""
    return params


async def customer_drafts(session: AsyncSession, event: OutboxEvent, template: str) -> list[Draft]:
    """The one message ``template`` to the customer of the event's work order (or of the
    payload's ``customer_id``), on the first channel that reaches them."""
    ticket = await _ticket_of(session, event)
    customer_id = ticket.customer_id if ticket else uuid_or_none(event.payload.get("customer_id"))
    customer = await session.scalar(
        select(Customer).where(Customer.id == customer_id, Customer.org_id == event.org_id)
    )
    if customer is None:
        return []
    prefs = await session.get(NotificationPreference, customer.id)
    chosen = await _channel_for(session, customer, prefs)
    if chosen is None:
        return []
    zone = await zone_of(session, event.org_id)
    params = await event_params(session, event)
    params["customer"] = customer.contact_name or customer.name
    if ticket is not None:
        params |= await _ticket_params(session, ticket, template, zone)
    lang = choose(prefs.lang if prefs else None, event.payload.get("lang"))
    draft = Draft(template, "customer", customer.id, chosen[0], chosen[1], lang, params)
    draft.ticket_id = ticket.id if ticket else None
    apply_preferences(draft, prefs, zone, dt.datetime.now(dt.UTC))
    return [draft]


def apply_preferences(
    draft: Draft, prefs: NotificationPreference | None, zone: str, now: dt.datetime
) -> None:
    """Opt-out (all, or this template): suppressed. Quiet hours: deferred to their end."""
    if prefs is None:
        return
    if prefs.opt_out or draft.template in prefs.opt_out_templates:
        draft.status = Status.SUPPRESSED
        return
    end = quiet_end(prefs.quiet_start, prefs.quiet_end, zone, now)
    if end is not None:
        draft.status, draft.not_before = Status.DEFERRED, end


def quiet_end(
    start: dt.time | None, end: dt.time | None, zone: str, now: dt.datetime
) -> dt.datetime | None:
    """When the quiet hours ``now`` falls in end (aware UTC), or None outside them.
    ``start`` after ``end`` spans midnight (22:00-07:00)."""
    if start is None or end is None or start == end:
        return None
    here = now.astimezone(ZoneInfo(zone))
    clock = here.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = here.date() if clock < end else here.date() + dt.timedelta(days=1)
    local_end = dt.datetime.combine(day, end, tzinfo=ZoneInfo(zone))
    return local_end.astimezone(dt.UTC)
