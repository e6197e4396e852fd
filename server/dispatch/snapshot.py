"""What dispatch reads from the database: engineers' days and work orders, as plain data.

The recommendation (``GET /tickets/{id}/candidates``), the day planner, the claim pool and
the board all start from these, so they agree on the facts:

- an engineer's **shifts** on a date come from ``engineers.shifts.on_date`` (weekly hours
  in the organisation's time zone, time off applied);
- the day **starts** at the engineer's start service site, else home, and **ends** at the
  end site, else home; a weekday named in ``day_sites`` has its own start and end (None
  when the place is unknown: such an engineer cannot be routed, and says so);
- their **planned stops** are their open work orders (assigned .. on hold) planned on the
  date, or unplanned with a window starting on it, in plan order;
- a work order's **location** is its customer site's; its **service time** is its
  estimate, else ``DEFAULT_SERVICE_MINUTES``; its **latest start** is the window end and
  never later than the SLA resolution deadline minus the service time; its **territory** is
  the territory of its nearest service site; **required skills** are ``name`` (any level)
  or ``name:N`` (level N or more); its **parts** are those reserved for it, its **typical
  parts** those its product model's repairs usually use (``field.typical_parts``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.customers import Asset, PreferredEngineer, ServiceSite, Site
from server.dispatch.models import Decline
from server.engineers import Engineer, TimeOff, shifts
from server.field import service as field
from server.orgs import service as orgs
from server.parts import service as parts
from server.tickets import Ticket
from shared.lifecycle import Status

DEFAULT_SERVICE_MINUTES = 60
# The statuses in which a work order holds a place in its engineer's day.
PLANNED_STATUSES = (
    Status.ASSIGNED.value,
    Status.ACCEPTED.value,
    Status.TRAVELLING.value,
    Status.ON_SITE.value,
    Status.ON_HOLD.value,
)


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


@dataclass(frozen=True)
class Job:
    """A work order as dispatch sees it."""

    ticket_id: uuid.UUID
    number: int
    title: str
    status: str
    priority: str
    customer_id: uuid.UUID
    location: Point | None
    service_seconds: int
    skills: dict[str, int]  # name -> minimum level
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    sla_deadline: dt.datetime | None
    territory: str | None
    assignee_id: uuid.UUID | None
    pinned: bool
    open_for_claim: bool
    planned_start: dt.datetime | None
    plan_position: int | None
    parts: frozenset[uuid.UUID]  # reserved for it
    preferred: frozenset[uuid.UUID]  # the customer's preferred engineers
    declined: frozenset[uuid.UUID]  # engineers who declined it
    # What its product model's repairs usually use (field.typical_parts).
    typical_parts: frozenset[uuid.UUID] = frozenset()

    def latest_start(self) -> dt.datetime | None:
        """The last instant service may start: the window's end, and early enough to finish
        by the SLA deadline."""
        ends = [self.window_end] if self.window_end is not None else []
        if self.sla_deadline is not None:
            ends.append(self.sla_deadline - dt.timedelta(seconds=self.service_seconds))
        return min(ends) if ends else None


@dataclass(frozen=True)
class EngineerDay:
    engineer_id: uuid.UUID
    name: str
    skills: dict[str, int]
    territory: str | None
    rating: float
    shifts: tuple[tuple[dt.datetime, dt.datetime], ...]
    start: Point | None
    end: Point | None
    max_jobs: int | None
    max_seconds: int | None
    stops: tuple[Job, ...]  # the planned day, in order
    van_parts: frozenset[uuid.UUID]


def required_skills(names: Iterable[str]) -> dict[str, int]:
    """``["hvac", "electrical:3"]`` -> ``{"hvac": 1, "electrical": 3}``."""
    out: dict[str, int] = {}
    for entry in names:
        name, _, level = entry.partition(":")
        wanted = int(level) if level.isdigit() and level.isascii() else 1
        out[name] = max(out.get(name, 1), min(max(wanted, 1), 5))
    return out


def _point(lat: float | None, lon: float | None) -> Point | None:
    if lat is None or lon is None:
        return None
    return Point(lat, lon)


async def zone(session: AsyncSession, org_id: uuid.UUID) -> ZoneInfo:
    return ZoneInfo(await orgs.zone(session, org_id))


async def _jobs(
    session: AsyncSession, org_id: uuid.UUID, where: Sequence[ColumnElement[bool]]
) -> list[Job]:
    rows = (
        await session.execute(
            select(Ticket, Site.lat, Site.lon, ServiceSite.territory, Asset.product_model)
            .outerjoin(Site, Site.id == Ticket.site_id)
            .outerjoin(ServiceSite, ServiceSite.id == Ticket.service_site_id)
            .outerjoin(Asset, Asset.id == Ticket.asset_id)
            .where(Ticket.org_id == org_id, *where)
        )
    ).all()
    ids = [row[0].id for row in rows]
    customers = {row[0].customer_id for row in rows}
    preferred: dict[uuid.UUID, set[uuid.UUID]] = {}
    declined: dict[uuid.UUID, set[uuid.UUID]] = {}
    if ids:
        for customer_id, engineer_id in await session.execute(
            select(PreferredEngineer.customer_id, PreferredEngineer.engineer_id).where(
                PreferredEngineer.org_id == org_id, PreferredEngineer.customer_id.in_(customers)
            )
        ):
            preferred.setdefault(customer_id, set()).add(engineer_id)
        for ticket_id, engineer_id in await session.execute(
            select(Decline.ticket_id, Decline.engineer_id).where(
                Decline.org_id == org_id, Decline.ticket_id.in_(ids)
            )
        ):
            declined.setdefault(ticket_id, set()).add(engineer_id)
    needed = await parts.needed_parts(session, org_id, ids)
    models = sorted({row[4] for row in rows if row[4] is not None})
    typical = await field.typical_parts(session, org_id, models)
    return [
        Job(
            ticket_id=t.id,
            number=t.number,
            title=t.title,
            status=t.status,
            priority=t.priority,
            customer_id=t.customer_id,
            location=_point(lat, lon),
            service_seconds=60 * (t.estimated_minutes or DEFAULT_SERVICE_MINUTES),
            skills=required_skills(t.required_skills or ()),
            window_start=t.window_start,
            window_end=t.window_end,
            sla_deadline=t.resolution_due_at,
            territory=territory,
            assignee_id=t.assignee_id,
            pinned=t.pinned,
            open_for_claim=t.open_for_claim,
            planned_start=t.planned_start,
            plan_position=t.plan_position,
            parts=needed.get(t.id, frozenset()),
            typical_parts=typical.get(model, frozenset()) if model else frozenset(),
            preferred=frozenset(preferred.get(t.customer_id, ())),
            declined=frozenset(declined.get(t.id, ())),
        )
        for t, lat, lon, territory, model in rows
    ]


async def job(session: AsyncSession, org_id: uuid.UUID, ticket_id: uuid.UUID) -> Job | None:
    found = await _jobs(session, org_id, [Ticket.id == ticket_id])
    return found[0] if found else None


def _on_day(day: tuple[dt.datetime, dt.datetime]) -> ColumnElement[bool]:
    start, end = day
    planned = and_(Ticket.planned_start >= start, Ticket.planned_start < end)
    unplanned = and_(
        Ticket.planned_start.is_(None), Ticket.window_start >= start, Ticket.window_start < end
    )
    return or_(planned, unplanned)


async def open_jobs(
    session: AsyncSession,
    org_id: uuid.UUID,
    date: dt.date,
    *,
    territory: str | None = None,
    tz: ZoneInfo | None = None,
) -> list[Job]:
    """What a day plan takes: the work orders waiting for an engineer (new), and those
    assigned and planned or windowed on ``date``; in the territory when one is named.
    ``tz``: the organisation's zone, when the caller has read it already."""
    day = shifts.day_bounds(date, tz or await zone(session, org_id))
    where: list[ColumnElement[bool]] = [
        or_(
            Ticket.status == Status.NEW.value,
            and_(Ticket.status.in_(PLANNED_STATUSES), _on_day(day)),
        ),
        or_(Ticket.window_end.is_(None), Ticket.window_end >= day[0]),
    ]
    jobs = await _jobs(session, org_id, where)
    if territory is not None:
        jobs = [j for j in jobs if j.territory == territory]
    return sorted(jobs, key=lambda j: j.number)


async def engineer_days(
    session: AsyncSession,
    org_id: uuid.UUID,
    date: dt.date,
    *,
    territory: str | None = None,
    engineer_ids: Sequence[uuid.UUID] | None = None,
    tz: ZoneInfo | None = None,
) -> list[EngineerDay]:
    """Every active engineer's ``date`` (in the territory, or those named), with their
    planned stops in order. ``tz``: the organisation's zone, when the caller has it."""
    tz = tz or await zone(session, org_id)
    day = shifts.day_bounds(date, tz)
    query = select(Engineer).where(Engineer.org_id == org_id, Engineer.active.is_(True))
    if territory is not None:
        query = query.where(Engineer.territory == territory)
    if engineer_ids is not None:
        query = query.where(Engineer.id.in_(list(engineer_ids)))
    engineers = list((await session.scalars(query.order_by(Engineer.id))).all())
    ids = [e.id for e in engineers]
    if not ids:
        return []
    off: dict[uuid.UUID, list[TimeOff]] = {}
    for row in await session.scalars(
        select(TimeOff).where(
            TimeOff.engineer_id.in_(ids), TimeOff.ends_at > day[0], TimeOff.starts_at < day[1]
        )
    ):
        off.setdefault(row.engineer_id, []).append(row)
    weekday = shifts.DAYS[date.weekday()]
    ends = {e.id: _ends(e, weekday) for e in engineers}
    site_ids = {s for start, end in ends.values() for s in (start, end) if s}
    sites = {
        s.id: Point(s.lat, s.lon)
        for s in await session.scalars(select(ServiceSite).where(ServiceSite.id.in_(site_ids)))
    }
    stops: dict[uuid.UUID, list[Job]] = {}
    planned = await _jobs(
        session,
        org_id,
        [Ticket.assignee_id.in_(ids), Ticket.status.in_(PLANNED_STATUSES), _on_day(day)],
    )
    for j in planned:
        assert j.assignee_id is not None
        stops.setdefault(j.assignee_id, []).append(j)
    vans = await parts.van_parts(session, org_id, ids)
    out = []
    for e in engineers:
        home = _point(e.home_lat, e.home_lon)
        start_site, end_site = ends[e.id]
        start = sites.get(start_site) if start_site else home
        end = sites.get(end_site) if end_site else home
        mine = sorted(stops.get(e.id, ()), key=_plan_order)
        out.append(
            EngineerDay(
                engineer_id=e.id,
                name=e.display_name,
                skills=dict(e.skills or {}),
                territory=e.territory,
                rating=e.rating,
                shifts=tuple(shifts.on_date(date, e.working_hours or {}, off.get(e.id, ()), tz)),
                start=start,
                end=end,
                max_jobs=e.max_jobs_per_day,
                max_seconds=60 * e.max_minutes_per_day if e.max_minutes_per_day else None,
                stops=tuple(mine),
                van_parts=vans.get(e.id, frozenset()),
            )
        )
    return out


def _ends(e: Engineer, weekday: str) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """The service sites the engineer's day starts and ends at on ``weekday`` (None:
    home): the weekday's own (``day_sites``), else the engineer's."""
    day = (e.day_sites or {}).get(weekday)
    if day is None:
        return e.start_site_id, e.end_site_id

    def site(value: str | None) -> uuid.UUID | None:
        return uuid.UUID(value) if value else None

    return site(day.get("start")), site(day.get("end"))


_FAR = dt.datetime.max.replace(tzinfo=dt.UTC)


def _plan_order(j: Job) -> tuple[int, dt.datetime, dt.datetime, int]:
    position = j.plan_position if j.plan_position is not None else 10**6
    return (position, j.planned_start or _FAR, j.window_start or _FAR, j.number)


async def pool_jobs(session: AsyncSession, org_id: uuid.UUID, *, limit: int) -> list[Job]:
    """The claim pool: new work orders open for claim, the most urgent first (priority,
    then the window's start, then the number); at most ``limit``."""
    where = [Ticket.open_for_claim.is_(True), Ticket.status == Status.NEW.value]
    jobs = await _jobs(session, org_id, where)
    jobs.sort(key=lambda j: (j.priority, j.window_start or _FAR, j.number))
    return jobs[:limit]
