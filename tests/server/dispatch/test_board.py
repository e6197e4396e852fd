"""The dispatch board: each engineer's day as segments, and the map as GeoJSON."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.engineers.models import TimeOff
from server.field.models import LabourEntry, Visit, VisitCheck
from tests.fixtures.day_plans import at, field_engineer, job_at, tomorrow
from tests.fixtures.factories import make_tenant

BOARD = "/api/v1/dispatch/board"


def _spans(segments: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(s["kind"], s["start"][11:16], s["end"][11:16]) for s in segments]


async def test_the_board_shows_each_engineers_day_and_the_map(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db, "Board")
    day = tomorrow()
    engineer = await field_engineer(db, t, territory="East")
    await field_engineer(db, t, territory="West")
    first = await job_at(db, t, 31.21, 121.46, assign_to=engineer, priority="P2")
    second = await job_at(db, t, 31.22, 121.47, assign_to=engineer)
    first.planned_start, first.planned_end = at(day, "09:00"), at(day, "10:00")
    first.planned_travel_seconds, first.plan_position = 1800, 1
    second.planned_start, second.planned_end = at(day, "10:15"), at(day, "11:00")
    second.planned_travel_seconds, second.plan_position = 900, 2
    db.add(
        TimeOff(
            org_id=t.org.id,
            engineer_id=engineer.id,
            kind="sick",
            starts_at=at(day, "15:00"),
            ends_at=at(day, "17:00"),
        )
    )
    visit_id = uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    db.add(
        Visit(
            id=visit_id,
            org_id=t.org.id,
            ticket_id=first.id,
            engineer_id=engineer.id,
            number=1,
            created_by="test",
            received_at=now,
        )
    )
    await db.flush()
    db.add(
        VisitCheck(
            visit_id=visit_id,
            kind="in",
            org_id=t.org.id,
            device_time=now,
            received_at=now,
            clock_offset_s=0,
            clock_skew=False,
            lat=31.215,
            lon=121.465,
            far_from_site=False,
            recorded_by="test",
        )
    )
    db.add(
        LabourEntry(
            id=uuid.uuid4(),
            org_id=t.org.id,
            ticket_id=first.id,
            engineer_id=engineer.id,
            kind="break",
            started_at=at(day, "12:00"),
            ended_at=at(day, "12:30"),
            recorded_by="test",
            received_at=now,
        )
    )
    await db.flush()
    r = await client.get(
        BOARD,
        params={"date": day.isoformat(), "territory": "East"},
        headers=t.headers("dispatcher"),
    )
    assert r.status_code == 200, r.text
    board = r.json()
    assert [e["engineer_id"] for e in board["engineers"]] == [str(engineer.id)]
    assert _spans(board["engineers"][0]["segments"]) == [
        ("gap", "08:00", "08:30"),
        ("travel", "08:30", "09:00"),
        ("work", "09:00", "10:00"),
        ("travel", "10:00", "10:15"),
        ("work", "10:15", "11:00"),
        ("gap", "11:00", "12:00"),
        ("break", "12:00", "12:30"),
        ("gap", "12:30", "15:00"),
        ("off", "15:00", "17:00"),
    ]
    work = [s for s in board["engineers"][0]["segments"] if s["kind"] == "work"]
    assert work[0]["ticket_id"] == str(first.id) and work[0]["number"].startswith("WO-")
    features = board["map"]["features"]
    assert board["map"]["type"] == "FeatureCollection"
    where = [f for f in features if f["properties"]["kind"] == "engineer"]
    assert where == [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [121.465, 31.215]},
            "properties": {
                "kind": "engineer",
                "engineer_id": str(engineer.id),
                "name": engineer.display_name,
                "at": now.isoformat(),
            },
        }
    ]
    jobs = {f["properties"]["ticket_id"]: f for f in features if f["properties"]["kind"] == "job"}
    assert set(jobs) >= {str(first.id), str(second.id)}
    assert jobs[str(first.id)]["properties"]["priority"] == "P2"
    assert jobs[str(first.id)]["geometry"]["coordinates"] == [121.46, 31.21]


async def test_engineers_cannot_see_the_board_and_tenants_see_their_own(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    a, b = await make_tenant(db, "A"), await make_tenant(db, "B")
    params = {"date": tomorrow().isoformat()}
    r = await client.get(BOARD, params=params, headers=a.headers("engineer1"))
    assert r.status_code == 403
    mine = (await client.get(BOARD, params=params, headers=a.headers("dispatcher"))).json()
    names = {e["engineer_id"] for e in mine["engineers"]}
    assert names == {str(e.id) for e in a.engineers}
    assert not names & {str(e.id) for e in b.engineers}


async def test_a_date_out_of_range_is_422(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db, "Dates")
    r = await client.get(BOARD, params={"date": "0000-01-01"}, headers=t.headers("dispatcher"))
    assert r.status_code == 422 and "date" in r.text
