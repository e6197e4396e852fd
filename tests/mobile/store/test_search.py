"""The van-stock picker's search: name (substring, any script, case and width aside), SKU
(prefix or substring), barcode (exact); exact matches first, then what the van holds, then
by name; inactive parts left out unless the van holds them; the search table follows the
parts in the transactions that change them; fast on a 50,000-part catalogue."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from mobile.store import Store, rows
from shared.ids import uuid7
from shared.sync import Change, Op
from tests.mobile.helpers import page, put


def _part(sku: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"id": str(uuid7()), "sku": sku, "name": name, "unit": "pcs", "active": True, **fields}


def _stock(part: dict[str, Any], on_hand: str) -> Change:
    row = {"location_id": "van", "part_id": part["id"], "on_hand": on_hand, "reserved": "0"}
    return Change(Op.PUT, "stock_balance", part["id"], row)


@pytest.fixture
def catalogue(store: Store) -> dict[str, dict[str, Any]]:
    parts = {
        "filter": _part("FLT-200", "Air filter 200 mm", barcode="6901234567890"),
        "fan": _part("FAN-12", "Condenser fan motor"),
        "cn": _part("CMP-7", "压缩机 涡旋式 7 kW"),
        "wide": _part("CAP-35", "Ｃａｐａｃｉｔｏｒ 35 µF"),  # full-width letters
        "old": _part("FLT-100", "Air filter 100 mm (old)", active=False),
        "old_in_van": _part("FLT-050", "Air filter 50 mm (old)", active=False),
        "sku_only": _part("XFLT-9", "Gasket"),
    }
    store.apply_page(page(*(put("part", p) for p in parts.values())))
    store.apply_page(
        page(
            _stock(parts["fan"], "2"),
            _stock(parts["old_in_van"], "1"),
            _stock(parts["cn"], "0"),
            cursor="c2",
        )
    )
    return parts


def _ids(found: list[dict[str, Any]]) -> list[str]:
    return [p["id"] for p in found]


def test_names_match_as_substrings_whatever_the_case_script_or_width(
    store: Store, catalogue: dict[str, dict[str, Any]]
) -> None:
    assert _ids(store.search_parts("MOTOR")) == [catalogue["fan"]["id"]]
    assert _ids(store.search_parts("涡旋")) == [catalogue["cn"]["id"]]
    assert _ids(store.search_parts("capacitor")) == [catalogue["wide"]["id"]]
    assert _ids(store.search_parts("ＦＡＮ")) == [catalogue["fan"]["id"]]
    assert store.search_parts("nothing like it") == []


def test_skus_match_by_prefix_or_substring_and_barcodes_exactly(
    store: Store, catalogue: dict[str, dict[str, Any]]
) -> None:
    assert set(_ids(store.search_parts("flt"))) == {
        catalogue["filter"]["id"],
        catalogue["old_in_van"]["id"],
        catalogue["sku_only"]["id"],
    }
    assert _ids(store.search_parts("cmp-7")) == [catalogue["cn"]["id"]]
    assert _ids(store.search_parts(" 6901234567890 ")) == [catalogue["filter"]["id"]]
    assert store.search_parts("690123456789") == []  # a barcode matches whole, or not at all


def test_exact_matches_first_then_the_van_then_by_name(
    store: Store, catalogue: dict[str, dict[str, Any]]
) -> None:
    extra = _part("AF-1", "Air filter flt-200 adapter")
    store.apply_page(page(put("part", extra), cursor="c3"))

    found = store.search_parts("FLT-200")
    assert _ids(found) == [catalogue["filter"]["id"], extra["id"]]

    found = store.search_parts("filter")
    assert _ids(found) == [
        catalogue["old_in_van"]["id"],  # in the van (inactive, but in hand)
        catalogue["filter"]["id"],  # then by name: "air filter 200 mm" < "air filter flt-..."
        extra["id"],
    ]
    assert catalogue["old"]["id"] not in _ids(found)  # inactive and not in the van


def test_each_result_is_the_part_row_with_what_the_van_holds(
    store: Store, catalogue: dict[str, dict[str, Any]]
) -> None:
    [fan] = store.search_parts("fan")
    assert fan == {**catalogue["fan"], "van_on_hand": "2"}
    [cn] = store.search_parts("压缩机")
    assert cn["van_on_hand"] is None  # a van line at zero holds none
    [filt] = store.search_parts("200 mm")
    assert filt["van_on_hand"] is None  # no van line at all


def test_an_empty_query_lists_what_the_van_holds(
    store: Store, catalogue: dict[str, dict[str, Any]]
) -> None:
    assert _ids(store.search_parts("")) == [catalogue["old_in_van"]["id"], catalogue["fan"]["id"]]
    assert _ids(store.search_parts("  ", limit=1)) == [catalogue["old_in_van"]["id"]]
    van = store.van_stock()
    assert [(p["sku"], p["van_on_hand"]) for p in van] == [
        ("FLT-050", "1"),
        ("FAN-12", "2"),
        ("CMP-7", None),
    ]


def test_the_search_follows_the_catalogue_in_the_same_transaction(
    store: Store, catalogue: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    fan = catalogue["fan"]
    store.apply_page(page(put("part", {**fan, "name": "Evaporator blower"}), cursor="c3"))
    assert store.search_parts("condenser") == []
    assert _ids(store.search_parts("blower")) == [fan["id"]]
    store.apply_page(page(Change(Op.DELETE, "part", catalogue["cn"]["id"]), cursor="c4"))
    assert store.search_parts("压缩") == []
    store.apply_page(page(Change(Op.DELETE, "stock_balance", fan["id"]), cursor="c5"))
    assert store.search_parts("blower")[0]["van_on_hand"] is None

    # A page killed midway leaves the search as the rows are: the page's old state.
    original, calls = rows.put, []

    def dies_on_the_second(*args: Any) -> None:
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        original(*args)

    monkeypatch.setattr(rows, "put", dies_on_the_second)
    renamed = put("part", {**catalogue["filter"], "name": "Renamed"})
    with pytest.raises(KeyboardInterrupt):
        store.apply_page(page(renamed, put("part", _part("N-1", "New")), cursor="c6"))
    monkeypatch.undo()
    assert store.search_parts("renamed") == []
    assert _ids(store.search_parts("200 mm")) == [catalogue["filter"]["id"]]


def test_a_reset_snapshot_rebuilds_the_search(
    store: Store, catalogue: dict[str, dict[str, Any]]
) -> None:
    kept = catalogue["fan"]
    store.apply_page(page(put("part", kept), _stock(kept, "5"), cursor="snap", reset=True))
    assert _ids(store.search_parts("filter")) == []
    assert _ids(store.search_parts("")) == [kept["id"]]
    assert store.search_parts("fan")[0]["van_on_hand"] == "5"


@pytest.mark.slow
def test_a_50000_part_catalogue_is_searched_within_50_ms(tmp_path: Path) -> None:
    """The issue's goal (search_p95_ms < 50) with margin for a loaded machine; the numbers
    measured here are in the report (typically 2 ms, 13 ms for a query nothing matches)."""
    store = Store(tmp_path / "big.sqlite3")
    words = ["filter", "compressor", "valve", "fan", "motor", "bearing", "压缩机", "传感器"]
    parts = [
        _part(f"SK{i:06d}", f"{words[i % 8]} {words[(i // 8) % 8]} {i}", barcode=f"69{i:011d}")
        for i in range(50_000)
    ]
    for k in range(0, len(parts), 5000):
        store.apply_page(page(*(put("part", p) for p in parts[k : k + 5000]), cursor=f"c{k}"))
    store.apply_page(page(*(_stock(p, "3") for p in parts[::170]), cursor="van"))
    queries = ["", "fan", "MOTOR 12", "压缩", "sk0123", "6900000012345", "no such part", "9"]
    timings = []
    for _ in range(10):
        for query in queries:
            started = time.perf_counter()
            found = store.search_parts(query)
            timings.append((time.perf_counter() - started) * 1000)
            assert query == "no such part" or found
    store.close()
    assert statistics.quantiles(timings, n=20)[18] < 50
