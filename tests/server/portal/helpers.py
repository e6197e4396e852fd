"""Shared pieces of the customer pages' tests."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from server.tickets import TransitionIn
from server.tickets import service as tickets
from shared.lifecycle import Action


def png_bytes(color: str = "red", size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


async def move(db: AsyncSession, actor: Any, ticket: Any, *actions: Action, **kw: Any) -> None:
    for action in actions:
        await tickets.apply_transition(
            db, actor, ticket_id=ticket.id, data=TransitionIn(action=action, **kw)
        )
    await db.flush()


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]
