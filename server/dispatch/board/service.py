"""The dispatch board: every engineer's day as a timeline, and a map (docs/dispatch.md "Board").

Per engineer, segments in time order, built from what is recorded (no solving):
- ``travel`` before each planned work order (``planned_start - planned_travel_seconds`` ..
  ``planned_start``) and ``work`` for its slot (``planned_start .. planned_end``, else its
  estimate);
- ``break`` for the labour entries of kind break they recorded that day (neither voided nor
  replaced by an adjustment);
- ``off`` for time off (leave, sick, training) inside the day;
- ``gap`` for idle time inside their shifts that none of the above covers.
The map is a GeoJSON FeatureCollection: the engineers' last known positions (their latest
visit check-in with a position) and the day's open work orders with a location (of the
territory, and those assigned to its engineers).

Admins, dispatchers and integration keys only (engineers: 403).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.dispatch import snapshot
from server.engineers import TimeOff, shifts
from server.field import LabourEntry, LabourVoid, Visit, VisitCheck
from server.tickets import Ticket, format_number

Interval = tuple[dt.datetime, dt.datetime]
OFF_KINDS = tuple(sorted(shifts.UNAVAILABLE))


def _segment(kind: str, start: dt.datetime, end: dt.datetime, **more: Any) -> dict[str, Any]:
    return {"kind": kind, "start": start.isoformat(), "end": end.isoformat(), **more}


async def _planned(
    session: AsyncSession, org_id: uuid.UUID, ids: list[uuid.UUID], day: Interval
) -> dict[uuid.UUID, list[Ticket]]:
    rows = await session.scalars(
        select(Ticket)
        .where(
            Ticket.org_id == org_id,
            Ticket.assignee_id.in_(ids),
            Ticket.status.in_(snapshot.PLANNED_STATUSES),
            Ticket.planned_start >= day[0],
            Ticket.planned_start < day[1],
        )
        .order_by(Ticket.planned_start)
    )
    out: dict[uuid.UUID, list[Ticket]] = {}
    for t in rows:
        assert t.assignee_id is not None
        out.setdefault(t.assignee_id, []).append(t)
    return out


async def _breaks(
    session: AsyncSession, org_id: uuid.UUID, ids: list[uuid.UUID], day: Interval
) -> dict[uuid.UUID, list[Interval]]:
    voided = select(LabourVoid.entry_id).where(LabourVoid.org_id == org_id)
    replaced = select(LabourEntry.replaces_id).where(
        LabourEntry.org_id == org_id, LabourEntry.replaces_id.is_not(None)
    )
    rows = await session.execute(
        select(LabourEntry.engineer_id, LabourEntry.started_at, LabourEntry.ended_at).where(
            LabourEntry.org_id == org_id,
            LabourEntry.engineer_id.in_(ids),
            LabourEntry.kind == "break",
            LabourEntry.ended_at > day[0],
            LabourEntry.started_at < day[1],
            LabourEntry.id.not_in(voided),
            LabourEntry.id.not_in(replaced),
        )
    )
    out: dict[uuid.UUID, list[Interval]] = {}
    for engineer_id, start, end in rows:
        out.setdefault(engineer_id, []).append((max(start, day[0]), min(end, day[1])))
    return out


async def _time_off(
    session: AsyncSession, org_id: uuid.UUID, ids: list[uuid.UUID], day: Interval
) -> dict[uuid.UUID, list[Interval]]:
    rows = await session.scalars(
        select(TimeOff).where(
            TimeOff.org_id == org_id,
            TimeOff.engineer_id.in_(ids),
            TimeOff.kind.in_(OFF_KINDS),
            TimeOff.ends_at > day[0],
            TimeOff.starts_at < day[1],
        )
    )
    out: dict[uuid.UUID, list[Interval]] = {}
    for r in rows:
        out.setdefault(r.engineer_id, []).append((max(r.starts_at, day[0]), min(r.ends_at, day[1])))
    return out


def timeline(
    shift_list: tuple[Interval, ...] | list[Interval],
    planned: list[Ticket],
    breaks: list[Interval],
    off: list[Interval],
) -> list[dict[str, Any]]:
    """One engineer's segments in time order (see the module docstring)."""
    segments: list[tuple[dt.datetime, int, dict[str, Any]]] = []
    busy: list[Interval] = []
    for t in planned:
        assert t.planned_start is not None
        start = t.planned_start
        end = t.planned_end or start + dt.timedelta(minutes=t.estimated_minutes or 60)
        ref = {"ticket_id": str(t.id), "number": format_number(t.number)}
        if t.planned_travel_seconds:
            leave = start - dt.timedelta(seconds=t.planned_travel_seconds)
            segments.append((leave, 0, _segment("travel", leave, start, **ref)))
            busy.append((leave, start))
        segments.append((start, 1, _segment("work", start, end, **ref)))
        busy.append((start, end))
    for kind, spans in (("break", breaks), ("off", off)):
        for start, end in spans:
            segments.append((start, 1, _segment(kind, start, end)))
            busy.append((start, end))
    for shift in shift_list:
        free = [shift]
        for span in shifts.merge(busy):
            free = [piece for f in free for piece in shifts.subtract([f], span)]
        segments += [(s, 2, _segment("gap", s, e)) for s, e in free if e > s]
    return [seg for _, _, seg in sorted(segments, key=lambda x: (x[0], x[1]))]


async def _positions(
    session: AsyncSession, org_id: uuid.UUID, names: dict[uuid.UUID, str]
) -> list[dict[str, Any]]:
    if not names:
        return []
    rows = await session.execute(
        select(Visit.engineer_id, VisitCheck.lat, VisitCheck.lon, VisitCheck.device_time)
        .join(Visit, Visit.id == VisitCheck.visit_id)
        .where(
            VisitCheck.org_id == org_id,
            Visit.engineer_id.in_(list(names)),
            VisitCheck.lat.is_not(None),
            VisitCheck.lon.is_not(None),
        )
        .order_by(Visit.engineer_id, VisitCheck.device_time.desc())
        .ext(distinct_on(Visit.engineer_id))
    )
    return [
        _point(
            lon,
            lat,
            kind="engineer",
            engineer_id=str(engineer_id),
            name=names[engineer_id],
            at=at.isoformat(),
        )
        for engineer_id, lat, lon, at in rows
        if lat is not None and lon is not None  # filtered above; for the type checker
    ]


def _point(lon: float, lat: float, **properties: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": properties,
    }


async def board(
    session: AsyncSession, actor: Actor, *, date: dt.date, territory: str | None
) -> dict[str, Any]:
    actor.require_manager("see the dispatch board")
    org_id = actor.org_id
    tz = await snapshot.zone(session, org_id)
    day = shifts.day_bounds(date, tz)
    days = await snapshot.engineer_days(session, org_id, date, territory=territory, tz=tz)
    ids = [d.engineer_id for d in days]
    planned = await _planned(session, org_id, ids, day)
    breaks = await _breaks(session, org_id, ids, day)
    off = await _time_off(session, org_id, ids, day)
    engineers = [
        {
            "engineer_id": str(d.engineer_id),
            "name": d.name,
            "territory": d.territory,
            "shifts": [[s.isoformat(), e.isoformat()] for s, e in d.shifts],
            "segments": timeline(
                d.shifts,
                planned.get(d.engineer_id, []),
                breaks.get(d.engineer_id, []),
                off.get(d.engineer_id, []),
            ),
        }
        for d in days
    ]
    # The territory's work orders, and whatever its engineers are planned to do elsewhere.
    jobs = [
        j
        for j in await snapshot.open_jobs(session, org_id, date, tz=tz)
        if territory is None or j.territory == territory or j.assignee_id in set(ids)
    ]
    features = await _positions(session, org_id, {d.engineer_id: d.name for d in days})
    features += [
        _point(
            j.location.lon,
            j.location.lat,
            kind="job",
            ticket_id=str(j.ticket_id),
            number=format_number(j.number),
            status=j.status,
            priority=j.priority,
            planned_start=j.planned_start.isoformat() if j.planned_start else None,
        )
        for j in jobs
        if j.location is not None
    ]
    return {
        "date": date.isoformat(),
        "territory": territory,
        "day_start": day[0].isoformat(),
        "day_end": day[1].isoformat(),
        "engineers": engineers,
        "map": {"type": "FeatureCollection", "features": features},
    }
