"""Seed data for the sync benchmarks (``sync_push``, ``sync_pull``): an organisation whose
engineers hold work orders with their own customer, site and asset, optionally with field
records, a van, a parts catalogue and the feed rows the server would have written for all
of it. Direct COPY / INSERT .. SELECT: seeding is not measured.

Not a benchmark itself (only ``bench_*.py`` modules are discovered).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg

from benchmarks.common import Tenant, bench_token, seed_tenant
from shared.ids import uuid7

# The template every work order of type "repair" gets (ticket_type set, no product model).
CHECKLIST: list[tuple[str, str, bool, float | None, float | None, str | None, list[str]]] = [
    ("yes_no", "Power isolated before opening the unit", True, None, None, None, []),
    ("number", "Discharge temperature", True, 0.0, 30.0, "°C", []),
    ("text", "Observations", False, None, None, None, []),
]
SHANGHAI = (31.2304, 121.4737)


@dataclass(frozen=True)
class WorkOrder:
    id: uuid.UUID
    number: int
    customer_id: uuid.UUID
    site_id: uuid.UUID
    asset_id: uuid.UUID
    site_lat: float
    site_lon: float


@dataclass
class Engineer:
    id: uuid.UUID
    user_id: uuid.UUID
    email: str
    work_orders: list[WorkOrder] = field(default_factory=list)
    van_id: uuid.UUID | None = None


@dataclass
class FieldOrg:
    tenant: Tenant
    engineers: list[Engineer]
    items: list[tuple[uuid.UUID, str]]  # checklist items (id, kind), in template order
    parts: list[uuid.UUID]
    template_id: uuid.UUID
    rows: dict[str, int] = field(default_factory=dict)  # what was seeded, per table


def engineer_token(secret_key: str, tenant: Tenant, engineer: Engineer) -> str:
    """An engineer's access token for an API server started with ``secret_key``."""
    return bench_token(secret_key, user_id=engineer.user_id, org_id=tenant.org_id, role="engineer")


async def seed_field_org(
    conn: asyncpg.Connection,
    *,
    slug: str,
    engineers: int,
    work_orders: int,
    status: str = "accepted",
    records: bool = False,
    parts: int = 0,
    van_parts: int = 0,
    feed: bool = False,
) -> FieldOrg:
    """``engineers`` engineers with ``work_orders`` work orders each (every one with its
    own customer, site and asset), in ``status``; with ``records``, each work order has a
    checked-in-and-out visit, two labour entries and a note; ``parts`` in the catalogue,
    ``van_parts`` of them on each engineer's van; with ``feed``, the feed rows the server
    writes when those rows are created (so the feed has a history before any cursor)."""
    count = engineers * work_orders
    tenant = await seed_tenant(conn, slug=slug, customers=count, engineers=engineers)
    org = tenant.org_id
    now = dt.datetime.now(dt.UTC)
    users = {
        r["id"]: (r["user_id"], r["email"])
        for r in await conn.fetch(
            "SELECT e.id, e.user_id, u.email FROM engineers e JOIN users u ON u.id = e.user_id "
            "WHERE e.org_id = $1",
            org,
        )
    }
    crew = [Engineer(eid, *users[eid]) for eid in tenant.engineer_ids]
    actor = f"user:{tenant.dispatcher_email}"
    async with conn.transaction():
        # Sites a few km apart around the city centre; the phone checks in near them.
        await conn.execute(
            "UPDATE sites SET lat = $2 + (hashtext(id::text) % 1000) / 20000.0, "
            "lon = $3 + (hashtext(name || id::text) % 1000) / 20000.0 WHERE org_id = $1",
            org,
            *SHANGHAI,
        )
        sites = {
            r["customer_id"]: (r["id"], r["lat"], r["lon"])
            for r in await conn.fetch(
                "SELECT id, customer_id, lat, lon FROM sites WHERE org_id = $1", org
            )
        }
        assets: list[tuple[Any, ...]] = []
        tickets: list[tuple[Any, ...]] = []
        number = 0
        for e, engineer in enumerate(crew):
            for w in range(work_orders):
                customer = tenant.customer_ids[e * work_orders + w]
                site, lat, lon = sites[customer]
                number += 1
                wo = WorkOrder(uuid7(), number, customer, site, uuid7(), lat, lon)
                engineer.work_orders.append(wo)
                assets.append(
                    (wo.asset_id, org, site, customer, "CH-200", f"SN-{slug}-{number:06d}", 1)
                )
                created = now - dt.timedelta(days=2, minutes=number)
                tickets.append(
                    (
                        wo.id,
                        org,
                        number,
                        customer,
                        site,
                        wo.asset_id,
                        "phone",
                        "repair",
                        "P3",
                        status,
                        f"Chiller trips on high pressure ({number})",
                        "Unit 2 shows alarm E31 since this morning; the shop is warm.",
                        "",
                        [],
                        90,
                        engineer.id,
                        actor,
                        tenant.policies["P3"],
                        created + dt.timedelta(hours=4),
                        created + dt.timedelta(days=3),
                        created + dt.timedelta(hours=1),
                        0,
                        "ok",
                        created + dt.timedelta(days=2),
                        False,
                        False,
                        3,
                        created,
                        created,
                    )
                )
        await conn.copy_records_to_table(
            "assets",
            columns=[
                "id",
                "org_id",
                "site_id",
                "customer_id",
                "product_model",
                "serial_number",
                "version",
            ],
            records=assets,
        )
        await conn.copy_records_to_table(
            "tickets",
            columns=[
                "id",
                "org_id",
                "number",
                "customer_id",
                "site_id",
                "asset_id",
                "channel",
                "type",
                "priority",
                "status",
                "title",
                "description",
                "search_text",
                "required_skills",
                "estimated_minutes",
                "assignee_id",
                "created_by",
                "sla_policy_id",
                "response_due_at",
                "resolution_due_at",
                "first_response_at",
                "paused_seconds",
                "sla_state",
                "sla_next_check_at",
                "response_breached",
                "resolution_breached",
                "version",
                "created_at",
                "updated_at",
            ],
            records=tickets,
        )
        await conn.execute(
            "INSERT INTO ticket_counters (org_id, last_number) VALUES ($1, $2)", org, number
        )
        template_id = uuid7()
        await conn.execute(
            "INSERT INTO checklist_templates (id, org_id, name, ticket_type, active, version) "
            "VALUES ($1, $2, 'Chiller service', 'repair', true, 1)",
            template_id,
            org,
        )
        items = [(uuid7(), kind) for kind, *_ in CHECKLIST]
        await conn.executemany(
            "INSERT INTO checklist_items (id, org_id, template_id, position, kind, label, "
            "required, min_value, max_value, unit, options) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            [
                (item_id, org, template_id, i, *spec)
                for i, ((item_id, _), spec) in enumerate(zip(items, CHECKLIST, strict=True), 1)
            ],
        )
        part_ids = await _catalogue(conn, org, parts)
        await _vans(conn, org, crew, part_ids[:van_parts])
        seeded = {"tickets": count, "customers": count, "sites": count, "assets": count}
        if records:
            seeded |= await _records(conn, org, crew, now)
        seeded |= {"parts": parts, "van_balances_per_engineer": min(van_parts, parts)}
        if feed:
            seeded["sync_changes"] = await _feed(conn, org)
    return FieldOrg(tenant, crew, items, part_ids, template_id, seeded)


async def _catalogue(conn: asyncpg.Connection, org: uuid.UUID, parts: int) -> list[uuid.UUID]:
    if not parts:
        return []
    ids = [uuid7() for _ in range(parts)]
    await conn.copy_records_to_table(
        "parts",
        columns=[
            "id",
            "org_id",
            "sku",
            "name",
            "description",
            "unit",
            "cost",
            "price",
            "serialised",
            "compatible_models",
            "active",
            "version",
        ],
        records=[
            (
                p,
                org,
                f"P-{i:06d}",
                f"Spare part {i}",
                "Compressor contactor 3-pole, 24 V AC coil",
                "pcs",
                Decimal(5 + i % 200) + Decimal("0.25"),
                Decimal(10 + i % 400) + Decimal("0.50"),
                False,
                ["CH-200"],
                True,
                1,
            )
            for i, p in enumerate(ids)
        ],
    )
    return ids


async def _vans(
    conn: asyncpg.Connection, org: uuid.UUID, crew: list[Engineer], parts: list[uuid.UUID]
) -> None:
    for engineer in crew:
        engineer.van_id = uuid7()
    await conn.executemany(
        "INSERT INTO stock_locations (id, org_id, kind, name, engineer_id, active, version) "
        "VALUES ($1, $2, 'van', $3, $4, true, 1)",
        [(e.van_id, org, f"Van of {e.email}", e.id) for e in crew],
    )
    if parts:
        await conn.copy_records_to_table(
            "stock_balances",
            columns=[
                "location_id",
                "part_id",
                "org_id",
                "on_hand",
                "reserved",
                "needs_reconciliation",
            ],
            records=[
                (e.van_id, part, org, Decimal(5), Decimal(0), False) for e in crew for part in parts
            ],
        )


async def _records(
    conn: asyncpg.Connection, org: uuid.UUID, crew: list[Engineer], now: dt.datetime
) -> dict[str, int]:
    """Per work order: visit 1 (checked in and out), a travel and a work entry, a note."""
    visits, checks, labour, notes = [], [], [], []
    for engineer in crew:
        by = f"user:{engineer.email}"
        for wo in engineer.work_orders:
            start = now - dt.timedelta(days=1, minutes=wo.number)
            visit = uuid7()
            visits.append((visit, org, wo.id, engineer.id, 1, by, start))
            for kind, at in (("in", start), ("out", start + dt.timedelta(hours=1))):
                fix = (wo.site_lat, wo.site_lon, 8.0, 3.2)
                checks.append((visit, kind, org, at, at, 0.5, False, *fix, False, by))
            travel = (start - dt.timedelta(minutes=30), start)
            work = (start, start + dt.timedelta(hours=1))
            for kind, (begin, end) in (("travel", travel), ("work", work)):
                labour.append((uuid7(), org, wo.id, engineer.id, visit, kind, begin, end, by, end))
            text = "Replaced the contactor; pressure switch reset; monitored for 30 minutes."
            notes.append((uuid7(), org, wo.id, visit, text, by, start, start))
    await conn.copy_records_to_table(
        "visits",
        columns=["id", "org_id", "ticket_id", "engineer_id", "number", "created_by", "received_at"],
        records=visits,
    )
    await conn.copy_records_to_table(
        "visit_checks",
        columns=[
            "visit_id",
            "kind",
            "org_id",
            "device_time",
            "received_at",
            "clock_offset_s",
            "clock_skew",
            "lat",
            "lon",
            "accuracy_m",
            "distance_m",
            "far_from_site",
            "recorded_by",
        ],
        records=checks,
    )
    await conn.copy_records_to_table(
        "labour_entries",
        columns=[
            "id",
            "org_id",
            "ticket_id",
            "engineer_id",
            "visit_id",
            "kind",
            "started_at",
            "ended_at",
            "recorded_by",
            "received_at",
        ],
        records=labour,
    )
    await conn.copy_records_to_table(
        "ticket_notes",
        columns=[
            "id",
            "org_id",
            "ticket_id",
            "visit_id",
            "text",
            "author",
            "device_time",
            "received_at",
        ],
        records=notes,
    )
    return {
        "visits": len(visits),
        "visit_checks": len(checks),
        "labour_entries": len(labour),
        "ticket_notes": len(notes),
    }


async def _feed(conn: asyncpg.Connection, org: uuid.UUID) -> int:
    """The feed rows capture (server/sync/capture.py) writes when these rows are created:
    a ``scope`` row per work order for its engineer, a ``put`` per customer, site, asset and
    field record for the engineer of its work order, a ``put`` per catalogue row."""
    statements = [
        "SELECT org_id, 'engineer:' || assignee_id, 'work_order', id::text, 'scope' "
        "FROM tickets WHERE org_id = $1",
        *(
            f"SELECT org_id, 'engineer:' || assignee_id, '{entity}', {column}::text, 'put' "
            f"FROM tickets WHERE org_id = $1"
            for entity, column in (
                ("customer", "customer_id"),
                ("site", "site_id"),
                ("asset", "asset_id"),
            )
        ),
        *(
            f"SELECT x.org_id, 'engineer:' || t.assignee_id, '{entity}', x.id::text, 'put' "
            f"FROM {table} x JOIN tickets t ON t.id = x.ticket_id WHERE x.org_id = $1"
            for entity, table in (
                ("visit", "visits"),
                ("labour_entry", "labour_entries"),
                ("note", "ticket_notes"),
            )
        ),
        "SELECT org_id, 'catalogue', 'part', id::text, 'put' FROM parts WHERE org_id = $1",
        "SELECT org_id, 'catalogue', 'checklist_template', id::text, 'put' "
        "FROM checklist_templates WHERE org_id = $1",
    ]
    total = 0
    for select in statements:
        status = await conn.execute(
            f"INSERT INTO sync_changes (org_id, scope, entity, entity_id, op) {select}", org
        )
        total += int(status.split()[-1])
    return total


async def register_clients(
    conn: asyncpg.Connection, org: FieldOrg, engineers: list[Engineer], device: str
) -> list[uuid.UUID]:
    """One installation per engineer (what ``POST /sync/clients`` writes)."""
    ids = [uuid7() for _ in engineers]
    await conn.executemany(
        "INSERT INTO sync_clients (id, org_id, user_id, engineer_id, device, last_seq) "
        "VALUES ($1, $2, $3, $4, $5, 0)",
        [
            (cid, org.tenant.org_id, e.user_id, e.id, device)
            for cid, e in zip(ids, engineers, strict=True)
        ],
    )
    return ids


def dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)
