from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import Field, field_validator

from server.schemas import Input, Output, Text500
from server.webhooks import topics

Url = Annotated[
    str, Field(min_length=8, max_length=2000, examples=["https://erp.example.com/hook"])
]
EventTypes = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=80)]],
    Field(min_length=1, max_length=50, examples=[["ticket.*", "survey.responded"]]),
]


def _known(patterns: list[str] | None) -> list[str] | None:
    if patterns is None:
        return None
    for pattern in patterns:
        if (why := topics.problem(pattern)) is not None:
            raise ValueError(why)
    return list(dict.fromkeys(patterns))


class EndpointCreate(Input):
    url: Url
    event_types: EventTypes
    description: Text500 | None = None

    _types = field_validator("event_types")(_known)


class EndpointUpdate(Input):
    url: Url | None = None
    event_types: EventTypes | None = None
    description: Text500 | None = None

    _types = field_validator("event_types")(_known)


class EndpointRead(Output):
    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    disabled_at: dt.datetime | None
    disabled_reason: str | None
    failing_since: dt.datetime | None
    previous_secret_until: dt.datetime | None
    version: int
    created_at: dt.datetime


class EndpointWithSecret(EndpointRead):
    secret: str | None = Field(
        description="whsec_...: shown once (null in a replay of the same Idempotency-Key); "
        "keep it to verify signatures"
    )


class EventType(Output):
    name: str
    description: str


class AttemptRead(Output):
    started_at: dt.datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_excerpt: str | None


class DeliveryRead(Output):
    id: uuid.UUID
    webhook_id: str
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: dt.datetime | None
    created_at: dt.datetime


class DeliveryDetail(DeliveryRead):
    body: str
    attempt_log: list[AttemptRead]
