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

from server import fastpaths, feed
from server.auth import Actor
from server.config import get_settings
from server.customers import Site
from server.db import driver, fetchrow
from server.errors import Conflict, NotFound
from server.field import access
from server.field.models import CheckKind, Visit, VisitCheck
from server.field.schemas import GpsIn
from server.tickets import Ticket, TransitionIn, audit
from server.tickets import service as tickets_service
from shared.lifecycle import Action, Status

EARTH_RADIUS_M = 6_371_008.8
# Status at check-in -> the transition it runs (None: the work order is already on site).
CHECK_IN_FROM: dict[Status, Action | None] = {
    Status.ACCEPTED: Action.ARRIVE,
    Status.TRAVELLING: Action.ARRIVE,
    Status.ON_HOLD: Action.RESUME,
    Status.ON_SITE: None,
}

# A check-in these statuses allow, with no other visit open, takes the hot path.
FAST_CHECK_IN = frozenset({Status.ACCEPTED, Status.TRAVELLING, Status.ON_SITE})

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


async def _site(session: AsyncSession, ticket: Ticket) -> tuple[float | None, float | None] | None:
    if ticket.site_id is None:
        return None
    site = await session.get(Site, ticket.site_id)
    return None if site is None else (site.lat, site.lon)


def _make_check(
    actor: Actor,
    *,
    visit_id: uuid.UUID,
    kind: CheckKind,
    device_time: dt.datetime,
    fix: GpsIn | None,
    site: tuple[float | None, float | None] | None,
    clock_offset_s: float | None,
) -> VisitCheck:
    """The check's row; ``site`` is the site's (lat, lon), None without a site."""
    settings = get_settings()
    received = access.now()
    offset = (
        clock_offset_s if clock_offset_s is not None else (device_time - received).total_seconds()
    )
    distance = None
    site_lat, site_lon = site or (None, None)
    if fix is not None and site_lat is not None and site_lon is not None:
        distance = round(distance_m(fix.lat, fix.lon, site_lat, site_lon), 1)
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


# --- the hot path: check-in and check-out in few statements -------------------------------------

_CHECK_COLUMNS = (
    "org_id, device_time, received_at, clock_offset_s, clock_skew, lat, lon, accuracy_m, "
    "distance_m, far_from_site, recorded_by"
)
_CHECK_VALUES = (
    "$3::uuid, $4::timestamptz, $5::timestamptz, $6::float8, $7::bool, $8::float8, "
    "$9::float8, $10::float8, $11::float8, $12::bool, $13::text"
)
# The work order locked, with its site. Visible as ``work_order`` says.
_IN_LOCK = """
    SELECT t.status, t.assignee_id, s.lat AS site_lat, s.lon AS site_lon
      FROM tickets t
      LEFT JOIN sites s ON s.id = t.site_id
     WHERE t.id = $1 AND t.org_id = $2 AND ($3::uuid IS NULL OR t.assignee_id = $3::uuid)
       FOR UPDATE OF t
"""
# Its visits, read in a statement of their own once the lock is held (a statement that
# waited for the lock would read them as they were before it waited: a check-in that
# committed meanwhile would go unseen).
_IN_VISITS = """
    SELECT (SELECT coalesce(max(v.number), 0) FROM visits v WHERE v.ticket_id = $1) AS last,
           EXISTS (SELECT 1 FROM visits v
                    WHERE v.ticket_id = $1
                      AND NOT EXISTS (SELECT 1 FROM visit_checks c
                                       WHERE c.visit_id = v.id AND c.kind = 'out')) AS open,
           EXISTS (SELECT 1 FROM visits v WHERE v.id = $2) AS taken
"""
# $1 visit, $2 work order, $3 organisation, $4.. the check, $14 engineer, $15 number,
# $16 created_by. The feed row: the ``visit`` entity for the engineer's scope.
_IN_FEED = feed.for_assignee(
    "$14::uuid", org="$3", entity=feed.literal("visit"), entity_id="v.id::text", source="v"
)
_IN_INSERT = f"""
    WITH v AS (
        INSERT INTO visits (id, org_id, ticket_id, engineer_id, number, created_by, received_at)
        VALUES ($1, $3, $2, $14, $15, $16, $5)
        ON CONFLICT (id) DO NOTHING
        RETURNING id
    ), c AS (
        INSERT INTO visit_checks (visit_id, kind, {_CHECK_COLUMNS})
        SELECT v.id, 'in', {_CHECK_VALUES} FROM v
    ), f AS (
        {_IN_FEED}
    )
    SELECT count(*) FROM v
"""  # noqa: S608 (module constants only)
_OUT_LOOKUP = """
    SELECT v.ticket_id, v.engineer_id, v.number, v.created_by, v.received_at AS visit_received,
           t.assignee_id, s.lat AS site_lat, s.lon AS site_lon,
           ci.device_time, ci.received_at, ci.clock_offset_s, ci.clock_skew, ci.lat, ci.lon,
           ci.accuracy_m, ci.distance_m, ci.far_from_site, ci.recorded_by,
           EXISTS (SELECT 1 FROM visit_checks co
                    WHERE co.visit_id = v.id AND co.kind = 'out') AS checked_out
      FROM visits v
      JOIN tickets t ON t.id = v.ticket_id
      JOIN visit_checks ci ON ci.visit_id = v.id AND ci.kind = 'in'
      LEFT JOIN sites s ON s.id = t.site_id
     WHERE v.id = $1 AND v.org_id = $2 AND ($3::uuid IS NULL OR t.assignee_id = $3::uuid)
       AND ($4::uuid IS NULL OR v.ticket_id = $4::uuid)
       FOR UPDATE OF t
"""
# $1 visit, $2 (unused: the work order), $3 organisation, $4.. the check, $14 engineer.
_OUT_FEED = feed.for_assignee(
    "$14::uuid", org="$3", entity=feed.literal("visit"), entity_id="c.visit_id::text", source="c"
)
_OUT_INSERT = f"""
    WITH c AS (
        INSERT INTO visit_checks (visit_id, kind, {_CHECK_COLUMNS})
        SELECT $1, 'out', {_CHECK_VALUES} WHERE $2::uuid IS NOT NULL
        ON CONFLICT (visit_id, kind) DO NOTHING
        RETURNING visit_id
    ), f AS (
        {_OUT_FEED}
    )
    SELECT count(*) FROM c
"""  # noqa: S608 (module constants only)


def _check_values(check: VisitCheck) -> tuple[Any, ...]:
    return (
        check.org_id,
        check.device_time,
        check.received_at,
        check.clock_offset_s,
        check.clock_skew,
        check.lat,
        check.lon,
        check.accuracy_m,
        check.distance_m,
        check.far_from_site,
        check.recorded_by,
    )


async def _check_in_now(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    visit_id: uuid.UUID,
    device_time: dt.datetime,
    fix: GpsIn | None,
    clock_offset_s: float | None,
) -> VisitRecord | None:
    """The everyday check-in (a new visit on an accepted, travelling or on-site work order
    with no open visit): the work order locked, its visits read, the visit and its check
    inserted, then the transition; None when anything else applies (a retry, a refusal, a
    resume, a cancelled work order): nothing was written, ``check_in`` takes the ordinary
    path. The fast path ``field.check_in`` (server/fastpaths.py)."""
    if not actor.work_scope_known or not fastpaths.enabled("field.check_in"):
        return None
    conn = await driver(session)
    org = actor.org_id
    engineer = actor.work_scope
    row = await fetchrow(conn, _IN_LOCK, ticket_id, org, engineer)
    if row is None or row["assignee_id"] is None:
        return None
    status = Status(row["status"])
    if status not in FAST_CHECK_IN:
        return None
    visits = await fetchrow(conn, _IN_VISITS, ticket_id, visit_id)
    assert visits is not None
    if visits["taken"] or visits["open"]:
        return None
    check = _make_check(
        actor,
        visit_id=visit_id,
        kind=CheckKind.IN,
        device_time=device_time,
        fix=fix,
        site=(row["site_lat"], row["site_lon"]),
        clock_offset_s=clock_offset_s,
    )
    visit = Visit(
        id=visit_id,
        org_id=org,
        ticket_id=ticket_id,
        engineer_id=row["assignee_id"],
        number=visits["last"] + 1,
        created_by=actor.label,
        received_at=check.received_at,
    )
    written = await fetchrow(
        conn,
        _IN_INSERT,
        visit_id,
        ticket_id,
        *_check_values(check),
        visit.engineer_id,
        visit.number,
        visit.created_by,
    )
    if written is None or not written[0]:
        return None  # the id was taken at this moment (on another work order): nothing written
    # Last: nothing after it refuses, so a check-in never leaves a transition without a visit.
    if (action := CHECK_IN_FROM[status]) is not None:
        await tickets_service.apply_transition(
            session, actor, ticket_id=ticket_id, data=TransitionIn(action=action)
        )
    return VisitRecord(visit, check, None)


async def _check_out_now(
    session: AsyncSession,
    actor: Actor,
    *,
    visit_id: uuid.UUID,
    ticket_id: uuid.UUID | None,
    device_time: dt.datetime,
    fix: GpsIn | None,
    clock_offset_s: float | None,
) -> VisitRecord | None:
    """The first check-out of a visit the caller can see, in two statements; None when
    anything else applies (nothing was written). The fast path ``field.check_out``
    (server/fastpaths.py)."""
    if not actor.work_scope_known or not fastpaths.enabled("field.check_out"):
        return None
    conn = await driver(session)
    org = actor.org_id
    engineer = actor.work_scope
    row = await fetchrow(conn, _OUT_LOOKUP, visit_id, org, engineer, ticket_id)
    if row is None or row["checked_out"]:
        return None
    check = _make_check(
        actor,
        visit_id=visit_id,
        kind=CheckKind.OUT,
        device_time=device_time,
        fix=fix,
        site=(row["site_lat"], row["site_lon"]),
        clock_offset_s=clock_offset_s,
    )
    written = await fetchrow(
        conn, _OUT_INSERT, visit_id, row["ticket_id"], *_check_values(check), row["assignee_id"]
    )
    if written is None or not written[0]:
        return None
    visit = Visit(
        id=visit_id,
        org_id=org,
        ticket_id=row["ticket_id"],
        engineer_id=row["engineer_id"],
        number=row["number"],
        created_by=row["created_by"],
        received_at=row["visit_received"],
    )
    check_in = VisitCheck(
        visit_id=visit_id,
        kind=CheckKind.IN.value,
        org_id=org,
        device_time=row["device_time"],
        received_at=row["received_at"],
        clock_offset_s=row["clock_offset_s"],
        clock_skew=row["clock_skew"],
        lat=row["lat"],
        lon=row["lon"],
        accuracy_m=row["accuracy_m"],
        distance_m=row["distance_m"],
        far_from_site=row["far_from_site"],
        recorded_by=row["recorded_by"],
    )
    return VisitRecord(visit, check_in, check)


async def check_in(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    visit_id: uuid.UUID,
    device_time: dt.datetime | str,
    gps: GpsLike | None = None,
    clock_offset_s: float | None = None,
) -> VisitRecord:
    access.require_field_writer(actor, "check in")
    device_time = access.instant(device_time, "device_time")
    fix = _gps(gps)
    fast = await _check_in_now(
        session,
        actor,
        ticket_id=ticket_id,
        visit_id=visit_id,
        device_time=device_time,
        fix=fix,
        clock_offset_s=clock_offset_s,
    )
    if fast is not None:
        return fast
    ticket = await access.work_order(session, actor, ticket_id, for_update=True)
    sent = {"work_order_id": ticket.id, "device_time": device_time, "gps": _gps_key(fix)}
    if (found := await _existing(session, actor, visit_id)) is not None:
        access.same_content("visit", visit_id, _stored_in(found), sent)
        return found
    status = Status(ticket.status)
    _require_check_in_allowed(ticket, status)
    await _require_no_open_visit(session, ticket)
    await _mark_arrival(session, actor, ticket, status, visit_id)
    visit = await _new_visit(session, actor, ticket, visit_id)
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


def _require_check_in_allowed(ticket: Ticket, status: Status) -> None:
    """409 ``check_in_not_allowed`` unless the status takes a check-in (or the work order
    was cancelled after it was assigned)."""
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


async def _require_no_open_visit(session: AsyncSession, ticket: Ticket) -> None:
    """409 ``visit_open`` while another visit of the work order is open."""
    if (current := await open_visit(session, ticket.id)) is not None:
        raise VisitOpen(
            f"visit {current.number} ({current.id}) is still open: check it out first",
            open_visit_id=str(current.id),
        )


async def _mark_arrival(
    session: AsyncSession, actor: Actor, ticket: Ticket, status: Status, visit_id: uuid.UUID
) -> None:
    """What a check-in does to the work order: on a cancelled one, the office is told
    (``field_after_cancel``); otherwise the transition its status calls for, if any."""
    if status is Status.CANCELLED:
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


async def _new_visit(
    session: AsyncSession, actor: Actor, ticket: Ticket, visit_id: uuid.UUID
) -> Visit:
    """The visit's row (not added yet), numbered after the work order's last visit."""
    number = await session.scalar(
        select(func.coalesce(func.max(Visit.number), 0)).where(Visit.ticket_id == ticket.id)
    )
    return Visit(
        id=visit_id,
        org_id=actor.org_id,
        ticket_id=ticket.id,
        engineer_id=ticket.assignee_id,
        number=int(number or 0) + 1,
        created_by=actor.label,
        received_at=access.now(),
    )


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
    ticket_id: uuid.UUID | None = None,
    for_update: bool = False,
) -> VisitRecord:
    """A visit on a work order the caller can see (404 otherwise)."""
    visit = await session.scalar(
        select(Visit).where(Visit.id == visit_id, Visit.org_id == actor.org_id)
    )
    if visit is None or (ticket_id is not None and visit.ticket_id != ticket_id):
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
    ticket_id: uuid.UUID | None = None,
) -> VisitRecord:
    access.require_field_writer(actor, "check out")
    device_time = access.instant(device_time, "device_time")
    fix = _gps(gps)
    fast = await _check_out_now(
        session,
        actor,
        visit_id=visit_id,
        ticket_id=ticket_id,
        device_time=device_time,
        fix=fix,
        clock_offset_s=clock_offset_s,
    )
    if fast is not None:
        return fast
    record = await get_visit(
        session, actor, visit_id=visit_id, ticket_id=ticket_id, for_update=True
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
    session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID
) -> list[VisitRecord]:
    ticket = await access.work_order(session, actor, ticket_id)
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
