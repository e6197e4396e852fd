"""A year of a service organisation's work for the dashboard's tests and screenshots: work
orders written straight into ``tickets`` and their facts into ``kpi_work_orders`` (and the
engineers' days into ``kpi_engineer_days``), as the refresh would have left them. The
rules the facts follow are the refresh's own tests' business (tests/server/reports); here
they are data for pages to show, shaped like a real year (a summer peak, one product model
failing too often, one territory late on its SLA), reproducible from a seed."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.customers.models import Asset
from server.engineers import Engineer
from server.reports import EngineerDayFact, WorkOrderFact
from server.tickets import Ticket
from tests.fixtures.factories import Tenant, make_engineer
from tests.server.reports.kpi_data import with_days

TERRITORIES = {"en": ("North", "South", "East", "West"), "zh_CN": ("浦东", "浦西", "闵行", "嘉定")}
TEAMS = {
    "en": ("Chillers", "Rooftop units", "Boilers"),
    "zh_CN": ("冷水机组组", "屋顶机组组", "锅炉组"),
}
ENGINEERS = {
    "en": ("Wei Zhang", "Anna Berg", "Omar Haddad", "Li Na", "Tom Ellis", "Sara Costa"),
    "zh_CN": ("张伟", "王芳", "李强", "刘洋", "陈静", "杨磊"),
}
MODELS = ("CH-200", "CH-350", "RT-40", "BX-9", "VRF-12")
FAULTS = ("E31", "E07", "F12", "P04", "L22", "H01")
TITLES = {
    "en": (
        "Chiller trips on high pressure",
        "No cooling on floor 3",
        "Boiler fails to ignite",
        "Water leak under the unit",
        "Noisy compressor",
        "Annual maintenance",
    ),
    "zh_CN": (
        "冷水机组高压跳闸",
        "三楼不制冷",
        "锅炉无法点火",
        "机组下方漏水",
        "压缩机噪音大",
        "年度保养",
    ),
}


@dataclass
class Seeded:
    engineers: list[Engineer] = field(default_factory=list)
    tickets: list[uuid.UUID] = field(default_factory=list)
    resolved: int = 0


def _month_weight(day: dt.date) -> float:
    """More work in summer (air conditioning), a little in the heating season."""
    return {6: 1.6, 7: 2.0, 8: 1.8, 9: 1.2, 12: 1.1, 1: 1.1}.get(day.month, 0.8)


async def _engineers(db: AsyncSession, t: Tenant, lang: str, rnd: random.Random) -> list[Engineer]:
    people = list(t.engineers)
    while len(people) < len(ENGINEERS[lang]):
        people.append((await make_engineer(db, t.org))[1])
    for i, engineer in enumerate(people):
        engineer.display_name = ENGINEERS[lang][i % len(ENGINEERS[lang])]
        engineer.team = TEAMS[lang][i % len(TEAMS[lang])]
        engineer.territory = TERRITORIES[lang][i % len(TERRITORIES[lang])]
    await db.flush()
    return people


async def seed(
    db: AsyncSession,
    t: Tenant,
    *,
    lang: str = "en",
    count: int = 300,
    seed: int = 14,
    today: dt.date | None = None,
    days_back: int = 365,
) -> Seeded:
    """``count`` work orders over the ``days_back`` days up to ``today`` (UTC dates)."""
    rnd = random.Random(seed)
    today = today or dt.datetime.now(dt.UTC).date()
    out = Seeded(engineers=await _engineers(db, t, lang, rnd))
    assert t.customer is not None and t.site is not None and t.asset is not None
    assets = [t.asset]
    for model in MODELS[1:]:
        asset = Asset(
            org_id=t.org.id,
            site_id=t.site.id,
            customer_id=t.customer.id,
            product_model=model,
            serial_number=f"SN-{uuid.uuid4().hex[:8]}",
            version=1,
        )
        db.add(asset)
        assets.append(asset)
    await db.flush()
    start = today - dt.timedelta(days=days_back - 1)
    days = [start + dt.timedelta(days=i) for i in range(days_back)]
    weights = [_month_weight(d) * (0.4 if d.weekday() >= 5 else 1.0) for d in days]
    base = int(
        await db.scalar(
            select(func.coalesce(func.max(Ticket.number), 0)).where(Ticket.org_id == t.org.id)
        )
        or 0
    )
    tickets, facts = [], []
    # Numbered in the order they came in, as the service numbers them.
    for n, day in enumerate(sorted(rnd.choices(days, weights, k=count))):
        tickets_row, fact = _one(t, out.engineers, assets, rnd, lang, base + n + 1, day, today)
        tickets.append(tickets_row)
        facts.append(with_days(fact, t.org.timezone))
        out.tickets.append(tickets_row["id"])
        out.resolved += fact["resolved_at"] is not None
    await db.execute(insert(Ticket.__table__), tickets)
    await db.execute(insert(WorkOrderFact.__table__), facts)
    await _days(db, t, out.engineers, days, rnd)
    await db.flush()
    return out


def _one(
    t: Tenant,
    engineers: list[Engineer],
    assets: list[Asset],
    rnd: random.Random,
    lang: str,
    number: int,
    day: dt.date,
    today: dt.date,
) -> tuple[dict[str, object], dict[str, object]]:
    """One work order and its fact."""
    assert t.customer is not None
    engineer = rnd.choice(engineers)
    # The bad model: a fifth of the fleet's work orders from one model in five.
    asset = rnd.choices(assets, [2.5 if a.product_model == "CH-350" else 1 for a in assets])[0]
    bad_model = asset.product_model == "CH-350"  # fails far too often, and repeats
    created = dt.datetime.combine(day, dt.time(8), dt.UTC) + dt.timedelta(
        minutes=rnd.randint(0, 600)
    )
    kind = rnd.choices(("repair", "maintenance", "installation", "complaint"), (70, 20, 6, 4))[0]
    priority = rnd.choices(("P1", "P2", "P3", "P4"), (8, 22, 50, 20))[0]
    territory = engineer.territory or ""
    late_territory = territory in (TERRITORIES[lang][2],)
    resolve_s = int(rnd.lognormvariate(10.3, 0.6) * (1.8 if late_territory else 1.0))
    resolved = created + dt.timedelta(seconds=resolve_s)
    now = dt.datetime.now(dt.UTC)
    is_open = resolved > now or rnd.random() < (0.3 if (today - day).days < 21 else 0.0)
    fault = (
        (rnd.choice(FAULTS[:2]) if bad_model else rnd.choice(FAULTS)) if kind == "repair" else None
    )
    surveyed = not is_open and rnd.random() < 0.45
    nps = min(10, max(0, round(rnd.gauss(8.9 if not late_territory else 6.5, 1.4))))
    ticket_id = uuid.uuid4()
    ticket = {
        "id": ticket_id,
        "org_id": t.org.id,
        "number": number,
        "customer_id": t.customer.id,
        "site_id": asset.site_id,
        "asset_id": asset.id,
        "channel": rnd.choice(("phone", "web", "email", "qr", "iot")),
        "type": kind,
        "priority": priority,
        "status": "on_site" if is_open else "closed",
        "title": rnd.choice(TITLES[lang]),
        "created_by": "user:seed@example.test",
        "assignee_id": engineer.id,
        "fault_code": fault,
        "sla_state": rnd.choices(("ok", "at_risk", "breached"), (70, 15, 15))[0]
        if is_open
        else "ok",
        "resolved_at": None if is_open else resolved,
        "created_at": created,
        "updated_at": created,
    }
    visits = 1 if kind != "complaint" else 0
    # Minutes to schedule, skewed (most within the hour, a few next day); from the number,
    # not the random stream, so the rest of the year stays as it was.
    schedule_s = 300 + ((number * 7919) % 97) ** 2
    fact = {
        "ticket_id": ticket_id,
        "org_id": t.org.id,
        "number": number,
        "status": ticket["status"],
        "priority": priority,
        "channel": ticket["channel"],
        "type": kind,
        "customer_id": t.customer.id,
        "site_id": asset.site_id,
        "asset_id": asset.id,
        "product_model": asset.product_model,
        "fault_code": fault,
        "engineer_id": engineer.id,
        "team": engineer.team,
        "territory": territory,
        "created_at": created,
        "first_assigned_at": created + dt.timedelta(seconds=schedule_s),
        "first_response_at": created + dt.timedelta(minutes=rnd.randint(5, 240)),
        "first_response_business_s": rnd.randint(300, 14400),
        "schedule_s": schedule_s,
        "arrive_s": rnd.randint(3600, 5 * 3600),
        "resolved_at": None if is_open else resolved,
        "closed_at": None if is_open else resolved,
        "ended_at": None if is_open else resolved,
        "resolve_s": None if is_open else resolve_s,
        "waiting_s": 0,
        "response_met": rnd.random() < 0.9,
        "resolution_met": None if is_open else rnd.random() < (0.6 if late_territory else 0.93),
        "visits": visits + (1 if bad_model and rnd.random() < 0.4 else 0),
        "reopened": 0,
        "work_s": rnd.randint(1800, 4 * 3600) * visits,
        "travel_s": rnd.randint(900, 3600) * visits,
        "labour_cost": Decimal(rnd.randint(80, 400)),
        "parts_cost": Decimal(rnd.randint(0, 900)),
        "repeat_of_id": None,
        "marked_repeat_at": None,
        "same_fault_next_at": resolved + dt.timedelta(days=rnd.randint(3, 20))
        if bad_model and not is_open and rnd.random() < 0.35
        else None,
        "next_on_asset_at": None,
        "csat": min(5, max(1, round(nps / 2))) if surveyed else None,
        "nps": nps if surveyed else None,
        "ces": None,
        "surveyed_at": resolved + dt.timedelta(hours=6) if surveyed else None,
    }
    return ticket, fact


async def _days(
    db: AsyncSession, t: Tenant, engineers: list[Engineer], days: list[dt.date], rnd: random.Random
) -> None:
    rows = []
    for engineer in engineers:
        for day in days:
            if day.weekday() >= 5:
                continue
            rows.append(
                {
                    "engineer_id": engineer.id,
                    "day": day,
                    "org_id": t.org.id,
                    "team": engineer.team,
                    "territory": engineer.territory,
                    "scheduled_s": 8 * 3600,
                    "work_s": rnd.randint(3, 6) * 3600,
                    "travel_s": rnd.randint(1, 2) * 3600,
                }
            )
    await db.execute(insert(EngineerDayFact.__table__), rows)
