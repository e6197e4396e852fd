"""Skills a careless client writes: full-width or Arabic-Indic digits for a level
("hvac:３", "hvac:٣"), a level out of 1..5, a colon in an engineer's skill name. Each is
422 saying what a skill may be, never pydantic's regular expression, and nothing is
written."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.engineers.models import Engineer
from server.tickets.models import Ticket
from tests.fixtures.factories import make_tenant

BAD_REQUIRED = ["hvac:３", "hvac:٣", "hvac:0", "hvac:6", "hvac:", "hvac/3"]
BAD_NAMES = ["hvac:3", "hvac/ac", "hvac：3"]


def _says_what_a_skill_is(problem: dict[str, object]) -> None:
    detail = str(problem["detail"])
    assert "should match pattern" not in detail, detail
    assert "e.g. hvac" in detail, detail


async def test_a_work_order_s_bad_required_skills_are_refused_saying_what_a_skill_is(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db, "Skills")
    assert t.customer is not None
    before = await db.scalar(select(func.count()).select_from(Ticket))
    for skill in BAD_REQUIRED:
        body = {
            "customer_id": str(t.customer.id),
            "title": "No cooling",
            "required_skills": [skill],
        }
        r = await client.post("/api/v1/tickets", json=body, headers=t.headers("dispatcher"))
        assert r.status_code == 422, (skill, r.text)
        assert r.json()["field"] == "required_skills.0"
        _says_what_a_skill_is(r.json())
    assert await db.scalar(select(func.count()).select_from(Ticket)) == before
    good = {"customer_id": str(t.customer.id), "title": "No cooling", "required_skills": ["hvac:3"]}
    r = await client.post("/api/v1/tickets", json=good, headers=t.headers("dispatcher"))
    assert r.status_code == 201, r.text


async def test_an_engineer_s_bad_skill_names_are_refused_saying_what_a_skill_is(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db, "Skills")
    before = await db.scalar(select(func.count()).select_from(Engineer))
    for n, name in enumerate(BAD_NAMES):
        body = {
            "email": f"skills{n}@example.com",
            "password": "a-long-secret-1",
            "display_name": "Li Na",
            "skills": {name: 3},
        }
        r = await client.post("/api/v1/engineers", json=body, headers=t.headers("admin"))
        assert r.status_code == 422, (name, r.text)
        _says_what_a_skill_is(r.json())
    assert await db.scalar(select(func.count()).select_from(Engineer)) == before
