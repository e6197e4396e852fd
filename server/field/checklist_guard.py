"""Which checklist a work order follows, what it still misses, and the resolve guard.

The rule: every **active** template of the organisation whose ``ticket_type`` is empty or
the work order's type, **and** whose ``product_model`` is empty or the model of the work
order's asset (a work order without an asset gets only templates without a model). All
matching templates apply together (a general safety checklist beside a model's own), and
the match is made when asked, so a template added or changed later applies to open work
orders too. Retired items are no longer asked.

An item's current answer is the last answer to it on the work order (any visit), in server
receipt order. A **required** item without one blocks ``resolve``: 409
``checklist_incomplete`` with ``missing``, the items to answer.

server/tickets/service.py calls ``require_complete`` on every resolve, so this module
imports no service (no import cycle).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from server.customers.models import Asset
from server.errors import Conflict
from server.field.models import ChecklistAnswer, ChecklistItem, ChecklistTemplate
from server.tickets.models import Ticket


class ChecklistIncomplete(Conflict):
    code, title = "checklist_incomplete", "Required checklist items are not answered"


@dataclass(frozen=True)
class Missing:
    item_id: uuid.UUID
    template_id: uuid.UUID
    template: str
    label: str

    def to_json(self) -> dict[str, str]:
        return {
            "item_id": str(self.item_id),
            "template_id": str(self.template_id),
            "template": self.template,
            "label": self.label,
        }


@dataclass(frozen=True)
class Checklist:
    """The templates that apply with their current items, and the current answers."""

    templates: list[tuple[ChecklistTemplate, list[ChecklistItem]]]
    answers: dict[uuid.UUID, ChecklistAnswer]

    @property
    def missing(self) -> list[Missing]:
        return [
            Missing(item.id, template.id, template.name, item.label)
            for template, items in self.templates
            for item in items
            if item.required and item.id not in self.answers
        ]


async def applicable_templates(session: AsyncSession, ticket: Ticket) -> list[ChecklistTemplate]:
    model = None
    if ticket.asset_id is not None:
        model = await session.scalar(select(Asset.product_model).where(Asset.id == ticket.asset_id))
    model_matches: ColumnElement[bool] = ChecklistTemplate.product_model.is_(None)
    if model is not None:
        model_matches = or_(model_matches, ChecklistTemplate.product_model == model)
    rows = await session.scalars(
        select(ChecklistTemplate)
        .where(
            ChecklistTemplate.org_id == ticket.org_id,
            ChecklistTemplate.active.is_(True),
            or_(
                ChecklistTemplate.ticket_type.is_(None),
                ChecklistTemplate.ticket_type == ticket.type,
            ),
            model_matches,
        )
        .order_by(ChecklistTemplate.name, ChecklistTemplate.id)
    )
    return list(rows)


async def current_items(
    session: AsyncSession, template_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[ChecklistItem]]:
    """Each template's items that are still asked, in order."""
    out: dict[uuid.UUID, list[ChecklistItem]] = {t: [] for t in template_ids}
    if not template_ids:
        return out
    rows = await session.scalars(
        select(ChecklistItem)
        .where(ChecklistItem.template_id.in_(template_ids), ChecklistItem.retired_at.is_(None))
        .order_by(ChecklistItem.template_id, ChecklistItem.position, ChecklistItem.id)
    )
    for item in rows:
        out[item.template_id].append(item)
    return out


async def latest_answers(
    session: AsyncSession, ticket_id: uuid.UUID
) -> dict[uuid.UUID, ChecklistAnswer]:
    """The last answer received for each item of the work order."""
    rows = await session.scalars(
        select(ChecklistAnswer)
        .where(ChecklistAnswer.ticket_id == ticket_id)
        .ext(distinct_on(ChecklistAnswer.item_id))
        .order_by(ChecklistAnswer.item_id, ChecklistAnswer.seq.desc())
    )
    return {a.item_id: a for a in rows}


async def checklist(session: AsyncSession, ticket: Ticket) -> Checklist:
    templates = await applicable_templates(session, ticket)
    items = await current_items(session, [t.id for t in templates])
    answers = await latest_answers(session, ticket.id) if templates else {}
    return Checklist([(t, items[t.id]) for t in templates], answers)


async def require_complete(session: AsyncSession, ticket: Ticket) -> None:
    """Refuse to resolve a work order whose required checklist items are unanswered."""
    missing = (await checklist(session, ticket)).missing
    if missing:
        names = "; ".join(f"{m.template}: {m.label}" for m in missing[:10])
        more = f" (and {len(missing) - 10} more)" if len(missing) > 10 else ""
        raise ChecklistIncomplete(
            f"answer the required checklist items before resolving: {names}{more}",
            missing=[m.to_json() for m in missing],
        )
