"""The claim pool as the screens show it, and what a claim's outcome says.

The pool lists the open jobs the engineer may claim (``claimable`` rows, best first), each
with its priority, window, distance from a fresh fix, customer and required skills. A
claim needs the server's answer now (``mobile.sync.claim``); every outcome is told
plainly, never naming another engineer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from mobile.core.geo import distance_to
from mobile.core.numbers import finite
from mobile.core.session import Session
from mobile.core.text import line
from mobile.core.today import sla_of, window_text
from mobile.i18n import _, format_distance
from mobile.store import Store
from mobile.sync import AuthRequired, Claimed, Refused, Transient


@dataclass(frozen=True)
class PoolItem:
    id: str
    number: str
    title: str
    priority: str
    window: str
    sla: str
    sla_level: str
    customer: str
    site: str
    distance: str
    skills: str
    minutes: str
    description: str
    asking: bool  # a claim was sent and has no answer yet


def skills_text(value: Any) -> str:
    """``hvac 2 · electrical`` from the row's ``[{"name", "level"}]`` (level 1 unsaid)."""
    out = []
    for skill in value if isinstance(value, list) else ():
        if not isinstance(skill, Mapping) or not line(skill.get("name")):
            continue
        level = finite(skill.get("level"))
        name = line(skill.get("name"))
        out.append(name if level is None or level <= 1 else f"{name} {int(level)}")
    return " · ".join(out)


def _minutes(value: Any) -> str:
    minutes = finite(value)
    if minutes is None or minutes <= 0:
        return ""
    return _("about {minutes} min").format(minutes=int(minutes))


def _item(
    store: Store, row: Mapping[str, Any], now: dt.datetime, tz: ZoneInfo, here: Any
) -> PoolItem:
    sla, level = sla_of({"resolution_due_at": row.get("sla_due_at"), "status": "new"}, now)
    site = line(row.get("site_address")) or line(row.get("site_name"))
    return PoolItem(
        id=str(row["id"]),
        number=line(row.get("number")),
        title=line(row.get("title")),
        priority=line(row.get("priority")),
        window=window_text(row, now, tz),
        sla=sla,
        sla_level=level,
        customer=line(row.get("customer_name")),
        site=site,
        distance=format_distance(distance_to(here, row)),
        skills=skills_text(row.get("required_skills")),
        minutes=_minutes(row.get("estimated_minutes")),
        description=str(row.get("description") or "")[:1000],
        asking=store.pending_claim(str(row["id"])),
    )


def pool_items(store: Store, *, now: dt.datetime, tz: ZoneInfo, here: Any = None) -> list[PoolItem]:
    """The pool, most urgent first; ``here`` the last GPS fix (None: distances unknown)."""
    return [_item(store, row, now, tz, here) for row in store.claimables()]


def pool_item(
    store: Store, work_order_id: str, *, now: dt.datetime, tz: ZoneInfo, here: Any = None
) -> PoolItem | None:
    row = store.get("claimable", work_order_id)
    return None if row is None else _item(store, row, now, tz, here)


def outcome_text(outcome: Claimed, number: str) -> str:
    if outcome is Claimed.YOURS:
        return _("{number} is yours: it is on your Today list").format(number=number)
    if outcome is Claimed.TAKEN:
        return _("Another engineer took {number}").format(number=number)
    return _("{number} is no longer open for claiming").format(number=number)


def no_answer(number: str) -> str:
    return _(
        "No answer about {number}: it stays in the pool until the next sync. Try again."
    ).format(number=number)


def failure_text(exc: Exception, number: str) -> str:
    """Why a claim got no answer, or was refused: nothing was claimed on the phone."""
    if isinstance(exc, AuthRequired):
        return _("Log in again to claim jobs")
    if isinstance(exc, Transient):
        if isinstance(exc.__cause__, httpx.ConnectError):
            return _("Claiming needs a connection")
        if isinstance(exc.__cause__, httpx.TransportError):
            return no_answer(number)
        return _("The server could not take the claim now: try again in a moment")
    if isinstance(exc, Refused):
        return _("The claim was refused: {reason}").format(
            reason=exc.problem.get("detail") or exc.status
        )
    raise exc


@dataclass(frozen=True)
class ClaimAnswer:
    yours: bool
    message: str
    level: str  # "ok" or "error", for the toast


async def claim_job(session: Session, store: Store, work_order_id: str) -> ClaimAnswer:
    """Claim a job of the pool and say what happened. A refusal that says it was taken
    when it is in fact ours (a retry after a lost answer, under a new key) is told as ours:
    the sync after the claim shows whose it is."""
    row = store.get("claimable", work_order_id) or {}
    number = line(row.get("number")) or work_order_id
    try:
        outcome = await session.claim(work_order_id)
    except (Transient, Refused, AuthRequired) as exc:
        return ClaimAnswer(False, failure_text(exc, number), "error")
    mine = store.get("work_order", work_order_id)
    if mine is not None and mine.get("assignee_id") == store.engineer_id():
        outcome = Claimed.YOURS
    yours = outcome is Claimed.YOURS
    return ClaimAnswer(yours, outcome_text(outcome, number), "ok" if yours else "error")
