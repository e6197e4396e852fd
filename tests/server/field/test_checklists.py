"""Checklists: templates per work-order type and product model, answers checked against
their item, and the resolve guard naming what is missing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.attachments import service as attachments
from server.attachments.models import Attachment
from server.field import service as field
from server.field.checklists.guard import ChecklistIncomplete
from shared.ids import uuid7
from tests.fixtures.attachments import png, sha
from tests.fixtures.factories import Tenant, make_tenant
from tests.server.field.helpers import get, on_site, post

TEMPLATES = "/api/v1/checklist-templates"
ITEMS: list[dict[str, Any]] = [
    {"kind": "yes_no", "label": "Power isolated?", "required": True},
    {"kind": "number", "label": "Pressure", "unit": "bar", "min_value": 0, "max_value": 40},
    {"kind": "text", "label": "Findings", "required": True},
    {"kind": "photo", "label": "Nameplate"},
    {"kind": "choice", "label": "Filter", "options": ["clean", "replaced"], "required": True},
]


async def _template(
    client: httpx.AsyncClient, t: Tenant, items: list[dict[str, Any]] = ITEMS, **fields: Any
) -> dict[str, Any]:
    body = {"name": fields.pop("name", "Chiller service"), "items": items, **fields}
    response = await post(client, t, "admin", TEMPLATES, body)
    assert response.status_code == 201, response.text
    template: dict[str, Any] = response.json()
    return template


def _answers(ticket_id: uuid.UUID) -> str:
    return f"/api/v1/tickets/{ticket_id}/checklist/answers"


async def _answer(
    client: httpx.AsyncClient,
    t: Tenant,
    ticket_id: uuid.UUID,
    visit_id: uuid.UUID,
    item_id: str,
    value: Any,
) -> httpx.Response:
    body = {"answer_id": str(uuid7()), "visit_id": str(visit_id), "item_id": item_id}
    return await post(client, t, "engineer1", _answers(ticket_id), {**body, "value": value})


async def test_templates_are_managed_by_the_back_office(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    template = await _template(client, t, product_model="CH-200", ticket_type="repair")
    assert [i["kind"] for i in template["items"]] == [
        "yes_no",
        "number",
        "text",
        "photo",
        "choice",
    ]
    for who in ("engineer1", "agent", "viewer"):
        denied = await post(client, t, who, TEMPLATES, {"name": "X", "items": ITEMS})
        assert denied.status_code == 403
    url = f"{TEMPLATES}/{template['id']}"
    read = await client.get(url, headers=t.headers("engineer1"))
    assert read.status_code == 200 and read.headers["etag"] == '"v1"'
    first, *_, last = template["items"]
    change = {"items": [{**ITEMS[0], "id": first["id"], "label": "Isolated?"}, ITEMS[2]]}
    no_etag = await client.patch(url, json=change, headers=t.headers("dispatcher"))
    assert no_etag.status_code == 428
    headers = {**t.headers("dispatcher"), "If-Match": '"v1"'}
    patched = await client.patch(url, json=change, headers=headers)
    assert patched.status_code == 200, patched.text
    items = patched.json()["items"]
    assert [(i["id"] == first["id"], i["label"]) for i in items] == [
        (True, "Isolated?"),
        (False, "Findings"),
    ]
    assert patched.json()["version"] == 2
    stale = await client.patch(url, json={"name": "Y"}, headers=headers)
    assert stale.status_code == 412
    kind_change = {"items": [{**ITEMS[1], "id": first["id"]}]}
    refused = await client.patch(
        url, json=kind_change, headers={**t.headers("admin"), "If-Match": '"v2"'}
    )
    assert refused.status_code == 422
    # The other items were retired by the change: they cannot come back by id.
    revived = await client.patch(
        url,
        json={"items": [{**ITEMS[4], "id": last["id"]}]},
        headers={**t.headers("admin"), "If-Match": '"v2"'},
    )
    assert revived.status_code == 422 and revived.json()["field"] == "items[0].id"
    bad = {"name": "Bad", "items": [{"kind": "choice", "label": "Pick", "options": ["a"]}]}
    assert (await post(client, t, "admin", TEMPLATES, bad)).status_code == 422


async def test_a_photo_item_takes_photos_registered_on_the_work_order(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    template = await _template(client, t)
    item = template["items"][3]
    ticket, visit = await on_site(db, t)
    other, _ = await on_site(db, t)
    engineer = t.actor("engineer1")

    async def photo(work_order: uuid.UUID, role: str = "photo") -> str:
        data = png(colour=(len(role), 1, 2))
        attachment = await attachments.register_attachment(
            db,
            engineer,
            attachment_id=uuid7(),
            ticket_id=work_order,
            sha256=sha(data),
            size=len(data),
            mime="image/png",
            role=role,
        )
        return str(attachment.id)

    mine, elsewhere, document = (
        await photo(ticket.id),
        await photo(other.id),
        await photo(ticket.id, "document"),
    )
    for bad in ("not-a-uuid", [str(uuid.uuid4())], [mine, elsewhere], [document]):
        refused = await _answer(client, t, ticket.id, visit.id, item["id"], bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["field"] == "value"
    # Registered, not uploaded yet: it counts (the bytes follow).
    accepted = await _answer(client, t, ticket.id, visit.id, item["id"], [mine])
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["value"] == [mine]


@pytest.mark.parametrize(
    ("index", "bad", "good"),
    [
        (0, "yes", False),  # yes_no takes a boolean; "no" is an answer
        (1, 41, 12.5),  # number within 0..40
        (1, True, 0),  # a boolean is no number
        (2, "   ", "Relay welded"),  # text, not blank
        (4, "dirty", "replaced"),  # one of the options
        (4, None, "clean"),
    ],
)
async def test_answers_are_checked_against_their_item(
    client: httpx.AsyncClient, db: AsyncSession, index: int, bad: Any, good: Any
) -> None:
    t = await make_tenant(db)
    template = await _template(client, t)
    item = template["items"][index]
    ticket, visit = await on_site(db, t)
    refused = await _answer(client, t, ticket.id, visit.id, item["id"], bad)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "value"
    accepted = await _answer(client, t, ticket.id, visit.id, item["id"], good)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["value"] == good


async def test_the_same_answer_id_twice_is_one_answer(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    template = await _template(client, t)
    ticket, visit = await on_site(db, t)
    body = {
        "answer_id": str(uuid7()),
        "visit_id": str(visit.id),
        "item_id": template["items"][0]["id"],
        "value": True,
    }
    first = await post(client, t, "engineer1", _answers(ticket.id), body)
    again = await post(client, t, "engineer1", _answers(ticket.id), body)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    changed = await post(client, t, "engineer1", _answers(ticket.id), {**body, "value": False})
    assert changed.status_code == 409 and changed.json()["fields"] == ["value"]
    assert len(await get(client, t, "engineer1", _answers(ticket.id))) == 1


async def test_resolve_waits_for_the_required_items_and_the_last_answer_wins(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    template = await _template(client, t)
    power, _, findings, _, filter_ = template["items"]
    ticket, visit = await on_site(db, t)
    resolution = {"resolution_code": "FIXED", "summary": "Replaced the relay"}
    url = f"/api/v1/tickets/{ticket.id}/resolution"
    blocked = await post(client, t, "engineer1", url, resolution)
    assert blocked.status_code == 409
    problem = blocked.json()
    assert problem["code"] == "checklist_incomplete"
    assert [m["item_id"] for m in problem["missing"]] == [
        power["id"],
        findings["id"],
        filter_["id"],
    ]
    assert "Power isolated?" in problem["detail"]
    # The plain transition is guarded the same way.
    plain = await post(
        client, t, "dispatcher", f"/api/v1/tickets/{ticket.id}/transitions", {"action": "resolve"}
    )
    assert plain.status_code == 409 and plain.json()["code"] == "checklist_incomplete"
    wo = await get(client, t, "engineer1", f"/api/v1/tickets/{ticket.id}")
    assert wo["status"] == "on_site" and wo["resolution_code"] is None  # nothing written

    await _answer(client, t, ticket.id, visit.id, power["id"], False)
    await _answer(client, t, ticket.id, visit.id, filter_["id"], "clean")
    await _answer(client, t, ticket.id, visit.id, power["id"], True)  # the later one counts
    checklist = await get(client, t, "engineer1", f"/api/v1/tickets/{ticket.id}/checklist")
    assert [m["label"] for m in checklist["missing"]] == ["Findings"]
    answers = {i["id"]: i["answer"] for i in checklist["templates"][0]["items"]}
    assert answers[power["id"]]["value"] is True
    assert checklist["complete"] is False

    await _answer(client, t, ticket.id, visit.id, findings["id"], "Relay welded shut")
    resolved = await post(client, t, "engineer1", url, resolution)
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    summary = await get(client, t, "engineer1", f"/api/v1/tickets/{ticket.id}/field-summary")
    assert summary["checklist_missing"] == []


async def test_which_templates_apply(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    one = [{"kind": "yes_no", "label": "Done?", "required": True}]
    await _template(client, t, one, name="A: every job")
    await _template(client, t, one, name="B: CH-200", product_model="CH-200")
    await _template(client, t, one, name="C: CH-900", product_model="CH-900")
    await _template(client, t, one, name="D: installs", ticket_type="installation")
    await _template(
        client, t, one, name="E: CH-200 repairs", ticket_type="repair", product_model="CH-200"
    )
    inactive = await _template(client, t, one, name="F: retired")
    await client.patch(
        f"{TEMPLATES}/{inactive['id']}",
        json={"active": False},
        headers={**t.headers("admin"), "If-Match": '"v1"'},
    )
    ticket, _ = await on_site(db, t)  # a repair on a CH-200
    checklist = await get(client, t, "viewer", f"/api/v1/tickets/{ticket.id}/checklist")
    names = [x["name"] for x in checklist["templates"]]
    assert names == ["A: every job", "B: CH-200", "E: CH-200 repairs"]
    assert len(checklist["missing"]) == 3
    install, _ = await on_site(db, t, type="installation")
    checklist = await get(client, t, "viewer", f"/api/v1/tickets/{install.id}/checklist")
    assert [x["name"] for x in checklist["templates"]] == [
        "A: every job",
        "B: CH-200",
        "D: installs",
    ]


async def test_the_guard_is_the_services_too(db: AsyncSession, client: httpx.AsyncClient) -> None:
    t = await make_tenant(db)
    await _template(client, t, [{"kind": "yes_no", "label": "Safe?", "required": True}])
    ticket, _ = await on_site(db, t)
    with pytest.raises(ChecklistIncomplete) as refused:
        async with db.begin_nested():
            await field.resolve(
                db,
                t.actor("engineer1"),
                ticket_id=ticket.id,
                resolution_code="X",
                summary="done",
            )
    assert [m["label"] for m in refused.value.extra["missing"]] == ["Safe?"]


async def test_answers_need_a_visit_of_the_work_order(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    template = await _template(client, t)
    ticket, _ = await on_site(db, t)
    _, elsewhere = await on_site(db, t)
    response = await _answer(client, t, ticket.id, elsewhere.id, template["items"][0]["id"], True)
    assert response.status_code == 422 and response.json()["field"] == "visit_id"
    other_org = await make_tenant(db)
    foreign = await _template(client, other_org)
    response = await _answer(client, t, ticket.id, uuid7(), foreign["items"][0]["id"], True)
    assert response.status_code == 422 and response.json()["field"] == "item_id"


async def test_a_photo_refused_after_answering_no_longer_satisfies_its_required_item(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """A required photo item answered with a photo whose bytes were then refused (here: the
    declared size does not match the stored bytes) is missing again: the work order does not
    resolve without a usable photo. A photo whose bytes have not arrived yet still counts."""
    t = await make_tenant(db)
    ticket, visit = await on_site(db, t)
    template = await _template(
        client, t, [{"kind": "photo", "label": "Nameplate", "required": True}], name="Evidence"
    )
    item_id = template["items"][0]["id"]
    data = png()
    engineer = t.actor("engineer1")
    refused = await attachments.register_attachment(
        db,
        engineer,
        attachment_id=uuid7(),
        ticket_id=ticket.id,
        sha256=sha(data),
        size=len(data) + 1,  # what the phone declared; the bytes will say otherwise
        mime="image/png",
        role="photo",
    )
    await field.answer(
        db,
        engineer,
        ticket_id=ticket.id,
        visit_id=visit.id,
        item_id=uuid.UUID(item_id),
        answer_id=uuid7(),
        value=str(refused.id),
    )
    await attachments.record_blob(
        db, org_id=t.org.id, sha256=sha(data), size=len(data), mime="image/png", width=64, height=48
    )
    await db.flush()
    await db.refresh(refused)
    assert refused.status == "rejected"
    transitions = f"/api/v1/tickets/{ticket.id}/transitions"
    blocked = await post(client, t, "engineer1", transitions, {"action": "resolve"})
    assert blocked.status_code == 409, blocked.text
    assert blocked.json()["code"] == "checklist_incomplete"
    assert [(m["item_id"], m["reason"]) for m in blocked.json()["missing"]] == [
        (item_id, "no_usable_photo")
    ]
    # The answer is still shown (answers are never dropped); the item is missing again.
    checklist = await get(client, t, "engineer1", f"/api/v1/tickets/{ticket.id}/checklist")
    assert checklist["templates"][0]["items"][0]["answer"]["value"] == [str(refused.id)]
    assert [m["reason"] for m in checklist["missing"]] == ["no_usable_photo"]
    assert checklist["complete"] is False
    summary = await get(client, t, "engineer1", f"/api/v1/tickets/{ticket.id}/field-summary")
    assert [m["label"] for m in summary["checklist_missing"]] == ["Nameplate"]

    # Answered again with two photos still uploading; one is refused later, the other's
    # bytes have not arrived yet (pending): one usable photo is enough.
    async def register(data: bytes, size: int) -> str:
        attachment = await attachments.register_attachment(
            db,
            engineer,
            attachment_id=uuid7(),
            ticket_id=ticket.id,
            sha256=sha(data),
            size=size,
            mime="image/png",
            role="photo",
        )
        return str(attachment.id)

    bad, later = png(colour=(1, 2, 3)), png(colour=(4, 5, 6))
    photos = [await register(bad, len(bad) - 1), await register(later, len(later))]
    assert (await _answer(client, t, ticket.id, visit.id, item_id, photos)).status_code == 201
    await attachments.record_blob(
        db, org_id=t.org.id, sha256=sha(bad), size=len(bad), mime="image/png", width=64, height=48
    )
    await db.flush()
    statuses = await db.scalars(
        select(Attachment.status).where(Attachment.id.in_([uuid.UUID(p) for p in photos]))
    )
    assert sorted(statuses) == ["pending", "rejected"]
    resolved = await post(client, t, "engineer1", transitions, {"action": "resolve"})
    assert resolved.status_code == 200, resolved.text
