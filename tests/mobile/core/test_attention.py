"""The needs-attention list says what happened in the engineer's language."""

from __future__ import annotations

from mobile import i18n
from mobile.core.attention import describe


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
