"""Visits: check-in and check-out on a work order's site.

- A check-in creates the visit (the phone's ``visit_id``) and is allowed while the work
  order is ``accepted`` or ``travelling`` (it then runs the ``arrive`` transition: the work
  order becomes ``on_site``), ``on_hold`` (the engineer is back: ``resume``, to ``on_site``)
  or ``on_site`` (already there: no transition). On a ``cancelled`` work order the check-in
  is still recorded, without a transition, and a ``field_after_cancel`` work-order event
  (with its outbox twin) tells the office: the engineer went while offline, and what they
  did there is evidence, never dropped (the visit is the engineer's who was assigned: a
  work order cancelled before it was assigned takes no check-in). Any other status is 409
  ``check_in_not_allowed``;
  so is a check-in while another visit of the work order is open (409 ``visit_open``,
  naming it): check that one out first.
- A check-out closes the visit once; it is accepted in any status (a fact is never dropped).
- Each records the device's time, the server's receipt time and the clock offset between
  them (``clock_skew`` past FIXFLOW_FIELD_CLOCK_SKEW_SECONDS), and the GPS fix with its
  distance to the site (``far_from_site`` beyond FIXFLOW_FIELD_SITE_RADIUS_M, or with an
  accuracy worse than FIXFLOW_FIELD_GPS_MAX_ACCURACY_M). Neither flag refuses anything.
- The clock offset: the caller's own estimate (``clock_offset_s``: the sync layer measures
  the device's clock at push time) or else device time minus receipt time, which also
  counts the delay of a record sent late.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.config import get_settings
from server.customers.models import Site
from server.errors import Conflict, NotFound
from server.field import access
from server.field.models import CheckKind, Visit, VisitCheck
from server.field.schemas import GpsIn
from server.tickets import audit
from server.tickets import service as tickets_service
from server.tickets.models import Ticket
from server.tickets.schemas import TransitionIn
from shared.lifecycle import Action, Status

EARTH_RADIUS_M = 6_371_008.8
# Status at check-in -> the transition it runs (None: the work order is already on site).
CHECK_IN_FROM: dict[Status, Action | None] = {
    Status.ACCEPTED: Action.ARRIVE,
    Status.TRAVELLING: Action.ARRIVE,
    Status.ON_HOLD: Action.RESUME,
    Status.ON_SITE: None,
}

GpsLike = GpsIn | Mapping[str, Any]


class CheckInNotAllowed(Conflict):
    code, title = "check_in_not_allowed", "Check-in not allowed in this status"


class VisitOpen(Conflict):
    code, title = "visit_open", "Another visit is still open"


@dataclass(frozen=True)
class VisitRecord:
    visit: Visit
    check_in: VisitCheck
    check_out: VisitCheck | None


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _gps(gps: GpsLike | None) -> GpsIn | None:
    if gps is None or isinstance(gps, GpsIn):
        return gps
    return GpsIn.model_validate(dict(gps))


def _gps_key(fix: GpsIn | None) -> tuple[float, float, float] | None:
    return None if fix is None else (fix.lat, fix.lon, fix.accuracy_m)


def _check_key(check: VisitCheck) -> tuple[float, float, float] | None:
    if check.lat is None or check.lon is None or check.accuracy_m is None:
        return None
    return (check.lat, check.lon, check.accuracy_m)


async def _site(session: AsyncSession, ticket: Ticket) -> Site | None:
    if ticket.site_id is None:
        return None
    return await session.get(Site, ticket.site_id)


def _make_check(
    actor: Actor,
    *,
    visit_id: uuid.UUID,
    kind: CheckKind,
    device_time: dt.datetime,
    fix: GpsIn | None,
    site: Site | None,
    clock_offset_s: float | None,
) -> VisitCheck:
    settings = get_settings()
    received = access.now()
    offset = (
        clock_offset_s if clock_offset_s is not None else (device_time - received).total_seconds()
    )
    distance = None
    if fix is not None and site is not None and site.lat is not None and site.lon is not None:
        distance = round(distance_m(fix.lat, fix.lon, site.lat, site.lon), 1)
    far = distance is not None and (
        distance > settings.FIELD_SITE_RADIUS_M
        or (fix is not None and fix.accuracy_m > settings.FIELD_GPS_MAX_ACCURACY_M)
    )
    return VisitCheck(
        visit_id=visit_id,
        kind=kind.value,
        org_id=actor.org_id,
        device_time=device_time,
        received_at=received,
        clock_offset_s=round(offset, 3),
        clock_skew=abs(offset) > settings.FIELD_CLOCK_SKEW_SECONDS,
        lat=fix.lat if fix else None,
        lon=fix.lon if fix else None,
        accuracy_m=fix.accuracy_m if fix else None,
        distance_m=distance,
        far_from_site=far,
        recorded_by=actor.label,
    )


async def _checks(
    session: AsyncSession, visit_ids: list[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], VisitCheck]:
    if not visit_ids:
        return {}
    rows = await session.scalars(select(VisitCheck).where(VisitCheck.visit_id.in_(visit_ids)))
    return {(c.visit_id, c.kind): c for c in rows}


async def _record(session: AsyncSession, visit: Visit) -> VisitRecord:
    checks = await _checks(session, [visit.id])
    return VisitRecord(visit, checks[(visit.id, "in")], checks.get((visit.id, "out")))


async def open_visit(session: AsyncSession, ticket_id: uuid.UUID) -> Visit | None:
    out = select(VisitCheck.visit_id).where(
        VisitCheck.visit_id == Visit.id, VisitCheck.kind == CheckKind.OUT.value
    )
    return await session.scalar(
        select(Visit).where(Visit.ticket_id == ticket_id, ~out.exists()).limit(1)
    )


async def check_in(
    session: AsyncSession,
    actor: Actor,
    *,
    work_order_id: uuid.UUID,
    visit_id: uuid.UUID,
    device_time: dt.datetime | str,
    gps: GpsLike | None = None,
    clock_offset_s: float | None = None,
) -> VisitRecord:
    access.require_field_writer(actor, "check in")
    device_time = access.instant(device_time, "device_time")
    fix = _gps(gps)
    ticket = await access.work_order(session, actor, work_order_id, for_update=True)
    sent = {"work_order_id": ticket.id, "device_time": device_time, "gps": _gps_key(fix)}
    if (found := await _existing(session, actor, visit_id)) is not None:
        access.same_content("visit", visit_id, _stored_in(found), sent)
        return found
    status = Status(ticket.status)
    after_cancel = status is Status.CANCELLED
    if (status not in CHECK_IN_FROM and not after_cancel) or ticket.assignee_id is None:
        # A visit is the assigned engineer's: a work order cancelled before anyone was
        # assigned has nobody whose check-in could be kept.
        raise CheckInNotAllowed(
            f"cannot check in on a work order that is {status.value}"
            + (" and has no engineer" if ticket.assignee_id is None else "")
            + f"; check-in needs it {', '.join(s.value for s in CHECK_IN_FROM)}, or "
            "cancelled after it was assigned",
            current_status=status.value,
            allowed_statuses=[s.value for s in CHECK_IN_FROM],
        )
    if (current := await open_visit(session, ticket.id)) is not None:
        raise VisitOpen(
            f"visit {current.number} ({current.id}) is still open: check it out first",
            open_visit_id=str(current.id),
        )
    if after_cancel:
        audit.record(
            session,
            ticket,
            kind="field_after_cancel",
            actor=actor.label,
            reason="a check-in arrived after the work order was cancelled; it is kept",
            changes={"visit_id": str(visit_id)},
        )
    elif (action := CHECK_IN_FROM[status]) is not None:
        await tickets_service.apply_transition(
            session, actor, ticket_id=ticket.id, data=TransitionIn(action=action)
        )
    number = await session.scalar(
        select(func.coalesce(func.max(Visit.number), 0)).where(Visit.ticket_id == ticket.id)
    )
    visit = Visit(
        id=visit_id,
        org_id=actor.org_id,
        ticket_id=ticket.id,
        engineer_id=ticket.assignee_id,
        number=int(number or 0) + 1,
        created_by=actor.label,
        received_at=access.now(),
    )
    check = _make_check(
        actor,
        visit_id=visit_id,
        kind=CheckKind.IN,
        device_time=device_time,
        fix=fix,
        site=await _site(session, ticket),
        clock_offset_s=clock_offset_s,
    )
    # Visit first: the check references it (one flush orders inserts by dependency).
    raced = await access.insert(
        session,
        [visit, check],
        existing=lambda: _existing(session, actor, visit_id),
        what="visit",
        record_id=visit_id,
    )
    if raced is not None:
        access.same_content("visit", visit_id, _stored_in(raced), sent)
        return raced
    return VisitRecord(visit, check, None)


def _stored_in(record: VisitRecord) -> dict[str, Any]:
    return {
        "work_order_id": record.visit.ticket_id,
        "device_time": record.check_in.device_time,
        "gps": _check_key(record.check_in),
    }


async def _existing(session: AsyncSession, actor: Actor, visit_id: uuid.UUID) -> VisitRecord | None:
    visit = await session.get(Visit, visit_id)
    if visit is None:
        return None
    await access.require_visible(
        session,
        actor,
        org_id=visit.org_id,
        ticket_id=visit.ticket_id,
        what="visit",
        record_id=visit_id,
    )
    return await _record(session, visit)


async def get_visit(
    session: AsyncSession,
    actor: Actor,
    *,
    visit_id: uuid.UUID,
    work_order_id: uuid.UUID | None = None,
    for_update: bool = False,
) -> VisitRecord:
    """A visit on a work order the caller can see (404 otherwise)."""
    visit = await session.scalar(
        select(Visit).where(Visit.id == visit_id, Visit.org_id == actor.org_id)
    )
    if visit is None or (work_order_id is not None and visit.ticket_id != work_order_id):
        raise NotFound(f"visit {visit_id} not found")
    try:
        await access.work_order(session, actor, visit.ticket_id, for_update=for_update)
    except NotFound:
        raise NotFound(f"visit {visit_id} not found") from None
    return await _record(session, visit)


async def check_out(
    session: AsyncSession,
    actor: Actor,
    *,
    visit_id: uuid.UUID,
    device_time: dt.datetime | str,
    gps: GpsLike | None = None,
    clock_offset_s: float | None = None,
    work_order_id: uuid.UUID | None = None,
) -> VisitRecord:
    access.require_field_writer(actor, "check out")
    device_time = access.instant(device_time, "device_time")
    fix = _gps(gps)
    record = await get_visit(
        session, actor, visit_id=visit_id, work_order_id=work_order_id, for_update=True
    )
    sent = {"device_time": device_time, "gps": _gps_key(fix)}
    if record.check_out is not None:
        stored = {"device_time": record.check_out.device_time, "gps": _check_key(record.check_out)}
        access.same_content("check-out of visit", visit_id, stored, sent)
        return record
    ticket = await access.work_order(session, actor, record.visit.ticket_id)
    check = _make_check(
        actor,
        visit_id=visit_id,
        kind=CheckKind.OUT,
        device_time=device_time,
        fix=fix,
        site=await _site(session, ticket),
        clock_offset_s=clock_offset_s,
    )
    # The work order is locked (get_visit): a concurrent check-out of this visit waits and
    # then finds this one.
    session.add(check)
    await session.flush()
    return VisitRecord(record.visit, record.check_in, check)


async def list_visits(
    session: AsyncSession, actor: Actor, *, work_order_id: uuid.UUID
) -> list[VisitRecord]:
    ticket = await access.work_order(session, actor, work_order_id)
    visits = list(
        await session.scalars(
            select(Visit)
            .where(Visit.ticket_id == ticket.id, Visit.org_id == actor.org_id)
            .order_by(Visit.number)
        )
    )
    checks = await _checks(session, [v.id for v in visits])
    return [VisitRecord(v, checks[(v.id, "in")], checks.get((v.id, "out"))) for v in visits]


async def visit_count(session: AsyncSession, ticket_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count()).select_from(Visit).where(Visit.ticket_id == ticket_id)
    )
    return int(count or 0)
