"""Builders shared by the mobile tests: server rows and pull pages as the feed sends them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from shared.ids import uuid7
from shared.sync import Change, Op, PullPage

NOW = dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def work_order(status: str = "assigned", **fields: Any) -> dict[str, Any]:
    return {
        "id": str(uuid7()),
        "number": "WO-000001",
        "status": status,
        "title": "Chiller alarm",
        "window_start": "2026-11-24T09:00:00+00:00",
        **fields,
    }


def put(entity: str, row: dict[str, Any]) -> Change:
    return Change(Op.PUT, entity, row["id"], row)


def page(*changes: Change, cursor: str = "c1", reset: bool = False) -> PullPage:
    return PullPage(cursor=cursor, has_more=False, reset=reset, changes=list(changes))
