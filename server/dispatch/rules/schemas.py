from __future__ import annotations

import datetime as dt

from pydantic import Field

from server.schemas import Input, Output
from server.tickets import Priority


class RuleUpdate(Input):
    enabled: bool = Field(description="Assign a new work order of this priority at once")
    fallback_to_pool: bool = Field(
        default=False, description="When nobody qualifies, open the work order for claiming"
    )

    model_config = {
        "json_schema_extra": {"examples": [{"enabled": True, "fallback_to_pool": True}]}
    }


class RuleRead(Output):
    priority: Priority
    enabled: bool
    fallback_to_pool: bool
    version: int
    updated_at: dt.datetime
