"""When an engineer works: time off (the exceptions to the weekly hours) and the shifts of
a run of dates, read by ``server.engineers.shifts`` in the organisation's time zone.

Managers (admins, dispatchers, keys with engineers:write) record and remove time off; an
engineer reads their own; anyone else's engineer is not found (404), as for the profile.
Time off says why someone is away (sick leave is health data), so, like the home location,
only those who plan the engineer's work and the engineer read it; everyone who reads
profiles may read the shifts, which show when, not why.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.crud import keyset_page
from server.engineers import shifts
from server.engineers.models import Engineer, TimeOff
from server.engineers.schemas import TimeOffCreate
from server.engineers.service import get, sees_home_location
from server.errors import Forbidden, NotFound, Unprocessable
from server.orgs import service as orgs
from server.pagination import Page

MAX_DAYS = 62  # dates per shifts answer


async def add_time_off(
    session: AsyncSession, actor: Actor, *, engineer_id: uuid.UUID, data: TimeOffCreate
) -> TimeOff:
    engineer = await get(session, actor, engineer_id=engineer_id)
    actor.require_manager("record engineers' time off")
    row = TimeOff(org_id=actor.org_id, engineer_id=engineer.id, **data.model_dump())
    session.add(row)
    await session.flush()
    return row


async def list_time_off(
    session: AsyncSession,
    actor: Actor,
    *,
    engineer_id: uuid.UUID,
    ends_after: dt.datetime | None,
    limit: int,
    cursor: str | None,
) -> Page[TimeOff]:
    """The engineer's time off by start, optionally only what ends after ``ends_after``."""
    engineer = await get(session, actor, engineer_id=engineer_id)
    if not sees_home_location(actor, engineer):
        raise Forbidden(
            "time off says why an engineer is away: admins, dispatchers and the engineer read "
            "it; the shifts (GET .../shifts) show when they work"
        )
    query = select(TimeOff).where(
        TimeOff.org_id == actor.org_id, TimeOff.engineer_id == engineer.id
    )
    if ends_after is not None:
        query = query.where(TimeOff.ends_at > ends_after)
    return await keyset_page(
        session,
        query,
        sort_column=TimeOff.starts_at,
        id_column=TimeOff.id,
        limit=limit,
        cursor=cursor,
    )


async def remove_time_off(
    session: AsyncSession, actor: Actor, *, engineer_id: uuid.UUID, time_off_id: uuid.UUID
) -> None:
    engineer = await get(session, actor, engineer_id=engineer_id)
    actor.require_manager("remove engineers' time off")
    removed = await session.scalar(
        delete(TimeOff)
        .where(
            TimeOff.id == time_off_id,
            TimeOff.engineer_id == engineer.id,
            TimeOff.org_id == actor.org_id,
        )
        .returning(TimeOff.id)
    )
    if removed is None:
        raise NotFound(f"time off {time_off_id} not found")


@dataclass(frozen=True)
class Shifts:
    engineer_id: uuid.UUID
    timezone: str
    days: list[tuple[dt.date, list[shifts.Interval]]]


async def shifts_between(
    session: AsyncSession,
    actor: Actor,
    *,
    engineer_id: uuid.UUID,
    first: dt.date,
    last: dt.date,
) -> Shifts:
    """The engineer's shifts on each date from ``first`` to ``last`` (inclusive, at most
    ``MAX_DAYS``), time off applied, as ``shifts.on_date`` answers them."""
    if last < first:
        raise Unprocessable("to must be on or after from", field="to")
    if (last - first).days + 1 > MAX_DAYS:
        raise Unprocessable(f"ask for at most {MAX_DAYS} days at a time", field="to")
    engineer: Engineer = await get(session, actor, engineer_id=engineer_id)
    zone = await orgs.zone(session, actor.org_id)
    tz = ZoneInfo(zone)
    start, _ = shifts.day_bounds(first, tz)
    _, end = shifts.day_bounds(last, tz)
    off = list(
        await session.scalars(
            select(TimeOff).where(
                TimeOff.engineer_id == engineer.id,
                TimeOff.org_id == actor.org_id,
                TimeOff.ends_at > start,
                TimeOff.starts_at < end,
            )
        )
    )
    days = []
    for n in range((last - first).days + 1):
        date = first + dt.timedelta(days=n)
        days.append((date, shifts.on_date(date, engineer.working_hours, off, tz)))
    return Shifts(engineer_id=engineer.id, timezone=zone, days=days)
