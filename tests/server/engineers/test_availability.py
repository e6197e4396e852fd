"""An engineer's capacity, start and end sites, time off and shifts, through the API."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.customers.models import ServiceSite
from tests.fixtures.factories import Tenant, make_tenant

WEEKDAYS = {d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


async def _site(db: AsyncSession, t: Tenant, name: str = "Minhang depot", **kw: Any) -> ServiceSite:
    site = ServiceSite(
        org_id=t.org.id, name=name, kind="depot", lat=31.02, lon=121.43, version=1, **kw
    )
    db.add(site)
    await db.flush()
    return site


async def _etag(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> str:
    return (await client.get(url, headers=headers)).headers["etag"]


async def test_managers_set_capacity_rating_and_start_and_end_sites(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    depot = await _site(db, t)
    url = f"/api/v1/engineers/{t.engineers[0].id}"
    admin = t.headers("dispatcher")
    before = (await client.get(url, headers=admin)).json()
    assert before["rating"] == 4.0 and before["max_jobs_per_day"] is None
    body = {
        "max_jobs_per_day": 6,
        "max_minutes_per_day": 480,
        "rating": 4.5,
        "start_site_id": str(depot.id),
        "end_site_id": None,
    }
    tag = await _etag(client, url, admin)
    changed = await client.patch(url, json=body, headers={**admin, "If-Match": tag})
    assert changed.status_code == 200, changed.text
    assert {k: changed.json()[k] for k in body} == body
    # Everyone who reads the profile reads the rating; only managers write it.
    seen = await client.get(url, headers=t.headers("viewer"))
    assert seen.json()["rating"] == 4.5
    refused = await client.patch(
        url, json={"rating": 5}, headers={**t.headers("agent"), "If-Match": '"v2"'}
    )
    assert refused.status_code == 403


async def test_a_start_site_of_another_organisation_or_inactive_is_refused_naming_the_field(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    other = await make_tenant(db, "Other")
    foreign = await _site(db, other)
    closed = await _site(db, t, "Old depot", active=False)
    url = f"/api/v1/engineers/{t.engineers[0].id}"
    admin = t.headers("admin")
    for field, site, says in (
        ("start_site_id", foreign, "not found"),
        ("end_site_id", closed, "is inactive"),
    ):
        sent = await client.patch(
            url, json={field: str(site.id)}, headers={**admin, "If-Match": '"v1"'}
        )
        assert sent.status_code == 422, sent.text
        problem = sent.json()
        assert problem["field"] == field and says in problem["detail"]
    created = await client.post(
        "/api/v1/engineers",
        json={
            "email": "wang.fang@example.com",
            "password": "a-long-secret-1",
            "display_name": "Wang Fang",
            "start_site_id": str(foreign.id),
        },
        headers=admin,
    )
    assert created.status_code == 422 and created.json()["field"] == "start_site_id"


async def test_a_weekday_has_its_own_start_and_end_when_given(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    depot = await _site(db, t)
    foreign = await _site(db, await make_tenant(db, "Other"))
    url = f"/api/v1/engineers/{t.engineers[0].id}"
    admin = t.headers("dispatcher")
    days = {"sat": {"start": str(depot.id), "end": None}}
    changed = await client.patch(
        url, json={"day_sites": days}, headers={**admin, "If-Match": '"v1"'}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["day_sites"] == days
    assert (await client.get(url, headers=admin)).json()["day_sites"] == days
    for bad, says in (
        ({"sat": {"start": str(foreign.id)}}, "day_sites.sat.start"),
        ({"someday": {"start": None}}, "day_sites"),
        ({"sat": {"start": None, "where": "here"}}, "day_sites"),
    ):
        sent = await client.patch(
            url, json={"day_sites": bad}, headers={**admin, "If-Match": '"v2"'}
        )
        assert sent.status_code == 422, sent.text
        assert says in sent.text
    # null: no weekday of its own any more.
    cleared = await client.patch(
        url, json={"day_sites": None}, headers={**admin, "If-Match": '"v2"'}
    )
    assert cleared.status_code == 200 and cleared.json()["day_sites"] == {}


async def test_capacity_and_rating_bounds_are_422(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    url = f"/api/v1/engineers/{t.engineers[0].id}"
    headers = {**t.headers("admin"), "If-Match": '"v1"'}
    for body in (
        {"max_jobs_per_day": 0},
        {"max_jobs_per_day": 51},
        {"max_minutes_per_day": 1441},
        {"rating": 5.01},
        {"rating": -1},
    ):
        sent = await client.patch(url, json=body, headers=headers)
        assert sent.status_code == 422, (body, sent.text)


async def test_leave_is_cut_out_of_the_shifts_in_the_organisations_time_zone(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    t.org.timezone = "Asia/Shanghai"
    engineer = t.engineers[0]
    engineer.working_hours = WEEKDAYS
    await db.flush()
    base = f"/api/v1/engineers/{engineer.id}"
    dispatcher = t.headers("dispatcher")
    assert (await client.get(f"{base}/time-off", headers=dispatcher)).json()["items"] == []
    leave = {
        "kind": "leave",
        "starts_at": "2026-12-15T00:00:00+08:00",
        "ends_at": "2026-12-16T12:00:00+08:00",
        "note": "Family visit",
    }
    made = await client.post(f"{base}/time-off", json=leave, headers=dispatcher)
    assert made.status_code == 201, made.text
    extra = {
        "kind": "extra",
        "starts_at": "2026-12-19T09:00:00+08:00",
        "ends_at": "2026-12-19T13:00:00+08:00",
    }
    assert (await client.post(f"{base}/time-off", json=extra, headers=dispatcher)).is_success

    answer = await client.get(
        f"{base}/shifts", params={"from": "2026-12-14", "to": "2026-12-20"}, headers=dispatcher
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["timezone"] == "Asia/Shanghai"
    days = {d["date"]: d["shifts"] for d in body["days"]}
    assert len(days) == 7
    # Monday 08:00-17:00 Shanghai is 00:00-09:00 UTC.
    assert days["2026-12-14"] == [{"start": "2026-12-14T00:00:00Z", "end": "2026-12-14T09:00:00Z"}]
    assert days["2026-12-15"] == []  # on leave all day
    # Back at noon on Wednesday (04:00 UTC).
    assert days["2026-12-16"] == [{"start": "2026-12-16T04:00:00Z", "end": "2026-12-16T09:00:00Z"}]
    assert days["2026-12-19"] == [{"start": "2026-12-19T01:00:00Z", "end": "2026-12-19T05:00:00Z"}]
    assert days["2026-12-20"] == []

    # Removing the leave gives Tuesday back.
    await client.delete(f"{base}/time-off/{made.json()['id']}", headers=dispatcher)
    again = await client.get(
        f"{base}/shifts", params={"from": "2026-12-15", "to": "2026-12-15"}, headers=dispatcher
    )
    assert again.json()["days"][0]["shifts"] == [
        {"start": "2026-12-15T00:00:00Z", "end": "2026-12-15T09:00:00Z"}
    ]


async def test_an_engineer_reads_their_own_time_off_and_not_another_engineers(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    mine, theirs = t.engineers
    leave = {
        "kind": "sick",
        "starts_at": "2026-12-15T00:00:00Z",
        "ends_at": "2026-12-16T00:00:00Z",
    }
    for engineer in (mine, theirs):
        made = await client.post(
            f"/api/v1/engineers/{engineer.id}/time-off", json=leave, headers=t.headers("admin")
        )
        assert made.status_code == 201, made.text
    me = t.headers("engineer1")
    own = await client.get(f"/api/v1/engineers/{mine.id}/time-off", headers=me)
    assert own.status_code == 200 and [o["kind"] for o in own.json()["items"]] == ["sick"]
    other = await client.get(f"/api/v1/engineers/{theirs.id}/time-off", headers=me)
    assert other.status_code == 404
    shifts = await client.get(
        f"/api/v1/engineers/{theirs.id}/shifts",
        params={"from": "2026-12-15", "to": "2026-12-15"},
        headers=me,
    )
    assert shifts.status_code == 404
    # An engineer records no time off, not even their own.
    self_made = await client.post(f"/api/v1/engineers/{mine.id}/time-off", json=leave, headers=me)
    assert self_made.status_code == 403
    stranger = await make_tenant(db, "Stranger")
    foreign = await client.get(
        f"/api/v1/engineers/{mine.id}/time-off", headers=stranger.headers("admin")
    )
    assert foreign.status_code == 404


async def test_time_off_that_ends_before_it_starts_is_naive_or_too_long_is_422(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    url = f"/api/v1/engineers/{t.engineers[0].id}/time-off"
    good = {"kind": "leave", "starts_at": "2026-12-15T00:00:00Z", "ends_at": "2026-12-16T00:00:00Z"}
    cases = {
        "ends_at": {**good, "ends_at": "2026-12-14T00:00:00Z"},
        "starts_at": {**good, "starts_at": "2026-12-15T00:00:00"},  # no offset
        "kind": {**good, "kind": "holiday"},
        "note": {**good, "note": "x" * 501},
    }
    cases["ends_at too long"] = {**good, "ends_at": "2027-12-17T00:00:00Z"}
    for field, body in cases.items():
        sent = await client.post(url, json=body, headers=t.headers("admin"))
        assert sent.status_code == 422, (field, sent.text)
        assert sent.headers["content-type"].startswith("application/problem+json")
        named = {tuple(e["loc"])[-1] for e in sent.json()["errors"]}
        assert field.split()[0] in named, (field, sent.json())
    naive = await client.post(url, json=cases["starts_at"], headers=t.headers("admin"))
    assert "offset" in naive.text.lower(), naive.text


async def test_shifts_need_a_range_of_at_most_62_days_in_order(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    url = f"/api/v1/engineers/{t.engineers[0].id}/shifts"
    admin = t.headers("admin")
    wide = await client.get(url, params={"from": "2026-01-01", "to": "2026-03-04"}, headers=admin)
    assert wide.status_code == 422 and wide.json()["field"] == "to"
    backwards = await client.get(
        url, params={"from": "2026-01-02", "to": "2026-01-01"}, headers=admin
    )
    assert backwards.status_code == 422
    most = await client.get(url, params={"from": "2026-01-01", "to": "2026-03-03"}, headers=admin)
    assert most.status_code == 200 and len(most.json()["days"]) == 62


async def test_removing_time_off_of_another_engineer_is_404(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    leave = {
        "kind": "leave",
        "starts_at": "2026-12-15T00:00:00Z",
        "ends_at": "2026-12-16T00:00:00Z",
    }
    first, second = t.engineers
    made = await client.post(
        f"/api/v1/engineers/{first.id}/time-off", json=leave, headers=t.headers("admin")
    )
    off_id = made.json()["id"]
    wrong = await client.delete(
        f"/api/v1/engineers/{second.id}/time-off/{off_id}", headers=t.headers("admin")
    )
    assert wrong.status_code == 404
    right = await client.delete(
        f"/api/v1/engineers/{first.id}/time-off/{off_id}", headers=t.headers("admin")
    )
    assert right.status_code == 204
    listed = await client.get(f"/api/v1/engineers/{first.id}/time-off", headers=t.headers("admin"))
    assert listed.json()["items"] == []


async def test_the_time_off_list_pages_by_start_and_filters_by_end(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    url = f"/api/v1/engineers/{t.engineers[0].id}/time-off"
    admin = t.headers("admin")
    for day in (17, 3, 10):  # out of order
        body = {
            "kind": "training",
            "starts_at": f"2026-12-{day:02d}T01:00:00Z",
            "ends_at": f"2026-12-{day:02d}T05:00:00Z",
        }
        assert (await client.post(url, json=body, headers=admin)).status_code == 201
    first = await client.get(url, params={"limit": 2}, headers=admin)
    starts = [o["starts_at"][:10] for o in first.json()["items"]]
    assert starts == ["2026-12-03", "2026-12-10"] and first.json()["next_cursor"]
    rest = await client.get(
        url, params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=admin
    )
    assert [o["starts_at"][:10] for o in rest.json()["items"]] == ["2026-12-17"]
    later = await client.get(url, params={"ends_after": "2026-12-10T13:00:00+08:00"}, headers=admin)
    assert [o["starts_at"][:10] for o in later.json()["items"]] == ["2026-12-17"]
    naive = await client.get(url, params={"ends_after": "2026-12-10T13:00:00"}, headers=admin)
    assert naive.status_code == 422


async def test_why_someone_is_away_is_for_planners_and_themselves_when_for_everyone(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    engineer = t.engineers[0]
    engineer.working_hours = WEEKDAYS
    await db.flush()
    base = f"/api/v1/engineers/{engineer.id}"
    sick = {"kind": "sick", "starts_at": "2026-12-15T00:00:00Z", "ends_at": "2026-12-16T00:00:00Z"}
    assert (await client.post(f"{base}/time-off", json=sick, headers=t.headers("admin"))).is_success
    for who in ("agent", "viewer"):
        listed = await client.get(f"{base}/time-off", headers=t.headers(who))
        assert listed.status_code == 403, who
        shifts = await client.get(
            f"{base}/shifts",
            params={"from": "2026-12-15", "to": "2026-12-15"},
            headers=t.headers(who),
        )
        assert shifts.status_code == 200 and shifts.json()["days"][0]["shifts"] == [], who
    for who in ("dispatcher", "engineer1"):
        listed = await client.get(f"{base}/time-off", headers=t.headers(who))
        assert [o["kind"] for o in listed.json()["items"]] == ["sick"], who
