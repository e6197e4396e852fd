"""The claim pool on the phone: the ``claimable`` entity.

A work order open for claim is nobody's yet, so no feed row names an engineer when it
opens, closes, or is claimed; and who qualifies for it changes with things that are not
the work order at all (the engineer's skills, shifts, time off, a decline). So the pool is
read when the pull runs, like the van's stock, but whole: the ``sync.claim_pool`` hook
(filled by dispatch, which decides who qualifies) gives the engineer's pool as it is now,
and the pull compares it with the pool the phone was last sent, which the cursor carries
(``p``: each work order's id and a digest of its row, 20 bytes each; at most
``POOL_LIMIT`` work orders, best first). What is new or changed is ``put``; what left is
``remove`` with a reason. Keeping that state in the signed cursor, not in a table, keeps
a lost answer harmless: the phone pulls again with its old cursor and gets the same
difference again.

A removal says why in ``data`` (``reason``, ``number``, ``title``), read from the work
order now: ``claimed`` (it is yours: it arrives as your work), ``claimed_by_other`` (never
who), ``cancelled``, ``closed_for_claim`` (the office took it back), ``not_eligible`` (still
open, but no longer for you: skills, shift, a decline) or ``gone`` (deleted).

Only the fields of ``FIELDS`` are sent, whatever the hook returns: the pool never carries
another engineer, a note or a price.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.sync.entities import jsonable
from server.sync.hooks import claim_pool
from server.tickets import Ticket, format_number
from shared.lifecycle import Status
from shared.sync import Change, Op

CLAIMABLE = "claimable"
POOL_LIMIT = 50
# What the phone needs to decide whether to take the job, and nothing else.
FIELDS = (
    "number",
    "title",
    "description",
    "priority",
    "customer_name",
    "site_name",
    "site_address",
    "lat",
    "lon",
    "window_start",
    "window_end",
    "required_skills",
    "estimated_minutes",
    "sla_due_at",
)
_DIGEST = 4
_ENTRY = 16 + _DIGEST


def _row(raw: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    try:
        key = str(uuid.UUID(str(raw["id"])))
    except (KeyError, ValueError):
        return None
    data = {name: jsonable(raw.get(name)) for name in FIELDS}
    data["id"] = key
    return key, data


def _digest(data: Mapping[str, Any]) -> bytes:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=_DIGEST).digest()


def encode_sent(sent: Mapping[str, bytes]) -> str:
    raw = b"".join(uuid.UUID(key).bytes + digest for key, digest in sent.items())
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_sent(text: str) -> dict[str, bytes]:
    """The pool a cursor says the phone holds (empty for a cursor without one; a signed
    cursor is ours, so anything unreadable is a bug: read as nothing sent)."""
    if not text:
        return {}
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):
        return {}
    if len(raw) % _ENTRY:
        return {}
    entries = (raw[n : n + _ENTRY] for n in range(0, len(raw), _ENTRY))
    return {str(uuid.UUID(bytes=e[:16])): e[16:] for e in entries}


def _why(ticket: Ticket | None, me: uuid.UUID | None) -> str:
    if ticket is None:
        return "gone"
    if ticket.assignee_id is not None:
        return "claimed" if ticket.assignee_id == me else "claimed_by_other"
    if ticket.status == Status.CANCELLED.value:
        return "cancelled"
    if not ticket.open_for_claim or ticket.status != Status.NEW.value:
        return "closed_for_claim"
    return "not_eligible"


async def _removals(session: AsyncSession, actor: Actor, gone: Sequence[str]) -> list[Change]:
    if not gone:
        return []
    found = {
        str(t.id): t
        for t in await session.scalars(
            select(Ticket).where(
                Ticket.org_id == actor.org_id, Ticket.id.in_([uuid.UUID(g) for g in gone])
            )
        )
    }
    out = []
    for key in gone:
        ticket = found.get(key)
        data: dict[str, Any] = {"reason": _why(ticket, actor.engineer_id)}
        if ticket is not None:
            data |= {"number": format_number(ticket.number), "title": ticket.title}
        out.append(Change(Op.REMOVE, CLAIMABLE, key, data))
    return out


async def changes(session: AsyncSession, actor: Actor, sent: str) -> tuple[list[Change], str]:
    """The pool's changes since the pool ``sent`` (a cursor's ``p``), and the new ``p``."""
    before = decode_sent(sent)
    now: dict[str, bytes] = {}
    out: list[Change] = []
    for raw in await claim_pool.get()(session, actor):
        if len(now) >= POOL_LIMIT:
            break
        found = _row(raw)
        if found is None or found[0] in now:
            continue
        key, data = found
        now[key] = _digest(data)
        if before.get(key) != now[key]:
            out.append(Change(Op.PUT, CLAIMABLE, key, data))
    out += await _removals(session, actor, [key for key in before if key not in now])
    return out, encode_sent(now)
