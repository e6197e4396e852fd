"""The steps of the maximum-length scenario (tests/server/test_max_length_text.py): each
creates objects through the API with the longest text of a style, or runs a flow on them."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import httpx

from shared.ids import uuid7
from tests.fixtures.attachments import noisy_jpeg, upload
from tests.fixtures.factories import Tenant
from tests.server.service_report.pdf import signature_png
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


def text(style: str, n: int) -> str:
    """Exactly ``n`` characters of the style; ends on a visible character (no trailing
    space for the API's whitespace stripping to remove)."""
    pattern = STYLES[style]
    return (pattern * (n // len(pattern) + 1))[:n]


def distinct(style: str, n: int, count: int) -> list[str]:
    """``count`` different texts of exactly ``n`` characters."""
    return [text(style, n - 2) + f"{i:02d}" for i in range(count)]


def now(minutes: int = 0) -> str:
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


async def organisation_and_people(api: Api, s: str) -> dict[str, Any]:
    await api.patch("/api/v1/organisation", "admin", {"name": text(s, 200)})
    user = await api.call(
        "POST",
        "/api/v1/users",
        "admin",
        {
            "email": LONGEST_EMAIL,
            "full_name": text(s, 200),
            "password": text(s, 200),
            "role": "dispatcher",
        },
    )
    await api.patch(f"/api/v1/users/{user['id']}", "admin", {"full_name": text(s, 199)})
    key = await api.call(
        "POST",
        "/api/v1/api-keys",
        "admin",
        {"name": text(s, 100), "scopes": ["tickets:read", "tickets:write", "customers:read"]},
    )
    skill = "技" * 60 if s == "cjk" else "s" * 60
    engineer = await api.call(
        "POST",
        "/api/v1/engineers",
        "admin",
        {
            "email": f"{s}-{uuid7().hex[:8]}@example.com",
            "password": text(s, 200),
            "display_name": text(s, 200),
            "phone": "1" * 40,
            "territory": text(s, 100),
            "skills": {skill: 5},
            "locale": "zh_CN",
        },
    )
    await api.patch(f"/api/v1/engineers/{engineer['id']}", "admin", {"territory": text(s, 99)})
    return {"key": key["key"], "engineer": engineer, "skill": skill}


async def customer_site_asset(api: Api, s: str) -> tuple[Any, Any, Any]:
    customer = await api.call(
        "POST",
        "/api/v1/customers",
        "agent",
        {
            "name": text(s, 200),
            "contact_name": text(s, 200),
            "phone": "+86 (21) 5555-0101" + "0" * 22,
            "email": LONGEST_EMAIL,
            "notes": text(s, 20_000),
        },
    )
    site = await api.call(
        "POST",
        "/api/v1/sites",
        "agent",
        {
            "customer_id": customer["id"],
            "name": text(s, 200),
            "address": text(s, 500),
            "lat": SITE["lat"],
            "lon": SITE["lon"],
            "access_notes": text(s, 20_000),
        },
    )
    asset = await api.call(
        "POST",
        "/api/v1/assets",
        "agent",
        {
            "site_id": site["id"],
            "product_model": text(s, 120),
            "serial_number": text(s, 120),
            "name": text(s, 200),
        },
    )
    return customer, site, asset


async def policies_and_checklist(api: Api, s: str, asset: Any) -> Any:
    calendar = await api.call(
        "POST",
        "/api/v1/business-calendars",
        "admin",
        {
            "name": text(s, 100),
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
            "name": text(s, 200),
            "product_model": asset["product_model"],
            "items": [
                {"kind": "text", "label": text(s, 500), "required": True},
                {"kind": "choice", "label": text(s, 500), "options": distinct(s, 200, 50)},
                {"kind": "number", "label": text(s, 500), "unit": text(s, 20)},
            ],
        },
    )
    return {**template, "calendar_id": calendar["id"]}


async def parts(api: Api, s: str, asset: Any) -> tuple[Any, Any]:
    part = await api.call(
        "POST",
        "/api/v1/parts",
        "admin",
        {
            "sku": "P" * 60 + uuid7().hex[-4:],
            "name": text(s, 200),
            "description": text(s, 5000),
            "unit": text(s, 16),
            "barcode": text(s, 64),
            "price": "99999999.99",
            "compatible_models": [asset["product_model"], *distinct(s, 120, 99)],
        },
    )
    warehouse = await api.call(
        "POST",
        "/api/v1/stock-locations",
        "admin",
        {"kind": "warehouse", "name": text(s, 200)},
    )
    return part, warehouse


async def stock_the_van(api: Api, s: str, part: Any, warehouse: Any, van_id: str) -> None:
    for body in (
        {"kind": "receive", "to_location_id": warehouse["id"], "quantity": "100"},
        {
            "kind": "transfer",
            "from_location_id": warehouse["id"],
            "to_location_id": van_id,
            "quantity": "50",
            "reason": text(s, 2000),
        },
    ):
        await api.call("POST", "/api/v1/stock-movements", "admin", {**body, "part_id": part["id"]})


async def work_order(api: Api, s: str, key: str, customer: Any, site: Any, asset: Any) -> Any:
    """Created by the API key (its label "key:<100 characters>" is the creator)."""
    skill = text("ascii", 60)
    ticket = await api.call(
        "POST",
        "/api/v1/tickets",
        {"Authorization": f"Bearer {key}"},
        {
            "customer_id": customer["id"],
            "site_id": site["id"],
            "asset_id": asset["id"],
            "priority": "P2",
            "title": text(s, 200),
            "description": text(s, 20_000),
            "fault_code": text(s, 40),
            "required_skills": [skill[:59] + str(i % 10) for i in range(20)],
        },
    )
    url = f"/api/v1/tickets/{ticket['id']}"
    await api.patch(url, "dispatcher", {"title": text(s, 199), "fault_code": text(s, 39)})
    return ticket


async def on_site(api: Api, s: str, ticket_id: str, engineer: Any, who: str) -> str:
    url = f"/api/v1/tickets/{ticket_id}/transitions"
    await api.call("POST", url, "dispatcher", {"action": "assign", "engineer_id": engineer["id"]})
    for action in ("accept", "start_travel", "arrive"):
        await api.call("POST", url, who, {"action": action})
    await api.call("POST", url, who, {"action": "hold", "reason": text(s, 2000)})
    await api.call("POST", url, who, {"action": "resume"})
    visit_id = str(uuid7())
    await api.call(
        "POST",
        f"/api/v1/tickets/{ticket_id}/visits",
        who,
        {"visit_id": visit_id, "device_time": now(), "gps": SITE},
    )
    return visit_id


async def field_work(
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
            "started_at": now(-60),
            "ended_at": now(-30),
            "visit_id": visit_id,
            "note": text(s, 2000),
        },
    )
    await api.call(
        "POST",
        f"{base}/labour/{entry}/adjust",
        who,
        {
            "adjustment_id": str(uuid7()),
            "started_at": now(-50),
            "ended_at": now(-30),
            "reason": text(s, 2000),
            "note": text(s, 2000),
        },
    )
    await api.call("POST", f"{base}/notes", who, {"note_id": str(uuid7()), "text": text(s, 10_000)})
    items = template["items"]
    choice = items[1]["options"][-1]
    for item, value in zip(items, (text(s, 5000), choice, 42), strict=True):
        answer = {"answer_id": str(uuid7()), "visit_id": visit_id, "item_id": item["id"]}
        await api.call("POST", f"{base}/checklist/answers", who, {**answer, "value": value})
    for action, extra in (("use", {}), ("return", {"condition": "defective"})):
        line = {"line_id": str(uuid7()), "action": action, "part_id": part["id"], "quantity": "1"}
        await api.call("POST", f"{base}/parts-used", who, {**line, "visit_id": visit_id, **extra})


async def evidence(api: Api, s: str, ticket_id: str, visit_id: str, who: str) -> None:
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
            "caption": text(s, 2000),
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
            "signer_name": text(s, 200),
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
            "resolution_code": text(s, 40),
            "summary": text(s, 5000),
            "fault_code": text(s, 40),
            "root_cause": text(s, 2000),
        },
    )


async def sync_the_phone(
    api: Api, s: str, who: str, ticket_id: str, visit_id: str, part: Any, engine: Any
) -> Phone:
    """The same work from the phone: a part used at the site and a note, pushed and pulled."""
    phone = Phone(api.client, api.t.headers(who), engine=engine)
    await api.call(
        "POST", "/api/v1/sync/clients", who, {"client_id": phone.client_id, "device": text(s, 200)}
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
            "note.add", work_order_id=ticket_id, note_id=str(uuid7()), text=text(s, 10_000)
        ),
    )
    assert pushed.status_code == 200, pushed.text
    results = pushed.json()["results"]
    assert [r["outcome"] for r in results] == ["applied", "applied"], results
    await phone.sync()
    return phone


async def second_edits(api: Api, s: str, made: dict[str, Any], ticket_id: str, who: str) -> None:
    """Every update route with its longest text, a voided and approved labour entry, and
    the return (RMA) the defective part opened, moved on with the longest notes."""
    for url, body in (
        (f"/api/v1/customers/{made['customer']['id']}", {"name": text(s, 199)}),
        (f"/api/v1/sites/{made['site']['id']}", {"name": text(s, 199)}),
        (f"/api/v1/assets/{made['asset']['id']}", {"name": text(s, 199)}),
        (f"/api/v1/parts/{made['part']['id']}", {"name": text(s, 199)}),
        (f"/api/v1/stock-locations/{made['warehouse']['id']}", {"name": text(s, 199)}),
        (f"/api/v1/checklist-templates/{made['template']['id']}", {"name": text(s, 199)}),
        (f"/api/v1/business-calendars/{made['calendar_id']}", {"name": text(s, 99)}),
    ):
        await api.patch(url, "admin", body)
    base = f"/api/v1/tickets/{ticket_id}"
    entry = {"entry_id": str(uuid7()), "kind": "travel"}
    await api.call(
        "POST", f"{base}/labour", who, {**entry, "started_at": now(-90), "ended_at": now(-70)}
    )
    void = {"void_id": str(uuid7()), "reason": text(s, 2000)}
    await api.call("POST", f"{base}/labour/{entry['entry_id']}/void", who, void)
    await api.call("POST", "/api/v1/labour/approvals", "dispatcher", {"ticket_id": ticket_id})
    returns = await api.call("GET", "/api/v1/part-returns", "admin")
    assert returns["items"], "the defective return opened a return (RMA)"
    rma = returns["items"][0]["id"]
    for status in ("received", "scrapped"):
        body = {"status": status, "notes": text(s, 5000)}
        await api.call("POST", f"/api/v1/part-returns/{rma}/transitions", "admin", body)


async def flag_closed(api: Api, s: str, phone: Phone, made: dict[str, Any], engineer: Any) -> None:
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
    await api.call("POST", url, "dispatcher", {"action": "unassign", "reason": text(s, 2000)})
    other = str(api.t.engineers[0].id)
    await api.call("POST", url, "dispatcher", {"action": "assign", "engineer_id": other})
    pushed = await phone.push(
        phone.mutation(
            "labour.add",
            work_order_id=ticket["id"],
            entry_id=str(uuid7()),
            kind="travel",
            started_at=now(-30),
            ended_at=now(-10),
            note=text(s, 2000),
        )
    )
    assert pushed.status_code == 200, pushed.text
    flag_id = pushed.json()["results"][0]["error"]["flag_id"]
    body = {"outcome": "resolved", "note": text(s, 2000)}
    await api.call("POST", f"/api/v1/sync/flags/{flag_id}/close", "dispatcher", body)
