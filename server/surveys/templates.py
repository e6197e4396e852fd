"""Survey templates: admins write them, dispatchers read them (docs/surveys.md).

A work order resolved gets the survey of the first active template whose filters
(work-order types, priorities) match it, a template with a filter before one without, the
default before the others, then the oldest: ``for_ticket``. An organisation has at most one
default template.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.crud import check_version, get_scoped, patch
from server.errors import Conflict, Forbidden
from server.surveys.models import SurveyTemplate
from server.surveys.schemas import TemplateCreate, TemplateUpdate
from server.text import quote


def _reader(actor: Actor) -> None:
    actor.require_manager("read survey templates")


def _writer(actor: Actor) -> None:
    if not (actor.is_admin or actor.is_key):
        raise Forbidden("only an admin can change survey templates")


async def _one_default(session: AsyncSession, org_id: uuid.UUID, keep: uuid.UUID | None) -> None:
    """``keep`` (or a template about to be made) becomes the organisation's one default:
    the others stop being it."""
    others = SurveyTemplate.id != keep if keep is not None else SurveyTemplate.id.is_not(None)
    await session.execute(
        update(SurveyTemplate)
        .where(
            SurveyTemplate.org_id == org_id,
            SurveyTemplate.is_default.is_(True),
            others,
        )
        .values(is_default=False, version=SurveyTemplate.version + 1)
        .execution_options(synchronize_session="fetch")
    )


async def _flush(session: AsyncSession, name: str) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a concurrent request took the name (or the default)
        raise Conflict(
            f"a survey template named {quote(name)} exists already (or another was made the "
            "default just now): choose another name, or retry",
            field="name",
        ) from exc


async def _name_free(
    session: AsyncSession, actor: Actor, name: str, other_than: uuid.UUID | None = None
) -> None:
    query = select(SurveyTemplate.id).where(
        SurveyTemplate.org_id == actor.org_id, SurveyTemplate.name == name
    )
    if other_than is not None:
        query = query.where(SurveyTemplate.id != other_than)
    taken = await session.scalar(query)
    if taken is not None:
        raise Conflict(
            f"a survey template named {quote(name)} exists already ({taken}): choose another",
            field="name",
        )


async def create(session: AsyncSession, actor: Actor, *, data: TemplateCreate) -> SurveyTemplate:
    _writer(actor)
    await _name_free(session, actor, data.name)
    if data.is_default:
        await _one_default(session, actor.org_id, None)
    template = SurveyTemplate(org_id=actor.org_id, version=1, **data.model_dump())
    session.add(template)
    await _flush(session, data.name)
    return template


async def get(
    session: AsyncSession, actor: Actor, *, template_id: uuid.UUID, for_update: bool = False
) -> SurveyTemplate:
    _reader(actor)
    return await get_scoped(
        session, actor, SurveyTemplate, template_id, label="survey template", for_update=for_update
    )


async def list_templates(
    session: AsyncSession, actor: Actor, *, active: bool | None
) -> list[SurveyTemplate]:
    _reader(actor)
    query = select(SurveyTemplate).where(SurveyTemplate.org_id == actor.org_id)
    if active is not None:
        query = query.where(SurveyTemplate.active.is_(active))
    rows = await session.scalars(query.order_by(SurveyTemplate.name, SurveyTemplate.id))
    return list(rows)


async def update_template(
    session: AsyncSession,
    actor: Actor,
    *,
    template_id: uuid.UUID,
    data: TemplateUpdate,
    expected_version: int | None,
) -> SurveyTemplate:
    _writer(actor)
    template = await get(session, actor, template_id=template_id, for_update=True)
    check_version(template.version, expected_version)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name") is not None:
        await _name_free(session, actor, changes["name"], other_than=template.id)
    if changes.get("is_default"):
        await _one_default(session, actor.org_id, template.id)
    patch(template, changes, expected_version=None)
    await _flush(session, template.name)
    return template


async def for_ticket(
    session: AsyncSession, org_id: uuid.UUID, *, ticket_type: str, priority: str
) -> SurveyTemplate | None:
    """The template a resolved work order of this type and priority is surveyed with."""
    filtered = func.cardinality(SurveyTemplate.ticket_types) + func.cardinality(
        SurveyTemplate.priorities
    )
    query = (
        select(SurveyTemplate)
        .where(
            SurveyTemplate.org_id == org_id,
            SurveyTemplate.active.is_(True),
            or_(
                func.cardinality(SurveyTemplate.ticket_types) == 0,
                SurveyTemplate.ticket_types.contains([ticket_type]),
            ),
            or_(
                func.cardinality(SurveyTemplate.priorities) == 0,
                SurveyTemplate.priorities.contains([priority]),
            ),
        )
        .order_by(
            (filtered > 0).desc(),
            SurveyTemplate.is_default.desc(),
            SurveyTemplate.created_at,
            SurveyTemplate.id,
        )
        .limit(1)
    )
    return await session.scalar(query)
