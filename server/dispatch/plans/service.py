"""Day plans: ask for one, read them, compare one with the current schedule, apply it.

The lifecycle (docs/dispatch.md "Day plans"): ``create`` stores a *queued* plan and asks
the worker, after the commit, to solve it (``dispatch.plan_day``, solving.py): *solving*,
then *ready* or *failed*. A ready plan can be compared and *applied*; applying supersedes
the other ready or applied plans of the same territory and date (*superseded*).

Only admins, dispatchers and integration keys plan (engineers and agents: 403).

Applying (``apply``):
- refuses a plan whose work orders changed since it was computed (409 ``plan_stale``: the
  plan stored every work order's version; plan again);
- assigns through the tickets service (the ``assign`` transition) the routed work orders
  that are new or assigned to someone else; work orders accepted or under way were pinned
  to their engineer in the problem, so the plan never moves them; work orders flagged
  ``pinned`` are never touched, not even re-timed;
- writes every routed work order's planned slot (``tickets.planning.set_slot``: an event,
  the outbox, the phone's change feed);
- leaves the work orders the plan could not route as they are (their engineer, their
  slot): the compare view lists them, and the dispatcher decides.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.auth import service as auth_service
from server.config import get_settings
from server.crud import check_version
from server.db import after_commit
from server.dispatch import snapshot
from server.dispatch.models import DayPlan, PlanStatus
from server.dispatch.plans.schemas import PlanCreate, PlanRead
from server.dispatch.recommend import Reason, explain
from server.errors import Conflict, NotFound, TooManyRequests, Unprocessable
from server.tickets import Ticket, TransitionIn, format_number, planning
from server.tickets import service as tickets
from shared.lifecycle import Action, Status

PLAN_JOB = "dispatch.plan_day"
DAYS_BACK, DAYS_AHEAD = 1, 366
MAX_LIST = 100
# Plans an organisation may have queued or solving at once. Each solve holds a worker slot
# and a CPU for up to a minute: without a cap, one client asking in a loop fills the
# worker, and every other job (auto-assign, notifications, the SLA sweep) waits behind it.
MAX_IN_FLIGHT = 3
IN_FLIGHT_RETRY_SECONDS = 15
REASSIGNABLE = frozenset({Status.NEW.value, Status.ASSIGNED.value})


class PlanStale(Conflict):
    code, title = "plan_stale", "Work orders changed since the plan was computed"


class PlanNotReady(Conflict):
    code, title = "plan_not_ready", "The plan is not ready"


def _require(actor: Actor, what: str) -> None:
    actor.require_manager(what)


async def _check_date(session: AsyncSession, actor: Actor, date: dt.date) -> None:
    tz = await snapshot.zone(session, actor.org_id)
    today = dt.datetime.now(tz).date()
    first, last = today - dt.timedelta(days=DAYS_BACK), today + dt.timedelta(days=DAYS_AHEAD)
    if not first <= date <= last:
        raise Unprocessable(
            f"plan a date from {first} to {last} (today is {today} in the organisation's "
            f"time zone); {date} is out of that range",
            field="date",
        )


async def _base(session: AsyncSession, actor: Actor, data: PlanCreate) -> None:
    base = await session.scalar(
        select(DayPlan).where(DayPlan.id == data.base_plan_id, DayPlan.org_id == actor.org_id)
    )
    if base is None:
        raise Unprocessable(f"day plan {data.base_plan_id} not found", field="base_plan_id")
    if base.status != PlanStatus.APPLIED:
        raise Unprocessable(
            f"a re-plan starts from an applied plan; {base.id} is {base.status}",
            field="base_plan_id",
        )
    if (base.plan_date, base.territory) != (data.date, data.territory):
        raise Unprocessable(
            f"the base plan is for {base.plan_date} in {base.territory or 'every territory'}; "
            "a re-plan keeps its date and territory",
            field="base_plan_id",
        )


async def _check_in_flight(session: AsyncSession, actor: Actor) -> None:
    """At most ``MAX_IN_FLIGHT`` plans queued or solving per organisation (429 otherwise);
    the lock makes two requests at once count each other."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('day_plans:' || :org, 0))"),
        {"org": str(actor.org_id)},
    )
    waiting = (PlanStatus.QUEUED.value, PlanStatus.SOLVING.value)
    busy = await session.scalar(
        select(func.count())
        .select_from(DayPlan)
        .where(DayPlan.org_id == actor.org_id, DayPlan.status.in_(waiting))
    )
    if busy is not None and busy >= MAX_IN_FLIGHT:
        exc = TooManyRequests(
            f"{busy} plans are queued or solving already (at most {MAX_IN_FLIGHT} at once): "
            "wait until one is ready or failed (GET /api/v1/dispatch/plans), then ask again",
            in_flight=busy,
            limit=MAX_IN_FLIGHT,
        )
        exc.headers["Retry-After"] = str(IN_FLIGHT_RETRY_SECONDS)
        raise exc


async def create(session: AsyncSession, actor: Actor, *, data: PlanCreate) -> DayPlan:
    """A queued plan; the worker solves it after the commit."""
    _require(actor, "plan days")
    await _check_date(session, actor, data.date)
    if data.base_plan_id is not None:
        await _base(session, actor, data)
    await _check_in_flight(session, actor)
    plan = DayPlan(
        org_id=actor.org_id,
        territory=data.territory,
        plan_date=data.date,
        status=PlanStatus.QUEUED.value,
        seconds=data.seconds or get_settings().PLAN_SECONDS,
        base_plan_id=data.base_plan_id,
        requested_by=actor.label,
        version=1,
    )
    session.add(plan)
    await session.flush()
    await session.refresh(plan, ["created_at"])
    after_commit(session, PLAN_JOB, plan_id=str(plan.id))
    return plan


async def get(
    session: AsyncSession, actor: Actor, *, plan_id: uuid.UUID, for_update: bool = False
) -> DayPlan:
    _require(actor, "read day plans")
    query = select(DayPlan).where(DayPlan.id == plan_id, DayPlan.org_id == actor.org_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    plan = await session.scalar(query)
    if plan is None:
        raise NotFound(f"day plan {plan_id} not found")
    return plan


async def list_plans(
    session: AsyncSession,
    actor: Actor,
    *,
    date: dt.date | None,
    territory: str | None,
    limit: int,
) -> list[DayPlan]:
    """Newest first."""
    _require(actor, "read day plans")
    query = select(DayPlan).where(DayPlan.org_id == actor.org_id)
    if date is not None:
        query = query.where(DayPlan.plan_date == date)
    if territory is not None:
        query = query.where(DayPlan.territory == territory)
    query = query.order_by(DayPlan.created_at.desc(), DayPlan.id.desc()).limit(limit)
    return list((await session.scalars(query)).all())


# --- compare and apply -----------------------------------------------------------------------


def _planned(result: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """ticket id -> (engineer id, stop) for every routed work order."""
    return {
        stop["ticket_id"]: (route["engineer_id"], stop)
        for route in result.get("routes", ())
        for stop in route["stops"]
    }


async def _tickets(session: AsyncSession, actor: Actor, ids: list[str]) -> dict[str, Ticket]:
    if not ids:
        return {}
    rows = await session.scalars(
        select(Ticket).where(
            Ticket.org_id == actor.org_id, Ticket.id.in_([uuid.UUID(i) for i in ids])
        )
    )
    return {str(t.id): t for t in rows}


def _changed(result: dict[str, Any], current: dict[str, Ticket]) -> list[str]:
    """Work orders changed (or gone) since the plan's snapshot, by number."""
    out = []
    for ticket_id, version in result.get("versions", {}).items():
        ticket = current.get(ticket_id)
        if ticket is None or ticket.version != version:
            out.append(format_number(ticket.number) if ticket else ticket_id)
    return sorted(out)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _same_instant(a: dt.datetime | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs((a - dt.datetime.fromisoformat(b)).total_seconds()) < 1


def _change(ticket: Ticket, engineer: str | None, stop: dict[str, Any] | None) -> str:
    if ticket.pinned:
        return "unchanged"  # applying leaves a pinned work order as it is
    before = str(ticket.assignee_id) if ticket.assignee_id else None
    if engineer is None:
        return "unassigned" if before else "unchanged"
    if before is None:
        return "newly_assigned"
    if before != engineer:
        return "reassigned"
    assert stop is not None
    same = _same_instant(ticket.planned_start, stop["start"]) and _same_instant(
        ticket.planned_end, stop["end"]
    )
    return "unchanged" if same else "retimed"


async def compare(session: AsyncSession, actor: Actor, *, plan_id: uuid.UUID) -> dict[str, Any]:
    """The current schedule (assignees, planned slots) against the plan."""
    plan = await get(session, actor, plan_id=plan_id)
    if plan.result is None:
        raise PlanNotReady(f"the plan is {plan.status}; compare it once it is ready")
    planned = _planned(plan.result)
    left = {x["ticket_id"]: x for x in plan.result.get("unassigned", ())}
    current = await _tickets(session, actor, [*planned, *left])
    jobs, counts = (
        [],
        dict.fromkeys(("reassigned", "retimed", "newly_assigned", "unassigned", "unchanged"), 0),
    )
    for ticket_id, ticket in sorted(current.items(), key=lambda kv: kv[1].number):
        engineer, stop = planned.get(ticket_id, (None, None))
        change = _change(ticket, engineer, stop)
        counts[change] += 1
        jobs.append(
            {
                "ticket_id": ticket_id,
                "number": format_number(ticket.number),
                "change": change,
                "reason": left[ticket_id]["reason"] if ticket_id in left else None,
                "before": {
                    "engineer_id": str(ticket.assignee_id) if ticket.assignee_id else None,
                    "planned_start": _iso(ticket.planned_start),
                    "planned_end": _iso(ticket.planned_end),
                },
                "after": {
                    "engineer_id": engineer,
                    "planned_start": stop["start"] if stop else None,
                    "planned_end": stop["end"] if stop else None,
                },
            }
        )
    before = sum(t.planned_travel_seconds or 0 for t in current.values())
    changed = _changed(plan.result, current)
    return {
        "plan_id": str(plan.id),
        "status": plan.status,
        "stale": bool(changed),
        "changed_since_plan": changed,
        "counts": counts,
        "travel_seconds": {
            "before": before,
            "after": plan.result["objective"]["travel_seconds"],
        },
        "jobs": jobs,
    }


async def _route(
    session: AsyncSession, actor: Actor, engineer_id: str, stop: dict[str, Any], ticket: Ticket
) -> bool:
    """Assign (when needed) and time one routed work order; False if left alone."""
    if ticket.pinned:
        return False
    if ticket.assignee_id is None or str(ticket.assignee_id) != engineer_id:
        if ticket.status not in REASSIGNABLE:
            return False  # accepted or under way: pinned in the problem, so never here
        await tickets.apply_transition(
            session,
            actor,
            ticket_id=ticket.id,
            data=TransitionIn(action=Action.ASSIGN, engineer_id=uuid.UUID(engineer_id)),
        )
    await planning.set_slot(
        session,
        actor,
        ticket_id=ticket.id,
        planned_start=dt.datetime.fromisoformat(stop["start"]),
        planned_end=dt.datetime.fromisoformat(stop["end"]),
        plan_position=stop["position"],
        planned_travel_seconds=stop["travel_seconds"],
        reason="day plan",
    )
    return True


async def _lock_the_day(session: AsyncSession, actor: Actor, plan_id: uuid.UUID) -> None:
    """Lock every plan of the plan's territory and date, in one order: two plans of one day
    applied at once queue here (the second then finds itself superseded) instead of each
    locking its own row and deadlocking on the other's."""
    found = (
        await session.execute(
            select(DayPlan.plan_date, DayPlan.territory).where(
                DayPlan.id == plan_id, DayPlan.org_id == actor.org_id
            )
        )
    ).first()
    if found is None:
        return  # get() answers 404
    await session.execute(
        select(DayPlan.id)
        .where(
            DayPlan.org_id == actor.org_id,
            DayPlan.plan_date == found.plan_date,
            DayPlan.territory.is_not_distinct_from(found.territory),
        )
        .order_by(DayPlan.id)
        .with_for_update()
    )


async def apply(
    session: AsyncSession, actor: Actor, *, plan_id: uuid.UUID, expected_version: int | None
) -> DayPlan:
    _require(actor, "apply day plans")
    await _lock_the_day(session, actor, plan_id)
    plan = await get(session, actor, plan_id=plan_id, for_update=True)
    check_version(plan.version, expected_version, label="the day plan")
    if plan.status != PlanStatus.READY or plan.result is None:
        raise PlanNotReady(f"only a ready plan can be applied; this one is {plan.status}")
    planned = _planned(plan.result)
    current = await _tickets(session, actor, list(plan.result.get("versions", {})))
    if changed := _changed(plan.result, current):
        raise PlanStale(
            f"work orders changed since this plan was computed ({', '.join(changed[:10])}); "
            "plan again: POST /api/v1/dispatch/plans",
            changed=changed,
        )
    for ticket_id, (engineer_id, stop) in planned.items():
        await _route(session, actor, engineer_id, stop, current[ticket_id])
    now = dt.datetime.now(dt.UTC)
    plan.status = PlanStatus.APPLIED.value
    plan.applied_at, plan.applied_by = now, actor.label
    plan.version += 1
    await session.execute(
        update(DayPlan)
        .where(
            DayPlan.org_id == plan.org_id,
            DayPlan.plan_date == plan.plan_date,
            DayPlan.territory.is_not_distinct_from(plan.territory),
            DayPlan.id != plan.id,
            DayPlan.status.in_([PlanStatus.READY.value, PlanStatus.APPLIED.value]),
        )
        .values(status=PlanStatus.SUPERSEDED.value, version=DayPlan.version + 1)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    return plan


async def read_in(
    session: AsyncSession, actor: Actor, plans: list[DayPlan], lang: str | None
) -> list[PlanRead]:
    """The plans as the API shows them, the reasons' words in the caller's language (the
    stored ``detail`` is English; ``params`` lets them be said in any language)."""
    language = await auth_service.language_of(session, actor, lang)
    tz = await snapshot.zone(session, actor.org_id)

    def said(entry: dict[str, Any]) -> dict[str, Any]:
        if "params" not in entry:
            return entry  # a plan stored before reasons kept their parameters
        reason = Reason(entry["reason"], entry["params"])
        return {**entry, "detail": explain(reason, language, tz)}

    out = []
    for plan in plans:
        read = PlanRead.model_validate(plan)
        if read.result is not None:
            result = dict(read.result)
            for key in ("unassigned", "engineers_skipped"):
                result[key] = [said(e) for e in result.get(key) or ()]
            read = read.model_copy(update={"result": result})
        out.append(read)
    return out
