"""Catalogue CSV import and export (server/parts/csvio/service.py): every row validated, nothing
half imported, line numbers that match the file, an export that imports back unchanged."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.parts.models import Part
from tests.fixtures.factories import Tenant, make_location, make_part, make_tenant, move

IMPORT = "/api/v1/parts/import"
EXPORT = "/api/v1/parts/export"
HEADER = "sku,name,description,unit,cost,price,barcode,serialised,compatible_models,active\n"


async def _import(
    client: httpx.AsyncClient, t: Tenant, text: str | bytes, *, dry_run: bool, who: str = "admin"
) -> httpx.Response:
    return await client.post(
        IMPORT,
        params={"dry_run": str(dry_run).lower()},
        content=text.encode() if isinstance(text, str) else text,
        headers={**t.headers(who), "Content-Type": "text/csv"},
    )


async def _parts(db: AsyncSession, t: Tenant) -> dict[str, Part]:
    query = select(Part).where(Part.org_id == t.org.id)
    rows = await db.scalars(query.execution_options(populate_existing=True))
    return {p.sku: p for p in rows}


def _catalogue(parts: dict[str, Part]) -> dict[str, tuple[Any, ...]]:
    return {
        sku: (
            p.name,
            p.description,
            p.unit,
            p.cost,
            p.price,
            p.barcode,
            p.serialised,
            p.compatible_models,
            p.active,
        )
        for sku, p in parts.items()
    }


BAD_FILE = (
    HEADER
    + "OK-1,Good relay,,pcs,1.00,2.00,,false,CH-200,true\n"  # line 2: fine
    + "NO-NAME,,,pcs,1.00,2.00,,false,,true\n"  # 3: missing name
    + "BAD-COST,Relay,,pcs,abc,2.00,,false,,true\n"  # 4: cost is not a number
    + "NEG-PRICE,Relay,,pcs,1.00,-5,,false,,true\n"  # 5: negative price
    + "OK-1,Same SKU again,,pcs,1.00,2.00,,false,,true\n"  # 6: duplicate of line 2
    + "BAD-BOOL,Relay,,pcs,1.00,2.00,,maybe,,true\n"  # 7: not a boolean
    + "\n"  # 8: blank, skipped
    + f"{'L' * 65},Relay,,pcs,1.00,2.00,,false,,true\n"  # 9: SKU over 64 characters
    + '"MULTI-1","Two-line ""quoted""\ndescription",,pcs,1,2,,no,,yes\n'  # 10-11: fine
    + "AFTER-MULTI,Relay,,pcs,1.00,2.00,,false,,nope\n"  # 12: bad active
)
BAD_LINES = [
    (3, "NO-NAME", "name"),
    (4, "BAD-COST", "cost"),
    (5, "NEG-PRICE", "price"),
    (6, "OK-1", "sku"),
    (7, "BAD-BOOL", "serialised"),
    (9, "L" * 65, "sku"),
    (12, "AFTER-MULTI", "active"),
]


async def test_file_with_bad_rows_imports_nothing_and_reports_every_bad_row(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)

    response = await _import(client, t, BAD_FILE, dry_run=False)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "import_rejected"
    assert problem["rows"] == 9
    errors = problem["errors"]
    assert [(e["line"], e["sku"], e["field"]) for e in errors] == BAD_LINES
    messages = {e["line"]: e["message"] for e in errors}
    assert messages[3] == "required"
    assert "already on line 2" in messages[6]
    assert "true/false" in messages[7]
    assert "64" in messages[9]
    assert "greater than or equal to 0" in messages[5]
    assert problem["detail"].startswith("nothing was imported: line 3, name: required")
    assert await _parts(db, t) == {}, "the good rows must not be imported either"


async def test_dry_run_reports_the_same_errors_with_200_and_writes_nothing(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await make_part(db, t.actor("admin"), sku="OK-1", name="Old relay")

    response = await _import(client, t, BAD_FILE, dry_run=True)

    assert response.status_code == 200, response.text
    report = response.json()
    assert [(e["line"], e["sku"], e["field"]) for e in report["errors"]] == BAD_LINES
    # Of the valid rows, OK-1 exists (its name would change), MULTI-1 is new.
    assert (report["dry_run"], report["rows"], report["created"], report["updated"]) == (
        True,
        9,
        1,
        1,
    )
    parts = await _parts(db, t)
    assert list(parts) == ["OK-1"] and parts["OK-1"].name == "Old relay"


async def test_dry_run_of_a_good_file_writes_nothing(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)

    response = await client.post(
        IMPORT, content=b"sku,name\nA-1,Relay\n", headers=t.headers("dispatcher")
    )

    assert response.status_code == 200, response.text
    assert response.json()["dry_run"] is True  # the default
    assert response.json()["created"] == 1 and response.json()["errors"] == []
    assert await _parts(db, t) == {}


async def test_good_file_creates_new_parts_and_updates_existing_ones_by_sku(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    admin = t.actor("admin")
    old = await make_part(
        db, admin, sku="CMP-1", name="Relay", unit="pcs", cost=Decimal("3.00"), barcode="111"
    )
    same = await make_part(db, admin, sku="CMP-2", name="Fuse", price=Decimal("1.50"))
    old_version, same_version = old.version, same.version
    # With a byte-order mark (Excel's "CSV UTF-8"), columns in another order and case,
    # no barcode column: barcodes are left as they are.
    text = (
        "\ufeffName,SKU,cost,price,serialised,compatible_models,Active\r\n"
        "Relay 24 V,CMP-1,4.25,9.90,yes,CH-200| CH-250 ,1\r\n"
        "Fuse,CMP-2,0,1.50,no,,true\r\n"
        "冷凝风扇电机,FAN-90,55,120,0,CH-200,false\r\n"
    )

    response = await _import(client, t, text.encode(), dry_run=False)

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["updated"], report["unchanged"]) == (1, 1, 1)
    assert report["errors"] == [] and report["rows"] == 3
    parts = await _parts(db, t)
    assert set(parts) == {"CMP-1", "CMP-2", "FAN-90"}
    relay = parts["CMP-1"]
    assert (relay.name, relay.cost, relay.price, relay.serialised) == (
        "Relay 24 V",
        Decimal("4.25"),
        Decimal("9.90"),
        True,
    )
    assert relay.compatible_models == ["CH-200", "CH-250"]
    assert relay.barcode == "111", "a column the file does not have is left alone"
    assert relay.version == old_version + 1
    assert parts["CMP-2"].version == same_version, "an unchanged part keeps its version"
    fan = parts["FAN-90"]
    assert (fan.name, fan.active, fan.unit, fan.cost) == ("冷凝风扇电机", False, "pcs", Decimal(55))

    again = await _import(client, t, text.encode(), dry_run=False)
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (
        0,
        0,
        3,
    ), "importing the same file twice changes nothing"


async def test_export_imports_back_unchanged(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    other = await make_tenant(db)
    admin = t.actor("admin")
    await make_part(
        db,
        admin,
        sku="A-1",
        name='=HYPERLINK("http://evil")',  # a spreadsheet formula
        description='Line one, "quoted"\nline two',
        unit="m",
        cost=Decimal("0.05"),
        price=Decimal("12345678.90"),
        barcode="-42",
        serialised=True,
        compatible_models=["CH-200", "冷水机 X"],
    )
    await make_part(db, admin, sku="A-2", name="'+quoted already", description="@home")
    await make_part(db, admin, sku="B-1", name="压缩机继电器", compatible_models=[])
    inactive = await make_part(db, admin, sku="C-1", name="Retired")
    inactive.active = False
    await db.flush()
    original = _catalogue(await _parts(db, t))

    exported = await client.get(EXPORT, headers=t.headers("viewer"))

    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.text, newline="")))
    assert rows[0] == HEADER.strip().split(",")
    assert [r[0] for r in rows[1:]] == ["A-1", "A-2", "B-1", "C-1"]
    assert rows[1][1].startswith("'="), "formulas are defused for spreadsheets"

    into_other = await _import(client, other, exported.content, dry_run=False)
    assert into_other.status_code == 200, into_other.text
    assert into_other.json()["created"] == 4
    assert _catalogue(await _parts(db, other)) == original

    into_same = await _import(client, t, exported.content, dry_run=False)
    assert into_same.json()["unchanged"] == 4 and into_same.json()["updated"] == 0
    assert _catalogue(await _parts(db, t)) == original

    with_bom = await client.get(EXPORT, params={"bom": "true"}, headers=t.headers("admin"))
    assert with_bom.content.startswith("\ufeff".encode())
    back = await _import(client, t, with_bom.content, dry_run=True)
    assert back.json()["unchanged"] == 4 and back.json()["errors"] == []


async def test_export_filters_like_the_list(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    admin = t.actor("admin")
    await make_part(db, admin, sku="RLY-1", name="Relay", compatible_models=["CH-200"])
    await make_part(db, admin, sku="FAN-1", name="Fan", compatible_models=["CH-300"])
    retired = await make_part(db, admin, sku="RLY-2", name="Old relay")
    retired.active = False
    await db.flush()

    async def skus(**params: str) -> list[str]:
        response = await client.get(EXPORT, params=params, headers=t.headers("engineer1"))
        assert response.status_code == 200, response.text
        return [r[0] for r in csv.reader(io.StringIO(response.text, newline=""))][1:]

    assert await skus() == ["FAN-1", "RLY-1", "RLY-2"]
    assert await skus(q="rly") == ["RLY-1", "RLY-2"]
    assert await skus(model="CH-300") == ["FAN-1"]
    assert await skus(active="false") == ["RLY-2"]


async def test_other_organisations_parts_are_unaffected_and_invisible(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    a = await make_tenant(db, "Alpha")
    b = await make_tenant(db, "Beta")
    theirs = await make_part(db, b.actor("admin"), sku="CMP-1", name="Beta's relay")
    await make_part(db, b.actor("admin"), sku="ONLY-B", name="Beta only")

    response = await _import(client, a, "sku,name,price\nCMP-1,Alpha relay,7\n", dry_run=False)

    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1, "the same SKU in another organisation is not ours"
    b_parts = await _parts(db, b)
    assert b_parts["CMP-1"].name == "Beta's relay" and b_parts["CMP-1"].version == theirs.version
    assert (await _parts(db, a))["CMP-1"].name == "Alpha relay"
    exported = await client.get(EXPORT, headers=a.headers("admin"))
    assert "Beta" not in exported.text and "ONLY-B" not in exported.text
    assert "Alpha relay" in exported.text


async def test_only_the_back_office_imports(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    for who in ("engineer1", "agent", "viewer"):
        response = await _import(client, t, "sku,name\nX-1,Relay\n", dry_run=False, who=who)
        assert response.status_code == 403, (who, response.text)
    assert await _parts(db, t) == {}
    anonymous = await client.post(IMPORT, content=b"sku,name\nX-1,Relay\n")
    assert anonymous.status_code == 401


async def test_non_utf8_file_is_refused_with_422(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    gbk = "sku,name\nOK-1,Relay\nFAN-1,冷凝风扇电机\n".encode("gbk")

    for dry_run in (True, False):
        response = await _import(client, t, gbk, dry_run=dry_run)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == "import_rejected"
        assert "not UTF-8" in problem["detail"]
        assert problem["errors"][0]["line"] == 3
    assert await _parts(db, t) == {}


async def test_unreadable_header_is_refused_even_in_a_dry_run(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    cases = {
        "sku,name,colour\nA-1,Relay,red\n": ("colour", "unknown column"),
        "sku,description\nA-1,Relay\n": ("name", "required"),
        "sku,name,name\nA-1,Relay,Relay\n": ("name", "repeated"),
        "": (None, "empty"),
        'sku,name\nA-1,"Relay\n': (None, "malformed CSV"),
    }
    for text, (field, words) in cases.items():
        response = await _import(client, t, text, dry_run=True)
        assert response.status_code == 422, (text, response.text)
        first = response.json()["errors"][0]
        assert first["field"] == field and words in first["message"], (text, first)


async def test_row_with_the_wrong_number_of_cells_is_reported(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    response = await _import(client, t, "sku,name,price\nA-1,Relay\nA-2,Fuse,1,2\n", dry_run=True)
    assert [(e["line"], e["sku"]) for e in response.json()["errors"]] == [(2, "A-1"), (3, "A-2")]


async def test_file_over_the_row_cap_is_413(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    text = "sku,name\n" + "".join(f"P{i},n\n" for i in range(20_001))

    response = await _import(client, t, text, dry_run=True)

    assert response.status_code == 413, response.text
    assert "20000 rows" in response.json()["detail"]


async def test_body_over_the_app_limit_is_413_before_any_row_is_read(
    client: httpx.AsyncClient, db: AsyncSession, settings: Any
) -> None:
    t = await make_tenant(db)

    async def chunks() -> Any:
        yield b"sku,name\n"
        for i in range(settings.MAX_BODY_BYTES // 900 + 1):
            yield f"P{i},{'n' * 990}\n".encode()

    # Streamed without a Content-Length: the limit holds while the body is read.
    response = await client.post(IMPORT, content=chunks(), headers=t.headers("admin"))

    assert response.status_code == 413, response.text[:500]
    assert response.json()["code"] == "payload_too_large"
    assert await _parts(db, t) == {}


async def test_export_is_not_taken_for_a_part_id(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """/parts/export is routed before /parts/{part_id}, where it would be a malformed UUID."""
    t = await make_tenant(db)
    response = await client.get(EXPORT, headers=t.headers("viewer"))
    assert response.status_code == 200, response.text
    assert response.text.startswith("sku,name,")
    not_an_id = await client.get("/api/v1/parts/exports", headers=t.headers("viewer"))
    assert not_an_id.status_code == 422


async def test_openapi_documents_the_csv_bodies(app: Any) -> None:
    paths = app.openapi()["paths"]
    body = paths["/api/v1/parts/import"]["post"]["requestBody"]
    assert body["content"]["text/csv"]["example"].startswith("sku,name")
    assert {"403", "413", "422"} <= set(paths["/api/v1/parts/import"]["post"]["responses"])
    assert "text/csv" in paths["/api/v1/parts/export"]["get"]["responses"]["200"]["content"]


async def test_report_lists_at_most_a_thousand_errors_and_counts_them_all(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    text = "sku,name,cost\n" + "".join(f"P{i},Relay,x\n" for i in range(1_001))

    response = await _import(client, t, text, dry_run=False)

    assert response.status_code == 422
    problem = response.json()
    assert (problem["error_count"], len(problem["errors"]), problem["errors_truncated"]) == (
        1_001,
        1_000,
        True,
    )
    assert problem["errors"][-1]["line"] == 1_001


async def test_a_row_flipping_serialised_while_stock_is_held_is_a_row_error(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    admin = t.actor("admin")
    held = await make_part(db, admin, sku="HELD-1", name="Relay")
    await make_part(db, admin, sku="FREE-1", name="Fuse")
    store = await make_location(db, admin, name="W")
    await move(db, admin, kind="receive", part_id=held.id, quantity=3, to_location_id=store.id)
    text = (
        HEADER
        + "FREE-1,Fuse,,pcs,1.00,2.00,,true,,true\n"  # line 2: no stock, may change
        + "HELD-1,Relay,,pcs,1.00,2.00,,true,,true\n"  # 3: 3 pcs held
    )

    for dry_run in (True, False):
        response = await _import(client, t, text, dry_run=dry_run)
        errors = response.json()["errors"]
        assert [(e["line"], e["sku"], e["field"]) for e in errors] == [(3, "HELD-1", "serialised")]
        assert "3 pcs on hand" in errors[0]["message"]
    assert response.status_code == 422
    parts = await _parts(db, t)
    assert not parts["FREE-1"].serialised and not parts["HELD-1"].serialised


async def test_import_validates_the_file_off_the_event_loop(
    client: httpx.AsyncClient, db: AsyncSession, monkeypatch: Any
) -> None:
    """Validating a large file takes about a second: held in its thread until a cheap
    request has been served, which the event loop could not do if it ran the validation
    (the hold's limit breaks that deadlock; it is not a timing check)."""
    import asyncio
    import threading

    from server.parts.csvio import service as csvio

    t = await make_tenant(db)
    started, release, in_time = threading.Event(), threading.Event(), []
    original = csvio.parse

    def held(data: bytes) -> Any:
        started.set()
        in_time.append(release.wait(10))
        return original(data)

    monkeypatch.setattr(csvio, "parse", held)
    task = asyncio.create_task(
        _import(client, t, HEADER + "F-1,Filter,,pcs,1,2,,false,,true\n", dry_run=True)
    )
    try:
        assert await asyncio.to_thread(started.wait, 10)
        health = await client.get("/health")
    finally:
        release.set()
    assert health.status_code == 200
    assert (await task).status_code == 200
    assert in_time == [True]
