from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import Field

from server.schemas import Output


class ReasonOut(Output):
    code: str = Field(description="Machine-readable (docs/dispatch.md lists every code)")
    params: dict[str, Any]
    text: str = Field(description="The reason in the caller's language")


class LoadOut(Output):
    jobs: int = Field(description="Jobs already planned that day")
    work_seconds: int = Field(description="Work already planned that day, travel included")


class CandidateOut(Output):
    rank: int
    engineer_id: uuid.UUID
    name: str
    score: float = Field(description="The sum of `components`; lower is better")
    components: dict[str, float]
    insert_position: int = Field(description="Before this planned job (0: first)")
    arrival: dt.datetime
    start: dt.datetime = Field(description="Earliest feasible start of service")
    end: dt.datetime
    travel_added_seconds: int
    sla_slack_seconds: int | None = Field(description="SLA deadline minus the end; None: none")
    load: LoadOut
    rating: float
    has_parts: bool = Field(description="The van holds every part the job needs")
    missing_parts: int
    preferred: bool = Field(description="The customer's preferred engineer")
    reasons: list[ReasonOut]


class FilteredOut(Output):
    engineer_id: uuid.UUID
    name: str
    reason: ReasonOut


class CandidatesOut(Output):
    ticket_id: uuid.UUID
    number: str
    mode: Literal["now", "scheduled"]
    earliest_start: dt.datetime
    latest_start: dt.datetime
    date: dt.date = Field(description="The engineers' day considered (organisation's zone)")
    timezone: str
    language: Literal["en", "zh_CN"]
    feasible: int = Field(description="How many engineers could take it (all, not only listed)")
    candidates: list[CandidateOut]
    filtered: list[FilteredOut]


class AutoAssignOut(Output):
    ticket_id: uuid.UUID
    assigned: bool
    engineer_id: uuid.UUID | None
    reason: str = Field(description="Why this engineer, or why nobody, in the caller's language")
    opened_for_claim: bool = False
