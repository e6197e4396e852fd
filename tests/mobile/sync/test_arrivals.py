"""The engine hands the new work of a pull to ``on_arrivals`` once, after its last page
(several pages: one call with all of it; nothing new: no call); a callback that fails is
logged and the sync goes on. Against the real server: tests/mobile/e2e/test_new_work.py."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mobile.store import Store
from mobile.store.core import ACCESS_EXPIRES_AT, ACCESS_TOKEN, CURSOR, REFRESH_TOKEN, REGISTERED
from mobile.sync import SyncEngine
from tests.mobile.helpers import work_order

ME = "engineer-me"


class Feed:
    """``GET /api/v1/sync/pull``: the pages queued, one per request, then empty pages."""

    def __init__(self) -> None:
        self.pages: list[list[dict[str, Any]]] = []
        self.served = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        changes = self.pages.pop(0) if self.pages else []
        self.served += 1
        body = {
            "cursor": f"c{self.served}",
            "has_more": bool(self.pages),
            "reset": False,
            "changes": changes,
        }
        return httpx.Response(200, json=body)


def _assigned(number: str) -> dict[str, Any]:
    row = work_order("assigned", assignee_id=ME, number=number)
    return {"op": "put", "entity": "work_order", "id": row["id"], "data": row}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "phone.sqlite3")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    s.set_meta(**{ACCESS_TOKEN: "a", REFRESH_TOKEN: "r", ACCESS_EXPIRES_AT: later.isoformat()})
    s.set_meta(**{REGISTERED: "1", CURSOR: "c0", "engineer_id": ME})  # synced before
    yield s
    s.close()


@pytest.fixture
def feed() -> Feed:
    return Feed()


@pytest.fixture
async def told(store: Store, feed: Feed) -> AsyncIterator[tuple[SyncEngine, list[Any]]]:
    calls: list[Any] = []
    phone = SyncEngine(
        store,
        base_url="http://test",
        transport=httpx.MockTransport(feed.handle),
        on_arrivals=calls.append,
    )
    yield phone, calls
    await phone.aclose()


async def test_the_new_work_of_several_pages_is_told_once(
    told: tuple[SyncEngine, list[Any]], feed: Feed
) -> None:
    phone, calls = told
    feed.pages = [[_assigned("WO-000001")], [], [_assigned("WO-000002")]]

    assert await phone.pull() == 2
    assert [[a["number"] for a in call] for call in calls] == [["WO-000001", "WO-000002"]]

    await phone.pull()  # nothing new
    assert len(calls) == 1


async def test_a_failing_notification_is_logged_and_the_pull_completes(
    store: Store, feed: Feed, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(arrivals: list[dict[str, Any]]) -> None:
        raise RuntimeError("no notification service")

    feed.pages = [[_assigned("WO-000003")]]
    async with SyncEngine(
        store, base_url="http://test", transport=httpx.MockTransport(feed.handle)
    ) as phone:
        phone.on_arrivals = broken
        with caplog.at_level(logging.ERROR, logger="mobile.sync.engine"):
            assert await phone.pull() == 1
    assert "on_arrivals failed" in caplog.text
    assert store.cursor == "c1"
    assert [i["kind"] for i in store.attention()] == ["assigned"]
