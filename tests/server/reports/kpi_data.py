"""A small hand-computed KPI dataset: fact rows inserted directly (each on a real work
order, so the drill-down has titles), in an organisation in Asia/Shanghai (UTC+8).

March 2026, local dates (the expected numbers are worked out in test_metrics.py):

    A repair CH-200/E1, engineer 1: responded 1 h, met; resolved after 24 h (4 h waiting),
      met; 1 visit; labour 100, parts 50, work 1 h; survey csat 5, nps 10, ces 2; B was
      marked a repeat of it (a repeat counts on A, the repair that came back)
    B repair CH-200/E1, engineer 1: responded 2 h, missed; resolved after 24 h, missed;
      2 visits; repeat_of A; labour 200, work 2 h; survey csat 3, nps 6, ces 5
    C complaint, engineer 2: never responded, no targets; resolved after 1 h with no visit
      and no labour (first-contact); survey csat 4, nps 8
    D repair CH-200/E2, engineer 2: responded 0.5 h, met; resolved after 48 h, met; 1 visit,
      reopened once; the same fault came back on the asset 8 days after its resolution
    E repair AC-9/F3, engineer 1: 1 visit; resolved after 24 h; a next work order on the
      asset 10 days after the resolution
    F repair CH-200/E1: cancelled the next day
    G engineer 1: open, SLA breached now
    H1 at 23:30 local on 31 March (15:30Z): March; H2 at 00:30 local on 1 April (16:30Z
      on 31 March): April; both open
    Z created in February, open (in the backlog from before the range)
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from server.reports import EngineerDayFact, WorkOrderFact
from server.tickets import Ticket
from tests.fixtures.factories import Tenant, make_tenant, make_ticket

H = 3600
NOW = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


def utc(month: int, day: int, hour: int = 2, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=dt.UTC)


@dataclass
class Dataset:
    t: Tenant
    ids: dict[str, uuid.UUID] = field(default_factory=dict)
    tickets: dict[str, Ticket] = field(default_factory=dict)


ANCHORS = (
    ("created_at", "created_day"),
    ("resolved_at", "resolved_day"),
    ("surveyed_at", "surveyed_day"),
    ("ended_at", "ended_day"),
)


def with_days(values: dict[str, Any], zone: str = "UTC") -> dict[str, Any]:
    """``values`` with the local dates of the anchor instants the refresh stores beside them
    (``zone``: the organisation's), unless given."""
    for instant, day in ANCHORS:
        if day not in values:
            at = values.get(instant)
            values[day] = at.astimezone(ZoneInfo(zone)).date() if at is not None else None
    return values


def fact_of(ticket: Ticket, zone: str = "UTC", **columns: Any) -> WorkOrderFact:
    """The fact row of an existing work order (defaults: its own fields, open, created now;
    ``zone``: the organisation's time zone)."""
    values: dict[str, Any] = {
        "status": "new",
        "priority": ticket.priority,
        "channel": ticket.channel,
        "type": ticket.type,
        "customer_id": ticket.customer_id,
        "asset_id": ticket.asset_id,
        "engineer_id": ticket.assignee_id,
        "created_at": dt.datetime.now(dt.UTC),
        "waiting_s": 0,
        "visits": 0,
        "reopened": 0,
        "work_s": 0,
        "travel_s": 0,
        "labour_cost": Decimal(0),
        "parts_cost": Decimal(0),
    }
    values.update(columns)
    with_days(values, zone)
    return WorkOrderFact(ticket_id=ticket.id, org_id=ticket.org_id, number=ticket.number, **values)


async def add_fact(db: AsyncSession, t: Tenant, **columns: Any) -> Ticket:
    """A real work order with the fact row ``columns`` describe (defaults: an open repair)."""
    assert t.customer
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer)
    columns = {"type": "repair", "priority": "P3", **columns}
    db.add(fact_of(ticket, t.org.timezone, **columns))
    await db.flush()
    return ticket


def _resolved(created: dt.datetime, seconds: int, **more: Any) -> dict[str, Any]:
    end = created + dt.timedelta(seconds=seconds)
    return {
        "created_at": created,
        "resolved_at": end,
        "ended_at": end,
        "resolve_s": seconds,
        "status": "resolved",
        **more,
    }


async def march(db: AsyncSession, zone: str = "Asia/Shanghai") -> Dataset:
    t = await make_tenant(db)
    t.org.timezone = zone
    e1, e2 = t.engineers[0].id, t.engineers[1].id
    data = Dataset(t)
    rows: dict[str, dict[str, Any]] = {
        "A": _resolved(
            utc(3, 2), 24 * H, engineer_id=e1, product_model="CH-200", fault_code="E1",
            first_response_business_s=H, schedule_s=2 * H, arrive_s=4 * H,
            response_met=True, resolution_met=True, waiting_s=4 * H, visits=1,
            labour_cost=Decimal(100), parts_cost=Decimal(50), work_s=H, travel_s=H // 2,
            csat=5, nps=10, ces=2, surveyed_at=utc(3, 4),
        ),
        "B": _resolved(
            utc(3, 5), 24 * H, engineer_id=e1, product_model="CH-200", fault_code="E1",
            first_response_business_s=2 * H, response_met=False, resolution_met=False,
            visits=2, labour_cost=Decimal(200), work_s=2 * H,
            csat=3, nps=6, ces=5, surveyed_at=utc(3, 7),
        ),
        "C": _resolved(
            utc(3, 10), H, engineer_id=e2, type="complaint", csat=4, nps=8,
            surveyed_at=utc(3, 11),
        ),
        "D": _resolved(
            utc(3, 12), 48 * H, engineer_id=e2, product_model="CH-200", fault_code="E2",
            first_response_business_s=H // 2, response_met=True, resolution_met=True,
            visits=1, reopened=1, same_fault_next_at=utc(3, 22),
        ),
        "E": _resolved(
            utc(3, 20), 24 * H, engineer_id=e1, product_model="AC-9", fault_code="F3",
            visits=1, next_on_asset_at=utc(3, 31),
        ),
        "F": {
            "created_at": utc(3, 25), "cancelled_at": utc(3, 26), "ended_at": utc(3, 26),
            "status": "cancelled", "product_model": "CH-200", "fault_code": "E1",
        },
        "G": {"created_at": utc(3, 28), "engineer_id": e1},
        "H1": {"created_at": utc(3, 31, 15, 30)},
        "H2": {"created_at": utc(3, 31, 16, 30)},
        "Z": {"created_at": utc(2, 15)},
    }  # fmt: skip
    for name, columns in rows.items():
        ticket = await add_fact(db, t, **columns)
        data.ids[name], data.tickets[name] = ticket.id, ticket
    data.tickets["G"].sla_state = "breached"
    b = await db.get(WorkOrderFact, data.ids["B"])
    assert b is not None
    b.repeat_of_id = data.ids["A"]  # B is the call-back: the repeat is A's
    a = await db.get(WorkOrderFact, data.ids["A"])
    assert a is not None
    a.marked_repeat_at = utc(3, 5)
    for engineer, day, scheduled, work, travel in (
        (e1, 2, 8, 4, 2),
        (e1, 3, 8, 6, 0),
        (e2, 2, 8, 2, 2),
    ):
        db.add(
            EngineerDayFact(
                engineer_id=engineer,
                day=dt.date(2026, 3, day),
                org_id=t.org.id,
                scheduled_s=scheduled * H,
                work_s=work * H,
                travel_s=travel * H,
            )
        )
    await db.flush()
    return data


async def other_tenant(db: AsyncSession) -> Tenant:
    """Another organisation with work in March, which no answer may count."""
    t = await make_tenant(db)
    for day in (3, 4, 5):
        await add_fact(db, t, **_resolved(utc(3, day), H, csat=1, nps=0, surveyed_at=utc(3, 9)))
    return t
