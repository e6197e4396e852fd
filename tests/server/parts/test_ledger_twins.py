"""The stock ledger's fast paths write exactly what their ORM twins write.

A movement reads its part and locations in one hand-written query (``parts.movement_lookup``)
and changes the balances, writes its ledger line and reads the minimums in one hand-written
statement (``parts.ledger_shift``; server/fastpaths.py). The same movements run twice, in
two organisations set up the same way: once with the fast paths on, once with every fast
path off (FIXFLOW_FAST_PATHS), and every row each run wrote is compared: the ledger lines,
the balances and their flags, the replenishment levels, the outbox events, the change-feed
rows, and what the service answered (a shortage refused alike).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.parts import service as parts_service
from server.parts.ledger import service as ledger
from server.parts.ledger.service import StockShortage
from server.parts.replenishment import service as replenishment
from tests.fixtures.factories import Tenant, make_location, make_part, make_tenant, make_ticket
from tests.fixtures.factories import move as record_move
from tests.fixtures.fast_paths import spy, switch


async def _rows(db: AsyncSession, sql: str, **params: Any) -> list[dict[str, Any]]:
    await db.flush()
    return [dict(r) for r in (await db.execute(text(sql), params)).mappings()]


async def _scene(db: AsyncSession, t: Tenant) -> dict[str, Any]:
    assert t.customer and t.site and t.asset
    admin = t.actor("admin")
    part = await make_part(db, admin, sku="TWIN-1", cost=Decimal("12.50"), price=Decimal("20"))
    warehouse = await make_location(db, admin, name="Main warehouse")
    van = await parts_service.ensure_van(db, t.engineers[0])
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, t.asset, assign_to=t.engineers[0]
    )
    await replenishment.set_level(
        db,
        admin,
        location_id=van.id,
        part_id=part.id,
        minimum=Decimal(2),
        target=Decimal(5),
        expected_version=None,
    )
    await db.flush()
    return {"part": part, "warehouse": warehouse, "van": van, "ticket": ticket}


def _line(line: ledger.Line) -> dict[str, Any]:
    return {k: v for k, v in vars(line).items() if k not in ("id", "created_at")}


async def _movements(db: AsyncSession, t: Tenant, s: dict[str, Any]) -> list[Any]:
    """Receive, transfer, reserve, the engineer's consumptions (using the reservation,
    falling below the minimum, then below zero), a return, an adjustment, a scrap and a
    refused transfer; what the service answered each time."""
    admin, engineer = t.actor("admin"), t.actor("engineer1")
    part, warehouse, van, ticket = s["part"].id, s["warehouse"].id, s["van"].id, s["ticket"].id
    answers: list[Any] = []
    for actor, fields in (
        (admin, {"kind": "receive", "quantity": 10, "to_location_id": warehouse}),
        (
            admin,
            {
                "kind": "transfer",
                "quantity": 4,
                "from_location_id": warehouse,
                "to_location_id": van,
            },
        ),
        (admin, {"kind": "reserve", "quantity": 1, "from_location_id": van, "ticket_id": ticket}),
        (
            engineer,
            {"kind": "consume", "quantity": 3, "from_location_id": van, "ticket_id": ticket},
        ),
        (
            engineer,
            {"kind": "consume", "quantity": 2, "from_location_id": van, "ticket_id": ticket},
        ),
        (
            engineer,
            {
                "kind": "return",
                "quantity": 1,
                "to_location_id": van,
                "condition": "good",
                "ticket_id": ticket,
            },
        ),
        (
            admin,
            {
                "kind": "adjust",
                "quantity": 2,
                "to_location_id": van,
                "direction": "increase",
                "reason": "counted",
            },
        ),
        (admin, {"kind": "scrap", "quantity": 1, "from_location_id": warehouse, "reason": "bent"}),
    ):
        answers.append(_line(await record_move(db, actor, part_id=part, **fields)))
    with pytest.raises(StockShortage) as refused:
        async with db.begin_nested():  # as the request's rollback would undo it
            await record_move(
                db,
                admin,
                part_id=part,
                kind="transfer",
                quantity=50,
                from_location_id=warehouse,
                to_location_id=van,
            )
    answers.append((refused.value.detail, refused.value.extra))
    return answers


def _named(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _named(v, names) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_named(v, names) for v in value]
    key = str(value) if isinstance(value, uuid.UUID) else value
    if isinstance(key, str):
        if key in names:
            return names[key]
        for raw, name in names.items():  # ids inside text (a shortage names the location)
            key = key.replace(raw, name)
        try:
            dt.datetime.fromisoformat(key)
        except ValueError:
            return key
        return "an instant"
    return value


async def _written(
    db: AsyncSession, t: Tenant, s: dict[str, Any], answers: list[Any]
) -> dict[str, Any]:
    org = t.org.id
    names = {str(t.org.id): "org", str(t.engineers[0].id): "engineer1"}
    names.update({str(value.id): key for key, value in s.items()})
    site = await _rows(db, "SELECT id FROM stock_locations WHERE site_id = :s", s=t.site.id)
    names[str(site[0]["id"])] = "site"
    for who in t.users:
        names[t.actor(who).label] = who
    lines = await _rows(
        db,
        "SELECT * FROM stock_movements WHERE org_id = :o ORDER BY id",
        o=org,
    )
    balances = await _rows(
        db,
        "SELECT location_id, part_id, on_hand, reserved, needs_reconciliation "
        "FROM stock_balances WHERE org_id = :o",
        o=org,
    )
    levels = await _rows(
        db,
        "SELECT location_id, minimum, target, below_minimum FROM stock_levels WHERE org_id = :o",
        o=org,
    )
    outbox = await _rows(
        db,
        "SELECT topic, aggregate_id, payload FROM outbox_events "
        "WHERE org_id = :o AND topic LIKE 'stock.%' ORDER BY id",
        o=org,
    )
    feed = await _rows(
        db,
        "SELECT scope, entity, entity_id, op FROM sync_changes WHERE org_id = :o "
        "AND entity IN ('part', 'stock_balance')",
        o=org,
    )
    return {
        "answers": _named(answers, names),
        "lines": [
            _named({k: v for k, v in line.items() if k not in ("id", "created_at")}, names)
            for line in lines
        ],
        "balances": sorted((_named(b, names) for b in balances), key=repr),
        "levels": _named(levels, names),
        "outbox": _named(outbox, names),
        "feed": sorted((_named(f, names) for f in feed), key=repr),
    }


async def test_movements_are_written_as_the_orm_writes_them(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshots = []
    for careful in (False, True):
        t = await make_tenant(db, f"Ledger {careful}")
        scene = await _scene(db, t)
        db.expunge_all()  # as in a request: the session holds nothing yet
        taken: list[str] = []
        with monkeypatch.context() as patch:
            switch(patch, not careful)
            spy(patch, taken)
            answers = await _movements(db, t, scene)
        expected = [] if careful else ["parts.ledger_shift", "parts.movement_lookup"]
        assert sorted(set(taken)) == expected, taken
        snapshots.append(await _written(db, t, scene, answers))
    fast, slow = snapshots
    for part in fast:
        assert fast[part] == slow[part], part
    assert len(fast["lines"]) == 9  # the consumption using the reservation releases it first
    assert [o["topic"] for o in fast["outbox"]] == ["stock.below_minimum", "stock.discrepancy"]
    assert await ledger.check(db, t.org.id) == []
