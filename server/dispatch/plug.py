"""How the dispatch domain plugs in (server/domains.py): a reject records the decline, an
assign refuses an engineer who declined (unless forced) and leaves the claim pool, an
unassign unpins (server/dispatch/declines.py); the phone's claim pool is dispatch's
(``sync.claim_pool``, server/dispatch/pool.py); a new work order is auto-assigned when
its priority's rule says so (server/dispatch/candidates/service.py); the day plan's
solve runs in the worker (``JOBS``)."""

from __future__ import annotations

from server import events, sync, tickets
from server.dispatch import declines, pool
from server.dispatch.candidates import service as candidates
from server.dispatch.plans.jobs import JOBS
from shared.lifecycle import Action

__all__ = ["JOBS", "install"]


def install() -> None:
    tickets.lifecycle.guard(Action.ASSIGN)(declines.refuse_declined)
    tickets.lifecycle.listener(Action.ASSIGN, Action.CANCEL)(declines.leave_pool)
    tickets.lifecycle.listener(Action.REJECT)(declines.record_decline)
    tickets.lifecycle.listener(Action.UNASSIGN)(declines.release_pin)
    sync.claim_pool.fill(pool.claim_pool)
    events.subscribe("ticket.created", candidates.on_created)
