"""Escalation, complaints and follow-up tasks (docs/escalation.md): a work order whose SLA
is at risk climbs its priority's policy (service desk, second line, service manager);
complaints need a root cause to close and get a call-back; detractors get a task."""

from server.escalation import engine, followups
from server.escalation.models import FollowupTask, TicketEscalation

__all__ = ["FollowupTask", "TicketEscalation", "engine", "followups"]
