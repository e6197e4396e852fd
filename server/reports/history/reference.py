"""The cast of the history, written before its work orders: office staff, engineers in
teams and territories (users, profiles, vans, working hours, hourly cost), a service site
per territory, the warehouse and the parts per product model, customers with sites and
the installed base, the SLA policies (the organisation's own when it has them) and the
survey template. Small next to the work orders, so written in one COPY per table."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Role
from server.auth import service as auth
from server.orgs import Organisation
from server.reports.history import world
from server.reports.history.rows import COLUMNS, Ids
from server.reports.history.setup import Cast, PartRef, Policy, Staff, Unit
from server.tickets import BusinessHours

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "磊",
    "强",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "超",
    "华",
    "平",
    "刚",
    "辉",
    "鹏",
)
# Parts by equipment category: code, name, cost, price.
_PARTS = {
    "hvac": (
        ("COMP", "Compressor", "1450.00", "2600.00"),
        ("FANM", "Fan motor", "160.00", "320.00"),
        ("SENS", "Temperature sensor", "35.00", "80.00"),
        ("PCB", "Control board", "420.00", "860.00"),
    ),
    "refrigeration": (
        ("SEAL", "Door seal", "14.00", "32.00"),
        ("THRM", "Thermostat", "48.00", "110.00"),
        ("DFH", "Defrost heater", "66.00", "140.00"),
    ),
    "power": (
        ("BATT", "Starter battery", "64.00", "129.00"),
        ("AVR", "Voltage regulator", "210.00", "450.00"),
    ),
    "lifts": (
        ("DSNS", "Door sensor", "140.00", "290.00"),
        ("BRK", "Brake pad set", "230.00", "480.00"),
        ("RLR", "Guide roller", "38.00", "85.00"),
    ),
}


class HistoryExists(Exception):
    """The organisation already has a generated history (a second one would double it)."""


async def organisation(session: AsyncSession, slug: str) -> Organisation:
    """The organisation with this slug, created (in Shanghai) when missing."""
    org = await session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        org = Organisation(name=f"{slug.title()} Service Co.", slug=slug, timezone="Asia/Shanghai")
        session.add(org)
        await session.flush()
    return org


async def cast(
    session: AsyncSession, conn: Any, org: Organisation, *, engineers: int, work_orders: int,
    months: int, now: dt.datetime, rng: random.Random, ids: Ids, password: str,
) -> Cast:  # fmt: skip
    """Write the cast and return it; refuses an organisation that already has one."""
    if await session.scalar(
        text("SELECT 1 FROM users WHERE org_id = :org AND email = :email"),
        {"org": org.id, "email": f"history-dispatcher@{org.slug}.fixflow"},
    ):
        raise HistoryExists(f"organisation {org.slug!r} already has a generated history")
    office = await _office(session, org, password)
    zone_today = now.astimezone(_zone(org.timezone)).date()
    first = _months_back(zone_today, months)
    warehouse = ids.at(now)
    await copy(
        conn,
        "stock_locations",
        [
            (
                warehouse,
                org.id,
                "warehouse",
                "History central warehouse",
                None,
                None,
                True,
                1,
                now,
                now,
            )
        ],
    )
    number = await session.scalar(
        text("SELECT last_number FROM ticket_counters WHERE org_id = :org FOR UPDATE"),
        {"org": org.id},
    )
    result = Cast(
        org_id=org.id, timezone=org.timezone, now=now, first_day=first, last_day=zone_today,
        dispatcher=f"user:{office[Role.DISPATCHER]}", agent=f"user:{office[Role.AGENT]}",
        warehouse_id=warehouse, template_id=await _template(session, org.id, now),
        first_number=int(number or 0),
    )  # fmt: skip
    result.policies = await _policies(session, org, first, zone_today)
    sites = await _service_sites(conn, org.id, now, ids)
    hashed = office["hash"]
    await _staff(conn, result, engineers, hashed, org.slug, rng, ids, sites)
    await _installed_base(conn, result, max(60, work_orders // 3), rng, ids, sites)
    await _parts(conn, result, rng, ids)
    return result


async def _office(session: AsyncSession, org: Organisation, password: str) -> dict[Any, str]:
    """The dispatcher and the agent whose names the history's office events carry, with
    ``password`` (its hash is reused for the engineers: hashing hundreds of passwords would
    take minutes)."""
    out: dict[Any, str] = {}
    for role in (Role.DISPATCHER, Role.AGENT):
        email = f"history-{role.value}@{org.slug}.fixflow"
        user = await auth.add_user(
            session, org_id=org.id, email=email, full_name=f"History {role.value}",
            password=password, role=role,
        )  # fmt: skip
        out[role], out["hash"] = email, user.password_hash
    return out


async def _template(session: AsyncSession, org_id: uuid.UUID, now: dt.datetime) -> uuid.UUID:
    found = await session.scalar(
        text(
            "SELECT id FROM survey_templates WHERE org_id = :org"
            " ORDER BY is_default DESC, created_at LIMIT 1"
        ),
        {"org": org_id},
    )
    if found is not None:
        return uuid.UUID(str(found))
    new = uuid.uuid4()
    await session.execute(
        text(
            "INSERT INTO survey_templates (id, org_id, name, questions, wording, delay_minutes,"
            " expiry_days, active, is_default, ticket_types, priorities, version, created_at,"
            " updated_at) VALUES (:id, :org, 'After every repair', '{csat,nps,ces,comment}',"
            " '{}', 60, 14, true, true, '{}', '{}', 1, :now, :now)"
        ),
        {"id": new, "org": org_id, "now": now},
    )
    return new


async def _policies(
    session: AsyncSession, org: Organisation, first: dt.date, last: dt.date
) -> dict[str, Policy]:
    """The organisation's default SLA policy per priority with its calendar; the demo's
    targets (office hours with the public holidays, P1 around the clock) where it has none."""
    rows = (
        await session.execute(
            text(
                "SELECT p.id, p.priority, p.response_minutes, p.resolution_minutes,"
                " c.timezone, c.hours, c.holidays FROM sla_policies p"
                " LEFT JOIN business_calendars c ON c.id = p.calendar_id"
                " WHERE p.org_id = :org AND p.customer_id IS NULL"
            ),
            {"org": org.id},
        )
    ).all()
    found = {r.priority: r for r in rows}
    missing = [p for p in world.SLA_TARGETS if p not in found]
    if missing:
        holidays = [d for d, f in world.holidays(org.timezone, first, last).items() if f < 0.5]
        cal_id = uuid.uuid4()
        await session.execute(
            text(
                "INSERT INTO business_calendars (id, org_id, name, timezone, hours, holidays,"
                " version, created_at, updated_at) VALUES (:id, :org, 'Office hours (history)',"
                " :tz, CAST(:hours AS jsonb), :holidays, 1, now(), now())"
            ),
            {
                "id": cal_id,
                "org": org.id,
                "tz": org.timezone,
                "hours": json.dumps(world.OFFICE_HOURS),
                "holidays": holidays,
            },
        )
        for prio in missing:
            response, resolution = world.SLA_TARGETS[prio]
            await session.execute(
                text(
                    "INSERT INTO sla_policies (id, org_id, priority, response_minutes,"
                    " resolution_minutes, calendar_id, version, created_at, updated_at)"
                    " VALUES (:id, :org, :p, :r1, :r2, :cal, 1, now(), now())"
                ),
                {
                    "id": uuid.uuid4(),
                    "org": org.id,
                    "p": prio,
                    "r1": response,
                    "r2": resolution,
                    "cal": None if prio == "P1" else cal_id,
                },
            )
        return await _policies(session, org, first, last)
    out = {}
    for prio, r in found.items():
        cal = BusinessHours.always_open()
        if r.timezone is not None:
            cal = BusinessHours.from_config(r.timezone, r.hours, tuple(r.holidays))
        out[prio] = Policy(r.id, r.response_minutes, r.resolution_minutes, cal)
    return out


async def _service_sites(
    conn: Any, org_id: uuid.UUID, now: dt.datetime, ids: Ids
) -> dict[str, uuid.UUID]:
    """A service site per territory: the organisation's own where it has one there (the
    demo's Pudong service centre), else a new field base."""
    rows, out = [], {}
    have = await conn.fetch(
        "SELECT DISTINCT ON (territory) territory, id FROM service_sites"
        " WHERE org_id = $1 AND active AND territory IS NOT NULL ORDER BY territory, created_at",
        org_id,
    )
    out.update({r["territory"]: r["id"] for r in have})
    for name, lat, lon, _ in world.TERRITORIES:
        if name in out:
            continue
        out[name] = ids.at(now)
        rows.append(
            (
                out[name],
                org_id,
                f"{name} field base",
                "service_centre",
                f"{name}, Shanghai",
                lat,
                lon,
                name,
                None,
                True,
                1,
                now,
                now,
            )
        )
    await copy(conn, "service_sites", rows)
    return out


def _headcount(total: int) -> dict[str, int]:
    """Engineers per territory: by its share of the installed base, the bad territory at
    half strength, at least two everywhere."""
    weights = {
        name: share * (world.BAD_TERRITORY_STAFFING if name == world.BAD_TERRITORY else 1)
        for name, _, _, share in world.TERRITORIES
    }
    scale = total / sum(weights.values())
    counts = {name: max(2, round(w * scale)) for name, w in weights.items()}
    biggest = max(counts, key=lambda n: counts[n])
    counts[biggest] = max(2, counts[biggest] + total - sum(counts.values()))
    return counts


async def _staff(
    conn: Any, result: Cast, total: int, hashed: str, slug: str, rng: random.Random, ids: Ids,
    sites: dict[str, uuid.UUID],
) -> None:  # fmt: skip
    """Engineers by territory in teams of twelve, each with a user (the history's password),
    working hours (a fifth also Saturday mornings), an hourly cost and a van; the first of
    ``world.BAD_ENGINEER_TERRITORY`` is the careless one."""
    rows: dict[str, list[tuple[Any, ...]]] = {"users": [], "engineers": [], "stock_locations": []}
    now, org_id, i = result.now, result.org_id, 0
    for territory, count in _headcount(total).items():
        lat, lon = next((la, lo) for n, la, lo, _ in world.TERRITORIES if n == territory)
        result.staff[territory] = []
        for k in range(count):
            i += 1
            user, engineer, van = ids.at(now), ids.at(now), ids.at(now)
            email = f"history-engineer{i}@{slug}.fixflow"
            name = rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(("", *_GIVEN))
            saturday = rng.random() < 0.2
            hours = dict(_HOURS, sat=[["09:00", "13:00"]]) if saturday else _HOURS
            team = f"{territory} {'ABCDEFGH'[min(k // 12, 7)]}"
            skills = json.dumps({s: rng.randint(2, 5) for s in _SKILLS})
            home = (lat + rng.uniform(-0.05, 0.05), lon + rng.uniform(-0.05, 0.05))
            rows["users"].append((
                user, org_id, email, name, hashed, "engineer", "zh_CN", [], True, 1, now, now
            ))  # fmt: skip
            rows["engineers"].append((
                engineer, org_id, user, name, f"+86 139 {i:04d} {rng.randint(0, 9999):04d}",
                skills, *home, json.dumps(hours), territory, team, Decimal(rng.randint(70, 150)),
                6, 480, round(rng.uniform(3.6, 4.9), 1), sites[territory], sites[territory],
                "{}", True, 1, now, now,
            ))  # fmt: skip
            rows["stock_locations"].append((
                van, org_id, "van", f"Van: {name}", engineer, None, True, 1, now, now
            ))  # fmt: skip
            bad = territory == world.BAD_ENGINEER_TERRITORY and k == 0
            chance = world.BAD_ENGINEER_REPEAT_CHANCE if bad else world.REPEAT_CHANCE
            staff = Staff(engineer, f"user:{email}", territory, team, van, chance, saturday)
            result.staff[territory].append(staff)
    for table, table_rows in rows.items():
        await copy(conn, table, table_rows)


_INSTALLED = [m.installed for m in world.MODELS]
_HOURS = {d: [["08:30", "17:30"]] for d in ("mon", "tue", "wed", "thu", "fri")}
_SKILLS = ("hvac", "refrigeration", "electrical", "generators", "lifts")


async def _installed_base(
    conn: Any, result: Cast, assets: int, rng: random.Random, ids: Ids, sites: dict[str, uuid.UUID]
) -> None:
    """Customers with one to three sites in a territory, each site with one to four assets
    of any model."""
    rows: dict[str, list[tuple[Any, ...]]] = {"customers": [], "sites": [], "assets": []}
    now, org_id = result.now, result.org_id
    territories = [(n, la, lo) for n, la, lo, _ in world.TERRITORIES]
    shares = [s for *_, s in world.TERRITORIES]
    made = 0
    while made < assets:
        customer, n = ids.at(now), len(rows["customers"]) + 1
        rows["customers"].append((
            customer, org_id, f"Customer {n:05d}", f"Contact {n}", f"+86 21 6{n:07d}", None, None,
            1, now, now
        ))  # fmt: skip
        for s in range(rng.choice((1, 1, 2, 3))):
            territory, lat, lon = rng.choices(territories, weights=shares)[0]
            site = ids.at(now)
            lat, lon = lat + rng.uniform(-0.08, 0.08), lon + rng.uniform(-0.08, 0.08)
            rows["sites"].append((
                site, org_id, customer, f"Customer {n:05d} site {s + 1}", f"{territory}, Shanghai",
                lat, lon, None, 1, now, now
            ))  # fmt: skip
            for _ in range(rng.choice((1, 2, 2, 3, 4))):
                model, asset = rng.choices(world.MODELS, _INSTALLED)[0], ids.at(now)
                made += 1
                installed = result.first_day - dt.timedelta(days=rng.randint(30, 2500))
                warranty = installed + dt.timedelta(days=730)
                rows["assets"].append((
                    asset, org_id, site, customer, None, model.code, f"{model.code}-H{made:07d}",
                    model.label, installed, warranty, 1, now, now
                ))  # fmt: skip
                unit = Unit(asset, customer, site, model, territory, sites[territory], lat, lon)
                result.units.setdefault(model.category, []).append(unit)
    for table, table_rows in rows.items():
        await copy(conn, table, table_rows)


async def _parts(conn: Any, result: Cast, rng: random.Random, ids: Ids) -> None:
    """Parts for each model (of its category's kinds), a generic cable, and opening stock
    in the warehouse (so it holds a value for the turnover)."""
    rows, moves, now = [], [], result.now
    opening = dt.datetime.combine(result.first_day, dt.time(6), tzinfo=dt.UTC)
    for model in (*world.MODELS, None):
        kinds = _PARTS[model.category] if model else _CABLE
        for code, label, cost, price in kinds:
            part = ids.at(now)
            sku = f"H-{code}-{model.code}" if model else f"H-{code}"
            name = f"{label} for {model.code}" if model else label
            models = [model.code] if model else []
            rows.append((
                part, result.org_id, sku, name, "", "pcs", Decimal(cost), Decimal(price), None,
                False, models, True, 1, now, now
            ))  # fmt: skip
            ref = PartRef(part, Decimal(cost), Decimal(price))
            result.parts.setdefault(model.code if model else "*", []).append(ref)
            result.part_costs[part] = ref.cost
            moves.append((
                ids.at(opening), result.org_id, "receive", part, Decimal(rng.randint(20, 80)),
                None, result.warehouse_id, None, None, None, "Opening stock", Decimal(cost),
                None, False, result.dispatcher, opening,
            ))  # fmt: skip
    await copy(conn, "parts", rows)
    await copy(conn, "stock_movements", moves)


_CABLE = (("CABLE", "Cable 2.5 mm² (metre)", "0.90", "2.20"),)


async def copy(
    conn: Any, table: str, rows: list[tuple[Any, ...]], columns: tuple[str, ...] | None = None
) -> None:
    """COPY ``rows`` into ``table`` (binary, through asyncpg), in ``rows.COLUMNS`` order."""
    if rows:
        names = list(columns or COLUMNS[table])
        await conn.copy_records_to_table(table, records=rows, columns=names)


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _months_back(today: dt.date, months: int) -> dt.date:
    """The day ``months`` months before ``today`` (the 28th at most, so it exists)."""
    total = today.year * 12 + today.month - 1 - months
    return dt.date(total // 12, total % 12 + 1, min(today.day, 28))
