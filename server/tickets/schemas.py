from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import Field, model_validator

from server.schemas import (
    AsciiNumber,
    AuditLabel,
    Input,
    Instant,
    LongText,
    Output,
    Text200,
    matching,
)
from server.tickets.audit import format_number
from server.tickets.models import Channel, Priority, SlaState, Ticket, TicketType
from shared.lifecycle import Action, Status, allowed_actions

# Minutes a job takes: at most a week.
EstimatedMinutes = Annotated[int, Field(ge=1, le=7 * 24 * 60), AsciiNumber]
# A skill the work order needs: "hvac" (any level) or "hvac:3" (level 3 or more, of 1..5).
_SKILL = r"^[\w\- .]+(:[1-5])?$"
Skill = Annotated[
    str,
    Field(min_length=1, max_length=60, json_schema_extra={"pattern": _SKILL}, examples=["hvac:3"]),
    matching(
        _SKILL,
        "a required skill is a skill's name (letters, digits, spaces, '-' and '.'), then "
        "optionally ':' and the least level, 1 to 5 in ASCII digits: e.g. hvac or hvac:3",
    ),
]
FaultCode = Annotated[str, Field(min_length=1, max_length=40)]


def window_problem(start: dt.datetime | None, end: dt.datetime | None) -> str | None:
    """Why a visit window is not one, or None. Both ends are Instants (aware), so they
    compare; a PATCH checks the window it leaves behind, one end sent and one stored."""
    if start is not None and end is not None and end <= start:
        return "window_end must be after window_start"
    return None


def _window_ok(start: dt.datetime | None, end: dt.datetime | None) -> None:
    if (problem := window_problem(start, end)) is not None:
        raise ValueError(problem)


class TicketCreate(Input):
    customer_id: uuid.UUID
    site_id: uuid.UUID | None = None
    asset_id: uuid.UUID | None = None
    channel: Channel = Channel.API
    type: TicketType = TicketType.REPAIR
    priority: Priority = Priority.P3
    title: Text200
    description: LongText = ""
    fault_code: FaultCode | None = None
    required_skills: Annotated[list[Skill], Field(max_length=20)] = []
    window_start: Instant | None = None
    window_end: Instant | None = None
    estimated_minutes: EstimatedMinutes | None = None
    repeat_of_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _check(self) -> TicketCreate:
        _window_ok(self.window_start, self.window_end)
        return self

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "customer_id": "01935a2e-0000-7000-8000-000000000001",
                    "site_id": "01935a2e-0000-7000-8000-000000000002",
                    "priority": "P2",
                    "type": "repair",
                    "channel": "phone",
                    "title": "Chiller trips on high pressure",
                    "description": "Unit 2 alarm E31 since this morning",
                    "required_skills": ["hvac"],
                    "estimated_minutes": 90,
                }
            ]
        }
    }


class TicketUpdate(Input):
    """All fields optional; send only what changes. Status and assignee change through
    transitions, never here."""

    site_id: uuid.UUID | None = None
    asset_id: uuid.UUID | None = None
    channel: Channel | None = None
    type: TicketType | None = None
    priority: Priority | None = None
    title: Text200 | None = None
    description: LongText | None = None
    fault_code: FaultCode | None = None
    resolution_notes: LongText | None = None
    resolution_code: FaultCode | None = None
    root_cause: Annotated[str, Field(max_length=2000)] | None = None
    resolution_summary: Annotated[str, Field(max_length=5000)] | None = None
    required_skills: Annotated[list[Skill], Field(max_length=20)] | None = None
    window_start: Instant | None = None
    window_end: Instant | None = None
    estimated_minutes: EstimatedMinutes | None = None
    repeat_of_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _check(self) -> TicketUpdate:
        _window_ok(self.window_start, self.window_end)
        return self


class TicketRead(Output):
    id: uuid.UUID
    number: str = Field(description="Per-organisation number, e.g. WO-000123")
    status: Status
    customer_id: uuid.UUID
    site_id: uuid.UUID | None
    asset_id: uuid.UUID | None
    service_site_id: uuid.UUID | None = Field(
        description="The nearest active service site to the site (GET /api/v1/service-sites), "
        "set when the work order is created or its site changes; null without coordinates"
    )
    channel: Channel
    type: TicketType
    priority: Priority
    title: str
    description: str
    fault_code: str | None
    resolution_notes: str | None
    resolution_code: str | None
    root_cause: str | None
    resolution_summary: str | None
    required_skills: list[str]
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    estimated_minutes: int | None
    assignee_id: uuid.UUID | None
    open_for_claim: bool = Field(description="In the claim pool (docs/dispatch.md)")
    pinned: bool = Field(
        description="Claimed or confirmed: a re-plan never moves it to another engineer"
    )
    planned_start: dt.datetime | None = Field(
        description="The applied day plan's expected start of service (the ETA)"
    )
    planned_end: dt.datetime | None
    plan_position: int | None = Field(description="Its place in the engineer's planned day")
    planned_travel_seconds: int | None = Field(description="Planned travel before it")
    repeat_of_id: uuid.UUID | None
    sla_state: SlaState
    response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    on_hold_since: dt.datetime | None
    response_breached: bool
    resolution_breached: bool
    allowed_actions: list[Action]
    version: int
    created_by: AuditLabel
    created_at: dt.datetime
    updated_at: dt.datetime


HoldKind = Literal["waiting_customer", "waiting_parts", "other"]


class TransitionIn(Input):
    action: Action
    reason: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    engineer_id: uuid.UUID | None = Field(
        default=None, description="The engineer to assign (action `assign` only)"
    )
    hold_kind: HoldKind | None = Field(
        default=None,
        description="With `hold`: waiting_customer pauses the SLA clock; the others do not.",
    )
    force: bool = Field(
        default=False,
        description="With `assign`: assign an engineer who declined this work order "
        "(admins and dispatchers only; otherwise 409 `engineer_declined`).",
    )

    @model_validator(mode="after")
    def _force_assigns_only(self) -> TransitionIn:
        if self.force and self.action is not Action.ASSIGN:
            raise ValueError("force applies to assign only")
        return self

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"action": "assign", "engineer_id": "01935a2e-0000-7000-8000-00000000000a"},
                {"action": "hold", "hold_kind": "waiting_customer", "reason": "Customer away"},
            ]
        }
    }


class TicketEventRead(Output):
    id: uuid.UUID
    ticket_id: uuid.UUID
    kind: str
    action: str | None
    from_status: str | None
    to_status: str | None
    reason: str | None
    changes: dict[str, object]
    actor: AuditLabel
    created_at: dt.datetime


SortKey = Literal[
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "number",
    "-number",
    "priority",
    "-priority",
    "resolution_due_at",
    "-resolution_due_at",
]


def to_read(ticket: Ticket) -> TicketRead:
    """A work order as the API shows it (the list, the detail, every answer that carries one)."""
    data = {c: getattr(ticket, c) for c in TicketRead.model_fields if hasattr(ticket, c)}
    data["number"] = format_number(ticket.number)
    data["allowed_actions"] = list(allowed_actions(Status(ticket.status)))
    return TicketRead.model_validate(data)
