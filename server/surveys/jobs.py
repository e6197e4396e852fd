"""The surveys' job: send the invitations whose time has come."""

from __future__ import annotations

from typing import Any

from server.db import session_scope
from server.jobs import job
from server.surveys import invitations


@job("surveys.send_due", cron={"second": {7}}, keep_result=0)
async def send_due(ctx: dict[str, Any]) -> int:
    total = 0
    for _ in range(20):  # bounded: a huge backlog is finished by the next runs
        async with session_scope(ctx["sessionmaker"]) as session:
            sent = await invitations.send_due(session)
        total += sent
        if sent == 0:
            break
    return total


JOBS = (send_due,)
