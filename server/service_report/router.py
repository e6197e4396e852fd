"""``GET /api/v1/tickets/{ticket_id}/report.pdf``: the customer's service report."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from anyio import to_thread
from fastapi import APIRouter, Query, Response

from server.attachments.http import BlobStoreDep
from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.http import problems
from server.service_report.gather import gather, report_language
from server.service_report.render import render

router = APIRouter(prefix="/api/v1/tickets", tags=["work orders"])
# The report names the customer, site and equipment, the parts and the engineers: it needs
# the read scope of each (docs/api.md, "Scopes of combined answers").
Reader = Annotated[Actor, require("tickets:read", "customers:read", "parts:read", "engineers:read")]


@router.get(
    "/{ticket_id}/report.pdf",
    summary="The service report (PDF) a customer keeps",
    description=(
        "One A4 PDF: customer, site and equipment, the problem, the timeline, visits, work "
        "done, checklist answers, parts with prices and totals (serials too), labour, "
        "photos and the customer's signature; times in the organisation's time zone. "
        "Labels in `lang` (`en`, `zh_CN`), else the caller's language. Internal data stays "
        "out: costs, GPS positions, internal notes. Readers of the work order may fetch it "
        "(an engineer: their own work orders); others get 404. An API key needs "
        "tickets:read, customers:read, parts:read and engineers:read. See "
        "docs/service-report.md."
    ),
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The report",
        },
        **problems(403, 404),
    },
)
async def service_report(
    ticket_id: uuid.UUID,
    session: SessionDep,
    actor: Reader,
    store: BlobStoreDep,
    lang: Annotated[
        Literal["en", "zh_CN"] | None,
        Query(description="Language of the labels (default: the caller's language)"),
    ] = None,
) -> Response:
    data = await gather(session, actor, ticket_id, store=store)
    language = await report_language(session, actor, lang)
    pdf = await to_thread.run_sync(render, data, language)
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{data.number}.pdf"',
            # Personal data (names, addresses, a signature): not for shared caches.
            "Cache-Control": "private, no-store",
        },
    )
