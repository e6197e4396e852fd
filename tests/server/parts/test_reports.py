"""Stock reports (server/parts/reports/service.py) over a small hand-built ledger with known
answers.

The ledger (part A costs 10.00 when moved and 12.00 now; part B costs 2.50):

    2026-01-05 09:00Z  receive A 100, B 40 into the warehouse W
    2026-01-10 09:00Z  transfer A 20 W -> van 1; B 10 W -> van 2
    2026-01-12 09:00Z  reserve B 4 at van 2 for work order 2
    2026-01-15 10:00Z  consume A 3 from van 1 for work order 1 (asset model CH-200)
    2026-01-31 18:00Z  consume B 4 from van 2 for work order 2 (no asset; uses the reservation)
    2026-02-03 10:00Z  consume A 2 from W for work order 1
    2026-02-04 10:00Z  return A 1 good and A 1 defective into van 1 from work order 1

Balances now: W A 78, B 30; van 1 A 18; quarantine A 1; van 2 B 6; site 1 A 3; site 2 B 4.
Every line is written through ``create_movement`` and then back-dated: the test runs in one
transaction, so ``now()`` is the same for all of them until moved (the append-only trigger
is switched off for that UPDATE only, inside the test's rolled-back transaction).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import Forbidden, NotFound, Unprocessable
from server.parts import service as parts_service
from server.parts.ledger import service as ledger
from server.parts.locations import ensure_quarantine
from server.parts.models import StockLocation
from server.parts.reports import service as reports
from server.tickets.models import Ticket
from tests.fixtures.factories import (
    Tenant,
    headers_for,
    make_customer,
    make_location,
    make_part,
    make_tenant,
    make_ticket,
)
from tests.fixtures.factories import move as record_move

REPORTS = "/api/v1/stock-reports"
D = Decimal


def utc(text_: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text_).replace(tzinfo=dt.UTC)


@dataclass
class Ledger:
    t: Tenant
    a: Any  # part A
    b: Any  # part B
    w: StockLocation
    spare: StockLocation  # an empty warehouse
    van1: StockLocation
    van2: StockLocation
    wo1: Ticket
    wo2: Ticket


async def _backdate(db: AsyncSession, when: str) -> None:
    """Move the lines recorded so far in this transaction (created_at = now()) to `when`."""
    await db.execute(
        text("ALTER TABLE stock_movements DISABLE TRIGGER stock_movements_append_only")
    )
    await db.execute(
        text("UPDATE stock_movements SET created_at = :when WHERE created_at = now()"),
        {"when": utc(when)},
    )
    await db.execute(text("ALTER TABLE stock_movements ENABLE TRIGGER stock_movements_append_only"))


async def _build(db: AsyncSession) -> Ledger:
    t = await make_tenant(db, "Reports")
    assert t.customer and t.site and t.asset
    admin = t.actor("admin")
    a = await make_part(db, admin, sku="A-RELAY", name="Relay", cost=D("10.00"))
    b = await make_part(db, admin, sku="B-FUSE", name="Fuse", cost=D("2.50"))
    w = await make_location(db, admin, name="Central warehouse")
    spare = await make_location(db, admin, name="Spare depot")
    van1 = await parts_service.ensure_van(db, t.engineers[0])
    van2 = await parts_service.ensure_van(db, t.engineers[1])
    wo1 = await make_ticket(db, admin, t.customer, t.site, t.asset, assign_to=t.engineers[0])
    c2, s2, _ = await make_customer(db, t.org)
    wo2 = await make_ticket(db, admin, c2, s2, None, assign_to=t.engineers[1])

    async def move(**fields: Any) -> None:
        await record_move(db, admin, **fields)

    await move(kind="receive", part_id=a.id, quantity=100, to_location_id=w.id)
    await move(kind="receive", part_id=b.id, quantity=40, to_location_id=w.id)
    await _backdate(db, "2026-01-05T09:00:00")
    await move(
        kind="transfer", part_id=a.id, quantity=20, from_location_id=w.id, to_location_id=van1.id
    )
    await move(
        kind="transfer", part_id=b.id, quantity=10, from_location_id=w.id, to_location_id=van2.id
    )
    await _backdate(db, "2026-01-10T09:00:00")
    await move(kind="reserve", part_id=b.id, quantity=4, from_location_id=van2.id, ticket_id=wo2.id)
    await _backdate(db, "2026-01-12T09:00:00")
    await move(kind="consume", part_id=a.id, quantity=3, from_location_id=van1.id, ticket_id=wo1.id)
    await _backdate(db, "2026-01-15T10:00:00")
    await move(kind="consume", part_id=b.id, quantity=4, from_location_id=van2.id, ticket_id=wo2.id)
    await _backdate(db, "2026-01-31T18:00:00")
    await move(kind="consume", part_id=a.id, quantity=2, from_location_id=w.id, ticket_id=wo1.id)
    await _backdate(db, "2026-02-03T10:00:00")
    for condition in ("good", "defective"):
        await move(
            kind="return",
            part_id=a.id,
            quantity=1,
            to_location_id=van1.id,
            ticket_id=wo1.id,
            condition=condition,
        )
    await _backdate(db, "2026-02-04T10:00:00")
    a.cost = D("12.00")  # the catalogue price changed after every movement
    await db.flush()
    assert await ledger.check(db, t.org.id) == []
    return Ledger(t, a, b, w, spare, van1, van2, wo1, wo2)


async def _other_tenant_stock(db: AsyncSession) -> Tenant:
    """Tenant B has stock, consumption and a work order too: never in tenant A's reports."""
    other = await make_tenant(db, "Other")
    assert other.customer and other.site and other.asset
    admin = other.actor("admin")
    part = await make_part(db, admin, cost=D("99.00"))
    where = await make_location(db, admin)
    ticket = await make_ticket(db, admin, other.customer, other.site, other.asset)
    await record_move(
        db, admin, kind="receive", part_id=part.id, quantity=5, to_location_id=where.id
    )
    await record_move(
        db,
        admin,
        kind="consume",
        part_id=part.id,
        quantity=1,
        from_location_id=where.id,
        ticket_id=ticket.id,
    )
    await _backdate(db, "2026-01-20T10:00:00")
    return other


# --- on hand ------------------------------------------------------------------------------


async def test_on_hand_values_each_stock_location_at_the_current_cost(db: AsyncSession) -> None:
    led = await _build(db)
    await _other_tenant_stock(db)
    report = await reports.on_hand(db, led.t.actor("viewer"))
    quarantine = await ensure_quarantine(db, led.t.org.id)
    got = {x.location_id: (x.parts, x.on_hand, x.value) for x in report.locations}
    assert got == {
        led.w.id: (2, D("108"), D("1011.00")),  # 78 x 12.00 + 30 x 2.50
        led.van1.id: (1, D("18"), D("216.00")),
        led.van2.id: (1, D("6"), D("15.00")),
        quarantine.id: (1, D("1"), D("12.00")),  # the defective return, at cost
    }  # the customer sites (installed parts), the empty depot and tenant B are not stock here
    assert report.total_value == D("1254.00")
    assert report.lines is None


async def test_on_hand_by_part_lists_each_location_and_part(db: AsyncSession) -> None:
    led = await _build(db)
    report = await reports.on_hand(
        db, led.t.actor("dispatcher"), location_id=led.w.id, by_part=True
    )
    assert [(x.location_id, x.location_name, x.kind) for x in report.locations] == [
        (led.w.id, "Central warehouse", "warehouse")
    ]
    assert report.lines is not None and not report.lines_truncated
    assert [(x.sku, x.on_hand, x.reserved, x.cost, x.value) for x in report.lines] == [
        ("A-RELAY", D("78"), D("0"), D("12.00"), D("936.00")),
        ("B-FUSE", D("30"), D("0"), D("2.50"), D("75.00")),
    ]
    capped = await reports.on_hand(db, led.t.actor("admin"), by_part=True, limit=3)
    assert capped.lines is not None and len(capped.lines) == 3 and capped.lines_truncated


async def test_on_hand_names_a_customer_site_only_when_asked(db: AsyncSession) -> None:
    led = await _build(db)
    assert led.t.site is not None
    site = await parts_service.ensure_site_location(db, led.t.site)
    report = await reports.on_hand(db, led.t.actor("admin"), location_id=site.id)
    assert [(x.on_hand, x.value) for x in report.locations] == [(D("3"), D("36.00"))]


async def test_engineer_sees_only_their_own_van_on_hand(db: AsyncSession) -> None:
    led = await _build(db)
    engineer = led.t.actor("engineer1")
    report = await reports.on_hand(db, engineer, by_part=True)
    # The defective return went to quarantine, which engineers do not see.
    assert [(x.location_id, x.value) for x in report.locations] == [(led.van1.id, D("216.00"))]
    assert report.lines is not None and {x.location_id for x in report.lines} == {led.van1.id}
    for other in (led.w.id, led.van2.id, uuid.uuid4()):
        try:
            await reports.on_hand(db, engineer, location_id=other)
        except NotFound:
            continue
        raise AssertionError(f"engineer read location {other}")


# --- consumption --------------------------------------------------------------------------


async def _consumption(
    led: Ledger,
    db: AsyncSession,
    group_by: str,
    period: str = "month",
    start: str = "2026-01-01T00:00:00",
    end: str = "2026-03-01T00:00:00",
) -> list[tuple[str, str, Decimal, Decimal, int]]:
    report = await reports.consumption(
        db,
        led.t.actor("agent"),
        start=utc(start),
        end=utc(end),
        period=period,  # type: ignore[arg-type]
        group_by=group_by,  # type: ignore[arg-type]
    )
    assert report.total_cost == sum((r.cost for r in report.rows), D(0))
    return [(str(r.period_start), r.label, r.quantity, r.cost, r.lines) for r in report.rows]


async def test_consumption_by_part_per_month_at_the_cost_of_the_day(db: AsyncSession) -> None:
    led = await _build(db)
    await _other_tenant_stock(db)
    # Gross: the good return of A on 4 February is not subtracted; A's later price is ignored.
    assert await _consumption(led, db, "part") == [
        ("2026-01-01", "A-RELAY Relay", D("3"), D("30.00"), 1),
        ("2026-01-01", "B-FUSE Fuse", D("4"), D("10.00"), 1),
        ("2026-02-01", "A-RELAY Relay", D("2"), D("20.00"), 1),
    ]


async def test_consumption_by_product_model_follows_the_work_orders_asset(
    db: AsyncSession,
) -> None:
    led = await _build(db)
    assert await _consumption(led, db, "product_model") == [
        ("2026-01-01", "(work order without equipment)", D("4"), D("10.00"), 1),
        ("2026-01-01", "CH-200", D("3"), D("30.00"), 1),
        ("2026-02-01", "CH-200", D("2"), D("20.00"), 1),
    ]


async def test_consumption_by_engineer_follows_the_van(db: AsyncSession) -> None:
    led = await _build(db)
    e1, e2 = (e.display_name for e in led.t.engineers)
    rows = await _consumption(led, db, "engineer")
    jan = sorted(r for r in rows if r[0] == "2026-01-01")
    assert jan == sorted(
        [("2026-01-01", e1, D("3"), D("30.00"), 1), ("2026-01-01", e2, D("4"), D("10.00"), 1)]
    )
    # Consumed straight from the warehouse: no engineer's van.
    assert [r for r in rows if r[0] == "2026-02-01"] == [
        ("2026-02-01", "(not from a van)", D("2"), D("20.00"), 1)
    ]


async def test_consumption_buckets_by_week_and_day_within_the_range(db: AsyncSession) -> None:
    led = await _build(db)
    weeks = await _consumption(led, db, "part", "week")
    assert [(r[0], r[1][:1], r[2]) for r in weeks] == [
        ("2026-01-12", "A", D("3")),  # Thursday 15 January: the week from Monday 12th
        ("2026-01-26", "B", D("4")),
        ("2026-02-02", "A", D("2")),
    ]
    days = await _consumption(led, db, "part", "day", "2026-01-15T10:00:00", "2026-02-03T10:00:00")
    assert [(r[0], r[2]) for r in days] == [("2026-01-15", D("3")), ("2026-01-31", D("4"))]


async def test_consumption_buckets_in_the_organisations_time_zone(db: AsyncSession) -> None:
    led = await _build(db)
    led.t.org.timezone = "Asia/Shanghai"  # 31 January 18:00Z is 1 February 02:00 there
    await db.flush()
    assert [(r[0], r[1][:1]) for r in await _consumption(led, db, "part")] == [
        ("2026-01-01", "A"),
        ("2026-02-01", "A"),
        ("2026-02-01", "B"),
    ]


async def test_consumption_range_is_required_ordered_and_at_most_two_years(
    db: AsyncSession,
) -> None:
    led = await _build(db)
    viewer = led.t.actor("viewer")
    for start, end in (("2026-02-01", "2026-01-01"), ("2024-01-01", "2026-01-02")):
        try:
            await reports.consumption(
                db, viewer, start=utc(start), end=utc(end), period="day", group_by="part"
            )
        except Unprocessable:
            continue
        raise AssertionError(f"accepted {start}..{end}")
    ok = await reports.consumption(
        db, viewer, start=utc("2024-03-01"), end=utc("2026-03-01"), period="month", group_by="part"
    )
    assert ok.total_cost == D("60.00")


# --- work-order cost ----------------------------------------------------------------------


async def test_work_order_cost_is_consumption_minus_good_returns(db: AsyncSession) -> None:
    led = await _build(db)
    cost = await reports.work_order_cost(db, led.t.actor("dispatcher"), ticket_id=led.wo1.id)
    assert (cost.consumed_cost, cost.returned_cost, cost.total_cost) == (
        D("50.00"),
        D("10.00"),
        D("40.00"),
    )
    assert [(x.kind, x.quantity, x.unit_cost, x.condition, x.amount) for x in cost.lines] == [
        ("consume", D("3"), D("10.00"), None, D("30.00")),
        ("consume", D("2"), D("10.00"), None, D("20.00")),
        ("return", D("1"), D("10.00"), "good", D("-10.00")),
        ("return", D("1"), D("10.00"), "defective", D("0.00")),
    ]
    # Work order 2's reservation became a release line when used: not a cost.
    cost2 = await reports.work_order_cost(db, led.t.actor("viewer"), ticket_id=led.wo2.id)
    assert [(x.kind, x.amount) for x in cost2.lines] == [("consume", D("10.00"))]
    assert cost2.total_cost == D("10.00") and cost2.number.startswith("WO-")


async def test_work_order_cost_of_another_organisations_work_order_is_not_found(
    db: AsyncSession,
) -> None:
    led = await _build(db)
    other = await _other_tenant_stock(db)
    foreign = await make_ticket(db, other.actor("admin"), other.customer)  # type: ignore[arg-type]
    for ticket_id in (foreign.id, uuid.uuid4()):
        try:
            await reports.work_order_cost(db, led.t.actor("admin"), ticket_id=ticket_id)
        except NotFound:
            continue
        raise AssertionError("read a foreign work order's cost")


# --- turnover -----------------------------------------------------------------------------


async def _turnover(led: Ledger, db: AsyncSession, start: str, end: str) -> dict[uuid.UUID, Any]:
    report = await reports.turnover(db, led.t.actor("admin"), start=utc(start), end=utc(end))
    return {
        x.location_id: (x.start_value, x.end_value, x.average_value, x.consumed_cost, x.turnover)
        for x in report.locations
    }


async def test_turnover_is_consumed_cost_over_the_average_of_start_and_end_value(
    db: AsyncSession,
) -> None:
    led = await _build(db)
    await _other_tenant_stock(db)
    got = await _turnover(led, db, "2026-01-10T00:00:00", "2026-02-10T00:00:00")
    quarantine = await ensure_quarantine(db, led.t.org.id)
    assert got == {
        # start: A 100 x 12 + B 40 x 2.5; end: A 78 x 12 + B 30 x 2.5; consumed 2 x 10.00.
        led.w.id: (D("1300.00"), D("1011.00"), D("1155.500"), D("20.00"), D("0.0173")),
        led.van1.id: (D("0.00"), D("216.00"), D("108.000"), D("30.00"), D("0.2778")),
        quarantine.id: (D("0.00"), D("12.00"), D("6.000"), D("0.00"), D("0.0000")),
        led.van2.id: (D("0.00"), D("15.00"), D("7.500"), D("10.00"), D("1.3333")),
        led.spare.id: (D("0.00"), D("0.00"), D("0.000"), D("0.00"), None),
    }


async def test_turnover_reconstructs_the_value_at_the_end_of_a_past_range(
    db: AsyncSession,
) -> None:
    led = await _build(db)
    got = await _turnover(led, db, "2026-01-01T00:00:00", "2026-01-20T00:00:00")
    # On 20 January: W held A 80, B 30; van 1 A 17 (3 consumed on the 15th); van 2 B 10.
    assert got[led.w.id] == (D("0.00"), D("1035.00"), D("517.500"), D("0.00"), D("0.0000"))
    assert got[led.van1.id] == (D("0.00"), D("204.00"), D("102.000"), D("30.00"), D("0.2941"))
    assert got[led.van2.id] == (D("0.00"), D("25.00"), D("12.500"), D("0.00"), D("0.0000"))
    later = await _turnover(led, db, "2026-02-05T00:00:00", "2026-03-01T00:00:00")
    assert later[led.w.id] == (D("1011.00"), D("1011.00"), D("1011.000"), D("0.00"), D("0.0000"))


# --- roles and HTTP -----------------------------------------------------------------------


async def test_engineers_may_not_read_back_office_reports(db: AsyncSession) -> None:
    led = await _build(db)
    engineer = led.t.actor("engineer1")
    calls = (
        reports.consumption(
            db,
            engineer,
            start=utc("2026-01-01"),
            end=utc("2026-02-01"),
            period="day",
            group_by="engineer",
        ),
        reports.work_order_cost(db, engineer, ticket_id=led.wo1.id),
        reports.turnover(db, engineer, start=utc("2026-01-01"), end=utc("2026-02-01")),
    )
    for call in calls:
        try:
            await call
        except Forbidden:
            continue
        raise AssertionError("an engineer read a back-office report")


async def test_reports_over_http(client: httpx.AsyncClient, db: AsyncSession) -> None:
    led = await _build(db)
    viewer = led.t.headers("viewer")
    r = await client.get(f"{REPORTS}/on-hand", headers=viewer)
    assert r.status_code == 200 and r.json()["total_value"] == "1254.00"
    r = await client.get(
        f"{REPORTS}/consumption",
        params={"from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z", "group_by": "part"},
        headers=viewer,
    )
    assert r.status_code == 200, r.text
    assert r.json()["total_cost"] == "60.00" and len(r.json()["rows"]) == 3
    span = {"from": "2023-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    r = await client.get(f"{REPORTS}/consumption", params=span, headers=viewer)
    assert r.status_code == 422 and r.json()["code"] == "unprocessable"
    # A bare date (or a time without an offset) is no instant: say which offset.
    r = await client.get(
        f"{REPORTS}/consumption", params={"from": "2023-01-01", "to": "2024-01-01"}, headers=viewer
    )
    assert r.status_code == 422 and r.json()["field"] == "from"
    r = await client.get(f"{REPORTS}/consumption", params={"to": "2026-01-01"}, headers=viewer)
    assert r.status_code == 422  # from is required
    r = await client.get(
        f"{REPORTS}/work-order-cost", params={"ticket_id": str(led.wo1.id)}, headers=viewer
    )
    assert r.status_code == 200 and r.json()["total_cost"] == "40.00"
    r = await client.get(
        f"{REPORTS}/turnover",
        params={"from": "2026-01-10T00:00:00Z", "to": "2026-02-10T00:00:00Z"},
        headers=viewer,
    )
    by_id = {x["location_id"]: x for x in r.json()["locations"]}
    assert by_id[str(led.van2.id)]["turnover"] == "1.3333"
    engineer = headers_for(led.t.users["engineer1"])
    r = await client.get(
        f"{REPORTS}/on-hand", params={"location_id": str(led.w.id)}, headers=engineer
    )
    assert r.status_code == 404
    r = await client.get(
        f"{REPORTS}/turnover",
        params={"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"},
        headers=engineer,
    )
    assert r.status_code == 403
