"""How the escalation domain plugs in (server/domains.py): the SLA's at-risk and breached
events and the sweep (``JOBS``) move a work order's escalation on; resolve, close and
cancel stop it, reopen resumes it; close refuses a complaint without its root cause;
resolving a complaint opens its call-back task, a survey detractor a task for the service
manager."""

from __future__ import annotations

from server import events, tickets
from server.escalation import complaints, engine, followups
from server.escalation.jobs import JOBS
from shared.lifecycle import Action

__all__ = ["JOBS", "install"]


def install() -> None:
    tickets.lifecycle.guard(Action.CLOSE)(complaints.require_root_cause)
    tickets.lifecycle.listener(Action.RESOLVE, Action.CLOSE, Action.CANCEL)(engine.stop)
    tickets.lifecycle.listener(Action.REOPEN)(engine.resume)
    tickets.lifecycle.listener(Action.RESOLVE)(followups.on_resolved)
    events.subscribe("ticket.sla_at_risk", engine.on_sla_event)
    events.subscribe("ticket.sla_breached", engine.on_sla_event)
    events.subscribe("survey.detractor", followups.on_detractor)
