"""How the field domain plugs in (server/domains.py): resolve needs the required checklist
items answered; an attachment names only a visit of its own work order."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server import attachments, tickets
from server.auth import Actor
from server.field import access
from server.field.checklists import guard as checklist_guard
from shared.lifecycle import Action


async def checklist_complete(
    session: AsyncSession, actor: Actor, ticket: tickets.Ticket, data: tickets.TransitionIn
) -> None:
    """409 ``checklist_incomplete`` naming the required items still unanswered."""
    await checklist_guard.require_complete(session, ticket)


def install() -> None:
    tickets.lifecycle.guard(Action.RESOLVE)(checklist_complete)
    attachments.visit_check.fill(access.check_visit)
