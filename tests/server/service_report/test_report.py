"""The service report of a work order worked through the real services: gathered from the
field records, the ledger and the attachments, served as a PDF to those who may read it."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.attachments import service as attachments
from server.attachments.storage import LocalBlobStore
from server.auth import service as auth_service
from server.field import service as field
from server.field.checklists import service as checklists
from server.field.schemas import ItemIn, TemplateCreate
from server.parts import service as parts
from server.parts.models import Part
from server.service_report.gather import gather
from server.tickets.audit import format_number
from server.tickets.models import Ticket
from shared.ids import uuid7
from tests.fixtures.attachments import noisy_jpeg, stored_attachment
from tests.fixtures.factories import Tenant, make_part, make_tenant, move
from tests.server.field.helpers import on_site
from tests.server.service_report.pdf import find_text, images_of, ink, signature_png, text_of

CUSTOMER = "上海申通电梯"
SIGNER = "Li Na 李娜"
FAR = {"lat": 31.30, "lon": 121.47, "accuracy_m": 10.0}  # about 8 km north of the site
INTERNAL_NOTE = "Customer was rude, charge extra next time"


def _url(ticket: Ticket) -> str:
    return f"/api/v1/tickets/{ticket.id}/report.pdf"


async def _parts_used(db: AsyncSession, t: Tenant, ticket: Ticket, visit: Any) -> None:
    """Two door relays fitted (the old one out, defective), 3 m of cable used and 1 m of it
    taken back unused."""
    admin, engineer = t.actor("admin"), t.actor("engineer1")
    relay = await make_part(
        db,
        admin,
        sku="RLY-220",
        name="Door relay",
        serialised=True,
        cost=Decimal("33.33"),
        price=Decimal("85.50"),
    )
    cable = await make_part(
        db, admin, sku="CBL-1", name="Cable", unit="m", cost=Decimal("4.44"), price=Decimal(12)
    )
    van = await parts.ensure_van(db, t.engineers[0])
    await move(
        db,
        admin,
        kind="receive",
        part_id=relay.id,
        quantity=2,
        to_location_id=van.id,
        serial_numbers=["R-1", "R-2"],
    )
    await move(db, admin, kind="receive", part_id=cable.id, quantity=10, to_location_id=van.id)
    common = {"ticket_id": ticket.id, "visit_id": visit.id}
    await field.use_part(
        db,
        engineer,
        line_id=uuid7(),
        part_id=relay.id,
        quantity=2,
        serial_numbers=["R-1", "R-2"],
        removed_serial_numbers=["OLD-9"],
        removed_condition="defective",
        **common,
    )
    await field.use_part(db, engineer, line_id=uuid7(), part_id=cable.id, quantity=3, **common)
    await field.return_part(
        db, engineer, line_id=uuid7(), part_id=cable.id, quantity=1, condition="good", **common
    )


async def _checklist(db: AsyncSession, t: Tenant, ticket: Ticket, visit: Any) -> None:
    items = [
        ItemIn(kind="yes_no", label="Power isolated", required=True),
        ItemIn(kind="number", label="Motor current", unit="A"),
        ItemIn(kind="text", label="Comments"),
    ]
    view = await checklists.create_template(
        db, t.actor("admin"), data=TemplateCreate(name="Safety check", items=items)
    )
    for item, value in zip(view.items[:2], (True, 12.5), strict=True):
        await field.answer(
            db,
            t.actor("engineer1"),
            ticket_id=ticket.id,
            visit_id=visit.id,
            item_id=item.id,
            answer_id=uuid7(),
            value=value,
        )


async def _labour(db: AsyncSession, t: Tenant, ticket: Ticket, visit: Any) -> None:
    """45 min travel and 2 h work count; a mistaken 5 h entry is voided."""
    engineer = t.actor("engineer1")
    base = dt.datetime.now(dt.UTC) - dt.timedelta(hours=8)
    spans = [("travel", 0, 45), ("work", 60, 180), ("work", 200, 500)]
    ids = []
    for kind, start, end in spans:
        entry = await field.add_labour(
            db,
            engineer,
            ticket_id=ticket.id,
            entry_id=uuid7(),
            kind=kind,
            started_at=base + dt.timedelta(minutes=start),
            ended_at=base + dt.timedelta(minutes=end),
            visit_id=visit.id,
        )
        ids.append(entry.id)
    await field.void_labour(db, engineer, entry_id=ids[-1], void_id=uuid7(), reason="typo")


async def _signature(
    db: AsyncSession, t: Tenant, ticket: Ticket, store: LocalBlobStore | None, *, signer: str
) -> None:
    png = signature_png()
    digest = await store.put(png) if store is not None else "a" * 64
    if store is not None:
        await attachments.record_blob(
            db,
            org_id=t.org.id,
            sha256=digest,
            size=len(png),
            mime="image/png",
            width=300,
            height=120,
        )
    await attachments.capture_signature(
        db,
        t.actor("engineer1"),
        signature_id=uuid7(),
        ticket_id=ticket.id,
        attachment_id=uuid7(),
        sha256=digest,
        size=len(png),
        signer_name=signer,
        strokes=[[[0, 0], [40, 30], [80, 0]]],
        signed_status="on_site",
        device_time=dt.datetime.now(dt.UTC),
    )


async def _worked(db: AsyncSession, store: LocalBlobStore) -> tuple[Tenant, Ticket]:
    """A work order done from start to finish, with everything a report shows."""
    t = await make_tenant(db)
    assert t.customer is not None
    t.customer.name, t.customer.contact_name = CUSTOMER, "Li Na"
    await db.flush()
    ticket, visit = await on_site(
        db, t, title="Car 2 stops between floors", description="Alarm E31 since this morning"
    )
    engineer = t.actor("engineer1")
    await _checklist(db, t, ticket, visit)
    await _parts_used(db, t, ticket, visit)
    await _labour(db, t, ticket, visit)
    await field.add_note(db, engineer, ticket_id=ticket.id, note_id=uuid7(), text=INTERNAL_NOTE)
    await stored_attachment(db, engineer, ticket, store, noisy_jpeg(400, 300))
    await _signature(db, t, ticket, store, signer=SIGNER)
    now = dt.datetime.now(dt.UTC)
    await field.check_out(db, engineer, visit_id=visit.id, device_time=now, gps=FAR)
    await field.resolve(
        db,
        engineer,
        ticket_id=ticket.id,
        resolution_code="FIXED",
        summary="Replaced the door relay and tested 20 cycles",
        root_cause="Worn relay contacts",
        fault_code="E31",
    )
    await db.flush()
    return t, ticket


async def test_the_engineer_gets_the_report_of_their_work_order(
    client: httpx.AsyncClient, db: AsyncSession, store: LocalBlobStore
) -> None:
    t, ticket = await _worked(db, store)
    response = await client.get(_url(ticket), headers=t.headers("engineer1"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    number = format_number(ticket.number)
    assert response.headers["content-disposition"] == f'attachment; filename="{number}.pdf"'
    pdf = response.content
    text = text_of(pdf)
    for expected in (
        number,
        CUSTOMER,
        "Car 2 stops between floors",
        "Status: Resolved",
        "CH-200",
        "Safety check",
        "Power isolated *",
        "12.5 A",
        "RLY-220",
        "Serial numbers: R-1, R-2",
        "85.50",  # the price, never the cost
        "171.00",
        "CBL-1",
        "2 m",  # 3 used, 1 taken back unused
        "24.00",
        "195.00",  # the total
        "OLD-9",  # the unit taken out of the equipment
        "Resolution: FIXED",
        "Replaced the door relay and tested 20 cycles",
        "Worn relay contacts",
        "at the site / away from the site",
        "0 h 45 min",
        "2 h 45 min",  # travel and work; the voided 5 h entry does not count
        SIGNER,
    ):
        assert expected in text, expected
    # Internal data stays out: costs, the engineer's position, internal notes, photo EXIF.
    for secret in ("33.33", "4.44", "31.23", "121.47", "31.3", INTERNAL_NOTE, "5 h 00 min"):
        assert secret not in text, secret
    assert b"FieldPhone 9" not in pdf
    # The photo and the customer's signature are on the page, not only named.
    photo, signature = images_of(pdf)
    assert photo.px == (400, 300) and signature.px == (300, 120)
    assert ink(pdf, photo.page, photo.bounds) > 0.05
    assert ink(pdf, signature.page, signature.bounds) > 0.01
    page, (_, _, _, top) = find_text(pdf, SIGNER)
    assert page == signature.page and signature.bounds[1] <= top <= signature.bounds[3] + 20


async def test_who_may_fetch_the_report(
    client: httpx.AsyncClient, db: AsyncSession, store: LocalBlobStore
) -> None:
    t, ticket = await _worked(db, store)
    for who in ("admin", "dispatcher", "agent", "viewer"):
        response = await client.get(_url(ticket), headers=t.headers(who))
        assert response.status_code == 200, (who, response.text)
    # The report prints the customer, the parts and the engineers: a key needs their scopes.
    _, narrow = await auth_service.create_api_key(
        db, t.actor("admin"), name="ERP", scopes=["tickets:read"]
    )
    refused = await client.get(_url(ticket), headers={"Authorization": f"Bearer {narrow}"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["missing_scopes"] == ["customers:read", "parts:read", "engineers:read"]
    scopes = ["tickets:read", "customers:read", "parts:read", "engineers:read"]
    _, secret = await auth_service.create_api_key(db, t.actor("admin"), name="BI", scopes=scopes)
    keyed = await client.get(_url(ticket), headers={"Authorization": f"Bearer {secret}"})
    assert keyed.status_code == 200 and keyed.content.startswith(b"%PDF-")
    # Another engineer, and another organisation, cannot tell it exists.
    missing = await client.get(
        f"/api/v1/tickets/{uuid.uuid4()}/report.pdf", headers=t.headers("admin")
    )
    assert missing.status_code == 404
    colleague = await client.get(_url(ticket), headers=t.headers("engineer2"))
    assert colleague.status_code == 404
    assert colleague.json()["code"] == missing.json()["code"] == "not_found"
    other = await make_tenant(db)
    for who in ("admin", "engineer1"):
        response = await client.get(_url(ticket), headers=other.headers(who))
        assert response.status_code == 404, who
    assert (await client.get(_url(ticket))).status_code == 401


async def test_the_report_speaks_the_readers_language(
    client: httpx.AsyncClient, db: AsyncSession, store: LocalBlobStore
) -> None:
    t, ticket = await _worked(db, store)
    t.users["dispatcher"].locale = "zh_CN"
    await db.flush()
    chinese = text_of((await client.get(_url(ticket), headers=t.headers("dispatcher"))).content)
    assert "服务报告" in chinese and "客户签字" in chinese and "Service report" not in chinese
    asked = await client.get(_url(ticket), params={"lang": "en"}, headers=t.headers("dispatcher"))
    assert "Service report" in text_of(asked.content)
    english_user = await client.get(_url(ticket), headers=t.headers("admin"))
    assert "Service report" in text_of(english_user.content)
    unknown = await client.get(_url(ticket), params={"lang": "fr"}, headers=t.headers("admin"))
    assert unknown.status_code == 422


async def test_gathered_parts_are_priced_and_returns_credited(
    client: httpx.AsyncClient, db: AsyncSession, store: LocalBlobStore
) -> None:
    t, ticket = await _worked(db, store)
    data = await gather(db, t.actor("viewer"), ticket.id, store=store)
    lines = {p.sku: p for p in data.parts}
    assert set(lines) == {"RLY-220", "CBL-1"}
    relay, cable = lines["RLY-220"], lines["CBL-1"]
    assert (relay.quantity, relay.unit_price, relay.total) == (
        2,
        Decimal("85.50"),
        Decimal("171.00"),
    )
    assert relay.serial_numbers == ["R-1", "R-2"]
    assert (cable.quantity, cable.total) == (2, Decimal("24.00"))
    assert data.parts_total == Decimal("195.00")
    assert [(r.sku, r.serial_numbers) for r in data.removed_parts] == [("RLY-220", ["OLD-9"])]
    assert data.labour_seconds() == {"travel": 45 * 60, "work": 120 * 60, "break": 0}
    assert [(v.in_at_site, v.out_at_site) for v in data.visits] == [(True, False)]
    assert data.timeline.arrived_at == data.visits[0].check_in
    assert data.work.resolution_code == "FIXED" and data.work.fault_code == "E31"
    answers = [(line.label, line.value) for s in data.checklist for line in s.lines]
    assert answers == [("Power isolated", True), ("Motor current", 12.5), ("Comments", None)]


async def test_before_the_bytes_arrive_the_report_still_renders(
    client: httpx.AsyncClient, db: AsyncSession, store: LocalBlobStore
) -> None:
    """A photo registered but not uploaded is counted, not shown; a signature whose image is
    still on the phone is drawn from its strokes."""
    t = await make_tenant(db)
    ticket, _ = await on_site(db, t)
    await attachments.register_attachment(
        db,
        t.actor("engineer1"),
        attachment_id=uuid7(),
        ticket_id=ticket.id,
        sha256="b" * 64,
        size=1000,
        mime="image/jpeg",
        role="photo",
    )
    await _signature(db, t, ticket, None, signer="Zhang Min")
    await db.flush()
    data = await gather(db, t.actor("engineer1"), ticket.id, store=store)
    assert data.photos == [] and data.photos_not_shown == 1
    (signature,) = data.signatures
    assert signature.picture is None and signature.strokes == [[[0, 0], [40, 30], [80, 0]]]
    response = await client.get(_url(ticket), headers=t.headers("engineer1"))
    assert response.status_code == 200
    text = text_of(response.content)
    assert "Zhang Min" in text and "1 more photo(s) not shown" in text
    assert "None recorded" in text  # no parts, no labour yet


async def _cable_on_site(db: AsyncSession) -> tuple[Tenant, Ticket, Part, dict[str, Any]]:
    """Engineer 1 on site with 20 m of cable (price 12) in the van; the part, and the
    arguments its use on the work order takes."""
    t = await make_tenant(db)
    ticket, visit = await on_site(db, t)
    admin = t.actor("admin")
    cable = await make_part(db, admin, sku="CBL-2", unit="m", cost=Decimal(4), price=Decimal(12))
    van = await parts.ensure_van(db, t.engineers[0])
    await move(db, admin, kind="receive", part_id=cable.id, quantity=20, to_location_id=van.id)
    part = await db.get(Part, cable.id)
    assert part is not None
    return t, ticket, part, {"ticket_id": ticket.id, "visit_id": visit.id, "part_id": part.id}


async def test_parts_keep_the_price_they_were_used_at(
    db: AsyncSession, store: LocalBlobStore
) -> None:
    """The catalogue price changes after a visit: the report printed later still shows
    what was charged, and a part used at two prices is two lines. A good return takes
    back the units used last."""
    t, ticket, part, common = await _cable_on_site(db)
    engineer = t.actor("engineer1")
    await field.use_part(db, engineer, line_id=uuid7(), quantity=3, **common)
    await field.return_part(db, engineer, line_id=uuid7(), quantity=1, condition="good", **common)
    part.price = Decimal("15.50")
    await db.flush()
    await field.use_part(db, engineer, line_id=uuid7(), quantity=2, **common)

    data = await gather(db, t.actor("viewer"), ticket.id, store=store)
    assert [(p.sku, p.quantity, p.unit_price, p.total) for p in data.parts] == [
        ("CBL-2", 2, Decimal(12), Decimal("24.00")),
        ("CBL-2", 2, Decimal("15.50"), Decimal("31.00")),
    ]
    assert data.parts_total == Decimal("55.00")


async def test_a_good_return_takes_back_the_units_used_last_whatever_their_price(
    db: AsyncSession, store: LocalBlobStore
) -> None:
    """Used at 12, then 15, then 12 again; one taken back unused: it is one of the last
    (at 12), not one at 15."""
    t, ticket, part, common = await _cable_on_site(db)
    engineer = t.actor("engineer1")
    for price in (12, 15, 12):
        part.price = Decimal(price)
        await db.flush()
        await field.use_part(db, engineer, line_id=uuid7(), quantity=2, **common)
    await field.return_part(db, engineer, line_id=uuid7(), quantity=1, condition="good", **common)
    data = await gather(db, t.actor("viewer"), ticket.id, store=store)
    assert [(p.quantity, p.unit_price) for p in data.parts] == [(3, 12), (2, 15)]
    assert data.parts_total == Decimal("66.00")


async def test_a_unit_taken_out_in_good_condition_is_listed_and_the_new_one_charged(
    db: AsyncSession, store: LocalBlobStore
) -> None:
    """The old relay came out of the equipment still good (it goes back to the van): it
    is a part removed from the equipment, not an unused unit that cancels the new one."""
    t = await make_tenant(db)
    ticket, visit = await on_site(db, t)
    admin, engineer = t.actor("admin"), t.actor("engineer1")
    relay = await make_part(
        db, admin, sku="RLY-9", serialised=True, cost=Decimal(30), price=Decimal("85.50")
    )
    van = await parts.ensure_van(db, t.engineers[0])
    await move(
        db,
        admin,
        kind="receive",
        part_id=relay.id,
        quantity=1,
        to_location_id=van.id,
        serial_numbers=["R-1"],
    )
    await field.use_part(
        db,
        engineer,
        line_id=uuid7(),
        part_id=relay.id,
        quantity=1,
        serial_numbers=["R-1"],
        removed_serial_numbers=["OLD-9"],
        removed_condition="good",
        ticket_id=ticket.id,
        visit_id=visit.id,
    )
    data = await gather(db, t.actor("viewer"), ticket.id, store=store)
    assert [(p.sku, p.quantity, p.serial_numbers) for p in data.parts] == [("RLY-9", 1, ["R-1"])]
    assert data.parts_total == Decimal("85.50")
    assert [(r.sku, r.serial_numbers) for r in data.removed_parts] == [("RLY-9", ["OLD-9"])]
