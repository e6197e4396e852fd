"""A refused action is explained in the engineer's language, with what to do next."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mobile import i18n
from mobile.core import Work
from mobile.core.refusals import explain
from mobile.store import ActionRefused, Store
from tests.mobile.core.conftest import mine
from tests.mobile.helpers import page, put


@pytest.fixture
def chinese() -> Iterator[None]:
    i18n.set_language("zh_CN")
    yield
    i18n.set_language("en")


def test_a_second_check_in_is_refused_with_what_to_do_in_english_and_chinese(
    store: Store, work: Work, chinese: None
) -> None:
    row = mine(status="on_site")
    store.apply_page(page(put("work_order", row)))
    store.check_in(row["id"], None)
    with pytest.raises(ActionRefused) as refused:
        store.check_in(row["id"], None)
    assert explain(refused.value) == "请先签退当前的上门记录。"
    i18n.set_language("en")
    assert explain(refused.value) == "Check out of the open visit first."


def test_an_action_the_status_does_not_allow_is_explained(store: Store) -> None:
    row = mine(status="assigned")
    store.apply_page(page(put("work_order", row)))
    with pytest.raises(ActionRefused) as refused:
        store.resolve(row["id"], resolution_code="FIXED", summary="x")
    assert explain(refused.value).startswith("This step does not fit the job's status now")


def test_an_unknown_refusal_still_says_why() -> None:
    said = explain(ActionRefused("something new", "quantity"))
    assert said == "This cannot be recorded: something new"
