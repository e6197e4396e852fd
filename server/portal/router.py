"""Staff API for the customer pages: status links of work orders, QR links and labels of
assets (docs/customer-pages.md)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Response

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.errors import Unprocessable
from server.http import problems
from server.links import AccessLink
from server.links import service as links_service
from server.portal import labels
from server.portal import links as service
from server.portal.schemas import LabelSheetIn, LinkRead, QrLinkRead, StatusLinkRead

router = APIRouter(prefix="/api/v1", tags=["customer pages"])
TicketReader = Annotated[Actor, require("tickets:read")]
TicketWriter = Annotated[Actor, require("tickets:write")]
AssetReader = Annotated[Actor, require("customers:read")]
AssetWriter = Annotated[Actor, require("customers:write")]
_PNG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/png": {}}, "description": "The label"}
}
_PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "A4 sheets of labels"}
}


def _read(link: AccessLink) -> LinkRead:
    now = dt.datetime.now(dt.UTC)
    live = link.revoked_at is None and (link.expires_at is None or link.expires_at > now)
    return LinkRead(
        id=link.id,
        kind=link.kind,
        subject_id=link.subject_id,
        # Cut: a list (viewers read it) shows which link, never one that opens; the token is
        # the customer's credential, and a usable link comes from POST .../status-link.
        url=links_service.masked(service.url_of(link)),
        created_at=link.created_at or now,
        expires_at=link.expires_at,
        revoked_at=link.revoked_at,
        last_used_at=link.last_used_at,
        live=live,
    )


@router.post(
    "/tickets/{ticket_id}/status-link",
    summary="The customer's status link of a work order (reused while it lives)",
    description=(
        "Answers the work order's live status link (`/t/{token}`), or makes one. It expires "
        "90 days after it was made while the work order is open, 30 days after the work "
        "order was closed or cancelled. Staff who may see the work order (an engineer: "
        "their own); viewers may not make links."
    ),
    response_model=StatusLinkRead,
    responses=problems(403, 404),
)
async def make_status_link(
    ticket_id: uuid.UUID, session: SessionDep, actor: TicketWriter
) -> StatusLinkRead:
    issued = await service.status_link(session, actor, ticket_id=ticket_id)
    await session.flush()
    return StatusLinkRead(id=issued.link.id, url=issued.url, expires_at=issued.link.expires_at)


@router.get(
    "/tickets/{ticket_id}/links",
    summary="A work order's status links, revoked and expired ones too",
    response_model=list[LinkRead],
    responses=problems(403, 404),
)
async def list_status_links(
    ticket_id: uuid.UUID, session: SessionDep, actor: TicketReader
) -> list[LinkRead]:
    return [_read(link) for link in await service.list_links(session, actor, ticket_id=ticket_id)]


@router.delete(
    "/links/{link_id}",
    summary="Revoke a status or QR link (it stops working at once)",
    response_model=LinkRead,
    responses=problems(403, 404),
)
async def revoke_link(link_id: uuid.UUID, session: SessionDep, actor: TicketWriter) -> LinkRead:
    link = await service.revoke(session, actor, link_id=link_id)
    return _read(link)


@router.get(
    "/assets/{asset_id}/label.png",
    summary="The asset's QR label (PNG)",
    description=(
        "A QR code of the asset's fault-report address (`/q/{token}`, made on first use, "
        "never expires) with its name, model and serial number under it."
    ),
    response_class=Response,
    responses={**_PNG, **problems(403, 404)},
)
async def asset_label(asset_id: uuid.UUID, session: SessionDep, actor: AssetReader) -> Response:
    label = await service.qr_label(session, actor, asset_id=asset_id)
    data = await to_thread.run_sync(labels.png, label)
    return Response(data, media_type="image/png", headers={"Cache-Control": "private, no-store"})


@router.post(
    "/assets/labels.pdf",
    summary="A printable A4 sheet of QR labels for many assets (PDF)",
    description="21 labels (70 x 42.3 mm) per A4 page, in the order given; at most 200 assets.",
    response_class=Response,
    responses={**_PDF, **problems(403, 404, 422)},
)
async def asset_labels(body: LabelSheetIn, session: SessionDep, actor: AssetReader) -> Response:
    if len(set(body.asset_ids)) != len(body.asset_ids):
        raise Unprocessable("each asset may be named once", field="asset_ids")
    sheet = [await service.qr_label(session, actor, asset_id=i) for i in body.asset_ids]
    data = await to_thread.run_sync(labels.pdf, sheet)
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": 'attachment; filename="qr-labels.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@router.post(
    "/assets/{asset_id}/label/reissue",
    summary="A new QR link for the asset; every older label stops working",
    response_model=QrLinkRead,
    responses=problems(403, 404),
)
async def reissue_label(asset_id: uuid.UUID, session: SessionDep, actor: AssetWriter) -> QrLinkRead:
    issued = await service.reissue_qr(session, actor, asset_id=asset_id)
    return QrLinkRead(id=issued.link.id, url=issued.url)
