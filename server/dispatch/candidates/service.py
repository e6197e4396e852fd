"""Candidates for one work order, and auto-assign with the best of them.

The facts come from ``dispatch.snapshot``; the ranking from ``dispatch.recommend`` (the pure
engine: filters, cheapest feasible insertion into each engineer's day, score, reasons).
This module translates between the two: instants become epoch seconds, the engineer's day
becomes what is left of it, and reasons become sentences in the caller's language.

- **Mode.** ``now`` (urgent): service may start from now until the SLA deadline allows
  (else the end of today). ``scheduled``: inside the work order's window, from its start
  (or now, if the window has begun). Default: ``scheduled`` when the work order has a
  window that has not ended, else ``now``. The engineers' day is the date service would
  start on, in the organisation's time zone.
- **A day in progress** (``now``, or a window that has begun): shifts start no earlier
  than now; an engineer travelling to or working on a job starts from that job's site when
  it ends (its planned end, else now plus its service time); jobs not started stay in
  their order. The work order itself is taken out of its current engineer's day (so
  re-assigning compares everyone fairly).
- **Who may ask**: the back office (admins, dispatchers, service desk agents, keys with
  ``tickets:write``); engineers and viewers get 403; a work order the caller cannot see
  is 404. Only a work order waiting for an engineer or not yet started (new, assigned,
  accepted) has candidates; others answer 409 ``not_dispatchable``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.auth import service as auth_service
from server.dispatch import recommend as rec
from server.dispatch import snapshot
from server.dispatch.candidates.schemas import AutoAssignOut
from server.dispatch.claims import service as claims
from server.dispatch.errors import NotDispatchable, NoWindow, WindowPassed
from server.dispatch.models import AutoAssignRule
from server.engineers import shifts
from server.events import OutboxEvent
from server.languages import Language
from server.tickets import Ticket, TransitionIn, format_number
from server.tickets import service as tickets
from shared.lifecycle import Action, Status

Mode = Literal["now", "scheduled"]
DISPATCHABLE = frozenset({Status.NEW.value, Status.ASSIGNED.value, Status.ACCEPTED.value})
IN_PROGRESS = frozenset({Status.TRAVELLING.value, Status.ON_SITE.value, Status.ON_HOLD.value})


def _s(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def instant(seconds: int) -> dt.datetime:
    """Epoch seconds (the engine's clock) as an aware UTC instant."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _latlon(point: snapshot.Point | None) -> rec.LatLon | None:
    return None if point is None else (point.lat, point.lon)


@dataclass(frozen=True)
class Ask:
    """What was asked, resolved: the mode, the bounds of the service start and the date."""

    mode: Mode
    earliest: dt.datetime
    latest: dt.datetime
    date: dt.date
    now: dt.datetime


def resolve_mode(job: snapshot.Job, mode: Mode | None, now: dt.datetime, tz: ZoneInfo) -> Ask:
    """The bounds of the service start for ``mode`` (see the module docstring)."""
    has_window = job.window_start is not None and job.window_end is not None
    if mode is None:
        mode = "scheduled" if has_window and job.window_end > now else "now"  # type: ignore[operator]
    if mode == "scheduled":
        if not has_window:
            raise NoWindow(
                "the work order has no appointment window; ask with mode=now or give it a "
                "window first"
            )
        assert job.window_start is not None and job.window_end is not None
        if job.window_end <= now:
            raise WindowPassed(
                "the work order's appointment window has ended; reschedule it or ask with mode=now"
            )
        earliest = max(job.window_start, now)
    else:
        earliest = now
    date = earliest.astimezone(tz).date()
    day_end = shifts.day_bounds(date, tz)[1]
    latest = job.latest_start() if mode == "scheduled" else None
    if mode == "now" and job.sla_deadline is not None:
        latest = job.sla_deadline - dt.timedelta(seconds=job.service_seconds)
    latest = min(latest, day_end) if latest is not None else day_end
    # A deadline already out of reach: the engine says so per engineer (sla_impossible).
    return Ask(mode=mode, earliest=earliest, latest=max(latest, earliest), date=date, now=now)


def request_of(job: snapshot.Job, ask: Ask) -> rec.Request:
    return rec.Request(
        job_id=format_number(job.number),
        location=_latlon(job.location),
        service=job.service_seconds,
        earliest=_s(ask.earliest),
        latest=_s(ask.latest),
        skills=job.skills,
        sla_deadline=_s(job.sla_deadline) if job.sla_deadline is not None else None,
        priority=rec.Priority.__members__.get(job.priority, rec.Priority.P3),
        territory=job.territory,
        preferred=frozenset(str(e) for e in job.preferred),
        declined=frozenset(str(e) for e in job.declined),
        parts=frozenset(str(p) for p in job.parts | job.typical_parts),
    )


def day_of(
    day: snapshot.EngineerDay, ask: Ask, *, leave_out: uuid.UUID | None, tz: ZoneInfo
) -> rec.EngineerDay:
    """The engineer's day as the engine takes it: what is left of it at ``ask.now``."""
    day_start, day_end = shifts.day_bounds(ask.date, tz)
    cut = ask.now
    start = day.start
    planned: list[rec.PlannedStop] = []
    for stop in day.stops:
        if stop.ticket_id == leave_out:
            continue
        if stop.status in IN_PROGRESS:
            # Busy until the job ends, then leaves from its site.
            ends = stop.planned_start and stop.planned_start + dt.timedelta(
                seconds=stop.service_seconds
            )
            cut = max(cut, ends or ask.now + dt.timedelta(seconds=stop.service_seconds))
            start = stop.location or start
            continue
        if stop.location is None:
            continue  # cannot be routed: it does not block the day (docs/dispatch.md)
        earliest = stop.window_start or day_start
        latest = stop.latest_start() or day_end
        planned.append(
            rec.PlannedStop(
                job_id=format_number(stop.number),
                location=(stop.location.lat, stop.location.lon),
                service=stop.service_seconds,
                planned_start=_s(stop.planned_start or earliest),
                earliest=_s(earliest),
                latest=_s(max(latest, earliest)),
                sla_deadline=_s(stop.sla_deadline) if stop.sla_deadline else None,
                pinned=stop.pinned,
            )
        )
    left = tuple((max(s, cut), e) for s, e in day.shifts if e > cut)
    return rec.EngineerDay(
        id=str(day.engineer_id),
        name=day.name,
        skills={k: v for k, v in day.skills.items() if isinstance(v, int) and v >= 1},
        territory=day.territory,
        rating=min(max(day.rating, 0.0), 5.0),
        shifts=tuple((_s(s), _s(e)) for s, e in left),
        start=_latlon(start),
        end=_latlon(day.end if day.end is not None else start),
        max_jobs=day.max_jobs,
        max_work=day.max_seconds,
        route=tuple(planned),
        parts=frozenset(str(p) for p in day.van_parts),
    )


@dataclass(frozen=True)
class Ranked:
    """The engine's answer with what a reader needs around it."""

    ticket_id: uuid.UUID
    number: int
    priority: str
    status: str
    ask: Ask
    result: rec.Recommendation
    names: dict[str, str]
    language: Language
    tz: ZoneInfo

    def text(self, reason: rec.Reason) -> str:
        return rec.explain(reason, self.language, self.tz)


async def rank(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    mode: Mode | None = None,
    limit: int | None = 20,
    lang: str | None = None,
    now: dt.datetime | None = None,
) -> Ranked:
    actor.require_office_writer("ask for candidates")
    ticket = await tickets.get(session, actor, ticket_id=ticket_id)
    if ticket.status not in DISPATCHABLE:
        raise NotDispatchable(
            f"the work order is {ticket.status}: candidates are for work orders waiting for "
            "an engineer or not started yet (new, assigned, accepted)"
        )
    job = await snapshot.job(session, actor.org_id, ticket_id)
    assert job is not None  # visible above
    tz = await snapshot.zone(session, actor.org_id)
    ask = resolve_mode(job, mode, now or dt.datetime.now(dt.UTC), tz)
    days = await snapshot.engineer_days(session, actor.org_id, ask.date, tz=tz)
    engine_days = [day_of(d, ask, leave_out=ticket_id, tz=tz) for d in days]
    result = rec.recommend(request_of(job, ask), engine_days, limit=limit)
    return Ranked(
        ticket_id=ticket_id,
        number=job.number,
        priority=job.priority,
        status=ticket.status,
        ask=ask,
        result=result,
        names={str(d.engineer_id): d.name for d in days},
        language=await auth_service.language_of(session, actor, lang),
        tz=tz,
    )


async def auto_assign(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    mode: Mode | None = None,
    lang: str | None = None,
    now: dt.datetime | None = None,
) -> AutoAssignOut:
    """Assign the best candidate (an ``assign`` transition whose reason says why); when
    nobody can take the work order, assign nothing and say why, and open it for claiming
    if the priority's rule says so."""
    actor.require_manager("auto-assign work orders")
    ranked = await rank(session, actor, ticket_id=ticket_id, mode=mode, limit=1, lang=lang, now=now)
    if not ranked.result.candidates:
        why = rec.Reason("auto_nobody", {"filtered": len(ranked.result.filtered)})
        opened = False
        rule = await session.get(AutoAssignRule, (actor.org_id, ranked.priority))
        if rule is not None and rule.fallback_to_pool:
            if ranked.status == Status.NEW.value:
                try:
                    async with session.begin_nested():
                        await claims.open_for_claim(session, actor, ticket_id=ticket_id)
                    opened = True
                except WindowPassed:
                    opened = False  # nobody could ever claim it: it stays with dispatch
        return AutoAssignOut(
            ticket_id=ticket_id,
            assigned=False,
            engineer_id=None,
            reason=ranked.text(why),
            opened_for_claim=opened,
        )
    best = ranked.result.candidates[0]
    why = rec.Reason(
        "auto_assigned",
        {
            "name": ranked.names.get(best.engineer_id, ""),
            "feasible": ranked.result.feasible,
            "start": best.start,
            "score": round(best.score, 1),
        },
    )
    engineer_id = uuid.UUID(best.engineer_id)
    await tickets.apply_transition(
        session,
        actor,
        ticket_id=ticket_id,
        data=TransitionIn(
            action=Action.ASSIGN,
            engineer_id=engineer_id,
            reason=rec.explain(why, "en", ranked.tz),
        ),
    )
    return AutoAssignOut(
        ticket_id=ticket_id, assigned=True, engineer_id=engineer_id, reason=ranked.text(why)
    )


async def on_created(session: AsyncSession, event: OutboxEvent) -> None:
    """The outbox's ``ticket.created``: a new work order whose priority has an enabled
    auto-assign rule goes to its best candidate (in the worker, never in the request that
    created it). Idempotent: a work order no longer new is left alone."""
    ticket_id = event.aggregate_id
    if ticket_id is None:
        return
    found = (
        await session.execute(
            select(Ticket.status, AutoAssignRule.enabled)
            .join(
                AutoAssignRule,
                (AutoAssignRule.org_id == Ticket.org_id)
                & (AutoAssignRule.priority == Ticket.priority),
            )
            .where(Ticket.id == ticket_id, Ticket.org_id == event.org_id)
            .with_for_update(of=Ticket)
        )
    ).first()
    if found is None or not found.enabled or found.status != Status.NEW.value:
        return
    await auto_assign(session, Actor.system(event.org_id), ticket_id=ticket_id)
