"""Whether an engineer qualifies for a work order: the one rule, on snapshot facts.

The claim pool (``GET /claims``, ``POST /tickets/{id}/claim``), the recommendation and the
phone's sync of the pool all ask ``reasons``, so an engineer is offered exactly the work
they may take. It is pure: the caller reads the facts (``server.dispatch.snapshot``), with
the engineer's day on ``job_date`` (the date of the window's start, else today, in the
organisation's time zone). An empty list means eligible; otherwise every reason that
applies, in this order:

- ``missing_skill``: a required skill the engineer does not have at all;
- ``skill_level``: a required skill held below the level the job needs (``name:N``);
- ``outside_territory``: the job's territory is not the engineer's (either one None: fine);
- ``off_shift``: no shift on the job's date;
- ``full``: as many jobs planned on that date as ``max_jobs_per_day`` allows;
- ``declined``: the engineer declined (rejected) this work order before;
- ``no_location``: the job has no location (its site has none), so nobody can be sent.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from zoneinfo import ZoneInfo

from server.dispatch.snapshot import EngineerDay, Job


class Reason(StrEnum):
    MISSING_SKILL = "missing_skill"
    SKILL_LEVEL = "skill_level"
    OUTSIDE_TERRITORY = "outside_territory"
    OFF_SHIFT = "off_shift"
    FULL = "full"
    DECLINED = "declined"
    NO_LOCATION = "no_location"


def job_date(job: Job, tz: ZoneInfo, now: dt.datetime) -> dt.date:
    """The date whose shifts decide availability: the window's start, else ``now``'s date,
    both in the organisation's time zone."""
    return (job.window_start or now).astimezone(tz).date()


def reasons(day: EngineerDay, job: Job) -> list[Reason]:
    """Why the engineer of ``day`` may not take ``job`` (empty: they may); ``day`` is their
    day on ``job_date(job, ...)``."""
    out: list[Reason] = []
    levels = [day.skills.get(name) for name in job.skills]
    if any(level is None for level in levels):
        out.append(Reason.MISSING_SKILL)
    if any(
        have is not None and have < job.skills[name]
        for name, have in zip(job.skills, levels, strict=True)
    ):
        out.append(Reason.SKILL_LEVEL)
    if job.territory is not None and day.territory is not None and job.territory != day.territory:
        out.append(Reason.OUTSIDE_TERRITORY)
    if not day.shifts:
        out.append(Reason.OFF_SHIFT)
    others = [stop for stop in day.stops if stop.ticket_id != job.ticket_id]
    if day.max_jobs is not None and len(others) >= day.max_jobs:
        out.append(Reason.FULL)
    if day.engineer_id in job.declined:
        out.append(Reason.DECLINED)
    if job.location is None:
        out.append(Reason.NO_LOCATION)
    return out
