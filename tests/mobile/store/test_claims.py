"""The claim pool in the store: the ``claimable`` rows as pulled (most urgent first), a
claim's Idempotency-Key kept until an answer settles it, and the pull that settles a
claim whose answer was lost."""

from __future__ import annotations

from typing import Any

from mobile.store import Store
from shared.ids import uuid7
from shared.sync import Change, Op
from tests.mobile.helpers import page, put


def _job(**fields: Any) -> dict[str, Any]:
    return {"id": str(uuid7()), "number": "WO-000100", "title": "Leak", **fields}


def test_the_pool_is_listed_most_urgent_first(store: Store) -> None:
    """As the server lists it: priority, then the window's start (none last), then number."""
    p3 = _job(priority="P3", window_start="2026-11-24T10:00:00+00:00")
    p1_late = _job(priority="P1", window_start="2026-11-25T10:00:00+00:00")
    p1_soon = _job(priority="P1", window_start="2026-11-24T12:00:00+00:00")
    p1_unscheduled = _job(priority="P1")
    odd = _job(priority=None)
    jobs = (p3, odd, p1_unscheduled, p1_late, p1_soon)
    store.apply_page(page(*(put("claimable", r) for r in jobs)))
    assert [r["id"] for r in store.claimables()] == [
        p1_soon["id"],
        p1_late["id"],
        p1_unscheduled["id"],
        p3["id"],
        odd["id"],
    ]


def test_a_claim_keeps_its_key_until_it_is_answered(store: Store) -> None:
    job = _job(priority="P2")
    store.apply_page(page(put("claimable", job)))
    first = store.claim_key(job["id"])
    assert store.claim_key(job["id"]) == first  # a retry is the same request
    store.claim_answered(job["id"], leaves_pool=False)  # refused: the job stays
    assert [r["id"] for r in store.claimables()] == [job["id"]]
    assert store.claim_key(job["id"]) != first  # a new claim is a new request
    store.claim_answered(job["id"], leaves_pool=True)
    assert store.claimables() == [] and not store.pending_claim(job["id"])


def test_the_pull_that_takes_a_job_out_of_the_pool_settles_its_unanswered_claim(
    store: Store,
) -> None:
    job, other = _job(priority="P1"), _job(priority="P2")
    store.apply_page(page(put("claimable", job), put("claimable", other)))
    store.claim_key(job["id"])
    store.claim_key(other["id"])
    removed = Change(Op.REMOVE, "claimable", job["id"], {"reason": "claimed"})
    store.apply_page(page(removed, cursor="c2"))
    assert not store.pending_claim(job["id"])
    assert store.pending_claim(other["id"])  # still in the pool: still asked


def test_a_reset_empties_the_pool_and_the_next_user_finds_none(store: Store) -> None:
    store.begin_session("mei@example.com", organisation=None)
    store.apply_page(page(put("claimable", _job(priority="P1"))))
    store.apply_page(page(cursor="c2", reset=True))
    assert store.claimables() == []
    job = _job(priority="P1")
    store.apply_page(page(put("claimable", job), cursor="c3"))
    store.claim_key(job["id"])
    store.begin_session("someone.else@example.com", organisation=None)
    assert store.claimables() == [] and not store.pending_claim(job["id"])
