"""Rows stored before the instant rule (shared/times.py) existed stay readable.

The API used to accept 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z, which the
driver stores as -infinity / infinity and used to read back as naive datetimes: every read of
such a work order (its labour, its summary, its PDF) answered 500, and labour is append-only,
so nothing repaired it. Here such values (and one beyond Python's calendar, as only a hand-
written statement can store) are put straight into the tables with SQL, and every read that
shows them must answer, with an offset on every time; the entries can then be voided and
adjusted, which is how the office repairs them."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.attachments import service as attachments
from server.field import service as field
from server.field.checklists import service as checklists
from server.field.schemas import ItemIn, TemplateCreate
from shared.ids import uuid7
from tests.fixtures.attachments import png, stored_attachment
from tests.fixtures.factories import Tenant, make_tenant
from tests.server.field.helpers import on_site
from tests.server.sync.helpers import Phone

NOW = dt.datetime.now(dt.UTC)
TIME = re.compile(r"^\d{4,}-\d\d-\d\d[T ]\d\d:\d\d")
OFFSET = re.compile(r"(Z|[+-]\d\d:\d\d)$")


async def _columns(db: AsyncSession, table: str) -> list[str]:
    rows = await db.execute(
        text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = :t "
            "AND is_generated = 'NEVER' AND is_identity = 'NO' ORDER BY ordinal_position"
        ),
        {"t": table},
    )
    return [name for (name,) in rows]


async def _clone(db: AsyncSession, table: str, where: dict[str, Any], **sql: str) -> None:
    """Insert a copy of one row with some columns replaced by SQL expressions (the field
    tables refuse UPDATE: append-only)."""
    columns = await _columns(db, table)
    picks = ", ".join(sql.get(c, c) for c in columns)
    cond = " AND ".join(f"{k} = :{k}" for k in where)
    await db.execute(
        text(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {picks} FROM {table} WHERE {cond}"
        ),
        where,
    )


async def _worked(db: AsyncSession, t: Tenant, store: Any) -> tuple[Any, Any, uuid.UUID]:
    """A work order on site with one of every field record a time is kept on."""
    ticket, visit = await on_site(db, t, window_start=NOW, window_end=NOW + dt.timedelta(hours=2))
    engineer = t.actor("engineer1")
    entry = await field.add_labour(
        db,
        engineer,
        ticket_id=ticket.id,
        entry_id=uuid7(),
        kind="work",
        started_at=NOW - dt.timedelta(hours=2),
        ended_at=NOW - dt.timedelta(hours=1),
        visit_id=visit.id,
    )
    await field.add_note(
        db, engineer, ticket_id=ticket.id, note_id=uuid7(), text="noted", device_time=NOW
    )
    template = await checklists.create_template(
        db,
        t.actor("admin"),
        data=TemplateCreate(name="Safety", items=[ItemIn(kind="yes_no", label="Isolated")]),
    )
    await field.answer(
        db,
        engineer,
        ticket_id=ticket.id,
        visit_id=visit.id,
        item_id=template.items[0].id,
        answer_id=uuid7(),
        value=True,
        device_time=NOW,
    )
    await stored_attachment(db, engineer, ticket, store, png())
    drawn = png(300, 120, (255, 255, 255))
    digest = await store.put(drawn)
    await attachments.record_blob(
        db, org_id=t.org.id, sha256=digest, size=len(drawn), mime="image/png", width=300, height=120
    )
    await attachments.capture_signature(
        db,
        engineer,
        signature_id=uuid7(),
        ticket_id=ticket.id,
        attachment_id=uuid7(),
        sha256=digest,
        size=len(drawn),
        signer_name="Li Na",
        strokes=[[[0, 0], [10, 10]]],
        signed_status="on_site",
        device_time=NOW,
    )
    await db.flush()
    return ticket, visit, entry.id


async def _corrupt(db: AsyncSession, ticket: Any, visit: Any, entry_id: uuid.UUID) -> list[str]:
    """Store the edge values; returns the ids of the labour entries made of them."""
    entries = {
        str(uuid7()): ("'-infinity'", "'0001-01-01 01:00+00'"),
        str(uuid7()): ("'9999-12-31 23:00+00'", "'infinity'"),
        str(uuid7()): ("'20000-01-01 00:00+00'", "'20000-01-01 01:00+00'"),  # beyond Python
        str(uuid7()): ("'1900-01-01 00:00+00'", "'1900-01-01 08:00+00'"),  # out of bounds
    }
    for new, (start, end) in entries.items():
        await _clone(
            db, "labour_entries", {"id": entry_id}, id=f"'{new}'", started_at=start, ended_at=end
        )
    second = str(uuid7())
    await _clone(db, "visits", {"id": visit.id}, id=f"'{second}'", number="2")
    check = {"visit_id": visit.id, "kind": "in"}
    await _clone(db, "visit_checks", check, visit_id=f"'{second}'", device_time="'-infinity'")
    await _clone(
        db, "visit_checks", check, visit_id=f"'{second}'", kind="'out'", device_time="'infinity'"
    )
    ticket_id = {"ticket_id": ticket.id}
    await _clone(db, "ticket_notes", ticket_id, id=f"'{uuid7()}'", device_time="'infinity'")
    await _clone(db, "checklist_answers", ticket_id, id=f"'{uuid7()}'", device_time="'-infinity'")
    for sql in (
        "UPDATE tickets SET window_start = '-infinity', window_end = 'infinity' WHERE id = :w",
        "UPDATE attachments SET captured_at = 'infinity' WHERE work_order_id = :w",
        "UPDATE signatures SET device_time = '-infinity' WHERE work_order_id = :w",
        "UPDATE sync_mutations SET device_time = 'infinity' WHERE work_order_id = :w",
    ):
        await db.execute(text(sql), {"w": ticket.id})
    return list(entries)


def _offsets_everywhere(value: Any, path: str = "") -> None:
    """Every time in a response carries its UTC offset."""
    if isinstance(value, dict):
        for key, item in value.items():
            _offsets_everywhere(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _offsets_everywhere(item, f"{path}[{i}]")
    elif isinstance(value, str) and TIME.match(value):
        assert OFFSET.search(value), f"{path}: {value} has no offset"


async def _rejected_push(phone: Phone, ticket_id: uuid.UUID) -> None:
    """One mutation the server stores as rejected, so the review list has a row."""
    bad = phone.mutation("note.add", work_order_id=str(ticket_id), note_id="not a uuid", text="x")
    response = await phone.push(bad)
    assert response.json()["results"][0]["outcome"] == "rejected", response.text


async def test_a_work_order_holding_edge_instants_reads_and_can_be_repaired(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine, app: Any
) -> None:
    t = await make_tenant(db)
    t.org.timezone = "Asia/Shanghai"  # 9999-12-31T23:59:59Z has no local time there
    ticket, visit, entry_id = await _worked(db, t, app.state.blob_store)
    phone = Phone(client, t.headers("engineer1"), engine=engine)
    await phone.register()
    await _rejected_push(phone, ticket.id)
    broken = await _corrupt(db, ticket, visit, entry_id)
    wo = f"/api/v1/tickets/{ticket.id}"
    today = NOW.date().isoformat()
    reads = {
        "dispatcher": [
            wo,
            "/api/v1/tickets",
            "/api/v1/tickets?sort=resolution_due_at",
            f"{wo}/events",
            f"{wo}/labour",
            f"{wo}/field-summary",
            f"{wo}/visits",
            f"{wo}/notes",
            f"{wo}/checklist",
            f"{wo}/checklist/answers",
            f"{wo}/attachments",
            f"{wo}/signatures",
            f"/api/v1/assets/{t.asset.id}/history" if t.asset else wo,
            f"/api/v1/engineers/{t.engineers[0].id}/labour-totals?date={today}",
            f"/api/v1/engineers/{t.engineers[0].id}/labour-totals?date=1970-01-01",
            f"/api/v1/pick-lists?date={today}&engineer_id={t.engineers[0].id}",
            "/api/v1/sync/rejected",
        ],
        "engineer1": [wo, f"{wo}/labour", f"{wo}/visits", f"{wo}/attachments"],
    }
    for who, urls in reads.items():
        for url in urls:
            response = await client.get(url, headers=t.headers(who))
            assert response.status_code == 200, (who, url, response.text[:300])
            _offsets_everywhere(response.json(), url)
    visits = (await client.get(f"{wo}/visits", headers=t.headers("engineer1"))).json()
    assert [v["check_in"]["device_time"] for v in visits][1] == "0001-01-01T00:00:00Z"
    for v in visits:
        one = await client.get(f"{wo}/visits/{v['id']}", headers=t.headers("engineer1"))
        assert one.status_code == 200 and one.json() == v
    for who in ("dispatcher", "engineer1"):
        pdf = await client.get(f"{wo}/report.pdf", headers=t.headers(who))
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-"), pdf.text[:300]
    await phone.sync()
    assert phone.get("work_order", ticket.id) is not None
    _offsets_everywhere(phone.pages)
    sheet = (await client.get(f"{wo}/labour", headers=t.headers("dispatcher"))).json()
    shown = {e["id"]: (e["started_at"], e["ended_at"]) for e in sheet["entries"]}
    assert shown[broken[0]] == ("0001-01-01T00:00:00Z", "0001-01-01T01:00:00Z")
    assert shown[broken[1]] == ("9999-12-31T23:00:00Z", "9999-12-31T23:59:59.999999Z")
    window = (await client.get(wo, headers=t.headers("dispatcher"))).json()
    assert (window["window_start"], window["window_end"]) == (
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999Z",
    )
    await _repair(client, t, wo, broken)


async def _repair(client: httpx.AsyncClient, t: Tenant, wo: str, broken: list[str]) -> None:
    """The office voids one broken entry and replaces another with the right times."""
    office = t.headers("dispatcher")
    void = await client.post(
        f"{wo}/labour/{broken[0]}/void",
        json={"void_id": str(uuid7()), "reason": "clock was wrong"},
        headers=office,
    )
    assert void.status_code == 201, void.text
    adjusted = await client.post(
        f"{wo}/labour/{broken[1]}/adjust",
        json={
            "adjustment_id": str(uuid7()),
            "started_at": "2026-11-24T09:00:00+08:00",
            "ended_at": "2026-11-24T10:00:00+08:00",
            "reason": "clock was wrong",
        },
        headers=office,
    )
    assert adjusted.status_code == 201, adjusted.text
    sheet = (await client.get(f"{wo}/labour", headers=office)).json()
    states = {e["id"]: e["state"] for e in sheet["entries"]}
    assert states[broken[0]] == "voided" and states[broken[1]] == "replaced"
