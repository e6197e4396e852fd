"""The sync API's bodies as OpenAPI documents them. The wire shapes are shared/sync.py's;
these models mirror them for the document (the push body is validated by shared/sync.py
itself, so that the phone and the server cannot disagree)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import Field

from server.schemas import AuditLabel, Input, Output


class ClientIn(Input):
    client_id: uuid.UUID = Field(description="The installation's id, chosen by the phone (a UUID)")
    device: Annotated[str, Field(max_length=200)] = Field(
        default="", description="What the phone is, for people (model, app version)"
    )


class ClientOut(Output):
    client_id: uuid.UUID
    last_seq: int = Field(description="The last mutation applied or rejected: push from +1")


class ResultOut(Output):
    seq: int
    outcome: Literal["applied", "rejected"]
    data: dict[str, Any]
    error: dict[str, Any] | None = Field(
        default=None, description="The problem (code, detail, field) of a rejected mutation"
    )


class PushOut(Output):
    last_seq: int
    results: list[ResultOut]


class ChangeOut(Output):
    op: Literal["put", "delete", "remove", "ack"]
    entity: str
    id: str
    data: dict[str, Any] | None


class PullOut(Output):
    cursor: str = Field(description="Opaque: send it with the next pull")
    has_more: bool
    reset: bool = Field(description="Replace every server row you hold with what follows")
    changes: list[ChangeOut]


class FlagRead(Output):
    id: uuid.UUID
    work_order_id: uuid.UUID
    engineer_id: uuid.UUID | None
    client_id: uuid.UUID | None
    seq: int | None
    kind: str
    status: Literal["open", "resolved", "dismissed"]
    detail: str
    payload: dict[str, Any]
    created_at: dt.datetime
    closed_at: dt.datetime | None
    closed_by: AuditLabel | None
    note: str | None


class RejectedRead(Output):
    """A mutation the push rejected, as the phone sent it, with the problem."""

    id: uuid.UUID = Field(description="The mutation's own id (the phone's UUIDv7)")
    client_id: uuid.UUID = Field(description="The installation that sent it")
    seq: int
    engineer_id: uuid.UUID
    name: str = Field(description="The mutation, e.g. labour.add")
    args: dict[str, Any] = Field(description="Its arguments as sent")
    work_order_id: uuid.UUID | None
    device_time: dt.datetime | None = Field(
        description="The phone's clock when the engineer acted (null: it did not check)"
    )
    received_at: dt.datetime
    error: dict[str, Any] | None = Field(
        description="The problem it was rejected with (status, code, detail, field, flag_id)"
    )


class FlagClose(Input):
    outcome: Literal["resolved", "dismissed"]
    note: Annotated[str, Field(max_length=2000)] | None = None
