"""A message before it is written to the delivery log."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from server.languages import Language
from server.notify.models import Status


@dataclass
class Draft:
    """One message: its template, who gets it, on which channel and address, in which
    language; ``status``/``not_before`` when it is suppressed or deferred from the start."""

    template: str
    recipient_kind: str  # user | customer | group (the organisation's IM group)
    recipient_id: uuid.UUID
    channel: str
    address: str
    lang: Language
    params: dict[str, Any] = field(default_factory=dict)
    ticket_id: uuid.UUID | None = None
    status: Status = Status.PENDING
    not_before: dt.datetime | None = None
