"""The surveys API: templates, responses, scores computed by hand, a work order's survey."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.factories import Tenant, make_customer, make_tenant, make_ticket
from tests.fixtures.surveys import invite, make_response, make_template

Z = dt.UTC


async def _dataset(db: AsyncSession) -> tuple[Tenant, Any, Any]:
    """Five responses in Berlin's time zone, on both sides of two month ends, one in
    summer time (+02:00) and one in winter time (+01:00)."""
    t = await make_tenant(db)
    t.org.timezone = "Europe/Berlin"
    assert t.customer
    c1, (c2, _, _) = t.customer, await make_customer(db, t.org)
    rows = [
        (1, c1, dt.datetime(2026, 3, 31, 21, 30, tzinfo=Z), (5, 10, 1), "CH-200"),  # 23:30 Mar
        (1, c1, dt.datetime(2026, 3, 31, 22, 30, tzinfo=Z), (4, 9, 2), "CH-200"),  # 00:30 Apr
        (1, c2, dt.datetime(2026, 10, 31, 22, 30, tzinfo=Z), (2, 6, 5), "CH-200"),  # 23:30 Oct
        (2, c2, dt.datetime(2026, 10, 31, 23, 30, tzinfo=Z), (3, 8, None), "CH-300"),  # Nov
        (2, c1, dt.datetime(2026, 11, 15, 10, 0, tzinfo=Z), (None, 0, 7), None),
    ]
    for engineer, customer, at, scores, model in rows:
        await make_response(
            db, t, engineer=engineer, customer=customer, at=at, scores=scores, model=model
        )
    await db.commit()
    return t, c1, c2


def _row(n: int, csat: tuple[int, Any, Any], nps: tuple[int, Any], ces: tuple[int, Any]) -> dict:
    return {
        "responses": n,
        "csat_count": csat[0],
        "csat_mean": csat[1],
        "csat_satisfied_pct": csat[2],
        "nps_count": nps[0],
        "nps": nps[1],
        "ces_count": ces[0],
        "ces_mean": ces[1],
    }


async def _scores(client: httpx.AsyncClient, headers: dict[str, str], **query: str) -> dict:
    answer = await client.get("/api/v1/surveys/scores", params=query, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return {g.pop("group"): g for g in body["groups"]} | {"_zone": body["timezone"]}


async def test_scores_by_month_count_months_in_the_organisations_zone(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t, _, _ = await _dataset(db)
    got = await _scores(client, t.headers("dispatcher"), group_by="month")
    assert got == {
        "_zone": "Europe/Berlin",
        "2026-03": _row(1, (1, 5.0, 100.0), (1, 100.0), (1, 1.0)),
        "2026-04": _row(1, (1, 4.0, 100.0), (1, 100.0), (1, 2.0)),
        "2026-10": _row(1, (1, 2.0, 0.0), (1, -100.0), (1, 5.0)),
        # 8 is passive, 0 a detractor: (0 - 1) / 2
        "2026-11": _row(2, (1, 3.0, 0.0), (2, -50.0), (1, 7.0)),
    }


async def test_scores_by_engineer_product_model_and_customer(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t, c1, c2 = await _dataset(db)
    e1, e2 = (str(e.id) for e in t.engineers)
    admin = t.headers("admin")
    first = _row(3, (3, 3.67, 66.67), (3, 33.33), (3, 2.67))  # 11/3; 2 of 3; (2 - 1)/3
    assert await _scores(client, admin, group_by="engineer") == {
        "_zone": "Europe/Berlin",
        e1: first,
        e2: _row(2, (1, 3.0, 0.0), (2, -50.0), (1, 7.0)),
    }
    assert await _scores(client, admin, group_by="product_model") == {
        "_zone": "Europe/Berlin",
        "CH-200": first,
        "CH-300": _row(1, (1, 3.0, 0.0), (1, 0.0), (0, None)),
        None: _row(1, (0, None, None), (1, -100.0), (1, 7.0)),
    }
    by_customer = await _scores(client, admin, group_by="customer")
    assert by_customer[str(c1.id)] == _row(3, (2, 4.5, 100.0), (3, 33.33), (3, 3.33))
    assert by_customer[str(c2.id)] == _row(2, (2, 2.5, 0.0), (2, -50.0), (1, 5.0))
    since = {"from": "2026-04-01T00:00:00+02:00", "to": "2026-11-01T00:00:00+01:00"}
    window = await _scores(client, admin, group_by="engineer", **since)
    assert window == {
        "_zone": "Europe/Berlin",
        e1: _row(2, (2, 3.0, 50.0), (2, 0.0), (2, 3.5)),
    }


async def test_an_engineer_reads_their_own_responses_and_scores(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t, _, _ = await _dataset(db)
    mine = t.headers("engineer1")
    listed = await client.get("/api/v1/surveys/responses", headers=mine)
    assert listed.status_code == 200
    assert {r["engineer_id"] for r in listed.json()["items"]} == {str(t.engineers[0].id)}
    assert len(listed.json()["items"]) == 3
    scores = await _scores(client, mine, group_by="engineer")
    assert set(scores) == {"_zone", str(t.engineers[0].id)}
    other = await client.get(
        "/api/v1/surveys/responses",
        params={"engineer_id": str(t.engineers[1].id)},
        headers=mine,
    )
    assert other.json()["items"] == []


async def test_responses_filter_and_page(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t, c1, _ = await _dataset(db)
    admin = t.headers("viewer")
    url = "/api/v1/surveys/responses"
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await client.get(url, params=params, headers=admin)).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    query = {"customer_id": str(c1.id), "from": "2026-04-01T00:00:00+02:00"}
    found = (await client.get(url, params=query, headers=admin)).json()["items"]
    assert [(r["csat"], r["nps"]) for r in found] == [(4, 9), (None, 0)]
    models = (await client.get(url, params={"product_model": "CH-300"}, headers=admin)).json()
    assert [r["nps"] for r in models["items"]] == [8]
    b = await make_tenant(db)
    await db.commit()
    assert (await client.get(url, headers=b.headers("admin"))).json()["items"] == []


async def test_a_work_orders_survey(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    await make_template(db, t)
    got = await invite(db, t)
    b = await make_tenant(db)
    await db.commit()
    url = f"/api/v1/tickets/{got.ticket.id}/survey"
    before = await client.get(url, headers=t.headers("engineer1"))
    assert before.status_code == 200
    assert before.json()["invitation"]["status"] == "sent" and before.json()["response"] is None
    await client.post(f"/s/{got.token}", data={"csat": "4", "nps": "10", "ces": "1"})
    after = (await client.get(url, headers=t.headers("dispatcher"))).json()
    assert after["invitation"]["status"] == "answered"
    assert (after["response"]["csat"], after["response"]["nps"]) == (4, 10)
    for headers in (t.headers("engineer2"), b.headers("admin")):
        assert (await client.get(url, headers=headers)).status_code == 404
    assert t.customer
    fresh = await make_ticket(db, t.actor("dispatcher"), t.customer)
    await db.commit()
    none = await client.get(f"/api/v1/tickets/{fresh.id}/survey", headers=t.headers("admin"))
    assert none.json() == {"invitation": None, "response": None}


async def test_templates_admins_write_dispatchers_read(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t, b = await make_tenant(db), await make_tenant(db)
    await db.commit()
    url = "/api/v1/surveys/templates"
    body: dict[str, Any] = {
        "name": "After repair",
        "questions": ["nps", "csat", "comment"],
        "wording": {"zh_CN": {"nps": "您会推荐我们吗?"}},
        "delay_minutes": 120,
        "is_default": True,
        "priorities": ["P1", "P2"],
    }
    made = await client.post(url, json=body, headers=t.headers("admin"))
    assert made.status_code == 201, made.text
    assert made.headers["etag"] == '"v1"' and made.json()["expiry_days"] == 14
    template = made.json()["id"]
    assert (await client.post(url, json=body, headers=t.headers("admin"))).status_code == 409
    assert (await client.post(url, json=body, headers=t.headers("dispatcher"))).status_code == 403
    assert (await client.post(url, json=body, headers=b.headers("admin"))).status_code == 201
    listed = await client.get(url, headers=t.headers("dispatcher"))
    assert [x["id"] for x in listed.json()] == [template]
    for role in ("agent", "engineer1"):
        assert (await client.get(url, headers=t.headers(role))).status_code == 403
    second = await client.post(
        url, json={"name": "Default 2", "is_default": True}, headers=t.headers("admin")
    )
    assert second.json()["questions"] == ["csat", "nps", "comment"]
    read = await client.get(f"{url}/{template}", headers=t.headers("dispatcher"))
    assert read.json()["is_default"] is False and read.headers["etag"] == '"v2"'
    change = await client.patch(
        f"{url}/{template}",
        json={"active": False, "expiry_days": 30},
        headers={**t.headers("admin"), "If-Match": '"v2"'},
    )
    assert change.status_code == 200 and change.headers["etag"] == '"v3"'
    assert (change.json()["active"], change.json()["expiry_days"]) == (False, 30)
    for wrong in (
        {"questions": ["csat", "csat"]},
        {"questions": ["stars"]},
        {"delay_minutes": -1},
        {"expiry_days": 0},
        {"wording": {"fr": {"csat": "Satisfait ?"}}},
    ):
        answer = await client.post(
            url, json={"name": uuid.uuid4().hex, **wrong}, headers=t.headers("admin")
        )
        assert answer.status_code == 422, wrong
    foreign = await client.get(f"{url}/{template}", headers=b.headers("admin"))
    assert foreign.status_code == 404


async def test_a_period_that_ends_before_it_starts_is_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    period = {"from": "2026-12-31T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    for path, extra in (("scores", {"group_by": "month"}), ("responses", {})):
        r = await client.get(
            f"/api/v1/surveys/{path}", params={**period, **extra}, headers=t.headers("admin")
        )
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "to" and "after `from`" in r.json()["detail"]
    same = {"from": "2026-12-31T00:00:00Z", "to": "2026-12-31T00:00:00Z"}
    r = await client.get("/api/v1/surveys/responses", params=same, headers=t.headers("admin"))
    assert r.status_code == 422


async def test_an_engineer_now_on_the_work_order_does_not_read_what_was_said_of_another(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    from server.tickets import Ticket

    t = await make_tenant(db)
    response = await make_response(db, t, engineer=1)  # about engineer 1's work
    ticket = await db.get(Ticket, response.ticket_id)
    assert ticket is not None
    ticket.assignee_id, ticket.status = t.engineers[1].id, "assigned"  # reopened, reassigned
    await db.flush()
    url = f"/api/v1/tickets/{ticket.id}/survey"
    second = await client.get(url, headers=t.headers("engineer2"))
    assert second.status_code == 200, second.text
    assert second.json()["invitation"] is not None and second.json()["response"] is None
    admin = await client.get(url, headers=t.headers("admin"))
    assert admin.json()["response"]["id"] == str(response.id)
