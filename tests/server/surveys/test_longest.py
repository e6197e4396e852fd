"""A template and an answer with the longest text in every style: stored whole, shown on the
page, carried by the events (the detractor's comment too)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.events import OutboxEvent
from tests.fixtures.factories import make_tenant
from tests.fixtures.surveys import invite
from tests.server import longest


@pytest.mark.parametrize("style", list(longest.STYLES))
async def test_the_longest_template_and_answer(
    client: httpx.AsyncClient, db: AsyncSession, style: str
) -> None:
    t = await make_tenant(db)
    await db.commit()
    wording = {lang: {"csat": longest.text(style, 300)} for lang in ("en", "zh_CN")}
    body = {
        "name": longest.text(style, 200),
        "questions": ["csat", "comment"],
        "wording": wording,
        "is_default": True,
        "delay_minutes": 0,
    }
    made = await client.post("/api/v1/surveys/templates", json=body, headers=t.headers("admin"))
    assert made.status_code == 201, made.text
    assert made.json()["name"] == body["name"] and made.json()["wording"] == wording
    got = await invite(db, t)
    await db.commit()
    shown = await client.get(f"/s/{got.token}")
    assert shown.status_code == 200 and longest.text(style, 300) in shown.text
    comment = longest.text(style, 2000)
    answer = await client.post(f"/s/{got.token}", data={"csat": "1", "comment": comment})
    assert answer.status_code == 200, answer.text[:300]
    flagged = await db.scalar(
        select(OutboxEvent).where(
            OutboxEvent.topic == "survey.detractor", OutboxEvent.aggregate_id == got.ticket.id
        )
    )
    assert flagged is not None and flagged.payload["comment"] == comment
    listed = await client.get("/api/v1/surveys/responses", headers=t.headers("admin"))
    assert [r["comment"] for r in listed.json()["items"]] == [comment]
