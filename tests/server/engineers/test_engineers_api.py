from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.factories import make_tenant

NEW = {
    "email": "li.na@example.com",
    "password": "a-long-secret-1",
    "display_name": "李娜",
    "skills": {"hvac": 4, "electrical": 2},
    "home_lat": 31.23,
    "home_lon": 121.47,
    "working_hours": {"mon": [["08:00", "17:00"]]},
    "territory": "Pudong",
    "locale": "zh_CN",
}


async def test_creating_an_engineer_creates_their_login(client: httpx.AsyncClient, db: Any) -> None:
    t = await make_tenant(db)
    created = await client.post("/api/v1/engineers", json=NEW, headers=t.headers("admin"))
    assert created.status_code == 201, created.text
    assert created.json()["skills"] == {"hvac": 4, "electrical": 2}
    login = await client.post(
        "/api/v1/auth/token", data={"username": NEW["email"], "password": NEW["password"]}
    )
    token = login.json()["access_token"]
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["role"] == "engineer"
    assert me.json()["engineer_id"] == created.json()["id"]
    assert me.json()["locale"] == "zh_CN"


async def test_home_location_is_hidden_from_agents_and_other_engineers(
    client: httpx.AsyncClient, db: Any
) -> None:
    t = await make_tenant(db)
    engineer = t.engineers[0]
    path = f"/api/v1/engineers/{engineer.id}"
    for who in ("admin", "dispatcher", "engineer1"):
        body = (await client.get(path, headers=t.headers(who))).json()
        assert body["home_lat"] == engineer.home_lat, who
    for who in ("agent", "viewer"):
        body = (await client.get(path, headers=t.headers(who))).json()
        assert body["home_lat"] is None and body["home_lon"] is None, who
        assert body["skills"] == engineer.skills
    listed = (await client.get("/api/v1/engineers", headers=t.headers("agent"))).json()
    assert all(e["home_lat"] is None for e in listed["items"])


async def test_engineer_filters_by_skill_territory_and_active(
    client: httpx.AsyncClient, db: Any
) -> None:
    t = await make_tenant(db)
    admin = t.headers("admin")
    await client.post("/api/v1/engineers", json=NEW, headers=admin)
    by_skill = await client.get("/api/v1/engineers", params={"skill": "electrical"}, headers=admin)
    assert [e["display_name"] for e in by_skill.json()["items"]] == ["李娜"]
    by_area = await client.get("/api/v1/engineers", params={"territory": "Pudong"}, headers=admin)
    assert len(by_area.json()["items"]) == 1
    engineer = t.engineers[1]
    await client.patch(
        f"/api/v1/engineers/{engineer.id}",
        json={"active": False},
        headers={**admin, "If-Match": '"v1"'},
    )
    inactive = await client.get("/api/v1/engineers", params={"active": "false"}, headers=admin)
    assert [e["id"] for e in inactive.json()["items"]] == [str(engineer.id)]


async def test_bad_working_hours_and_skill_levels_are_refused(
    client: httpx.AsyncClient, db: Any
) -> None:
    t = await make_tenant(db)
    for change in (
        {"working_hours": {"mon": [["17:00", "08:00"]]}},
        {"working_hours": {"someday": [["08:00", "17:00"]]}},
        {"skills": {"hvac": 9}},
        {"home_lat": 123.0},
    ):
        response = await client.post(
            "/api/v1/engineers",
            json={**NEW, "email": "x@example.com", **change},
            headers=t.headers("admin"),
        )
        assert response.status_code == 422, change
        assert response.json()["errors"]


async def test_duplicate_email_is_a_conflict(client: httpx.AsyncClient, db: Any) -> None:
    t = await make_tenant(db)
    assert (
        await client.post("/api/v1/engineers", json=NEW, headers=t.headers("admin"))
    ).status_code == 201
    again = await client.post("/api/v1/engineers", json=NEW, headers=t.headers("admin"))
    assert again.status_code == 409


async def test_team_and_hourly_cost_are_kept_and_the_rate_is_private(
    client: httpx.AsyncClient, db: Any
) -> None:
    t = await make_tenant(db)
    admin = t.headers("admin")
    body = {**NEW, "team": "HVAC East", "hourly_cost": "85.50"}
    created = await client.post("/api/v1/engineers", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert (created.json()["team"], created.json()["hourly_cost"]) == ("HVAC East", "85.50")
    path = f"/api/v1/engineers/{created.json()['id']}"
    changed = await client.patch(
        path, json={"team": "HVAC West", "hourly_cost": 90}, headers={**admin, "If-Match": '"v1"'}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["team"], changed.json()["hourly_cost"]) == ("HVAC West", "90.00")
    for who in ("agent", "viewer"):  # (other engineers do not see the profile at all)
        seen = (await client.get(path, headers=t.headers(who))).json()
        assert seen["team"] == "HVAC West" and seen["hourly_cost"] is None, who
    for bad in ({"hourly_cost": -1}, {"hourly_cost": "1.234"}, {"team": " "}):
        refused = await client.patch(path, json=bad, headers={**admin, "If-Match": '"v2"'})
        assert refused.status_code == 422, bad
