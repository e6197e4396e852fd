"""Signed, scoped, expiring, revocable links for people without an account.

A token is 44 URL-safe characters: the link's id (16 bytes) and the first 16 bytes of an
HMAC-SHA256 over the kind and the id, keyed by a key derived from ``FIXFLOW_SECRET_KEY``.
The MAC makes tokens unguessable and untamperable without a database read (a forged or
altered token is refused before any query); the row makes them scoped (one subject, one
kind: a status token is not a survey token), expiring and revocable. Every refusal is the
same ``LinkNotFound``, so a caller learns nothing about why.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
import uuid
from enum import StrEnum
from functools import lru_cache

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import get_settings
from server.errors import NotFound
from server.links.models import AccessLink
from shared.ids import uuid7

TOKEN_LENGTH = 44
_MAC_BYTES = 16
# A link's path in any text: /t/, /q/ or /s/ and a whole token.
_IN_TEXT = re.compile(r"/[tqs]/[A-Za-z0-9_-]{44}(?![A-Za-z0-9_-])")


class LinkKind(StrEnum):
    STATUS = "status"  # /t/{token}: one work order's status page
    QR = "qr"  # /q/{token}: the fault report form of one asset (its label)
    SURVEY = "survey"  # /s/{token}: one survey invitation


class LinkNotFound(NotFound):
    code = "link_not_found"


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"fixflow access links v1", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _mac(kind: str, link_id: uuid.UUID) -> bytes:
    key = _key(get_settings().SECRET_KEY)
    return hmac.new(key, kind.encode() + b"\x00" + link_id.bytes, hashlib.sha256).digest()[
        :_MAC_BYTES
    ]


def token_for(link: AccessLink) -> str:
    return _b64(link.id.bytes) + _b64(_mac(link.kind, link.id))


def link_id_of(token: str, kind: LinkKind) -> uuid.UUID | None:
    """The link id a well-formed, authentic token of ``kind`` names; None otherwise."""
    if len(token) != TOKEN_LENGTH or not token.isascii():
        return None
    try:
        raw_id = base64.urlsafe_b64decode(token[:22] + "==")
        mac = base64.urlsafe_b64decode(token[22:] + "==")
    except (binascii.Error, ValueError):
        return None
    if len(raw_id) != 16 or len(mac) != _MAC_BYTES:
        return None
    link_id = uuid.UUID(bytes=raw_id)
    # Canonical form only; compared in constant time, so how long a refusal takes says
    # nothing about how many leading characters of a forged MAC were right.
    if not hmac.compare_digest(token.encode(), token_for_parts(link_id, kind).encode()):
        return None
    return link_id


def token_for_parts(link_id: uuid.UUID, kind: str) -> str:
    return _b64(link_id.bytes) + _b64(_mac(kind, link_id))


def issue(
    session: AsyncSession,
    *,
    org_id: uuid.UUID,
    kind: LinkKind,
    subject_id: uuid.UUID,
    expires_at: dt.datetime | None,
) -> tuple[AccessLink, str]:
    """A new link and its token, in the caller's transaction."""
    link = AccessLink(
        id=uuid7(), org_id=org_id, kind=kind.value, subject_id=subject_id, expires_at=expires_at
    )
    session.add(link)
    return link, token_for(link)


async def current(
    session: AsyncSession, *, org_id: uuid.UUID, kind: LinkKind, subject_id: uuid.UUID
) -> AccessLink | None:
    """The newest usable link of ``kind`` for ``subject_id`` (to reuse instead of minting)."""
    now = dt.datetime.now(dt.UTC)
    return await session.scalar(
        select(AccessLink)
        .where(
            AccessLink.org_id == org_id,
            AccessLink.kind == kind.value,
            AccessLink.subject_id == subject_id,
            AccessLink.revoked_at.is_(None),
            (AccessLink.expires_at.is_(None)) | (AccessLink.expires_at > now),
        )
        .order_by(AccessLink.created_at.desc(), AccessLink.id.desc())
        .limit(1)
    )


async def resolve(
    session: AsyncSession, token: str, kind: LinkKind, *, touch: bool = True
) -> AccessLink:
    """The live link a token opens, or ``LinkNotFound`` (forged, altered, another kind,
    expired, revoked: all alike)."""
    link_id = link_id_of(token, kind)
    if link_id is None:
        raise LinkNotFound("this link is not valid: ask for a new one")
    link = await session.get(AccessLink, link_id)
    now = dt.datetime.now(dt.UTC)
    if (
        link is None
        or link.kind != kind.value
        or link.revoked_at is not None
        or (link.expires_at is not None and link.expires_at <= now)
    ):
        raise LinkNotFound("this link is not valid: ask for a new one")
    if touch:
        link.last_used_at = now
    return link


async def revoke(session: AsyncSession, *, org_id: uuid.UUID, link_id: uuid.UUID) -> AccessLink:
    """Revoke one link of the organisation (again is a no-op); ``LinkNotFound`` otherwise."""
    link = await session.get(AccessLink, link_id)
    if link is None or link.org_id != org_id:
        raise LinkNotFound("no such link")
    if link.revoked_at is None:
        link.revoked_at = dt.datetime.now(dt.UTC)
    return link


async def revoke_all(
    session: AsyncSession, *, org_id: uuid.UUID, kind: LinkKind, subject_id: uuid.UUID
) -> int:
    """Revoke every live link of ``kind`` for ``subject_id`` (a re-printed label)."""
    result = await session.execute(
        update(AccessLink)
        .where(
            AccessLink.org_id == org_id,
            AccessLink.kind == kind.value,
            AccessLink.subject_id == subject_id,
            AccessLink.revoked_at.is_(None),
        )
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def list_for(
    session: AsyncSession, *, org_id: uuid.UUID, kind: LinkKind, subject_id: uuid.UUID
) -> list[AccessLink]:
    rows = await session.scalars(
        select(AccessLink)
        .where(
            AccessLink.org_id == org_id,
            AccessLink.kind == kind.value,
            AccessLink.subject_id == subject_id,
        )
        .order_by(AccessLink.created_at, AccessLink.id)
    )
    return list(rows)


def url(kind: LinkKind, token: str) -> str:
    """The public address of a link (``FIXFLOW_PUBLIC_URL``)."""
    prefix = {LinkKind.STATUS: "t", LinkKind.QR: "q", LinkKind.SURVEY: "s"}[kind]
    return f"{get_settings().public_url}/{prefix}/{token}"


def carries_link(text: str) -> bool:
    """Whether ``text`` holds a link's address (``/s/`` and a token): a link is the
    customer's credential, so what leaves for others (webhooks) must not carry one."""
    return _IN_TEXT.search(text) is not None


def masked(text: str) -> str:
    """``text`` with every link's token cut to its first 4 characters and an ellipsis
    (``/s/AaJQ…``): a log may show which link went where, never a link that opens."""
    return _IN_TEXT.sub(lambda m: m.group(0)[:7] + "…", text)
