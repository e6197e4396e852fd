"""The event types an endpoint may subscribe to: every outbox topic (grep ``topic=`` and
``audit.record(kind=`` in server/), with what it means. A subscription names an exact
type (``ticket.created``), every type of a family (``ticket.*``) or everything (``*``)."""

from __future__ import annotations

EVENT_TYPES: dict[str, str] = {
    "ticket.created": "A work order was created (any channel: API, phone, QR report)",
    "ticket.transition": "A work order changed status (action, from_status, to_status)",
    "ticket.updated": "A work order's fields changed (changes)",
    "ticket.planned": "A work order's appointment or plan changed",
    "ticket.sla_at_risk": "A work order's SLA is at risk",
    "ticket.sla_breached": "A work order's SLA was breached",
    "ticket.field_conflict": "A phone's change conflicted with the office's",
    "ticket.field_after_cancel": "Field work was recorded on a cancelled work order",
    "ticket.escalated": "A work order was escalated (level, owner_user_id, due_at)",
    "ticket.escalation_acknowledged": "The owner of a work order's escalation acknowledged it",
    "ticket.followup_created": "A follow-up task was opened on a work order (its audit event)",
    "ticket.followup_completed": "A follow-up task of a work order was completed",
    "ticket.customer_update": "The customer added information on the status page",
    "stock.below_minimum": "A part's stock at a location fell below its minimum",
    "stock.discrepancy": "A stock count differed from the ledger",
    "stock_unit.discrepancy": "A serialised unit was found somewhere else than recorded",
    "part_return.unit_fitted": "A returned unit was fitted again",
    "signature.captured": "A customer signed on the engineer's phone",
    "attachment.pending": "An attachment was registered; its bytes have not arrived",
    "attachment.available": "An attachment's bytes arrived and were verified",
    "attachment.rejected": "An attachment's bytes did not fit its role",
    "followup.created": "A follow-up task was opened (complaint call-back, detractor)",
    "survey.invited": "A customer was invited to a survey",
    "survey.responded": "A customer answered a survey (csat, nps, ces)",
    "survey.detractor": "A survey answer was a detractor's",
}
FAMILIES = frozenset(name.split(".", 1)[0] for name in EVENT_TYPES)


def problem(pattern: str) -> str | None:
    """What is wrong with a subscription pattern (None: it is fine)."""
    if pattern == "*" or pattern in EVENT_TYPES:
        return None
    if pattern.endswith(".*") and pattern[:-2] in FAMILIES:
        return None
    families = ", ".join(f"{f}.*" for f in sorted(FAMILIES))
    return (
        f"unknown event type {pattern[:80]!r}: use an exact type from "
        f"GET /api/v1/webhooks/event-types, a family ({families}) or *"
    )


def matches(patterns: list[str], topic: str) -> bool:
    for pattern in patterns:
        if pattern == "*" or pattern == topic:
            return True
        if pattern.endswith(".*") and topic.startswith(pattern[:-1]):
            return True
    return False
