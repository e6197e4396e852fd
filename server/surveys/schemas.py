from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from server.schemas import AsciiNumber, Input, Output, Text200
from server.tickets import Priority, TicketType

Question = Literal["csat", "nps", "ces", "comment"]
QUESTIONS: tuple[Question, ...] = ("csat", "nps", "ces", "comment")
Lang = Literal["en", "zh_CN"]
# What a question's own wording may be (one sentence, one line on a phone or two).
Wording = Annotated[str, Field(min_length=1, max_length=300)]
DelayMinutes = Annotated[int, Field(ge=0, le=30 * 24 * 60), AsciiNumber]
ExpiryDays = Annotated[int, Field(ge=1, le=365), AsciiNumber]
WordingTable = dict[Lang, dict[Question, Wording]]


def _distinct(questions: list[Question]) -> list[Question]:
    if len(set(questions)) != len(questions):
        raise ValueError("name each question once")
    return questions


class TemplateCreate(Input):
    name: Text200
    questions: list[Question] = Field(
        default=["csat", "nps", "comment"],
        min_length=1,
        max_length=4,
        description="Asked in this order: csat (1-5), nps (0-10), ces (1-7), comment (text)",
    )
    wording: WordingTable = Field(
        default_factory=dict,
        description='Replaces the default wording: {"zh_CN": {"csat": "..."}}',
    )
    delay_minutes: DelayMinutes = Field(
        default=60, description="Minutes after the resolution before the invitation goes out"
    )
    expiry_days: ExpiryDays = Field(
        default=14, description="Days the survey link stays open after it is sent"
    )
    active: bool = True
    is_default: bool = Field(
        default=False,
        description="The template of work orders no other active template's filter matches",
    )
    ticket_types: list[TicketType] = Field(
        default_factory=list, max_length=5, description="Only these types; empty: any"
    )
    priorities: list[Priority] = Field(
        default_factory=list, max_length=4, description="Only these priorities; empty: any"
    )
    language: Lang | None = Field(
        default=None, description="The page's language unless ?lang= asks otherwise"
    )

    _questions = field_validator("questions")(_distinct)


class TemplateUpdate(Input):
    name: Text200 | None = None
    questions: list[Question] | None = Field(default=None, min_length=1, max_length=4)
    wording: WordingTable | None = None
    delay_minutes: DelayMinutes | None = None
    expiry_days: ExpiryDays | None = None
    active: bool | None = None
    is_default: bool | None = None
    ticket_types: list[TicketType] | None = Field(default=None, max_length=5)
    priorities: list[Priority] | None = Field(default=None, max_length=4)
    language: Lang | None = None

    @field_validator("questions")
    @classmethod
    def _once(cls, value: list[Question] | None) -> list[Question] | None:
        return None if value is None else _distinct(value)


class TemplateRead(Output):
    id: uuid.UUID
    name: str
    questions: list[str]
    wording: dict[str, dict[str, str]]
    delay_minutes: int
    expiry_days: int
    active: bool
    is_default: bool
    ticket_types: list[str]
    priorities: list[str]
    language: str | None
    version: int


class InvitationRead(Output):
    id: uuid.UUID
    ticket_id: uuid.UUID
    template_id: uuid.UUID
    customer_id: uuid.UUID
    engineer_id: uuid.UUID | None
    product_model: str | None
    status: str = Field(description="pending, sent, answered or skipped")
    resolved_at: dt.datetime
    send_at: dt.datetime
    expires_at: dt.datetime
    sent_at: dt.datetime | None


class ResponseRead(Output):
    id: uuid.UUID
    invitation_id: uuid.UUID
    ticket_id: uuid.UUID
    customer_id: uuid.UUID
    engineer_id: uuid.UUID | None
    product_model: str | None
    csat: int | None
    nps: int | None
    ces: int | None
    comment: str | None
    language: str
    detractor: bool
    submitted_at: dt.datetime


class TicketSurveyRead(Output):
    invitation: InvitationRead | None = Field(
        description="null: no survey (not resolved yet, or no active template matched)"
    )
    response: ResponseRead | None


GroupBy = Literal["engineer", "customer", "product_model", "month"]


class ScoreRow(Output):
    group: str | None = Field(
        description="The engineer's or customer's id, the product model, or the month "
        "(YYYY-MM in the organisation's time zone); null: responses without one"
    )
    responses: int
    csat_count: int
    csat_mean: float | None = Field(description="Mean CSAT (1-5), 2 decimals")
    csat_satisfied_pct: float | None = Field(description="% of CSAT answers that are 4 or 5")
    nps_count: int
    nps: float | None = Field(description="% promoters (9-10) minus % detractors (0-6)")
    ces_count: int
    ces_mean: float | None = Field(description="Mean CES (1-7), 2 decimals")


class ScoresRead(BaseModel):
    group_by: GroupBy
    timezone: str = Field(description="The zone months are counted in")
    groups: list[ScoreRow]
