"""A poison mutation never blocks the queue: whatever one mutation carries (a NaN, a lone
surrogate, U+0000, a clock beyond the calendar) or whatever bug it meets on the server, it
is stored rejected with its reason, ``last_seq`` advances and the mutations after it
apply. Only a transient failure stops the batch (503), and only the envelope (client id,
seq, id) refuses the whole push."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server.sync import mutations, push
from tests.fixtures.factories import make_tenant
from tests.server.field.helpers import on_site
from tests.server.sync.helpers import SYNC, Phone, new_id, registered_phone, stored_mutations


async def _push_as_python_does(phone: Phone, *items: dict[str, Any]) -> httpx.Response:
    """The push body as the phone's Python ``json.dumps`` writes it (NaN, lone surrogates
    as ``\\ud800`` escapes: both are what the standard library emits)."""
    body = json.dumps({"client_id": phone.client_id, "mutations": list(items)})
    return await phone.http.post(
        f"{SYNC}/push", content=body, headers={**phone.headers, "Content-Type": "application/json"}
    )


async def test_a_nan_in_a_checklist_answer_is_rejected_and_the_queue_moves_on(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """float("nan") typed into a number item: storing the mutation's arguments as JSONB
    used to fail (NaN is not JSON), a 500 for the whole push on every retry."""
    t = await make_tenant(db)
    ticket, visit = await on_site(db, t)
    phone = await registered_phone(client, t)
    poison = phone.mutation(
        "checklist.answer",
        work_order_id=str(ticket.id),
        visit_id=str(visit.id),
        item_id=new_id(),
        answer_id=new_id(),
        value=float("nan"),
    )
    later = phone.mutation("note.add", work_order_id=str(ticket.id), note_id=new_id(), text="ok")
    response = await _push_as_python_does(phone, poison, later)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["rejected", "applied"]
    assert results[0]["error"]["field"] == "mutations[0].args.value"
    assert "finite" in results[0]["error"]["detail"]
    stored = await stored_mutations(db, phone)
    assert [m.outcome for m in stored] == ["rejected", "applied"]
    assert stored[0].args["value"] == "nan"  # kept for review, as text PostgreSQL takes


async def test_a_lone_surrogate_in_a_note_is_rejected_and_the_queue_moves_on(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """A JSON "\\ud800" escape decodes to a lone surrogate, which PostgreSQL refuses both
    in the note and in the stored mutation: the push used to 500 for ever."""
    t = await make_tenant(db)
    ticket, _ = await on_site(db, t)
    phone = await registered_phone(client, t)
    poison = phone.mutation(
        "note.add", work_order_id=str(ticket.id), note_id=new_id(), text="pump \ud800"
    )
    later = phone.mutation("note.add", work_order_id=str(ticket.id), note_id=new_id(), text="ok")
    response = await _push_as_python_does(phone, poison, later)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["rejected", "applied"]
    assert results[0]["error"]["field"] == "mutations[0].args.text"
    stored = await stored_mutations(db, phone)
    assert stored[0].args["text"] == "pump \\ud800"


async def test_a_device_time_beyond_the_calendar_is_rejected_and_the_queue_moves_on(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """9999-12-31T23:30-05:00 is past year 9999 in UTC: storing it used to overflow in
    asyncpg, a 500 for the whole push. A device time that does not check (out of range,
    without an offset) rejects its own mutation, quoted in the problem; the log row keeps
    no device time."""
    t = await make_tenant(db)
    ticket, _ = await on_site(db, t)
    phone = await registered_phone(client, t)
    broken_clock = phone.mutation(
        "note.add", work_order_id=str(ticket.id), note_id=new_id(), text="x"
    )
    broken_clock["device_time"] = "9999-12-31T23:30:00-05:00"
    naive = phone.mutation("note.add", work_order_id=str(ticket.id), note_id=new_id(), text="y")
    naive["device_time"] = "2026-11-24T10:00:00"
    later = phone.mutation("note.add", work_order_id=str(ticket.id), note_id=new_id(), text="ok")
    response = await _push_as_python_does(phone, broken_clock, naive, later)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["last_seq"] == 3
    assert [r["outcome"] for r in body["results"]] == ["rejected", "rejected", "applied"]
    assert body["results"][0]["error"]["field"] == "mutations[0].device_time"
    assert "9999-12-31T23:30:00-05:00" in body["results"][0]["error"]["detail"]
    stored = await stored_mutations(db, phone)
    assert [m.device_time is None for m in stored] == [True, True, False]


async def test_nul_in_a_mutations_text_rejects_that_mutation_only(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """U+0000 used to refuse the whole push (422): the queue could never move again."""
    t = await make_tenant(db)
    ticket, _ = await on_site(db, t)
    phone = await registered_phone(client, t)
    response = await phone.push(
        phone.mutation("note.add", work_order_id=str(ticket.id), note_id=new_id(), text="a\x00"),
        phone.mutation("work_order.teleport", work_order_id=str(ticket.id), where="\x00"),
        phone.mutation("note.add", work_order_id=str(ticket.id), note_id=new_id(), text="ok"),
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["rejected", "rejected", "applied"]
    assert results[0]["error"]["field"] == "mutations[0].args.text"
    stored = await stored_mutations(db, phone)
    assert stored[1].args["where"] == "\\u0000"  # an unknown mutation, kept escaped


async def test_a_bug_in_a_mutation_is_rejected_as_server_error_and_logged(
    client: httpx.AsyncClient,
    db: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 500 would block the queue until the bug is fixed; the mutation is rejected with
    server_error (kept with its arguments for the back office), logged at ERROR, and the
    ones after it apply."""
    t = await make_tenant(db)
    ticket, _ = await on_site(db, t)
    phone = await registered_phone(client, t)

    async def broken(*args: Any) -> dict[str, Any]:
        raise KeyError("a bug")

    monkeypatch.setitem(mutations.HANDLERS, "work_order.hold", broken)
    with caplog.at_level(logging.ERROR, logger="fixflow.sync"):
        response = await phone.push(
            phone.mutation(
                "work_order.hold",
                work_order_id=str(ticket.id),
                waiting_for="parts",
                reason="no relay",
            ),
            phone.mutation("note.add", work_order_id=str(ticket.id), note_id=new_id(), text="k"),
        )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["rejected", "applied"]
    assert results[0]["error"]["code"] == "server_error"
    assert results[0]["error"]["status"] == 500
    assert "a bug" not in response.text  # the traceback is for the log, not the phone
    logged = [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert logged and "work_order.hold" in logged[0].getMessage()
    stored = await stored_mutations(db, phone)
    assert stored[0].args["reason"] == "no relay"


async def test_an_unreachable_service_stops_the_batch_with_503(
    client: httpx.AsyncClient, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transient failure outside the database (a blob store timing out) is not a
    rejection: the mutation may well succeed on retry."""
    t = await make_tenant(db)
    ticket, _ = await on_site(db, t)
    phone = await registered_phone(client, t)

    async def timing_out(*args: Any) -> dict[str, Any]:
        raise TimeoutError("store")

    monkeypatch.setitem(mutations.HANDLERS, "work_order.hold", timing_out)
    response = await phone.push(
        phone.mutation("note.add", work_order_id=str(ticket.id), note_id=new_id(), text="k"),
        phone.mutation(
            "work_order.hold", work_order_id=str(ticket.id), waiting_for="parts", reason="r"
        ),
        phone.mutation("note.add", work_order_id=str(ticket.id), note_id=new_id(), text="l"),
    )
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"]
    assert response.json()["last_seq"] == 1
    assert [m.seq for m in await stored_mutations(db, phone)] == [1]


async def test_a_log_row_postgresql_refuses_is_stored_as_its_repr(
    client: httpx.AsyncClient, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The safety net under the checks: were something unstorable to reach the log row
    (here: the sanitiser switched off, so a NaN goes to JSONB and PostgreSQL refuses it),
    the row is written again with the arguments as their repr: the seq still advances."""
    t = await make_tenant(db)
    ticket, _ = await on_site(db, t)
    phone = await registered_phone(client, t)
    monkeypatch.setattr(push, "storable", lambda value, depth=0: value)
    poison = phone.mutation("work_order.teleport", work_order_id=str(ticket.id), x=float("inf"))
    later = phone.mutation("note.add", work_order_id=str(ticket.id), note_id=new_id(), text="ok")
    response = await _push_as_python_does(phone, poison, later)
    assert response.status_code == 200, response.text
    assert [r["outcome"] for r in response.json()["results"]] == ["rejected", "applied"]
    stored = await stored_mutations(db, phone)
    assert "'x': inf" in stored[0].args["unstorable"]
    assert stored[0].args["error"] == "PostgreSQL refused the arguments as sent"
    assert stored[1].args["text"] == "ok"
    # Dispatchers see the row: the driver's message (with its SQL) stays in our log.
    shown = await client.get("/api/v1/sync/rejected", headers=t.headers("dispatcher"))
    assert shown.status_code == 200 and "INSERT INTO" not in shown.text
    assert "[SQL:" not in shown.text


async def test_a_repeated_key_in_a_push_does_not_block_the_queue(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """The API refuses a JSON object naming a key twice (422); the sync push keeps the
    last value instead, as before: refusing the push would refuse it on every retry."""
    t = await make_tenant(db)
    ticket, _ = await on_site(db, t)
    phone = await registered_phone(client, t)
    note = phone.mutation("note.add", work_order_id=str(ticket.id), note_id=new_id(), text="x")
    body = json.dumps({"client_id": phone.client_id, "mutations": [note]})
    body = body.replace('"text": "x"', '"text": "first", "text": "second"')
    response = await phone.http.post(
        f"{SYNC}/push", content=body, headers={**phone.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["outcome"] == "applied"
    notes = await client.get(f"/api/v1/tickets/{ticket.id}/notes", headers=t.headers("admin"))
    assert [n["text"] for n in notes.json()] == ["second"]
