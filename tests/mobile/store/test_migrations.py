"""Schema migrations by PRAGMA user_version, tested from the first version: a database the
first app left behind (rows in every table, work still queued) opens in this app with
everything intact and the new features working on it, and so does one the second app
left (v2 -> v3, the claim pool); a new database goes 0 -> 3; a
database written by a newer app is refused, untouched; a failed migration leaves the old
version as it was."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mobile.store import SchemaTooNew, Store, rows, schema
from shared.ids import uuid7
from tests.mobile.helpers import NOW, page, put

ME = str(uuid7())
TZ = ZoneInfo("Asia/Shanghai")


def _v1_row(con: sqlite3.Connection, entity: str, row: dict[str, Any], **local: Any) -> None:
    """A row as the first app's rows.put wrote it: ``data`` what the UI sees (the effects
    on top), its index columns copied out of that."""
    row = local.get("data", row)
    work_order = row["id"] if entity == "work_order" else row.get("work_order_id")
    con.execute(
        "INSERT INTO entities (entity, id, data, base, local, work_order_id, status,"
        " window_start) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entity,
            row["id"],
            json.dumps(row),
            local.get("base"),
            1 if local else 0,
            work_order,
            row.get("status"),
            row.get("window_start"),
        ),
    )


def _v1_database(path: Path) -> dict[str, Any]:
    """What the first app left: a work order with an accept still queued (its effect on
    top of the server's row), a note created offline, a colleague's finished job on the
    same asset, parts and the van's stock, an answered and a rejected mutation, a photo
    half uploaded, the session's meta."""
    con = sqlite3.connect(path, isolation_level=None)
    con.row_factory = sqlite3.Row
    schema.migrate(con, target=1)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 1
    asset = str(uuid7())
    wo = {
        "id": str(uuid7()),
        "number": "WO-000007",
        "status": "assigned",
        "title": "Chiller",
        "assignee_id": ME,
        "asset_id": asset,
        "priority": "P2",
        "window_start": "2026-11-24T02:00:00+00:00",
    }
    history = {
        "id": str(uuid7()),
        "number": "WO-000001",
        "status": "closed",
        "title": "Old",
        "assignee_id": str(uuid7()),
        "asset_id": asset,
        "created_at": "2025-11-24T02:00:00+00:00",
    }
    note = {"id": str(uuid7()), "work_order_id": wo["id"], "text": "gate code 1234"}
    part = {
        "id": str(uuid7()),
        "sku": "FLT-200",
        "name": "压缩机 Filter",
        "barcode": "690123",
        "active": True,
        "unit": "pcs",
    }
    stock = {"id": part["id"], "part_id": part["id"], "on_hand": "3", "reserved": "0"}
    con.execute("BEGIN")
    for key, value in (
        ("client_id", str(uuid7())),
        ("cursor", "c-old"),
        ("last_seq", "1"),
        ("registered", "1"),
        ("username", "mei@example.com"),
        ("refresh_token", "r1"),
        ("base_url", "https://fixflow.example"),
    ):
        con.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
    accepted = {**wo, "status": "accepted"}
    _v1_row(con, "work_order", wo, data=accepted, base=json.dumps(wo))
    _v1_row(con, "work_order", history)
    _v1_row(con, "note", note, data=note)
    _v1_row(con, "part", part)
    _v1_row(con, "stock_balance", stock)
    outbox = [
        (
            1,
            "note.add",
            {"work_order_id": wo["id"], "note_id": str(uuid7()), "text": "x"},
            "applied",
            {"seq": 1, "outcome": "applied", "data": {}},
            1,
        ),
        (
            2,
            "part.use",
            {
                "work_order_id": wo["id"],
                "line_id": str(uuid7()),
                "part_id": part["id"],
                "quantity": "1",
            },
            "rejected",
            {
                "seq": 2,
                "outcome": "rejected",
                "data": {},
                "error": {"code": "not_found", "detail": "no such part"},
            },
            0,
        ),
        (3, "work_order.accept", {"work_order_id": wo["id"]}, "pending", None, 0),
        (
            4,
            "note.add",
            {"work_order_id": wo["id"], "note_id": note["id"], "text": note["text"]},
            "sent",
            None,
            0,
        ),
    ]
    for seq, name, args, state, result, acked in outbox:
        con.execute(
            "INSERT INTO outbox (seq, id, name, args, device_time, state, result, acked)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                seq,
                str(uuid7()),
                name,
                json.dumps(args),
                NOW.isoformat(),
                state,
                None if result is None else json.dumps(result),
                acked,
            ),
        )
    effects = [
        (3, "work_order", wo["id"], "update", {"status": "accepted"}),
        (4, "note", note["id"], "create", note),
    ]
    for seq, entity, key, kind, patch in effects:
        con.execute(
            "INSERT INTO effects (seq, entity, id, kind, patch) VALUES (?, ?, ?, ?, ?)",
            (seq, entity, key, kind, json.dumps(patch)),
        )
    con.execute(
        'INSERT INTO uploads (sha256, path, size, mime, "offset", upload_url, created_at)'
        " VALUES ('ab' || hex(randomblob(31)), '/sdcard/p.jpg', 900000, 'image/jpeg', 262144,"
        " 'https://fixflow.example/api/v1/uploads/1', ?)",
        (NOW.isoformat(),),
    )
    con.execute("COMMIT")
    snapshot = {
        table: [tuple(r) for r in con.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]
        for table in ("meta", "entities", "outbox", "effects", "uploads")
    }
    con.close()
    return {"wo": wo, "history": history, "note": note, "part": part, "v1": snapshot}


def test_a_first_version_database_opens_intact_with_the_new_features(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = _v1_database(path)
    clock = [NOW]
    store = Store(path, clock=lambda: clock[0])
    try:
        con = store._con
        assert con.execute("PRAGMA user_version").fetchone()[0] == schema.VERSION == 3
        # Every old row is there, as it was (the entities gained columns, appended).
        for table, before in old["v1"].items():
            after = [tuple(r) for r in con.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]
            width = len(before[0])
            assert [row[:width] for row in after] == before, table
        wo, part = old["wo"], old["part"]
        assert store.get("work_order", wo["id"])["status"] == "accepted"  # the effect
        assert store.is_local("note", old["note"]["id"])
        assert [e.seq for e in store.unsent(10)] == [3, 4]
        assert store.pending_count() == 2 and store.pending_uploads_count() == 1
        assert store.client_id == dict(old["v1"]["meta"])["client_id"]

        # The new features work on the migrated rows.
        [found] = store.search_parts("压缩")
        assert (found["id"], found["van_on_hand"]) == (part["id"], "3")
        assert [p["id"] for p in store.search_parts("690123")] == [part["id"]]
        assert [p["id"] for p in store.van_stock()] == [part["id"]]
        store.set_meta(engineer_id=ME)
        today = store.my_work_orders("today", now=NOW, tz=TZ)
        assert [r["id"] for r in today] == [wo["id"]]  # not the colleague's history
        history = store.asset_history(wo["asset_id"], exclude=wo["id"])
        assert [r["id"] for r in history] == [old["history"]["id"]]
        [rejected] = store.attention()
        assert (rejected["kind"], rejected["reason"]) == ("rejected", "no such part")
        store.start_timer(wo["id"], "work")
        clock[0] = NOW + dt.timedelta(minutes=30)
        entry = store.stop_timer(wo["id"])
        assert [e.seq for e in store.unsent(10)] == [3, 4, 5]  # numbering goes on
        assert store.get(rows.LABOUR, str(entry))["kind"] == "work"
    finally:
        store.close()


def test_a_new_database_goes_from_0_to_the_current_version(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    store = Store(path)
    try:
        assert store._con.execute("PRAGMA user_version").fetchone()[0] == schema.VERSION
        tables = {r[0] for r in store._con.execute("SELECT name FROM sqlite_master")}
        assert {"timers", "part_search", "van_stock", "notices", "dismissed", "claims"} <= tables
        store.apply_page(page(put("part", {"id": "p1", "sku": "A-1", "name": "Fan"})))
        assert [p["id"] for p in store.search_parts("fan")] == ["p1"]
    finally:
        store.close()


def test_a_database_from_a_newer_app_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite3"
    Store(path).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {schema.VERSION + 1}")
    con.execute("CREATE TABLE from_the_future (x)")
    con.commit()
    con.close()

    with pytest.raises(SchemaTooNew):
        Store(path)

    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == schema.VERSION + 1
    assert con.execute("SELECT count(*) FROM from_the_future").fetchone()[0] == 0
    con.close()


def test_a_migration_that_fails_leaves_the_old_version_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app killed (or a bug) in the middle of migration 2's backfill: the database is
    still version 1, without a half-made table, and the next start migrates it."""
    path = tmp_path / "old.sqlite3"
    old = _v1_database(path)

    def killed(con: sqlite3.Connection) -> None:
        raise KeyboardInterrupt("killed during the backfill")

    monkeypatch.setattr(rows, "reindex", killed)
    with pytest.raises(KeyboardInterrupt):
        Store(path)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 1
    assert (
        con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'timers'").fetchone()[0] == 0
    )
    con.close()

    monkeypatch.undo()
    store = Store(path)
    try:
        assert [p["id"] for p in store.search_parts("filter")] == [old["part"]["id"]]
    finally:
        store.close()


V2_TABLES = (
    "meta",
    "entities",
    "outbox",
    "effects",
    "uploads",
    "part_search",
    "van_stock",
    "timers",
    "notices",
    "dismissed",
)


def _v2_database(path: Path) -> dict[str, Any]:
    """What the second app left: the first app's rows migrated to v2 (its derived tables
    filled), plus a running timer, a notice and a dismissed item: a row in every table."""
    old = _v1_database(path)
    con = sqlite3.connect(path, isolation_level=None)
    schema.migrate(con, target=2)
    con.execute("BEGIN")
    con.execute(
        "INSERT INTO timers (work_order_id, kind, started_at) VALUES (?, 'work', ?)",
        (old["wo"]["id"], NOW.isoformat()),
    )
    con.execute(
        "INSERT INTO notices (kind, work_order_id, data, created_at) VALUES (?, ?, ?, ?)",
        ("departure", str(uuid7()), json.dumps({"reason": "reassigned"}), NOW.isoformat()),
    )
    con.execute(
        "INSERT INTO dismissed (key, dismissed_at) VALUES ('rejected:2', ?)", (NOW.isoformat(),)
    )
    con.execute("COMMIT")
    snapshot = {
        table: [tuple(r) for r in con.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]
        for table in V2_TABLES
    }
    assert all(snapshot.values()), {t: len(r) for t, r in snapshot.items()}
    assert con.execute("PRAGMA user_version").fetchone()[0] == 2
    con.close()
    return {**old, "v2": snapshot}


def test_a_second_version_database_opens_intact_with_the_claim_pool(tmp_path: Path) -> None:
    path = tmp_path / "v2.sqlite3"
    old = _v2_database(path)
    store = Store(path, clock=lambda: NOW)
    try:
        con = store._con
        assert con.execute("PRAGMA user_version").fetchone()[0] == schema.VERSION == 3
        for table, before in old["v2"].items():
            after = [tuple(r) for r in con.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]
            assert after == before, table
        wo = old["wo"]
        assert store.get("work_order", wo["id"])["status"] == "accepted"
        assert [e.seq for e in store.unsent(10)] == [3, 4]
        assert store.running_timer(wo["id"])["kind"] == "work"

        # The pool works on the migrated database: pulled rows, a claim's key kept until
        # its answer, the row leaving the pool with it.
        job = {"id": str(uuid7()), "number": "WO-000042", "priority": "P1", "title": "Leak"}
        store.apply_page(page(put("claimable", job), cursor="c-v3"))
        assert [r["id"] for r in store.claimables()] == [job["id"]]
        key = store.claim_key(job["id"])
        assert store.claim_key(job["id"]) == key and store.pending_claim(job["id"])
        store.claim_answered(job["id"], leaves_pool=True)
        assert store.claimables() == [] and not store.pending_claim(job["id"])
        assert store.get("work_order", wo["id"])["status"] == "accepted"  # untouched
    finally:
        store.close()
