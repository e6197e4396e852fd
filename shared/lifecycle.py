"""The work-order lifecycle: one state machine for the server and the phone.

    new -> assigned -> accepted -> travelling -> on_site -> resolved -> closed
                                                  on_site <-> on_hold
    assigned/accepted/travelling --unassign--> new
    resolved --reopen--> on_site
    any open status --cancel--> cancelled

A transition is named by an action (what a person does), not by the target
status, so the audit trail reads as a story: "assign", "accept", "start_travel".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    TRAVELLING = "travelling"
    ON_SITE = "on_site"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Action(StrEnum):
    ASSIGN = "assign"
    UNASSIGN = "unassign"
    ACCEPT = "accept"
    REJECT = "reject"
    START_TRAVEL = "start_travel"
    ARRIVE = "arrive"
    HOLD = "hold"
    RESUME = "resume"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    CLOSE = "close"
    CANCEL = "cancel"


TERMINAL: frozenset[Status] = frozenset({Status.CLOSED, Status.CANCELLED})
OPEN: frozenset[Status] = frozenset(s for s in Status if s not in TERMINAL)
# Statuses in which the work order has an engineer.
ASSIGNED_STATUSES: frozenset[Status] = frozenset(
    {
        Status.ASSIGNED,
        Status.ACCEPTED,
        Status.TRAVELLING,
        Status.ON_SITE,
        Status.ON_HOLD,
        Status.RESOLVED,
    }
)


@dataclass(frozen=True, slots=True)
class Transition:
    action: Action
    source: Status
    target: Status
    needs_reason: bool = False


_T = Transition
TRANSITIONS: tuple[Transition, ...] = (
    _T(Action.ASSIGN, Status.NEW, Status.ASSIGNED),
    # Re-assigning to another engineer keeps the status; the assignee changes.
    _T(Action.ASSIGN, Status.ASSIGNED, Status.ASSIGNED),
    _T(Action.UNASSIGN, Status.ASSIGNED, Status.NEW),
    _T(Action.UNASSIGN, Status.ACCEPTED, Status.NEW),
    _T(Action.UNASSIGN, Status.TRAVELLING, Status.NEW),
    _T(Action.ACCEPT, Status.ASSIGNED, Status.ACCEPTED),
    _T(Action.REJECT, Status.ASSIGNED, Status.NEW, needs_reason=True),
    _T(Action.START_TRAVEL, Status.ACCEPTED, Status.TRAVELLING),
    _T(Action.ARRIVE, Status.TRAVELLING, Status.ON_SITE),
    _T(Action.ARRIVE, Status.ACCEPTED, Status.ON_SITE),
    _T(Action.HOLD, Status.ON_SITE, Status.ON_HOLD, needs_reason=True),
    _T(Action.RESUME, Status.ON_HOLD, Status.ON_SITE),
    _T(Action.RESOLVE, Status.ON_SITE, Status.RESOLVED),
    _T(Action.REOPEN, Status.RESOLVED, Status.ON_SITE, needs_reason=True),
    _T(Action.CLOSE, Status.RESOLVED, Status.CLOSED),
    *(
        _T(Action.CANCEL, s, Status.CANCELLED, needs_reason=True)
        for s in Status
        if s in OPEN and s is not Status.RESOLVED
    ),
)

_BY_KEY: dict[tuple[Status, Action], Transition] = {(t.source, t.action): t for t in TRANSITIONS}


class TransitionNotAllowed(Exception):
    """The action is not allowed from the current status."""

    def __init__(self, status: Status, action: Action) -> None:
        self.status = status
        self.action = action
        self.allowed = allowed_actions(status)
        names = ", ".join(a.value for a in self.allowed) or "none"
        super().__init__(
            f"cannot {action.value} a work order that is {status.value}; allowed: {names}"
        )


def allowed_actions(status: Status) -> tuple[Action, ...]:
    """Actions allowed from a status, in declaration order, without duplicates."""
    seen: dict[Action, None] = {}
    for t in TRANSITIONS:
        if t.source is status:
            seen.setdefault(t.action, None)
    return tuple(seen)


def transition(status: Status, action: Action) -> Transition:
    """The transition for an action from a status, or raise TransitionNotAllowed."""
    found = _BY_KEY.get((status, action))
    if found is None:
        raise TransitionNotAllowed(status, action)
    return found
