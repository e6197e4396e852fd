from __future__ import annotations

import datetime as dt
import uuid

from pydantic import Field

from server.dispatch.snapshot import Job
from server.schemas import Output
from server.tickets import format_number


class ClaimableRead(Output):
    """A work order in the claim pool as an engineer sees it before claiming: what, where,
    when and what it needs (the customer's details come with the claim)."""

    ticket_id: uuid.UUID
    number: str = Field(description="Per-organisation number, e.g. WO-000123")
    title: str
    priority: str
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    service_minutes: int = Field(description="The estimate, else the default (60)")
    skills: dict[str, int] = Field(description="Required skills: name -> minimum level")
    territory: str | None
    lat: float | None
    lon: float | None
    sla_deadline: dt.datetime | None = Field(description="The SLA resolution deadline")


def claimable(job: Job) -> ClaimableRead:
    return ClaimableRead(
        ticket_id=job.ticket_id,
        number=format_number(job.number),
        title=job.title,
        priority=job.priority,
        window_start=job.window_start,
        window_end=job.window_end,
        service_minutes=job.service_seconds // 60,
        skills=job.skills,
        territory=job.territory,
        lat=job.location.lat if job.location else None,
        lon=job.location.lon if job.location else None,
        sla_deadline=job.sla_deadline,
    )
