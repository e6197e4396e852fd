"""Which checklist a work order follows, what it still misses, and the resolve guard.

The rule: every **active** template of the organisation whose ``ticket_type`` is empty or
the work order's type, **and** whose ``product_model`` is empty or the model of the work
order's asset (a work order without an asset gets only templates without a model). All
matching templates apply together (a general safety checklist beside a model's own), and
the match is made when asked, so a template added or changed later applies to open work
orders too. Retired items are no longer asked.

An item's current answer is the last answer to it on the work order (any visit), in server
receipt order. A **required** item without one blocks ``resolve``: 409
``checklist_incomplete`` with ``missing``, the items to answer. A photo item's answer
counts only while one of its photos is still usable: registered on the work order as a
photo and not rejected (a photo whose bytes have not arrived yet, ``pending``, counts: the
phone uploads after answering). When every photo of the current answer was refused since
(its bytes did not match what was declared, or are not a picture), the item is missing
again (``reason`` ``no_usable_photo``): take another photo and answer again.

server/tickets/service.py calls ``require_complete`` on every resolve, so this module
imports no service (no import cycle).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from server.attachments import Attachment, AttachmentStatus
from server.attachments import Role as AttachmentRole
from server.customers import Asset
from server.errors import Conflict
from server.field.models import ChecklistAnswer, ChecklistItem, ChecklistTemplate, ItemKind
from server.tickets import Ticket


class ChecklistIncomplete(Conflict):
    code, title = "checklist_incomplete", "Required checklist items are not answered"


@dataclass(frozen=True)
class Missing:
    item_id: uuid.UUID
    template_id: uuid.UUID
    template: str
    label: str
    # "unanswered", or "no_usable_photo": the current answer's photos were all refused.
    reason: str = "unanswered"

    def to_json(self) -> dict[str, str]:
        return {
            "item_id": str(self.item_id),
            "template_id": str(self.template_id),
            "template": self.template,
            "label": self.label,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Checklist:
    """The templates that apply with their current items, and the current answers."""

    templates: list[tuple[ChecklistTemplate, list[ChecklistItem]]]
    answers: dict[uuid.UUID, ChecklistAnswer]
    # Photo items whose current answer has no usable photo left (all rejected or gone).
    unusable: frozenset[uuid.UUID] = frozenset()

    @property
    def missing(self) -> list[Missing]:
        out = []
        for template, items in self.templates:
            for item in items:
                if not item.required:
                    continue
                if item.id not in self.answers:
                    out.append(Missing(item.id, template.id, template.name, item.label))
                elif item.id in self.unusable:
                    out.append(
                        Missing(item.id, template.id, template.name, item.label, "no_usable_photo")
                    )
        return out


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


async def usable_photos(
    session: AsyncSession,
    *,
    org_id: uuid.UUID,
    ticket_id: uuid.UUID,
    attachment_ids: list[uuid.UUID],
) -> set[uuid.UUID]:
    """Which of ``attachment_ids`` are photos (role ``photo``) registered on the work order
    and not rejected. A registered attachment counts before its bytes arrive (pending)."""
    if not attachment_ids:
        return set()
    rows = await session.scalars(
        select(Attachment.id).where(
            Attachment.org_id == org_id,
            Attachment.work_order_id == ticket_id,
            Attachment.role == AttachmentRole.PHOTO.value,
            Attachment.status != AttachmentStatus.REJECTED.value,
            Attachment.id.in_(attachment_ids),
        )
    )
    return set(rows)


def _photo_ids(value: object) -> list[uuid.UUID]:
    """The attachment ids of a stored photo answer (checklists.check_value wrote a list)."""
    out = []
    for one in value if isinstance(value, list) else [value]:
        try:
            out.append(uuid.UUID(str(one)))
        except ValueError:
            continue
    return out


async def _unusable(
    session: AsyncSession,
    ticket: Ticket,
    items: list[ChecklistItem],
    answers: dict[uuid.UUID, ChecklistAnswer],
) -> frozenset[uuid.UUID]:
    """The answered photo items none of whose photos is still usable (one query)."""
    photos = {
        item.id: _photo_ids(answers[item.id].value)
        for item in items
        if item.kind == ItemKind.PHOTO.value and item.id in answers
    }
    usable = await usable_photos(
        session,
        org_id=ticket.org_id,
        ticket_id=ticket.id,
        attachment_ids=sorted({i for ids in photos.values() for i in ids}),
    )
    return frozenset(item_id for item_id, ids in photos.items() if usable.isdisjoint(ids))


async def checklist(session: AsyncSession, ticket: Ticket) -> Checklist:
    templates = await applicable_templates(session, ticket)
    items = await current_items(session, [t.id for t in templates])
    answers = await latest_answers(session, ticket.id) if templates else {}
    everything = [item for t in templates for item in items[t.id]]
    unusable = await _unusable(session, ticket, everything, answers)
    return Checklist([(t, items[t.id]) for t in templates], answers, unusable)


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
