"""The pool as the screens show it: rows the server sent, however odd, are listed (never a
crash, never a guess), and what each claim outcome says."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import httpx
import pytest

from mobile.core.pool import failure_text, outcome_text, pool_items, skills_text
from mobile.device.fakes import fix_at
from mobile.i18n import format_distance
from mobile.store import Store
from mobile.sync import Claimed, Refused, Transient
from shared.ids import uuid7
from tests.mobile.helpers import NOW, page, put

TZ = ZoneInfo("Asia/Shanghai")


def test_odd_rows_are_listed_without_a_guess(store: Store) -> None:
    good = {
        "id": str(uuid7()),
        "number": "WO-000123",
        "title": "Leak",
        "priority": "P1",
        "lat": 31.2397,
        "lon": 121.4998,
        "window_start": "2026-11-24T02:00:00+00:00",
        "window_end": "2026-11-24T04:00:00+00:00",
        "required_skills": [{"name": "hvac", "level": 2}, {"name": "electrical", "level": 1}],
        "estimated_minutes": 90,
    }
    odd = {
        "id": str(uuid7()),
        "number": 7,
        "priority": None,
        "lat": float("nan"),
        "lon": "east",
        "window_start": "tomorrow",
        "required_skills": "hvac",
        "estimated_minutes": -5,
        "sla_due_at": "9999-12-31T23:59:59+00:00",
    }
    store.apply_page(page(put("claimable", odd), put("claimable", good)))
    here = fix_at(lat=31.2304, lon=121.4737, accuracy_m=5.0)
    first, second = pool_items(store, now=NOW, tz=TZ, here=here)
    assert (first.number, first.skills, first.window) == (
        "WO-000123",
        "hvac 2 · electrical",
        "10:00–12:00",
    )
    assert first.distance.endswith("km") and first.minutes == "about 90 min"
    assert second.distance == format_distance(None)  # unknown, not a guess
    assert second.skills == "" and second.minutes == ""
    assert second.window == "Appointment time unreadable"
    assert second.sla == "SLA deadline unreadable"


def test_skills_text_reads_only_named_skills() -> None:
    assert skills_text([{"name": "hvac", "level": 3}, {"level": 2}, "x", None]) == "hvac 3"
    assert skills_text(None) == ""


def test_each_outcome_is_said_plainly_and_names_nobody() -> None:
    assert outcome_text(Claimed.TAKEN, "WO-000123") == "Another engineer took WO-000123"
    assert "WO-000123" in outcome_text(Claimed.YOURS, "WO-000123")
    assert "no longer open" in outcome_text(Claimed.CLOSED, "WO-000123")


def _transient(cause: Exception | None) -> Transient:
    try:
        raise Transient("x") from cause
    except Transient as exc:
        return exc


def test_no_connection_and_no_answer_are_told_apart() -> None:
    request = httpx.Request("POST", "http://test/api/v1/tickets/x/claim")
    offline = _transient(httpx.ConnectError("down", request=request))
    lost = _transient(httpx.ReadError("reset", request=request))
    busy = _transient(None)
    assert failure_text(offline, "WO-1") == "Claiming needs a connection"
    assert failure_text(lost, "WO-1").startswith("No answer about WO-1")
    assert "try again" in failure_text(busy, "WO-1")
    refused = Refused(403, {"detail": "engineers only"})
    assert failure_text(refused, "WO-1") == "The claim was refused: engineers only"
    with pytest.raises(ValueError):
        failure_text(ValueError("a bug"), "WO-1")
