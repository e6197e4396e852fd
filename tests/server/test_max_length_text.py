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

import datetime as dt
import hashlib
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
from tests.fixtures.attachments import noisy_jpeg, upload
from tests.fixtures.factories import Tenant, make_tenant
from tests.server.service_report.pdf import signature_png, text_of
from tests.server.sync.helpers import Phone

STYLES = {
    "ascii": "W",
    "cjk": "维修字",
    "emoji": "😀🔧",
    "joined": "👩\u200d👩\u200d👧e\u0301",
}
SITE = {"lat": 31.23, "lon": 121.47, "accuracy_m": 8.0}
# The longest e-mail address there is: 64-character local part, 254 in all.
LONGEST_EMAIL = "a" * 64 + "@" + ("b" * 63 + ".") * 2 + "c" * 57 + ".com"


def _text(style: str, n: int) -> str:
    """Exactly ``n`` characters of the style; ends on a visible character (no trailing
    space for the API's whitespace stripping to remove)."""
    pattern = STYLES[style]
    return (pattern * (n // len(pattern) + 1))[:n]


def _distinct(style: str, n: int, count: int) -> list[str]:
    """``count`` different texts of exactly ``n`` characters."""
    return [_text(style, n - 2) + f"{i:02d}" for i in range(count)]


def _now(minutes: int = 0) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)).isoformat()


class Api:
    """The scenario's requests: each must succeed; the answer's JSON is returned."""

    def __init__(self, client: httpx.AsyncClient, t: Tenant) -> None:
        self.client, self.t = client, t

    async def call(
        self, method: str, url: str, who: str | dict[str, str], body: Any = None, **kw: Any
    ) -> Any:
        headers = who if isinstance(who, dict) else self.t.headers(who)
        response = await self.client.request(
            method, url, json=body, headers={**headers, **kw.pop("headers", {})}, **kw
        )
        assert response.status_code < 300, (method, url, response.status_code, response.text)
        return (
            response.json()
            if response.content and "json" in response.headers.get("content-type", "")
            else response
        )

    async def patch(self, url: str, who: str, body: dict[str, Any]) -> Any:
        current = await self.client.get(url, headers=self.t.headers(who))
        etag = current.headers.get("ETag")  # users and the organisation have none
        headers = {"If-Match": etag} if etag else {}
        return await self.call("PATCH", url, who, body, headers=headers)


async def _organisation_and_people(api: Api, s: str) -> dict[str, Any]:
    await api.patch("/api/v1/organisation", "admin", {"name": _text(s, 200)})
    user = await api.call(
        "POST",
        "/api/v1/users",
        "admin",
        {
            "email": LONGEST_EMAIL,
            "full_name": _text(s, 200),
            "password": _text(s, 200),
            "role": "dispatcher",
        },
    )
    await api.patch(f"/api/v1/users/{user['id']}", "admin", {"full_name": _text(s, 199)})
    key = await api.call(
        "POST",
        "/api/v1/api-keys",
        "admin",
        {"name": _text(s, 100), "scopes": ["tickets:read", "tickets:write", "customers:read"]},
    )
    skill = "技" * 60 if s == "cjk" else "s" * 60
    engineer = await api.call(
        "POST",
        "/api/v1/engineers",
        "admin",
        {
            "email": f"{s}-{uuid7().hex[:8]}@example.com",
            "password": _text(s, 200),
            "display_name": _text(s, 200),
            "phone": "1" * 40,
            "territory": _text(s, 100),
            "skills": {skill: 5},
            "locale": "zh_CN",
        },
    )
    await api.patch(f"/api/v1/engineers/{engineer['id']}", "admin", {"territory": _text(s, 99)})
    return {"key": key["key"], "engineer": engineer, "skill": skill}


async def _customer_site_asset(api: Api, s: str) -> tuple[Any, Any, Any]:
    customer = await api.call(
        "POST",
        "/api/v1/customers",
        "agent",
        {
            "name": _text(s, 200),
            "contact_name": _text(s, 200),
            "phone": "+86 (21) 5555-0101" + "0" * 22,
            "email": LONGEST_EMAIL,
            "notes": _text(s, 20_000),
        },
    )
    site = await api.call(
        "POST",
        "/api/v1/sites",
        "agent",
        {
            "customer_id": customer["id"],
            "name": _text(s, 200),
            "address": _text(s, 500),
            "lat": SITE["lat"],
            "lon": SITE["lon"],
            "access_notes": _text(s, 20_000),
        },
    )
    asset = await api.call(
        "POST",
        "/api/v1/assets",
        "agent",
        {
            "site_id": site["id"],
            "product_model": _text(s, 120),
            "serial_number": _text(s, 120),
            "name": _text(s, 200),
        },
    )
    return customer, site, asset


async def _policies_and_checklist(api: Api, s: str, asset: Any) -> Any:
    calendar = await api.call(
        "POST",
        "/api/v1/business-calendars",
        "admin",
        {
            "name": _text(s, 100),
            "timezone": "Asia/Shanghai",
            "hours": {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        },
    )
    await api.call(
        "POST",
        "/api/v1/sla-policies",
        "admin",
        {
            "priority": "P2",
            "response_minutes": 60,
            "resolution_minutes": 600,
            "calendar_id": calendar["id"],
        },
    )
    template = await api.call(
        "POST",
        "/api/v1/checklist-templates",
        "admin",
        {
            "name": _text(s, 200),
            "product_model": asset["product_model"],
            "items": [
                {"kind": "text", "label": _text(s, 500), "required": True},
                {"kind": "choice", "label": _text(s, 500), "options": _distinct(s, 200, 50)},
                {"kind": "number", "label": _text(s, 500), "unit": _text(s, 20)},
            ],
        },
    )
    return {**template, "calendar_id": calendar["id"]}


async def _parts(api: Api, s: str, asset: Any) -> tuple[Any, Any]:
    part = await api.call(
        "POST",
        "/api/v1/parts",
        "admin",
        {
            "sku": "P" * 60 + uuid7().hex[-4:],
            "name": _text(s, 200),
            "description": _text(s, 5000),
            "unit": _text(s, 16),
            "barcode": _text(s, 64),
            "price": "99999999.99",
            "compatible_models": [asset["product_model"], *_distinct(s, 120, 99)],
        },
    )
    warehouse = await api.call(
        "POST",
        "/api/v1/stock-locations",
        "admin",
        {"kind": "warehouse", "name": _text(s, 200)},
    )
    return part, warehouse


async def _stock_the_van(api: Api, s: str, part: Any, warehouse: Any, van_id: str) -> None:
    for body in (
        {"kind": "receive", "to_location_id": warehouse["id"], "quantity": "100"},
        {
            "kind": "transfer",
            "from_location_id": warehouse["id"],
            "to_location_id": van_id,
            "quantity": "50",
            "reason": _text(s, 2000),
        },
    ):
        await api.call("POST", "/api/v1/stock-movements", "admin", {**body, "part_id": part["id"]})


async def _work_order(api: Api, s: str, key: str, customer: Any, site: Any, asset: Any) -> Any:
    """Created by the API key (its label "key:<100 characters>" is the creator)."""
    skill = _text("ascii", 60)
    ticket = await api.call(
        "POST",
        "/api/v1/tickets",
        {"Authorization": f"Bearer {key}"},
        {
            "customer_id": customer["id"],
            "site_id": site["id"],
            "asset_id": asset["id"],
            "priority": "P2",
            "title": _text(s, 200),
            "description": _text(s, 20_000),
            "fault_code": _text(s, 40),
            "required_skills": [skill[:59] + str(i % 10) for i in range(20)],
        },
    )
    url = f"/api/v1/tickets/{ticket['id']}"
    await api.patch(url, "dispatcher", {"title": _text(s, 199), "fault_code": _text(s, 39)})
    return ticket


async def _on_site(api: Api, s: str, ticket_id: str, engineer: Any, who: str) -> str:
    url = f"/api/v1/tickets/{ticket_id}/transitions"
    await api.call("POST", url, "dispatcher", {"action": "assign", "engineer_id": engineer["id"]})
    for action in ("accept", "start_travel", "arrive"):
        await api.call("POST", url, who, {"action": action})
    await api.call("POST", url, who, {"action": "hold", "reason": _text(s, 2000)})
    await api.call("POST", url, who, {"action": "resume"})
    visit_id = str(uuid7())
    await api.call(
        "POST",
        f"/api/v1/tickets/{ticket_id}/visits",
        who,
        {"visit_id": visit_id, "device_time": _now(), "gps": SITE},
    )
    return visit_id


async def _field_work(
    api: Api, s: str, ticket_id: str, visit_id: str, who: str, template: Any, part: Any
) -> None:
    base = f"/api/v1/tickets/{ticket_id}"
    entry = str(uuid7())
    await api.call(
        "POST",
        f"{base}/labour",
        who,
        {
            "entry_id": entry,
            "kind": "work",
            "started_at": _now(-60),
            "ended_at": _now(-30),
            "visit_id": visit_id,
            "note": _text(s, 2000),
        },
    )
    await api.call(
        "POST",
        f"{base}/labour/{entry}/adjust",
        who,
        {
            "adjustment_id": str(uuid7()),
            "started_at": _now(-50),
            "ended_at": _now(-30),
            "reason": _text(s, 2000),
            "note": _text(s, 2000),
        },
    )
    await api.call(
        "POST", f"{base}/notes", who, {"note_id": str(uuid7()), "text": _text(s, 10_000)}
    )
    items = template["items"]
    choice = items[1]["options"][-1]
    for item, value in zip(items, (_text(s, 5000), choice, 42), strict=True):
        answer = {"answer_id": str(uuid7()), "visit_id": visit_id, "item_id": item["id"]}
        await api.call("POST", f"{base}/checklist/answers", who, {**answer, "value": value})
    for action, extra in (("use", {}), ("return", {"condition": "defective"})):
        line = {"line_id": str(uuid7()), "action": action, "part_id": part["id"], "quantity": "1"}
        await api.call("POST", f"{base}/parts-used", who, {**line, "visit_id": visit_id, **extra})


async def _evidence(api: Api, s: str, ticket_id: str, visit_id: str, who: str) -> None:
    base = f"/api/v1/tickets/{ticket_id}"
    photo, ink = noisy_jpeg(320, 240), signature_png()
    for data in (photo, ink):
        done = await upload(api.client, api.t.headers(who), data)
        assert done.status_code in (201, 204), done.text
    await api.call(
        "POST",
        f"{base}/attachments",
        who,
        {
            "id": str(uuid7()),
            "sha256": hashlib.sha256(photo).hexdigest(),
            "size": len(photo),
            "mime": "image/jpeg",
            "role": "photo",
            "visit_id": visit_id,
            "caption": _text(s, 2000),
        },
    )
    await api.call(
        "POST",
        f"{base}/signatures",
        who,
        {
            "id": str(uuid7()),
            "attachment_id": str(uuid7()),
            "sha256": hashlib.sha256(ink).hexdigest(),
            "size": len(ink),
            "signer_name": _text(s, 200),
            "strokes": [[[0, 0], [10, 10], [20, 5]]],
            "signed_status": "on_site",
            "visit_id": visit_id,
        },
    )
    await api.call(
        "POST",
        f"{base}/resolution",
        who,
        {
            "resolution_code": _text(s, 40),
            "summary": _text(s, 5000),
            "fault_code": _text(s, 40),
            "root_cause": _text(s, 2000),
        },
    )


async def _sync_the_phone(
    api: Api, s: str, who: str, ticket_id: str, visit_id: str, part: Any, engine: Any
) -> Phone:
    """The same work from the phone: a part used at the site and a note, pushed and pulled."""
    phone = Phone(api.client, api.t.headers(who), engine=engine)
    await api.call(
        "POST", "/api/v1/sync/clients", who, {"client_id": phone.client_id, "device": _text(s, 200)}
    )
    pushed = await phone.push(
        phone.mutation(
            "part.use",
            work_order_id=ticket_id,
            line_id=str(uuid7()),
            visit_id=visit_id,
            part_id=part["id"],
            quantity="2",
        ),
        phone.mutation(
            "note.add", work_order_id=ticket_id, note_id=str(uuid7()), text=_text(s, 10_000)
        ),
    )
    assert pushed.status_code == 200, pushed.text
    results = pushed.json()["results"]
    assert [r["outcome"] for r in results] == ["applied", "applied"], results
    await phone.sync()
    return phone


async def _second_edits(api: Api, s: str, made: dict[str, Any], ticket_id: str, who: str) -> None:
    """Every update route with its longest text, a voided and approved labour entry, and
    the return (RMA) the defective part opened, moved on with the longest notes."""
    for url, body in (
        (f"/api/v1/customers/{made['customer']['id']}", {"name": _text(s, 199)}),
        (f"/api/v1/sites/{made['site']['id']}", {"name": _text(s, 199)}),
        (f"/api/v1/assets/{made['asset']['id']}", {"name": _text(s, 199)}),
        (f"/api/v1/parts/{made['part']['id']}", {"name": _text(s, 199)}),
        (f"/api/v1/stock-locations/{made['warehouse']['id']}", {"name": _text(s, 199)}),
        (f"/api/v1/checklist-templates/{made['template']['id']}", {"name": _text(s, 199)}),
        (f"/api/v1/business-calendars/{made['calendar_id']}", {"name": _text(s, 99)}),
    ):
        await api.patch(url, "admin", body)
    base = f"/api/v1/tickets/{ticket_id}"
    entry = {"entry_id": str(uuid7()), "kind": "travel"}
    await api.call(
        "POST", f"{base}/labour", who, {**entry, "started_at": _now(-90), "ended_at": _now(-70)}
    )
    void = {"void_id": str(uuid7()), "reason": _text(s, 2000)}
    await api.call("POST", f"{base}/labour/{entry['entry_id']}/void", who, void)
    await api.call("POST", "/api/v1/labour/approvals", "dispatcher", {"ticket_id": ticket_id})
    returns = await api.call("GET", "/api/v1/part-returns", "admin")
    assert returns["items"], "the defective return opened a return (RMA)"
    rma = returns["items"][0]["id"]
    for status in ("received", "scrapped"):
        body = {"status": status, "notes": _text(s, 5000)}
        await api.call("POST", f"/api/v1/part-returns/{rma}/transitions", "admin", body)


async def _flag_closed(api: Api, s: str, phone: Phone, made: dict[str, Any], engineer: Any) -> None:
    """Evidence pushed after the work order went to a colleague raises a flag (its detail
    names the engineer's long label and the work); a dispatcher closes it with the longest
    note."""
    ticket = await api.call(
        "POST",
        "/api/v1/tickets",
        "dispatcher",
        {"customer_id": made["customer"]["id"], "site_id": made["site"]["id"], "title": "x"},
    )
    url = f"/api/v1/tickets/{ticket['id']}/transitions"
    await api.call("POST", url, "dispatcher", {"action": "assign", "engineer_id": engineer["id"]})
    await api.call("POST", url, "dispatcher", {"action": "unassign", "reason": _text(s, 2000)})
    other = str(api.t.engineers[0].id)
    await api.call("POST", url, "dispatcher", {"action": "assign", "engineer_id": other})
    pushed = await phone.push(
        phone.mutation(
            "labour.add",
            work_order_id=ticket["id"],
            entry_id=str(uuid7()),
            kind="travel",
            started_at=_now(-30),
            ended_at=_now(-10),
            note=_text(s, 2000),
        )
    )
    assert pushed.status_code == 200, pushed.text
    flag_id = pushed.json()["results"][0]["error"]["flag_id"]
    body = {"outcome": "resolved", "note": _text(s, 2000)}
    await api.call("POST", f"/api/v1/sync/flags/{flag_id}/close", "dispatcher", body)


@pytest.mark.parametrize("style", list(STYLES))
async def test_every_object_at_its_longest_and_every_flow_deriving_from_it(
    client: httpx.AsyncClient, db: AsyncSession, engine: Any, style: str
) -> None:
    t = await make_tenant(db)
    api = Api(client, t)
    people = await _organisation_and_people(api, style)
    customer, site, asset = await _customer_site_asset(api, style)
    template = await _policies_and_checklist(api, style, asset)
    part, warehouse = await _parts(api, style, asset)
    engineer = people["engineer"]
    who = "fresh-engineer"
    t.users[who] = await _user(db, engineer["user_id"])
    van = await db.scalar(select(StockLocation).where(StockLocation.engineer_id == engineer["id"]))
    assert van is not None and van.name.endswith(ELLIPSIS) and len(van.name) == 200
    await _stock_the_van(api, style, part, warehouse, str(van.id))
    ticket = await _work_order(api, style, people["key"], customer, site, asset)
    visit_id = await _on_site(api, style, ticket["id"], engineer, who)
    await _field_work(api, style, ticket["id"], visit_id, who, template, part)
    await _evidence(api, style, ticket["id"], visit_id, who)
    phone = await _sync_the_phone(api, style, who, ticket["id"], visit_id, part, engine)
    made = {
        "customer": customer,
        "site": site,
        "asset": asset,
        "part": part,
        "warehouse": warehouse,
        "template": template,
        "calendar_id": template["calendar_id"],
    }
    await _second_edits(api, style, made, ticket["id"], who)
    await _flag_closed(api, style, phone, made, engineer)

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
    span = {"from": _now(-600), "to": _now(600), "ticket_id": ticket["id"]}
    for report_path in ("on-hand", "consumption", "work-order-cost", "turnover"):
        await api.call("GET", f"/api/v1/stock-reports/{report_path}", "admin", params=span)
    for url in (
        "/api/v1/tickets",
        f"/api/v1/tickets?q={_text(style, 100)}",
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


@pytest.mark.parametrize("style", list(STYLES))
async def test_parts_used_at_a_site_with_the_longest_name_rest_and_sync(
    client: httpx.AsyncClient, db: AsyncSession, engine: Any, style: str
) -> None:
    """The issue's case alone: a 200-character site name and an engineer of the factories
    (an ordinary van), a part used there over REST and over sync."""
    t = await make_tenant(db)
    assert t.site is not None
    t.site.name = _text(style, 200)
    await db.flush()
    api = Api(client, t)
    part = await api.call("POST", "/api/v1/parts", "admin", {"sku": uuid7().hex, "name": "Fuse"})
    van = await api.call("GET", f"/api/v1/engineers/{t.engineers[0].id}", "admin")
    assert van["id"]
    ticket = await api.call(
        "POST",
        "/api/v1/tickets",
        "dispatcher",
        {"customer_id": str(t.site.customer_id), "site_id": str(t.site.id), "title": "Fuse"},
    )
    visit_id = await _on_site(api, style, ticket["id"], {"id": str(t.engineers[0].id)}, "engineer1")
    line = {"line_id": str(uuid7()), "action": "use", "part_id": part["id"], "quantity": "1"}
    await api.call("POST", f"/api/v1/tickets/{ticket['id']}/parts-used", "engineer1", line)
    phone = await _sync_the_phone(api, style, "engineer1", ticket["id"], visit_id, part, engine)
    assert phone.get("work_order", ticket["id"]) is not None
    at_site = await db.scalar(select(StockLocation).where(StockLocation.site_id == t.site.id))
    assert at_site is not None and at_site.name == fit_column(
        StockLocation.name, f"Site: {t.site.name}"
    )
