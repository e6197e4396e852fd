from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import EmailStr, Field

from server.auth.models import Duty, Role
from server.schemas import Input, Output, Text200

DUTIES = (
    "what the user answers for beyond their role: service_manager (SLA alerts, escalations, "
    "survey detractors), second_line (the expert an escalation reaches), parts_manager "
    "(stock alerts)"
)


class TokenOut(Output):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")


class RefreshIn(Input):
    refresh_token: Annotated[str, Field(min_length=10, max_length=200)]


class ApiKeyCreate(Input):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    scopes: Annotated[
        list[Annotated[str, Field(max_length=40)]], Field(min_length=1, max_length=20)
    ]

    model_config = {
        "json_schema_extra": {"examples": [{"name": "ERP sync", "scopes": ["tickets:read"]}]}
    }


class ApiKeyRead(Output):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_by: uuid.UUID = Field(
        description="The admin who created the key. The key belongs to the organisation and "
        "keeps working when that admin is deactivated or demoted: review and revoke it then."
    )
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str | None = Field(
        description="The secret. Shown once: store it now. A replay of the request (same "
        "Idempotency-Key) answers null: revoke the key and create another if it was lost."
    )


class UserCreate(Input):
    email: EmailStr
    full_name: Text200
    password: Annotated[str, Field(min_length=10, max_length=200)]
    role: Role
    locale: Annotated[str, Field(pattern=r"^(en|zh_CN)$")] = "en"
    duties: Annotated[list[Duty], Field(max_length=len(Duty), description=DUTIES)] = []


class UserUpdate(Input):
    full_name: Text200 | None = None
    role: Role | None = None
    locale: Annotated[str, Field(pattern=r"^(en|zh_CN)$")] | None = None
    duties: Annotated[list[Duty], Field(max_length=len(Duty), description=DUTIES)] | None = None
    is_active: bool | None = Field(
        default=None, description="false blocks log-in and revokes the user's refresh tokens"
    )


class UserRead(Output):
    id: uuid.UUID
    email: str
    full_name: str
    role: Role
    locale: str
    duties: list[Duty]
    is_active: bool
    version: int
    created_at: dt.datetime


class MeRead(UserRead):
    org_id: uuid.UUID
    engineer_id: uuid.UUID | None
    scopes: list[str]
