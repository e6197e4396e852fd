"""The links staff hand to customers: a work order's status link, an asset's QR link.

- A status link follows the one rule in server/tickets/status_links.py (reused while it
  lives; 90 days while the work order is open, 30 after it ended), which the messages
  customers get (server/notify) follow too.
- A QR link never expires: it is printed on a label. Reissuing revokes every older one.
- Staff who may see the work order (an engineer: their own) or the asset manage its links;
  viewers only read. Anything else is 404, like a link that does not exist.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.customers import Asset
from server.customers import service as customers
from server.errors import Forbidden, NotFound
from server.links import AccessLink, LinkKind, LinkNotFound
from server.links import service as links
from server.portal.labels import Label, label_lines
from server.tickets import service as tickets
from server.tickets import status_links

# The rule itself lives with the work orders (server/tickets/status_links.py).
AFTER_END = status_links.AFTER_END
Issued = status_links.Issued
ended_at = status_links.ended_at
status_link_for = status_links.status_link_for
url_of = status_links.url_of


def _writer(actor: Actor, what: str) -> None:
    if actor.is_viewer or not actor.can("tickets:write"):
        raise Forbidden(f"viewers and read-only keys cannot {what}")


async def status_link(session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID) -> Issued:
    _writer(actor, "make status links")
    ticket = await tickets.get(session, actor, ticket_id=ticket_id)
    return await status_link_for(session, ticket)


async def list_links(
    session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID
) -> list[AccessLink]:
    """Every status link a work order has had (revoked and expired ones too), oldest first."""
    ticket = await tickets.get(session, actor, ticket_id=ticket_id)
    return await links.list_for(
        session, org_id=actor.org_id, kind=LinkKind.STATUS, subject_id=ticket.id
    )


async def revoke(session: AsyncSession, actor: Actor, *, link_id: uuid.UUID) -> AccessLink:
    """Revoke a status or QR link of something the caller may see (again: no-op)."""
    link = await session.get(AccessLink, link_id)
    if link is None or link.org_id != actor.org_id or link.kind == LinkKind.SURVEY:
        raise LinkNotFound(f"link {link_id} not found")
    try:
        if link.kind == LinkKind.QR:
            await customers.get_asset(session, actor, asset_id=link.subject_id)
        else:
            await tickets.get(session, actor, ticket_id=link.subject_id)
    except NotFound as exc:  # the subject is not the caller's to see: nor is its link
        raise LinkNotFound(f"link {link_id} not found") from exc
    _writer(actor, "revoke links")
    if link.kind == LinkKind.QR:
        actor.require_office_writer("revoke QR labels")
    return await links.revoke(session, org_id=actor.org_id, link_id=link.id)


async def qr_link_for(session: AsyncSession, asset: Asset) -> Issued:
    """The asset's live QR link, else a new one (never expires)."""
    live = await links.current(session, org_id=asset.org_id, kind=LinkKind.QR, subject_id=asset.id)
    if live is not None:
        return Issued(live, url_of(live))
    link, token = links.issue(
        session, org_id=asset.org_id, kind=LinkKind.QR, subject_id=asset.id, expires_at=None
    )
    return Issued(link, links.url(LinkKind.QR, token))


async def qr_link(session: AsyncSession, actor: Actor, *, asset_id: uuid.UUID) -> Issued:
    asset = await customers.get_asset(session, actor, asset_id=asset_id)
    return await qr_link_for(session, asset)


async def reissue_qr(session: AsyncSession, actor: Actor, *, asset_id: uuid.UUID) -> Issued:
    """A new QR link for the asset; every older one stops working (a lost or copied label)."""
    asset = await customers.get_asset(session, actor, asset_id=asset_id)
    actor.require_office_writer("reissue QR labels")
    await links.revoke_all(session, org_id=asset.org_id, kind=LinkKind.QR, subject_id=asset.id)
    await session.flush()
    link, token = links.issue(
        session, org_id=asset.org_id, kind=LinkKind.QR, subject_id=asset.id, expires_at=None
    )
    return Issued(link, links.url(LinkKind.QR, token))


async def qr_label(session: AsyncSession, actor: Actor, *, asset_id: uuid.UUID) -> Label:
    """What the asset's label shows: its QR address, name, model and serial number."""
    asset = await customers.get_asset(session, actor, asset_id=asset_id)
    issued = await qr_link_for(session, asset)
    lines = label_lines(asset.name, asset.product_model, asset.serial_number)
    return Label(url=issued.url, lines=lines)
