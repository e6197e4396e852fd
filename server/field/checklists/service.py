"""Checklists (SOPs): templates the back office manages, answers engineers give per visit.

Templates: admins, dispatchers and integration keys create and change them; everyone who
reads work orders reads them (the phone needs them offline). Which templates apply to a
work order, and the resolve guard, are in checklist_guard.py.

Answers: ``answer`` records one answer (the phone's ``answer_id``) to one item during one
visit of the work order, after checking the value against the item:

    yes_no   true or false
    number   a finite number within the item's min_value / max_value
    text     a non-blank string (at most 5,000 characters)
    choice   one of the item's options
    photo    an attachment id, or a list of up to 20, of photos of this work order

Answers are never changed: answering again adds an answer, and the last one received wins.
Any item of the organisation may be answered (a template changed while the phone was
offline must not lose the engineer's answers); only the applicable items count for the
guard.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import fastpaths
from server.auth import Actor
from server.crud import check_version, get_scoped, keyset_page, patch
from server.db import driver, fetchrow
from server.errors import Unprocessable
from server.field import access
from server.field.checklists import guard as checklist_guard
from server.field.models import ChecklistAnswer, ChecklistItem, ChecklistTemplate, ItemKind
from server.field.schemas import ItemIn, TemplateCreate, TemplateUpdate
from server.pagination import Page

MAX_PHOTOS = 20
MAX_TEXT = 5000


@dataclass(frozen=True)
class TemplateView:
    template: ChecklistTemplate
    items: list[ChecklistItem]


def _manager(actor: Actor) -> None:
    access.require_back_office(actor, "manage checklist templates")


def _item(actor: Actor, template_id: uuid.UUID, position: int, data: ItemIn) -> ChecklistItem:
    return ChecklistItem(
        org_id=actor.org_id,
        template_id=template_id,
        position=position,
        kind=data.kind.value,
        label=data.label,
        required=data.required,
        min_value=data.min_value,
        max_value=data.max_value,
        unit=data.unit,
        options=list(data.options),
        retired_at=None,
    )


async def create_template(
    session: AsyncSession, actor: Actor, *, data: TemplateCreate
) -> TemplateView:
    _manager(actor)
    if any(item.id is not None for item in data.items):
        raise Unprocessable("new templates have new items: leave out id", field="items")
    template = ChecklistTemplate(
        org_id=actor.org_id,
        name=data.name,
        ticket_type=data.ticket_type.value if data.ticket_type else None,
        product_model=data.product_model,
        active=True,
        version=1,
    )
    session.add(template)
    await session.flush()
    items = [_item(actor, template.id, i, d) for i, d in enumerate(data.items, start=1)]
    session.add_all(items)
    await session.flush()
    return TemplateView(template, items)


async def get_template(
    session: AsyncSession, actor: Actor, *, template_id: uuid.UUID, for_update: bool = False
) -> TemplateView:
    template = await get_scoped(
        session,
        actor,
        ChecklistTemplate,
        template_id,
        label="checklist template",
        for_update=for_update,
    )
    items = await checklist_guard.current_items(session, [template.id])
    return TemplateView(template, items[template.id])


async def list_templates(
    session: AsyncSession,
    actor: Actor,
    *,
    active: bool | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[TemplateView], str | None]:
    query = select(ChecklistTemplate).where(ChecklistTemplate.org_id == actor.org_id)
    if active is not None:
        query = query.where(ChecklistTemplate.active.is_(active))
    page: Page[ChecklistTemplate] = await keyset_page(
        session,
        query,
        sort_column=ChecklistTemplate.name,
        id_column=ChecklistTemplate.id,
        limit=limit,
        cursor=cursor,
    )
    items = await checklist_guard.current_items(session, [t.id for t in page.items])
    return [TemplateView(t, items[t.id]) for t in page.items], page.next_cursor


async def update_template(
    session: AsyncSession,
    actor: Actor,
    *,
    template_id: uuid.UUID,
    data: TemplateUpdate,
    expected_version: int | None,
) -> TemplateView:
    _manager(actor)
    view = await get_template(session, actor, template_id=template_id, for_update=True)
    template = view.template
    check_version(template.version, expected_version, label="the template")
    changes = data.model_dump(exclude_unset=True, exclude={"items"})
    if "name" in changes and changes["name"] is None:
        raise Unprocessable("name cannot be null", field="name")
    if "active" in changes and changes["active"] is None:
        raise Unprocessable("active cannot be null", field="active")
    values = {name: getattr(value, "value", value) for name, value in changes.items()}
    # One version bump below, for the fields and the items together.
    changed = bool(patch(template, values, expected_version=None, bump=False))
    items = view.items
    if data.items is not None:
        items = await _replace_items(session, actor, view, data.items)
        changed = True
    if changed:
        template.version += 1
        template.updated_at = access.now()
        await session.flush()
    return TemplateView(template, items)


async def _replace_items(
    session: AsyncSession, actor: Actor, view: TemplateView, wanted: list[ItemIn]
) -> list[ChecklistItem]:
    current = {item.id: item for item in view.items}
    kept: set[uuid.UUID] = set()
    out: list[ChecklistItem] = []
    for position, data in enumerate(wanted, start=1):
        if data.id is None:
            item = _item(actor, view.template.id, position, data)
            session.add(item)
            out.append(item)
            continue
        field = f"items[{position - 1}].id"
        item = current.get(data.id)  # type: ignore[assignment]
        if item is None or data.id in kept:
            raise Unprocessable(
                f"item {data.id} is not a current item of this template", field=field
            )
        if item.kind != data.kind.value:
            raise Unprocessable(
                "an item's kind cannot change (its answers were given for it): leave it out "
                "to retire it and add a new item",
                field=field,
            )
        kept.add(item.id)
        item.position = position
        item.label, item.required, item.unit = data.label, data.required, data.unit
        item.min_value, item.max_value = data.min_value, data.max_value
        item.options = list(data.options)
        out.append(item)
    stamp = access.now()
    for item_id, item in current.items():
        if item_id not in kept:
            item.retired_at = stamp
    await session.flush()
    return out


# --- answers ---------------------------------------------------------------------------------


async def photo_attachments(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    attachment_ids: list[uuid.UUID],
) -> set[uuid.UUID]:
    """Which of ``attachment_ids`` are photos (role ``photo``) registered on the work order
    and not rejected. A registered attachment counts before its bytes arrive: the phone
    registers the photo, answers the item, and uploads later. The resolve guard asks the
    same question again (checklist_guard.usable_photos): a photo refused later stops
    counting."""
    return await checklist_guard.usable_photos(
        session, org_id=actor.org_id, ticket_id=ticket_id, attachment_ids=attachment_ids
    )


def _number(item: ChecklistItem, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unprocessable(f"{item.label!r} takes a number", field="value")
    if abs(value) > 1e12 or not math.isfinite(value):
        raise Unprocessable(f"{item.label!r} takes a finite number", field="value")
    low, high = item.min_value, item.max_value
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"{'' if low is None else low} .. {'' if high is None else high}"
        raise Unprocessable(
            f"{item.label!r} must be within {bounds}{' ' + item.unit if item.unit else ''}",
            field="value",
            min_value=low,
            max_value=high,
        )
    return value


def _photos(item: ChecklistItem, value: Any) -> list[uuid.UUID]:
    raw = value if isinstance(value, list) else [value]
    if not raw or len(raw) > MAX_PHOTOS:
        raise Unprocessable(f"{item.label!r} takes 1 to {MAX_PHOTOS} attachment ids", field="value")
    ids: list[uuid.UUID] = []
    for one in raw:
        try:
            parsed = uuid.UUID(one) if isinstance(one, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise Unprocessable(f"{item.label!r} takes attachment ids (UUIDs)", field="value")
        if parsed not in ids:
            ids.append(parsed)
    return ids


def check_value(item: ChecklistItem, value: Any) -> Any:
    """The value, checked against its item and normalised (what is stored)."""
    kind = ItemKind(item.kind)
    if value is None:
        raise Unprocessable("an answer needs a value", field="value")
    if kind is ItemKind.YES_NO:
        if not isinstance(value, bool):
            raise Unprocessable(f"{item.label!r} takes true or false", field="value")
        return value
    if kind is ItemKind.NUMBER:
        return _number(item, value)
    if kind is ItemKind.PHOTO:
        return [str(i) for i in _photos(item, value)]
    if not isinstance(value, str) or not value.strip():
        raise Unprocessable(f"{item.label!r} takes a non-blank text", field="value")
    if kind is ItemKind.CHOICE:
        if value not in item.options:
            raise Unprocessable(
                f"{item.label!r} takes one of: {', '.join(item.options)}",
                field="value",
                options=list(item.options),
            )
        return value
    return access.text(value, "value", limit=MAX_TEXT)


async def _answer(
    session: AsyncSession, actor: Actor, answer_id: uuid.UUID
) -> ChecklistAnswer | None:
    found = await session.get(ChecklistAnswer, answer_id)
    if found is not None:
        await access.require_visible(
            session,
            actor,
            org_id=found.org_id,
            ticket_id=found.ticket_id,
            what="checklist answer",
            record_id=answer_id,
        )
    return found


def _content(answer: ChecklistAnswer) -> dict[str, Any]:
    return {
        "work_order_id": answer.ticket_id,
        "visit_id": answer.visit_id,
        "item_id": answer.item_id,
        "value": answer.value,
    }


NEW_ANSWER = access.NewRecord(
    "checklist_answers",
    "checklist_answer",
    (
        ("id", "uuid"),
        ("visit_id", "uuid"),
        ("item_id", "uuid"),
        ("value", "jsonb"),
        ("answered_by", "text"),
        ("device_time", "timestamptz"),
        ("received_at", "timestamptz"),
    ),
    returning="seq",
)
_ITEM = """
    SELECT kind, label, required, min_value, max_value, unit, options, template_id, position
      FROM checklist_items
     WHERE id = $1 AND org_id = $2
"""


async def _item_rule(
    session: AsyncSession, actor: Actor, item_id: uuid.UUID
) -> ChecklistItem | None:
    """An item of the caller's organisation, read once per session (a phone's push answers
    the same few items again and again; the ORM's identity map would not refresh it
    within the session either)."""
    cache: dict[tuple[uuid.UUID, uuid.UUID], ChecklistItem] = session.info.setdefault(
        "checklist_items", {}
    )
    key = (actor.org_id, item_id)
    if (item := cache.get(key)) is None:
        if fastpaths.enabled("field.checklist_item"):
            item = await _item_now(session, actor, item_id)
        else:
            item = await session.scalar(
                select(ChecklistItem).where(
                    ChecklistItem.id == item_id, ChecklistItem.org_id == actor.org_id
                )
            )
        if item is None:
            return None
        cache[key] = item
    return item


async def _item_now(
    session: AsyncSession, actor: Actor, item_id: uuid.UUID
) -> ChecklistItem | None:
    """The fast path ``field.checklist_item``: the item's rule through asyncpg, as a
    transient copy."""
    row = await fetchrow(await driver(session), _ITEM, item_id, actor.org_id)
    if row is None:
        return None
    return ChecklistItem(id=item_id, org_id=actor.org_id, **dict(row))


async def answer(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    visit_id: uuid.UUID,
    item_id: uuid.UUID,
    answer_id: uuid.UUID,
    value: Any,
    device_time: dt.datetime | str | None = None,
) -> ChecklistAnswer:
    access.require_field_writer(actor, "answer checklists")
    when = access.instant(device_time, "device_time") if device_time is not None else None
    item, normalised = await _item_and_value(session, actor, ticket_id, item_id, value)
    row = ChecklistAnswer(
        id=answer_id,
        org_id=actor.org_id,
        ticket_id=ticket_id,
        visit_id=visit_id,
        item_id=item_id,
        value=normalised,
        answered_by=actor.label,
        device_time=when,
        received_at=access.now(),
    )
    if ItemKind(item.kind) is not ItemKind.PHOTO:  # photos: their attachments are checked
        if (seq := await access.insert_new(session, actor, NEW_ANSWER, row)) is not None:
            row.seq = seq
            return row
    ticket = await access.work_order(session, actor, ticket_id)
    sent = {
        "work_order_id": ticket.id,
        "visit_id": visit_id,
        "item_id": item_id,
        "value": normalised,
    }
    if (found := await _answer(session, actor, answer_id)) is not None:
        access.same_content("checklist answer", answer_id, _content(found), sent)
        return found
    await access.check_visit(session, actor, ticket.id, visit_id)
    if ItemKind(item.kind) is ItemKind.PHOTO:
        await _require_photos(session, actor, ticket.id, normalised)
    raced = await access.insert(
        session,
        [row],
        existing=lambda: _answer(session, actor, answer_id),
        what="checklist answer",
        record_id=answer_id,
    )
    if raced is not None:
        access.same_content("checklist answer", answer_id, _content(raced), sent)
        return raced
    return row


async def _item_and_value(
    session: AsyncSession, actor: Actor, ticket_id: uuid.UUID, item_id: uuid.UUID, value: Any
) -> tuple[ChecklistItem, Any]:
    """The item answered and the value checked against it (``check_value``); 422 for an
    unknown item or a value it refuses, after the 404 of a work order the caller cannot see."""
    item = await _item_rule(session, actor, item_id)
    if item is None:
        await access.work_order(session, actor, ticket_id)  # 404 comes first
        raise Unprocessable(f"checklist item {item_id} not found", field="item_id")
    try:
        normalised = check_value(item, value)
    except Unprocessable:
        await access.work_order(session, actor, ticket_id)  # 404 comes first
        raise
    return item, normalised


async def _require_photos(
    session: AsyncSession, actor: Actor, ticket_id: uuid.UUID, attachment_ids: list[str]
) -> None:
    """422 naming the attachments of a photo answer that are no photos of the work order."""
    ids = [uuid.UUID(i) for i in attachment_ids]
    found_ids = await photo_attachments(session, actor, ticket_id=ticket_id, attachment_ids=ids)
    if unknown := [str(i) for i in ids if i not in found_ids]:
        raise Unprocessable(
            f"attachment {unknown[0]} is not a photo of this work order",
            field="value",
            attachments=unknown,
        )


async def list_answers(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    visit_id: uuid.UUID | None = None,
) -> list[ChecklistAnswer]:
    """Every answer given on the work order (or one visit), in receipt order."""
    ticket = await access.work_order(session, actor, ticket_id)
    query = select(ChecklistAnswer).where(
        ChecklistAnswer.ticket_id == ticket.id, ChecklistAnswer.org_id == actor.org_id
    )
    if visit_id is not None:
        query = query.where(ChecklistAnswer.visit_id == visit_id)
    return list(await session.scalars(query.order_by(ChecklistAnswer.seq)))


async def for_work_order(
    session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID
) -> checklist_guard.Checklist:
    """The work order's checklist: applicable templates, items, current answers, missing."""
    ticket = await access.work_order(session, actor, ticket_id)
    return await checklist_guard.checklist(session, ticket)
