"""Every kind of object created with maximum-length text in every text field, then every
flow that derives text from it: the site's stock location when a part is used there (REST
and sync), the engineer's van, the audit trail, the service report PDF, the CSV export, the
stock reports, the phone's pull.

Derived text used to overflow: "Site: " + a 200-character site name does not fit the
200-character location name (every part used at that site failed), nor "Van: " + a
200-character engineer name. Each text style runs the whole scenario: ASCII, Chinese,
emoji (4 UTF-8 bytes, 2 UTF-16 units each) and zero-width-joined emoji families with
combining accents, which a naive cut would split.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import LABEL_LENGTH
from server.db import Base
from server.parts.models import StockLocation
from server.text import ELLIPSIS, fit_column
from shared.ids import uuid7
from tests.fixtures.factories import make_tenant
from tests.server import longest
from tests.server.service_report.pdf import text_of


@pytest.mark.parametrize("style", list(longest.STYLES))
async def test_every_object_at_its_longest_and_every_flow_deriving_from_it(
    client: httpx.AsyncClient, db: AsyncSession, engine: Any, style: str
) -> None:
    t = await make_tenant(db)
    api = longest.Api(client, t)
    people = await longest.organisation_and_people(api, style)
    customer, site, asset = await longest.customer_site_asset(api, style)
    template = await longest.policies_and_checklist(api, style, asset)
    part, warehouse = await longest.parts(api, style, asset)
    engineer = people["engineer"]
    who = "fresh-engineer"
    t.users[who] = await _user(db, engineer["user_id"])
    van = await db.scalar(select(StockLocation).where(StockLocation.engineer_id == engineer["id"]))
    assert van is not None and van.name.endswith(ELLIPSIS) and len(van.name) == 200
    await longest.stock_the_van(api, style, part, warehouse, str(van.id))
    ticket = await longest.work_order(api, style, people["key"], customer, site, asset)
    visit_id = await longest.on_site(api, style, ticket["id"], engineer, who)
    await longest.field_work(api, style, ticket["id"], visit_id, who, template, part)
    await longest.evidence(api, style, ticket["id"], visit_id, who)
    phone = await longest.sync_the_phone(api, style, who, ticket["id"], visit_id, part, engine)
    made = {
        "customer": customer,
        "site": site,
        "asset": asset,
        "part": part,
        "warehouse": warehouse,
        "template": template,
        "calendar_id": template["calendar_id"],
    }
    await longest.second_edits(api, style, made, ticket["id"], who)
    await longest.flag_closed(api, style, phone, made, engineer)

    at_site = await db.scalar(select(StockLocation).where(StockLocation.site_id == site["id"]))
    assert at_site is not None and len(at_site.name) <= 200
    assert at_site.name.startswith("Site: ") and at_site.name.endswith(ELLIPSIS)
    assert phone.get("work_order", ticket["id"]) is not None

    base = f"/api/v1/tickets/{ticket['id']}"
    events = await api.call("GET", f"{base}/events", "dispatcher")
    assert any(e["actor"].startswith("key:") for e in events)
    report = await client.get(f"{base}/report.pdf", headers=t.headers("dispatcher"))
    assert report.status_code == 200, report.text
    assert report.headers["content-type"] == "application/pdf"
    assert customer["name"][:20] in text_of(report.content).replace("\n", "")
    export = await client.get("/api/v1/parts/export", headers=t.headers("admin"))
    assert export.status_code == 200 and part["name"] in export.text
    reimport = await client.post(
        "/api/v1/parts/import",
        params={"dry_run": "true"},
        content=export.content,
        headers={**t.headers("admin"), "Content-Type": "text/csv"},
    )
    assert reimport.status_code == 200, reimport.text
    assert reimport.json()["error_count"] == 0, reimport.text[:500]
    span = {"from": longest.now(-600), "to": longest.now(600), "ticket_id": ticket["id"]}
    for report_path in ("on-hand", "consumption", "work-order-cost", "turnover"):
        await api.call("GET", f"/api/v1/stock-reports/{report_path}", "admin", params=span)
    for url in (
        "/api/v1/tickets",
        f"/api/v1/tickets?q={longest.text(style, 100)}",
        "/api/v1/customers",
        "/api/v1/sites",
        "/api/v1/assets",
        "/api/v1/engineers",
        "/api/v1/parts",
        "/api/v1/stock-locations",
        "/api/v1/sync/flags",
        "/api/v1/part-returns",
        f"{base}/labour",
        f"{base}/parts-used",
        f"{base}/attachments",
        f"/api/v1/assets/{asset['id']}/history",
    ):
        await api.call("GET", url, "admin")


async def _user(db: AsyncSession, user_id: str) -> Any:
    from server.auth.models import User

    user = await db.get(User, user_id)
    assert user is not None
    return user


def test_every_audit_column_holds_an_actor_label() -> None:
    """Actor labels are cut to LABEL_LENGTH when the Actor is made; every column that
    records one must hold that many characters."""
    names = {
        "created_by",
        "recorded_by",
        "approved_by",
        "answered_by",
        "author",
        "actor",
        "uploaded_by",
        "closed_by",
    }
    found = []
    for table in Base.metadata.tables.values():
        for column in table.columns:
            if column.name in names and isinstance(column.type, String):
                found.append(f"{table.name}.{column.name}")
                assert column.type.length == LABEL_LENGTH, found[-1]
    assert len(found) >= 15, found


@pytest.mark.parametrize("style", list(longest.STYLES))
async def test_parts_used_at_a_site_with_the_longest_name_rest_and_sync(
    client: httpx.AsyncClient, db: AsyncSession, engine: Any, style: str
) -> None:
    """The issue's case alone: a 200-character site name and an engineer of the factories
    (an ordinary van), a part used there over REST and over sync."""
    t = await make_tenant(db)
    assert t.site is not None
    t.site.name = longest.text(style, 200)
    await db.flush()
    api = longest.Api(client, t)
    part = await api.call("POST", "/api/v1/parts", "admin", {"sku": uuid7().hex, "name": "Fuse"})
    van = await api.call("GET", f"/api/v1/engineers/{t.engineers[0].id}", "admin")
    assert van["id"]
    ticket = await api.call(
        "POST",
        "/api/v1/tickets",
        "dispatcher",
        {"customer_id": str(t.site.customer_id), "site_id": str(t.site.id), "title": "Fuse"},
    )
    visit_id = await longest.on_site(
        api, style, ticket["id"], {"id": str(t.engineers[0].id)}, "engineer1"
    )
    line = {"line_id": str(uuid7()), "action": "use", "part_id": part["id"], "quantity": "1"}
    await api.call("POST", f"/api/v1/tickets/{ticket['id']}/parts-used", "engineer1", line)
    phone = await longest.sync_the_phone(
        api, style, "engineer1", ticket["id"], visit_id, part, engine
    )
    assert phone.get("work_order", ticket["id"]) is not None
    at_site = await db.scalar(select(StockLocation).where(StockLocation.site_id == t.site.id))
    assert at_site is not None and at_site.name == fit_column(
        StockLocation.name, f"Site: {t.site.name}"
    )
