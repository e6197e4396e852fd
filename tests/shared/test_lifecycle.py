"""The work-order state machine (shared.lifecycle), checked exhaustively over every pair."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from shared.lifecycle import (
    OPEN,
    TERMINAL,
    TRANSITIONS,
    Action,
    Status,
    TransitionNotAllowed,
    allowed_actions,
    transition,
)

DECLARED = {(t.source, t.action): t for t in TRANSITIONS}
ALL_PAIRS = list(itertools.product(Status, Action))


def _pair_id(pair: tuple[Status, Action]) -> str:
    return f"{pair[0].value}-{pair[1].value}"


def test_table_has_no_duplicate_source_action() -> None:
    counts = Counter((t.source, t.action) for t in TRANSITIONS)
    duplicates = {key: n for key, n in counts.items() if n > 1}
    assert duplicates == {}


@pytest.mark.parametrize("pair", ALL_PAIRS, ids=_pair_id)
def test_transition_returns_declared_target_or_refuses_with_allowed(
    pair: tuple[Status, Action],
) -> None:
    status, action = pair
    declared = DECLARED.get(pair)
    if declared is not None:
        step = transition(status, action)
        assert step is declared
        assert (step.source, step.action, step.target) == (status, action, declared.target)
        assert action in allowed_actions(status)
        return
    with pytest.raises(TransitionNotAllowed) as caught:
        transition(status, action)
    assert caught.value.status is status
    assert caught.value.action is action
    assert caught.value.allowed == allowed_actions(status)
    assert action not in caught.value.allowed
    assert action.value in str(caught.value) and status.value in str(caught.value)


@pytest.mark.parametrize("status", sorted(TERMINAL), ids=str)
def test_terminal_status_allows_nothing(status: Status) -> None:
    assert allowed_actions(status) == ()
    for action in Action:
        with pytest.raises(TransitionNotAllowed) as caught:
            transition(status, action)
        assert caught.value.allowed == ()
        assert str(caught.value).endswith("allowed: none")


@pytest.mark.parametrize("status", sorted(OPEN), ids=str)
def test_allowed_actions_lists_declared_actions_in_order_without_duplicates(
    status: Status,
) -> None:
    expected: list[Action] = []
    for t in TRANSITIONS:
        if t.source is status and t.action not in expected:
            expected.append(t.action)
    assert allowed_actions(status) == tuple(expected)
    assert len(set(allowed_actions(status))) == len(allowed_actions(status))
    # Every open status has a way forward.
    assert expected


def test_no_transition_leaves_a_terminal_status() -> None:
    assert [t for t in TRANSITIONS if t.source in TERMINAL] == []


def test_every_status_is_reachable_from_new() -> None:
    reached = {Status.NEW}
    frontier = [Status.NEW]
    while frontier:
        source = frontier.pop()
        for t in TRANSITIONS:
            if t.source is source and t.target not in reached:
                reached.add(t.target)
                frontier.append(t.target)
    assert reached == set(Status)


def test_cancel_allowed_from_every_open_status_but_resolved_and_needs_reason() -> None:
    for status in Status:
        can_cancel = Action.CANCEL in allowed_actions(status)
        assert can_cancel == (status in OPEN and status is not Status.RESOLVED), status
        if can_cancel:
            step = transition(status, Action.CANCEL)
            assert step.target is Status.CANCELLED
            assert step.needs_reason


def test_actions_that_need_a_reason() -> None:
    needing = {(t.source, t.action) for t in TRANSITIONS if t.needs_reason}
    actions = {action for _, action in needing}
    assert actions == {Action.REJECT, Action.HOLD, Action.REOPEN, Action.CANCEL}
