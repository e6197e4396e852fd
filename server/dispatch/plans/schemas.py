"""Day plans' request and response shapes (docs/dispatch.md "Day plans")."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from server.schemas import AsciiNumber, Day, Input, Output, Territory


class PlanCreate(Input):
    date: Day
    territory: Territory | None = Field(
        default=None, description="A territory's plan; none: the whole organisation"
    )
    seconds: Annotated[int, Field(ge=1, le=60), AsciiNumber] | None = Field(
        default=None,
        description="The solver's time limit, 1 to 60 seconds (default FIXFLOW_PLAN_SECONDS, 10)",
    )
    base_plan_id: uuid.UUID | None = Field(
        default=None,
        description="Re-plan from this applied plan with minimal disruption: planned work "
        "orders keep their engineer unless moving one is needed",
    )

    model_config = {
        "json_schema_extra": {"examples": [{"date": "2026-12-08", "territory": "Pudong"}]}
    }


class PlanRead(Output):
    id: uuid.UUID
    plan_date: dt.date
    territory: str | None
    status: str
    seconds: int
    base_plan_id: uuid.UUID | None
    requested_by: str
    result: dict[str, Any] | None = Field(
        description="Routes, unassigned work orders with reasons, engineers skipped, the "
        "objective (docs/dispatch.md)"
    )
    error: str | None
    created_at: dt.datetime
    solved_at: dt.datetime | None
    applied_at: dt.datetime | None
    applied_by: str | None
    version: int

    @field_validator("result")
    @classmethod
    def _without_model(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # The solver's problem (its travel matrix grows with the square of the stops) stays
        # in the row, for re-checking a plan; callers read the routes.
        if value is None:
            return None
        return {k: v for k, v in value.items() if k != "model"}


class PlanList(Output):
    items: list[PlanRead]


class Slot(Output):
    engineer_id: uuid.UUID | None
    planned_start: dt.datetime | None
    planned_end: dt.datetime | None


class JobChange(Output):
    ticket_id: uuid.UUID
    number: str
    change: Literal["newly_assigned", "reassigned", "retimed", "unassigned", "unchanged"]
    reason: str | None = Field(description="Why the plan leaves it out (unassigned only)")
    before: Slot
    after: Slot


class ChangeCounts(Output):
    newly_assigned: int
    reassigned: int
    retimed: int
    unassigned: int
    unchanged: int


class TravelBeforeAfter(Output):
    before: int = Field(description="The current planned_travel_seconds, summed")
    after: int = Field(description="The plan's travel, return legs included")


class PlanComparison(Output):
    plan_id: uuid.UUID
    status: str
    stale: bool = Field(description="Work orders changed since the plan: applying answers 409")
    changed_since_plan: list[str]
    counts: ChangeCounts
    travel_seconds: TravelBeforeAfter
    jobs: list[JobChange]
