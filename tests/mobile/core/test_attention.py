"""The needs-attention list says what happened in the engineer's language."""

from __future__ import annotations

from mobile import i18n
from mobile.core.attention import announcement, describe, new_work


def test_a_rejection_names_the_change_and_keeps_the_servers_reason() -> None:
    item = {
        "kind": "rejected",
        "number": "WO-000007",
        "title": "Lift fault",
        "reason": "part FAN-200 is not serialised: leave serial numbers out",
        "detail": {"mutation": "part.use"},
    }
    assert describe(item) == (
        "A part used was not accepted by the server: WO-000007 Lift fault",
        "part FAN-200 is not serialised: leave serial numbers out",
    )


def test_a_departed_job_says_why_in_chinese() -> None:
    item = {"kind": "removed", "number": "WO-000009", "title": "冷水机", "reason": "reassigned"}
    i18n.set_language("zh_CN")
    try:
        headline, reason = describe(item)
    finally:
        i18n.set_language("en")
    assert headline == "工单已从手机移除: WO-000009 冷水机"
    assert reason == "办公室已将此工单改派给其他工程师。"


def test_flags_and_stock_read_as_sentences() -> None:
    far = {"kind": "far_from_site", "detail": {"side": "check_in", "distance_m": 812.4}}
    assert describe(far)[1] == "Checked in or out 812 m from the site."
    skew = {"kind": "clock_skew", "detail": {"side": "check_out"}}
    assert describe(skew)[1] == "The phone's clock was wrong when you checked out."
    stock = {"kind": "negative_stock", "detail": {"on_hand": "-2", "name": "Fan motor"}}
    assert describe(stock) == (
        "Van stock below zero",
        "The van shows -2 of Fan motor: count it and tell the parts manager.",
    )
    unknown = {"kind": "reason_from_the_future", "reason": "x"}
    assert describe(unknown) == ("reason_from_the_future", "x")


def test_new_work_reads_as_news_and_a_job_gone_since_says_so() -> None:
    came = {"kind": "assigned", "number": "WO-000123", "title": "Chiller alarm"}
    assert describe(came) == (
        "New job: WO-000123 Chiller alarm",
        "Yours now: open it from Today.",
    )
    assert describe({**came, "gone": True})[1] == ("It has left your phone since: see above.")
    pooled = {"kind": "claimable", "number": "WO-000200", "title": "Leaking tap"}
    assert describe(pooled)[0] == "New in the pool: WO-000200 Leaking tap"


def test_todays_banner_counts_new_work_not_jobs_gone_since() -> None:
    items = [
        {"kind": "assigned"},
        {"kind": "assigned", "gone": True},
        {"kind": "claimable"},
        {"kind": "claimable"},
        {"kind": "removed"},
    ]
    assert new_work(items) == (1, 2)
    assert new_work([]) == (0, 0)


def test_the_notification_names_one_job_and_counts_several() -> None:
    one = {"kind": "assigned", "number": "WO-000123", "title": "Chiller\nalarm"}
    assert announcement([one]) == (
        "New job WO-000123: Chiller alarm",
        "It is on your list in Fixflow.",
    )
    assert announcement([{**one, "title": None}])[0] == "New job WO-000123"  # type: ignore[index]
    two = [one, {**one, "number": "WO-000124"}]
    pool = {"kind": "claimable", "number": "WO-000200", "title": "Leaking tap"}
    assert announcement([*two, pool]) == (
        "2 new jobs",
        "WO-000123, WO-000124; 1 new job in the pool",
    )
    assert announcement([pool]) == (
        "New job in the pool WO-000200: Leaking tap",
        "Open the pool in Fixflow to claim.",
    )
    assert announcement([pool, pool])[0] == "2 new jobs in the pool"  # type: ignore[index]
    assert announcement([]) is None


def test_the_notification_in_chinese() -> None:
    one = {"kind": "assigned", "number": "WO-000123", "title": "冷水机报警"}
    i18n.set_language("zh_CN")
    try:
        title, message = announcement([one]) or ("", "")
    finally:
        i18n.set_language("en")
    assert title == "新工单 WO-000123：冷水机报警"
    assert message == "已在 Fixflow 的工单列表中。"
