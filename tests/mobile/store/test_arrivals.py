"""New work on the phone: a job newly the engineer's (``assigned``) and a job new in the
claim pool (``claimable``) are notices in the "needs attention" list, written with the
pulled page that brought them; what the engineer already knew is not news."""

from __future__ import annotations

from typing import Any

import pytest

from mobile.store import Store, notices
from shared.ids import uuid7
from shared.sync import Change, Op, PullPage
from tests.mobile.helpers import page, put, work_order

ME, COLLEAGUE = str(uuid7()), str(uuid7())


@pytest.fixture
def mine(store: Store) -> Store:
    """Logged in and synced once (the phone has a cursor)."""
    store.set_meta(engineer_id=ME)
    store.apply_page(page(reset=True, cursor="c0"))
    return store


def _job(**fields: Any) -> dict[str, Any]:
    given = {"status": "assigned", "number": "WO-000123", "title": "Chiller alarm", **fields}
    return work_order(**{"assignee_id": ME, **given})


def _pool_job(number: str = "WO-000200", title: str = "Leaking tap") -> dict[str, Any]:
    return {"id": str(uuid7()), "number": number, "title": title, "priority": "P2"}


def _news(store: Store) -> list[tuple[str, str | None]]:
    return [
        (i["kind"], i["number"])
        for i in store.attention()
        if i["kind"] in ("assigned", "claimable", "removed")
    ]


def test_a_new_assignment_is_a_notice_with_its_number_and_title(mine: Store) -> None:
    job = _job()
    arrived = mine.apply_page(page(put("work_order", job), cursor="c1"))

    [item] = mine.attention()
    assert (item["kind"], item["work_order_id"]) == ("assigned", job["id"])
    assert (item["number"], item["title"]) == ("WO-000123", "Chiller alarm")
    assert item["key"].startswith("notice:") and item["at"] == mine.device_time()
    assert [(a["kind"], a["work_order_id"], a["title"]) for a in arrived] == [
        ("assigned", job["id"], "Chiller alarm")
    ]


def test_a_job_reassigned_to_me_is_news_an_update_of_my_job_is_not(mine: Store) -> None:
    theirs = _job(assignee_id=COLLEAGUE, status="closed", number="WO-000007")
    job = _job()
    mine.apply_page(page(put("work_order", theirs), put("work_order", job), cursor="c1"))
    assert _news(mine) == [("assigned", "WO-000123")]

    updated = {**job, "status": "accepted", "title": "Chiller alarm (urgent)"}
    assert mine.apply_page(page(put("work_order", updated), cursor="c2")) == []
    to_me = {**theirs, "assignee_id": ME, "status": "assigned"}
    mine.apply_page(page(put("work_order", to_me), cursor="c3"))

    assert _news(mine) == [("assigned", "WO-000007"), ("assigned", "WO-000123")]


def test_not_news_a_finished_job_a_colleagues_or_one_i_declined(mine: Store) -> None:
    done = _job(status="closed")  # my finished job in an asset's history
    theirs = _job(assignee_id=COLLEAGUE)
    mine.apply_page(page(put("work_order", done), put("work_order", theirs), cursor="c1"))
    assert _news(mine) == []

    declined = _job()
    mine.apply_page(page(put("work_order", declined), cursor="c2"))
    [item] = mine.attention()
    mine.dismiss_attention(item["key"])
    mine.reject(declined["id"], reason="not my skill")
    # The server's row, sent before my decline reached it: the phone shows it declined.
    mine.apply_page(page(put("work_order", {**declined, "priority": "P1"}), cursor="c3"))
    assert mine.attention() == []


def test_the_first_sync_after_log_in_announces_nothing(store: Store) -> None:
    store.set_meta(engineer_id=ME)
    first = PullPage(cursor="c1", has_more=True, reset=True, changes=[put("work_order", _job())])
    rest = page(put("work_order", _job()), put("claimable", _pool_job()), cursor="c2")

    assert store.apply_page(first) == [] and store.apply_page(rest) == []
    assert store.attention() == []
    assert store.get_meta("snapshot_before") is None  # the snapshot is over

    later = page(put("work_order", _job(number="WO-000124")), cursor="c3")
    assert [a["number"] for a in store.apply_page(later)] == ["WO-000124"]


def test_a_later_reset_announces_only_what_the_phone_did_not_hold(mine: Store) -> None:
    held, pooled = _job(number="WO-000001"), _pool_job("WO-000300")
    mine.apply_page(page(put("work_order", held), put("claimable", pooled), cursor="c1"))
    for item in mine.attention():
        mine.dismiss_attention(item["key"])

    new, new_pooled = _job(number="WO-000002"), _pool_job("WO-000301")
    # The cursor was too old: a snapshot over two pages, the held rows in the second.
    first = PullPage(cursor="c2", has_more=True, reset=True, changes=[put("work_order", new)])
    second = page(
        put("work_order", held),
        put("claimable", pooled),
        put("claimable", new_pooled),
        cursor="c3",
    )
    arrived = mine.apply_page(first) + mine.apply_page(second)

    assert [a["number"] for a in arrived] == ["WO-000002", "WO-000301"]
    assert sorted(_news(mine)) == [("assigned", "WO-000002"), ("claimable", "WO-000301")]


def test_each_new_pool_job_is_a_notice_until_it_leaves_the_pool(mine: Store) -> None:
    tap, boiler = _pool_job(), _pool_job("WO-000201", "Boiler noise")
    mine.apply_page(page(put("claimable", tap), put("claimable", boiler), cursor="c1"))
    assert sorted(_news(mine)) == [("claimable", "WO-000200"), ("claimable", "WO-000201")]
    assert mine.apply_page(page(put("claimable", {**tap, "priority": "P1"}), cursor="c2")) == []

    taken = Change(Op.REMOVE, "claimable", tap["id"], {"reason": "claimed_by_other"})
    mine.apply_page(page(taken, cursor="c3"))

    assert _news(mine) == [("claimable", "WO-000201")]  # put away by itself
    assert mine._con.execute("SELECT count(*) FROM notices").fetchone()[0] == 2


def test_the_job_i_claimed_is_not_news_when_it_arrives(mine: Store) -> None:
    pooled = _pool_job("WO-000500")
    mine.apply_page(page(put("claimable", pooled), cursor="c1"))
    lost = _pool_job("WO-000501")  # a claim whose answer was lost
    mine.apply_page(page(put("claimable", lost), cursor="c2"))
    for item in mine.attention():
        mine.dismiss_attention(item["key"])

    mine.claim_key(pooled["id"])
    mine.claim_answered(pooled["id"], leaves_pool=True, yours=True)
    mine.claim_key(lost["id"])
    mine.apply_page(
        page(Change(Op.REMOVE, "claimable", lost["id"], {"reason": "claimed"}), cursor="c3")
    )
    mine.apply_page(
        page(
            put("work_order", _job(id=pooled["id"], number="WO-000500")),
            put("work_order", _job(id=lost["id"], number="WO-000501")),
            cursor="c4",
        )
    )
    assert _news(mine) == []


def test_arrival_notices_are_dismissed_like_the_others(mine: Store) -> None:
    mine.apply_page(page(put("work_order", _job()), put("claimable", _pool_job()), cursor="c1"))
    items = mine.attention()
    assert len(items) == 2

    for item in items:
        mine.dismiss_attention(item["key"])

    assert mine.attention() == []
    assert mine._con.execute("SELECT count(*) FROM notices").fetchone()[0] == 2


def test_a_job_that_arrives_and_leaves_says_both_the_departure_first(mine: Store) -> None:
    job = _job()
    remove = Change(
        Op.REMOVE,
        "work_order",
        job["id"],
        {"reason": "reassigned", "number": job["number"], "title": job["title"]},
    )
    mine.apply_page(page(put("work_order", job), cursor="c1"))
    mine.apply_page(page(remove, cursor="c2"))

    [left, came] = mine.attention()  # newest first
    assert (left["kind"], left["reason"]) == ("removed", "reassigned")
    assert (came["kind"], came["number"]) == ("assigned", "WO-000123")
    assert came["gone"] is True  # no longer on the phone: the newer notice says why


def test_a_job_that_leaves_and_comes_back_in_one_page_is_news_again(mine: Store) -> None:
    job = _job()
    mine.apply_page(page(put("work_order", job), cursor="c1"))
    away = Change(Op.REMOVE, "work_order", job["id"], {"reason": "reassigned"})
    back = put("work_order", {**job, "status": "assigned"})

    arrived = mine.apply_page(page(away, back, cursor="c2"))

    assert [a["work_order_id"] for a in arrived] == [job["id"]]
    assert [i["kind"] for i in mine.attention()] == ["assigned", "removed", "assigned"]


def test_the_notice_is_written_with_the_page_or_not_at_all(
    mine: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = _job()

    def killed(*args: Any) -> None:
        raise KeyboardInterrupt("killed while applying the page")

    monkeypatch.setattr(notices, "settle_claims", killed)
    with pytest.raises(KeyboardInterrupt):
        mine.apply_page(page(put("work_order", job), cursor="c1"))
    monkeypatch.undo()
    assert mine.attention() == [] and mine.cursor == "c0"

    mine.apply_page(page(put("work_order", job), cursor="c1"))
    assert _news(mine) == [("assigned", "WO-000123")]
