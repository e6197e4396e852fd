"""Customers' notification preferences: channels in order, language, quiet hours, opt-out."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.crud import check_version, get_scoped
from server.customers import Customer
from server.errors import Forbidden, PreconditionFailed
from server.notify.audience import DEFAULT_CHANNELS
from server.notify.models import NotificationPreference
from server.notify.schemas import PreferencesIn, PreferencesRead


def _read(customer_id: uuid.UUID, row: NotificationPreference | None) -> PreferencesRead:
    if row is None:
        return PreferencesRead(
            customer_id=customer_id,
            channels=list(DEFAULT_CHANNELS),
            lang=None,
            quiet_start=None,
            quiet_end=None,
            opt_out=False,
            opt_out_templates=[],
            version=0,
        )
    return PreferencesRead.model_validate(row)


async def _customer(session: AsyncSession, actor: Actor, customer_id: uuid.UUID) -> Customer:
    return await get_scoped(session, actor, Customer, customer_id, label="customer")


async def read(session: AsyncSession, actor: Actor, *, customer_id: uuid.UUID) -> PreferencesRead:
    """The customer's preferences (version 0 with the defaults when never set)."""
    if actor.is_engineer:
        raise Forbidden("engineers cannot read customers' notification preferences")
    customer = await _customer(session, actor, customer_id)
    return _read(customer.id, await session.get(NotificationPreference, customer.id))


async def replace(
    session: AsyncSession,
    actor: Actor,
    *,
    customer_id: uuid.UUID,
    data: PreferencesIn,
    expected_version: int | None,
) -> PreferencesRead:
    """Set the preferences: ``expected_version`` the version read (0: never set), None to
    create only (If-None-Match: *)."""
    actor.require_office_writer("change notification preferences")
    customer = await _customer(session, actor, customer_id)
    row = await session.get(NotificationPreference, customer.id, with_for_update=True)
    if expected_version is None and row is not None:
        raise PreconditionFailed(
            "the customer has preferences already: send If-Match with their ETag to replace them",
            current_version=row.version,
        )
    check_version(row.version if row else 0, expected_version, label="the preferences")
    values = data.model_dump()
    if row is None:
        row = NotificationPreference(
            customer_id=customer.id, org_id=actor.org_id, version=1, **values
        )
        session.add(row)
    elif any(getattr(row, k) != v for k, v in values.items()):
        for name, value in values.items():
            setattr(row, name, value)
        row.version += 1
    await session.flush()
    return _read(customer.id, row)
