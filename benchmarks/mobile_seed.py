"""Server-side data for ``bench_mobile``: an organisation of engineers with work orders (by
``sync_seed.seed_field_org``), a parts catalogue that reads like a real one (names in English,
Chinese or both, SKUs by family, EAN-13 barcodes on most parts), a stocked van per engineer,
and a password per engineer so the phone logs in for real. Direct COPY / INSERT: seeding is
not measured.

Not a benchmark itself (only ``bench_*.py`` modules are discovered).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from benchmarks.sync_seed import FieldOrg, seed_field_org
from server.auth.security import hash_password
from shared.ids import uuid7

PASSWORD = "bench-mobile-engineer"  # every seeded engineer's (the API runs on loopback only)

# (SKU family, English name, Chinese name): what a service van carries.
FAMILIES = [
    ("CMP", "Scroll compressor", "涡旋压缩机"),
    ("CTR", "Contactor", "接触器"),
    ("FAN", "Condenser fan motor", "冷凝风机电机"),
    ("BLT", "Drive belt", "传动皮带"),
    ("SNS", "Temperature sensor", "温度传感器"),
    ("VLV", "Expansion valve", "膨胀阀"),
    ("FLT", "Filter drier", "干燥过滤器"),
    ("CAP", "Run capacitor", "运行电容"),
    ("PSW", "Pressure switch", "压力开关"),
    ("PCB", "Control board", "控制主板"),
    ("THM", "Thermostat", "温控器"),
    ("PMP", "Condensate pump", "冷凝水泵"),
    ("BRG", "Ball bearing", "滚珠轴承"),
    ("GSK", "Door gasket", "门封条"),
    ("RLY", "Relay", "继电器"),
    ("HTR", "Heater element", "加热管"),
    ("FUS", "Fuse", "保险丝"),
    ("HSE", "Refrigerant hose", "冷媒软管"),
    ("SOL", "Solenoid valve", "电磁阀"),
    ("MTR", "Blower motor", "鼓风机电机"),
]
SPECS = ["24 V AC", "230 V", "380 V 3-phase", "1/3 HP", "45+5 µF", "R410A", "R32", "DN15", "A-42"]
BRANDS = [
    ("Danfoss", "丹佛斯"),
    ("Copeland", "谷轮"),
    ("Honeywell", "霍尼韦尔"),
    ("Emerson", "艾默生"),
    ("Gree", "格力"),
    ("Midea", "美的"),
    ("Daikin", "大金"),
    ("Carrier", "开利"),
]
CUSTOMERS_ZH = ["上海浦东商场", "静安写字楼", "徐汇酒店", "虹口医院", "闵行工厂", "长宁超市"]


@dataclass(frozen=True)
class CataloguePart:
    id: uuid.UUID
    sku: str
    name: str
    barcode: str | None


@dataclass
class MobileOrg:
    field: FieldOrg
    parts: list[CataloguePart]
    van: dict[uuid.UUID, list[uuid.UUID]]  # engineer id -> the parts their van holds


def ean13(first12: str) -> str:
    """The 12 digits with their EAN-13 check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def part_name(rng: random.Random, family: tuple[str, str, str]) -> str:
    """English, Chinese or both (as catalogues imported from several suppliers are)."""
    _, english, chinese = family
    brand_en, brand_zh = rng.choice(BRANDS)
    spec = rng.choice(SPECS)
    style = rng.random()
    if style < 0.5:
        return f"{english} {spec} ({brand_en})"
    if style < 0.8:
        return f"{chinese} {spec} {brand_zh}"
    return f"{english} {chinese} {spec}"


def catalogue(count: int, seed: int = 11) -> list[CataloguePart]:
    """``count`` parts, the same ones for the same seed; SKUs ``<family>-<5 digits>``
    unique, a barcode on three parts in four."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        family = FAMILIES[i % len(FAMILIES)]
        barcode = ean13(f"69{i:010d}") if rng.random() < 0.75 else None
        out.append(CataloguePart(uuid7(), f"{family[0]}-{i:05d}", part_name(rng, family), barcode))
    return out


async def _copy_catalogue(
    conn: asyncpg.Connection, org: uuid.UUID, parts: list[CataloguePart]
) -> None:
    columns = ["id", "org_id", "sku", "name", "description", "unit", "cost", "price"]
    columns += ["barcode", "serialised", "compatible_models", "active", "version"]
    cost, price = Decimal("12.50"), Decimal("25.00")
    await conn.copy_records_to_table(
        "parts",
        columns=columns,
        records=[
            (
                p.id,
                org,
                p.sku,
                p.name,
                "",
                "pcs",
                cost,
                price,
                p.barcode,
                False,
                ["CH-200"],
                True,
                1,
            )
            for p in parts
        ],
    )


async def _stock_vans(
    conn: asyncpg.Connection, org: FieldOrg, parts: list[CataloguePart], per_van: int
) -> dict[uuid.UUID, list[uuid.UUID]]:
    rng = random.Random(7)
    van: dict[uuid.UUID, list[uuid.UUID]] = {}
    records = []
    for engineer in org.engineers:
        held = [p.id for p in rng.sample(parts, per_van)]
        van[engineer.id] = held
        records += [
            (
                engineer.van_id,
                part,
                org.tenant.org_id,
                Decimal(rng.randint(1, 12)),
                Decimal(0),
                False,
            )
            for part in held
        ]
    await conn.copy_records_to_table(
        "stock_balances",
        columns=["location_id", "part_id", "org_id", "on_hand", "reserved", "needs_reconciliation"],
        records=records,
    )
    return van


async def _day_of_work(conn: asyncpg.Connection, org: FieldOrg, now: dt.datetime) -> None:
    """Appointment windows through the day (every tenth job has none), the four priorities,
    a third of the customers with Chinese names: what the Today list shows."""
    rows, names = [], []
    for engineer in org.engineers:
        for n, wo in enumerate(engineer.work_orders):
            start = now - dt.timedelta(hours=10) + dt.timedelta(minutes=3 * n)
            window = None if n % 10 == 9 else start
            end = None if window is None else start + dt.timedelta(hours=2)
            rows.append((wo.id, window, end, f"P{1 + n % 4}"))
            if n % 3 == 0:
                names.append((wo.customer_id, f"{CUSTOMERS_ZH[n % len(CUSTOMERS_ZH)]} {n}"))
    await conn.executemany(
        "UPDATE tickets SET window_start = $2, window_end = $3, priority = $4 WHERE id = $1", rows
    )
    await conn.executemany("UPDATE customers SET name = $2 WHERE id = $1", names)


async def seed_mobile_org(
    conn: asyncpg.Connection,
    *,
    slug: str,
    engineers: int,
    work_orders: int,
    parts: list[CataloguePart],
    van_parts: int,
) -> MobileOrg:
    """``engineers`` engineers with ``work_orders`` assigned work orders each (appointments
    today), the catalogue ``parts``, ``van_parts`` of them in each van, and PASSWORD."""
    org = await seed_field_org(
        conn, slug=slug, engineers=engineers, work_orders=work_orders, status="assigned"
    )
    async with conn.transaction():
        await _copy_catalogue(conn, org.tenant.org_id, parts)
        van = await _stock_vans(conn, org, parts, van_parts)
        await _day_of_work(conn, org, dt.datetime.now(dt.UTC))
        await conn.execute(
            "UPDATE users SET password_hash = $2 WHERE id = ANY($1)",
            [e.user_id for e in org.engineers],
            hash_password(PASSWORD),
        )
    return MobileOrg(org, parts, van)
