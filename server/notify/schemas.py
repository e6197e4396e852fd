from __future__ import annotations

import datetime as dt
import urllib.parse
import uuid
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from server import links
from server.notify.models import Provider, Status
from server.notify.templates import CUSTOMER_TEMPLATES
from server.schemas import Input, Output

ChannelName = Literal["email", "sms", "im"]
CustomerTemplate = Literal[
    "ticket_received",
    "engineer_assigned",
    "engineer_on_the_way",
    "ticket_resolved",
    "survey_invitation",
]
assert set(CustomerTemplate.__args__) == set(CUSTOMER_TEMPLATES)  # type: ignore[attr-defined]


class PreferencesIn(Input):
    channels: Annotated[list[ChannelName], Field(min_length=1, max_length=3)] = Field(
        description="Channels to try in order; the first that reaches the customer is used "
        "(email needs the customer's e-mail, sms their phone and the organisation's gateway, "
        "im the organisation's IM robot)"
    )
    lang: Literal["en", "zh_CN"] | None = Field(
        default=None, description="Language of the messages; null: English"
    )
    quiet_start: dt.time | None = Field(
        default=None, description="Start of quiet hours, local time of the organisation"
    )
    quiet_end: dt.time | None = Field(default=None, description="End of quiet hours")
    opt_out: bool = Field(default=False, description="No messages at all (logged as suppressed)")
    opt_out_templates: Annotated[list[CustomerTemplate], Field(max_length=5)] = Field(
        default_factory=list, description="No messages of these templates"
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "channels": ["sms", "email"],
                    "lang": "zh_CN",
                    "quiet_start": "21:00",
                    "quiet_end": "08:00",
                    "opt_out": False,
                    "opt_out_templates": ["survey_invitation"],
                }
            ]
        }
    }

    @field_validator("channels", "opt_out_templates")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("list each value once")
        return value

    @field_validator("quiet_start", "quiet_end")
    @classmethod
    def _naive(cls, value: dt.time | None) -> dt.time | None:
        if value is not None and value.tzinfo is not None:
            raise ValueError("give a local time without offset (the organisation's zone)")
        return value

    @model_validator(mode="after")
    def _quiet_hours(self) -> PreferencesIn:
        # Quiet hours with one end, or both ends alike, would be kept and mean nothing.
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("give both quiet_start and quiet_end, or neither (no quiet hours)")
        if self.quiet_start is not None and self.quiet_start == self.quiet_end:
            raise ValueError(
                "quiet_start and quiet_end are the same time: give a span (22:00 to 07:00), "
                "or neither for no quiet hours (opt_out stops every message)"
            )
        return self


class PreferencesRead(Output):
    customer_id: uuid.UUID
    channels: list[str]
    lang: str | None
    quiet_start: dt.time | None
    quiet_end: dt.time | None
    opt_out: bool
    opt_out_templates: list[str]
    version: int = Field(description="0: never set (the defaults)")


# Tokens and signing secrets are printable ASCII: one goes into an Authorization header,
# which cannot carry "ö" or a line break (the send failed on it, every time).
Secret = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[\x21-\x7e]+$")]
HttpUrl = Annotated[str, Field(min_length=8, max_length=2000, pattern=r"^https?://[^\s]+$")]


def _with_host(value: str) -> str:
    if not urllib.parse.urlsplit(value).hostname:
        raise ValueError("the URL needs a host")
    return value


class ChannelCreate(Input):
    kind: Provider
    url: HttpUrl = Field(description="The provider's endpoint (http or https)")
    secret: Secret | None = Field(
        default=None,
        description="sms_gateway: bearer token; dingtalk, feishu: the robot's signing secret",
    )
    body_template: dict[str, Any] | None = Field(
        default=None,
        description='sms_gateway only: the JSON body, strings may hold "{to}" and "{text}"',
    )
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _host(cls, value: str) -> str:
        return _with_host(value)


class ChannelUpdate(Input):
    url: HttpUrl | None = None
    secret: Secret | None = None
    body_template: dict[str, Any] | None = None
    enabled: bool | None = None

    @field_validator("url")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        return None if value is None else _with_host(value)


class ChannelRead(Output):
    id: uuid.UUID
    kind: str
    url: str = Field(description="Query values and a long last path segment masked (robot keys)")
    secret_hint: str | None = Field(description="The last 4 characters of the secret, or null")
    body_template: dict[str, Any] | None
    enabled: bool
    version: int
    created_at: dt.datetime


class NotificationRead(Output):
    """A logged message; the links it carried are shown cut (``/s/AaJQ…``): the token of a
    status or survey link is the customer's credential, and staff reading the log have no
    need to answer a customer's survey or write on their status page."""

    id: uuid.UUID
    event_id: uuid.UUID
    topic: str
    template: str
    recipient_kind: str
    recipient_id: uuid.UUID
    channel: str
    address: str
    lang: str
    subject: str
    body: str
    ticket_id: uuid.UUID | None
    status: Status
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    receipt: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None

    @field_validator("subject", "body")
    @classmethod
    def _no_live_links(cls, value: str) -> str:
        return links.service.masked(value)
