"""Escalation's request and response bodies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import Field, StrictInt, field_validator, model_validator

from server.schemas import AsciiNumber, Input, Output
from server.text import visible
from server.tickets import Priority

NAMED_OWNERS = ("agent", "dispatcher", "second_line", "service_manager")
Minutes = Annotated[StrictInt, Field(ge=1, le=10080), AsciiNumber]


class Step(Input):
    trigger: Literal["at_risk", "breached"] | Minutes = Field(
        description='"at_risk" or "breached" (the SLA), or minutes after the previous step '
        "was reached (1-10080)"
    )
    action: Literal["notify", "reassign"] = Field(
        description="notify: the owner is told to act; reassign: the owner takes the "
        "escalation over"
    )
    owner: str = Field(
        max_length=40,
        description='a duty ("second_line", "service_manager"), a role ("agent": the '
        'service desk, "dispatcher") or a user id',
    )
    due_minutes: Minutes = Field(description="minutes the owner has to act (1-10080)")

    @model_validator(mode="after")
    def _owner_known(self) -> Step:
        if self.owner not in NAMED_OWNERS:
            try:
                user_id = uuid.UUID(self.owner)
            except ValueError:
                raise ValueError(
                    f"owner must be one of {', '.join(NAMED_OWNERS)} or a user id, "
                    f"not {self.owner!r}"
                ) from None
            # One spelling of a user id (not "{...}", upper case or without hyphens), so a
            # stored policy names its owner as every other answer names that user.
            self.owner = str(user_id)
        return self


class PolicyUpdate(Input):
    steps: list[Step] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def _ordered(self) -> PolicyUpdate:
        triggers = [s.trigger for s in self.steps]
        if isinstance(triggers[0], int):
            raise ValueError("the first step's trigger must be 'at_risk' or 'breached'")
        for name in ("at_risk", "breached"):
            if triggers.count(name) > 1:
                raise ValueError(f"only one step may have the trigger '{name}'")
        if "at_risk" in triggers and "breached" in triggers:
            if triggers.index("at_risk") > triggers.index("breached"):
                raise ValueError("the 'at_risk' step must come before the 'breached' step")
        return self

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "steps": [
                        {
                            "trigger": "at_risk",
                            "action": "notify",
                            "owner": "agent",
                            "due_minutes": 30,
                        },
                        {
                            "trigger": "breached",
                            "action": "reassign",
                            "owner": "second_line",
                            "due_minutes": 60,
                        },
                        {
                            "trigger": 60,
                            "action": "reassign",
                            "owner": "service_manager",
                            "due_minutes": 120,
                        },
                    ]
                }
            ]
        }
    }


class PolicyRead(Output):
    priority: Priority
    steps: list[Step]
    default: bool = Field(description="true: no policy set, the default chain applies")
    version: int = Field(description="0 for the default chain")
    updated_at: dt.datetime | None


class EscalationStepRead(Output):
    level: int
    trigger: str
    action: str
    owner: str
    owner_user_id: uuid.UUID | None
    reason: str
    reached_at: dt.datetime
    due_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by: uuid.UUID | None
    ended_at: dt.datetime | None


class EscalationRead(Output):
    ticket_id: uuid.UUID
    ticket_number: str
    level: int = Field(description="0: not escalated")
    owner_user_id: uuid.UUID | None
    due_at: dt.datetime | None
    overdue: bool
    acknowledged: bool
    active: bool = Field(description="false once resolved, closed or cancelled")
    next_step: Step | None
    steps: list[EscalationStepRead]


class FollowupRead(Output):
    id: uuid.UUID
    ticket_id: uuid.UUID
    kind: str
    assignee_user_id: uuid.UUID
    due_at: dt.datetime
    status: str
    note: str
    outcome: str | None
    created_at: dt.datetime
    completed_at: dt.datetime | None
    completed_by: str | None
    version: int


class FollowupComplete(Input):
    outcome: str = Field(min_length=1, max_length=5000, description="what the call found")

    @field_validator("outcome")
    @classmethod
    def _written(cls, value: str) -> str:
        # Zero-width or direction marks alone pass strip() and min_length: nothing found.
        if not visible(value):
            raise ValueError("write what the call found")
        return value


class MineRead(Output):
    id: uuid.UUID = Field(description="the current step's id")
    ticket_id: uuid.UUID
    ticket_number: str
    title: str
    level: int
    action: str
    reason: str
    due_at: dt.datetime
    overdue: bool
    acknowledged: bool
