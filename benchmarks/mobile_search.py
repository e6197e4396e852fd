"""The van-stock picker's search for ``bench_mobile``: the queries an engineer types, and the
baseline, the simplest search there is: one ``SELECT .. LIKE '%q%'`` over a table holding
the catalogue's rows as they came (no normalised columns, no index), joined to the van.

The baseline answers the same question in the same order as ``Store.search_parts`` (an exact
barcode or SKU first, then what the van holds, then by name; at most ``limit``), so the two
must return the same parts in the same order for every query (checked every run: a
query in ``differed`` fails the run's checks). They agree on this catalogue (ASCII, CJK and
"µ", the one character NFKC changes, always after the same text): SQLite's ``lower()`` and
``LIKE`` fold ASCII only, the store folds everything.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import latency_summary
from benchmarks.mobile_seed import CataloguePart
from mobile.store import Store

LIMIT = 60  # what the parts screen asks for (mobile/ui/screens/parts.py, MAX_RESULTS)
REPEAT = 10  # times each query is asked, per side, alternating

RAW_SCHEMA = """
    CREATE TABLE parts_raw (
        id TEXT, sku TEXT, name TEXT, barcode TEXT, unit TEXT, description TEXT,
        cost TEXT, price TEXT, serialised INTEGER, active INTEGER
    );
    CREATE TABLE van_raw (part_id TEXT PRIMARY KEY, on_hand TEXT) WITHOUT ROWID
"""
RAW_QUERY = r"""
    SELECT p.id, p.sku, p.name, p.barcode, p.unit, p.description, p.cost, p.price,
           p.serialised, p.active, v.on_hand
      FROM parts_raw p LEFT JOIN van_raw v ON v.part_id = p.id
     WHERE p.active = 1 AND (p.name LIKE :like ESCAPE '\' OR p.sku LIKE :like ESCAPE '\'
                             OR p.barcode = :raw)
     ORDER BY coalesce(p.barcode = :raw OR lower(p.sku) = lower(:raw), 0) DESC,
              coalesce(CAST(v.on_hand AS REAL) > 0, 0) DESC, lower(p.name), lower(p.sku)
     LIMIT :limit
"""


def build_raw(store_path: Path, raw_path: Path) -> int:
    """The baseline's database, beside the phone's: the part rows the phone pulled (their
    fields as columns) and the van's lines. The number of parts."""
    raw_path.unlink(missing_ok=True)
    source = sqlite3.connect(store_path)
    parts = source.execute("SELECT data FROM entities WHERE entity = 'part'").fetchall()
    van = source.execute("SELECT id, data FROM entities WHERE entity = 'stock_balance'").fetchall()
    source.close()
    raw = sqlite3.connect(raw_path, isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    for statement in RAW_SCHEMA.split(";"):
        raw.execute(statement)
    columns = ("id", "sku", "name", "barcode", "unit", "description", "cost", "price")
    rows = []
    for (data,) in parts:
        p = json.loads(data)
        rows.append((*(p.get(c) for c in columns), int(bool(p.get("serialised"))), 1))
    raw.execute("BEGIN")
    raw.executemany("INSERT INTO parts_raw VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    van_rows = [(part, str(json.loads(d).get("on_hand"))) for part, d in van]
    raw.executemany("INSERT INTO van_raw VALUES (?, ?)", van_rows)
    raw.execute("COMMIT")
    raw.close()
    return len(rows)


def queries(parts: list[CataloguePart], van: set[str]) -> dict[str, list[str]]:
    """What engineers type, by kind: name fragments (English, Chinese, as typed so far),
    SKU prefixes and whole SKUs, scanned barcodes (in the van and not), and misses."""
    with_code = [p for p in parts if p.barcode]
    held = [p for p in with_code if str(p.id) in van][:3]
    not_held = [p for p in with_code if str(p.id) not in van][:3]
    return {
        "name": ["contactor", "fan motor", "belt", "sensor", "valve", "drier", "danfoss", "r410a"],
        "typing": ["c", "co", "con", "cont"],
        "chinese": ["压缩机", "接触器", "传感器", "电磁阀", "格力", "冷凝"],
        "sku_prefix": ["CTR-01", "fan-12", "VLV-0", "blt-3", "PCB-49"],
        "sku_exact": [parts[1234].sku, parts[40001].sku.lower()],
        "barcode": [str(p.barcode) for p in held + not_held],
        "miss": ["xyzzy", "不存在的零件", "ZZZ-999", "6999999999999"],
    }


def raw_search(con: sqlite3.Connection, query: str, limit: int) -> list[str]:
    raw = query.strip()
    like = "%" + raw.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    found = con.execute(RAW_QUERY, {"like": like, "raw": raw, "limit": limit}).fetchall()
    return [str(r[0]) for r in found]


def _timed(call: Callable[[], list[str]]) -> tuple[float, list[str]]:
    started = time.perf_counter()
    ids = call()
    return time.perf_counter() - started, ids


def measure(store: Store, raw_path: Path, cases: dict[str, list[str]]) -> dict[str, Any]:
    """Every query REPEAT times on each side, alternating; latencies overall and by kind,
    and the queries whose results differed (none expected)."""
    raw = sqlite3.connect(raw_path, isolation_level=None)
    mine: dict[str, list[float]] = {kind: [] for kind in cases}
    bare: dict[str, list[float]] = {kind: [] for kind in cases}
    differed, hits = [], {}
    try:
        for _ in range(REPEAT):
            for kind, texts in cases.items():
                for text in texts:
                    seconds, ours = _timed(
                        lambda t=text: [str(p["id"]) for p in store.search_parts(t, limit=LIMIT)]
                    )
                    mine[kind].append(seconds)
                    seconds, theirs = _timed(lambda t=text: raw_search(raw, t, LIMIT))
                    bare[kind].append(seconds)
                    hits[text] = len(ours)
                    if ours != theirs and text not in differed:
                        differed.append(text)
    finally:
        raw.close()
    return {
        "store": latency_summary(s for kind in mine.values() for s in kind),
        "raw": latency_summary(s for kind in bare.values() for s in kind),
        "store_by_kind": {k: latency_summary(v) for k, v in mine.items()},
        "raw_by_kind": {k: latency_summary(v) for k, v in bare.items()},
        "hits": hits,
        "differed": differed,
    }
