"""The KPI API against a hostile or careless client: what an engineer can learn of
others' work, and content negotiation."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.parts import service as parts
from server.parts.schemas import LocationCreate, MovementCreate, PartCreate
from server.reports import service
from server.reports.query import parse
from server.reports.router import wants_csv
from tests.fixtures.factories import make_tenant, make_ticket
from tests.server.reports.kpi_data import fact_of, march

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


async def test_an_engineers_organisation_column_is_the_whole_organisation_whatever_the_filters(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """A filter narrowing the organisation's values (a team, a customer, a fault code, the
    complaint type) would make them one other engineer's numbers: for an engineer the
    organisation column ignores the filters (their own column keeps them)."""
    data = await march(db)
    me = data.t.engineers[0].id
    headers = data.t.headers("engineer1")
    whole = await client.get("/api/v1/kpis/scorecards", params=MARCH, headers=headers)
    assert whole.status_code == 200, whole.text
    # C, engineer 2's only complaint, with a CSAT of 4: not to be read by engineer 1.
    for narrow in ({"type": "complaint"}, {"fault_code": "E2"}, {"product_model": "CH-200"}):
        for path in ("/api/v1/kpis/scorecards", f"/api/v1/kpis/scorecards/{me}"):
            answer = await client.get(path, params={**MARCH, **narrow}, headers=headers)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            organisation = (
                body["organisation"]
                if "organisation" in body
                else {line["metric"]: line["organisation"] for line in body["lines"]}
            )
            assert organisation == whole.json()["organisation"], (path, narrow)
    # A manager's organisation column keeps the filters.
    boss = await client.get(
        "/api/v1/kpis/scorecards",
        params={**MARCH, "type": "complaint"},
        headers=data.t.headers("dispatcher"),
    )
    assert boss.json()["organisation"]["csat"]["value"] == 4.0


def test_accept_weighs_csv_against_json() -> None:
    for accept in (
        "text/csv",
        "TEXT/CSV",
        "text/csv, */*",
        "text/csv;q=0.9, application/json;q=0.5",
        "application/json;q=0.1, text/csv",
        "text/csv, application/json",
    ):
        assert wants_csv(accept), accept
    for accept in (
        None,
        "",
        "*/*",
        "text/*",
        "application/json",
        "text/csv;q=0",
        "application/json, text/csv",
        "text/csv;q=0.5, */*",
        "text/csv;q=x",
        "text/csvx",
        "\x00",
        "text/csv;q=2",
    ):
        assert not wants_csv(accept), accept


async def test_csv_refused_by_accept_is_json(client: httpx.AsyncClient, db: AsyncSession) -> None:
    data = await march(db)
    for accept, csv in (
        ("text/csv;q=0", False),
        ("application/json, text/csv", False),
        ("text/csv", True),
    ):
        answer = await client.get(
            "/api/v1/kpis", params=MARCH, headers={**data.t.headers("viewer"), "Accept": accept}
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/csv") is csv, accept


async def test_the_organisation_column_shows_no_ledger_numbers_the_caller_may_not_read(
    db: AsyncSession,
) -> None:
    """The organisation's values beside a scorecard were computed as the system: a key
    without ``parts:read`` read the ledger's numbers there, an engineer the turnover."""
    t = await make_tenant(db)
    admin = t.actor("admin")
    part = await parts.create_part(db, admin, data=PartCreate(sku="F-1", name="Fan", cost=10))
    store = await parts.create_location(db, admin, data=LocationCreate(kind="warehouse", name="M"))
    assert t.customer and t.site
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site)
    db.add(fact_of(ticket, product_model="CH-200"))
    for kind, quantity, where in (
        ("receive", 10, {"to_location_id": store.id}),
        ("consume", 3, {"from_location_id": store.id, "ticket_id": ticket.id}),
    ):
        data = MovementCreate(kind=kind, part_id=part.id, quantity=quantity, **where)
        await parts.create_movement(db, admin, data=data)
    await db.flush()
    query = parse(
        start=None,
        end=None,
        today=await service.today(db, admin),
        period="none",
        metrics="parts_consumed_cost,parts_turnover",
    )
    boss = await service.scorecards(db, admin, query)
    assert boss.organisation["parts_consumed_cost"].value == 30
    assert boss.organisation["parts_turnover"].value is not None
    key = Actor(
        org_id=t.org.id,
        role=None,
        scopes=frozenset({"kpis:read", "engineers:read"}),
        label="key:k",
    )
    for reader in (key, t.actor("engineer1")):
        cards = await service.scorecards(db, reader, query)
        one = await service.scorecard(db, reader, t.engineers[0].id, query)
        for organisation in (cards.organisation, {ln.metric: ln.organisation for ln in one.lines}):
            assert organisation["parts_turnover"].value is None, reader.label
            if reader is key:
                assert organisation["parts_consumed_cost"].value == 0
