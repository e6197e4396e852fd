"""Collect one work order's service report: ``gather(session, actor, ticket_id)``.

Who may: whoever may read the work order (``tickets.service.get``): the back office of its
organisation, integration keys, and the engineer it is assigned to; anyone else gets the
same 404 as for a work order that does not exist. Everything else is read through the
owning domains' services (customers, field visits, labour, checklists, attachments), each
of which applies the same rule again.

What the customer sees, and what they do not (server/service_report/data.py):

- **Parts** come from the stock ledger (the truth of what left the van): the work order's
  ``consume`` lines minus its ``good`` returns (unused units taken back), as in
  server/parts/reports/service.py ``work_order_cost``. They are priced at the part's **price** (what
  the customer pays), never its cost (internal): the price each ``consume`` line recorded
  when the part was used (``unit_price``), so a report printed after a price change still
  shows what was charged; a part used at two prices is two lines. Lines recorded before
  prices were kept take the catalogue's current price. A good return takes back its own
  unit (serialised) or the units used last. Units taken out of the equipment, ``defective``
  returns and serialised units returned good that this work order did not fit, are listed,
  not charged.
- **Labour**: active entries only (not voided, not replaced by an adjustment).
- **Visits**: device times and whether each check was at the site; never the position.
- **Work done**: the resolution and the engineer's findings (``resolution_notes``). Notes
  (server/field ``TicketNote``) are internal and stay out.
- **Photos** (role ``photo``, bytes uploaded) and **signatures**: re-encoded from their
  pixels (server/service_report/pictures.py), so no EXIF/GPS reaches the PDF. A signature
  whose image has not arrived yet is drawn from its strokes.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from anyio import to_thread
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.attachments import Attachment, AttachmentStatus, Blob, BlobStore, Role
from server.attachments import service as attachments
from server.auth import Actor
from server.auth import service as auth_service
from server.config import get_settings
from server.customers import service as customers
from server.engineers import Engineer
from server.field import checklists, labour_review
from server.field import visits as field_visits
from server.orgs import service as orgs
from server.parts import MovementKind, Part, StockMovement
from server.service_report import pictures
from server.service_report.data import (
    AssetInfo,
    ChecklistLine,
    ChecklistSection,
    CustomerInfo,
    LabourLine,
    PartLine,
    Photo,
    Picture,
    RemovedPart,
    ReportData,
    SignatureInfo,
    SiteInfo,
    Timeline,
    VisitLine,
    WorkDone,
)
from server.service_report.labels import Language
from server.tickets import Ticket, format_number
from server.tickets import service as tickets

log = logging.getLogger("fixflow.service_report")

MAX_PHOTOS = 24  # 3 a row; more are counted, not printed
MAX_SIGNATURES = 5
_PAGE = 200  # attachments read per page
CENT = Decimal("0.01")


async def report_language(session: AsyncSession, actor: Actor, requested: str | None) -> Language:
    """The language asked for, else the caller's own (a user's ``locale``), else English
    (integration keys have none)."""
    return await auth_service.language_of(session, actor, requested)


async def gather(
    session: AsyncSession,
    actor: Actor,
    ticket_id: uuid.UUID,
    *,
    store: BlobStore | None = None,
    now: dt.datetime | None = None,
) -> ReportData:
    """The report's data. Without ``store`` it has no photos, and signatures are drawn
    from their strokes."""
    ticket = await tickets.get(session, actor, ticket_id=ticket_id)
    org = await orgs.get_own(session, actor)
    zone = await orgs.zone_of(session, org)
    customer = await customers.get_customer(session, actor, customer_id=ticket.customer_id)
    visits = await field_visits.list_visits(session, actor, ticket_id=ticket.id)
    entries, _ = await labour_review.sheet(session, actor, ticket_id=ticket.id)
    active = [e.entry for e in entries if e.state == "active"]
    people = {ticket.assignee_id, *(v.visit.engineer_id for v in visits)}
    names = await _engineer_names(session, actor, people | {e.engineer_id for e in active})
    unknown = "–"
    parts, removed = await _parts(session, actor, ticket)
    photos, not_shown = await _photos(session, actor, ticket, store)
    return ReportData(
        org_name=org.name,
        time_zone=zone,
        number=format_number(ticket.number),
        status=ticket.status,
        type=ticket.type,
        priority=ticket.priority,
        customer=CustomerInfo(customer.name, customer.contact_name, customer.phone),
        problem_title=ticket.title,
        problem_description=ticket.description,
        timeline=await _timeline(session, actor, ticket, visits),
        generated_at=now or dt.datetime.now(dt.UTC),
        site=await _site(session, actor, ticket),
        asset=await _asset(session, actor, ticket, zone),
        engineer=names.get(ticket.assignee_id) if ticket.assignee_id else None,
        visits=[
            VisitLine(
                number=v.visit.number,
                engineer=names.get(v.visit.engineer_id, unknown),
                check_in=v.check_in.device_time,
                check_out=v.check_out.device_time if v.check_out else None,
                in_at_site=_at_site(v.check_in),
                out_at_site=_at_site(v.check_out) if v.check_out else None,
            )
            for v in visits
        ],
        work=WorkDone(
            resolution_code=ticket.resolution_code,
            fault_code=ticket.fault_code,
            root_cause=ticket.root_cause,
            summary=ticket.resolution_summary,
            notes=ticket.resolution_notes,
        ),
        checklist=await _checklist(session, actor, ticket),
        parts=parts,
        removed_parts=removed,
        labour=[
            LabourLine(e.kind, names.get(e.engineer_id, unknown), e.started_at, e.ended_at)
            for e in active
        ],
        photos=photos,
        photos_not_shown=not_shown,
        signatures=await _signatures(session, actor, ticket, store),
    )


# --- the parties -------------------------------------------------------------------------


async def _site(session: AsyncSession, actor: Actor, ticket: Ticket) -> SiteInfo | None:
    if ticket.site_id is None:
        return None
    site = await customers.get_site(session, actor, site_id=ticket.site_id)
    return SiteInfo(site.name, site.address)


async def _asset(
    session: AsyncSession, actor: Actor, ticket: Ticket, zone: str
) -> AssetInfo | None:
    if ticket.asset_id is None:
        return None
    asset = await customers.get_asset(session, actor, asset_id=ticket.asset_id)
    reported = orgs.local_date(ticket.created_at, zone)  # the customer's date of the call
    covered = None if asset.warranty_end is None else reported <= asset.warranty_end
    return AssetInfo(
        product_model=asset.product_model,
        serial_number=asset.serial_number,
        name=asset.name,
        install_date=asset.install_date,
        warranty_end=asset.warranty_end,
        under_warranty=covered,
    )


async def _engineer_names(
    session: AsyncSession, actor: Actor, ids: set[uuid.UUID | None]
) -> dict[uuid.UUID | None, str]:
    """Display names of the engineers who worked on it. Read here, not through the
    engineers service: that one hides colleagues from an engineer, but a report names who
    did an earlier visit."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(
        select(Engineer.id, Engineer.display_name).where(
            Engineer.org_id == actor.org_id, Engineer.id.in_(wanted)
        )
    )
    return {engineer_id: name for engineer_id, name in rows}


# --- what happened -----------------------------------------------------------------------


def _at_site(check: Any) -> bool | None:
    if check.distance_m is None:
        return None
    return not check.far_from_site


async def _timeline(
    session: AsyncSession, actor: Actor, ticket: Ticket, visits: list[Any]
) -> Timeline:
    arrived = min((v.check_in.device_time for v in visits), default=None)
    if arrived is None:  # arrived through the transition, without a check-in
        events = await tickets.list_events(session, actor, ticket_id=ticket.id)
        arrived = next((e.created_at for e in events if e.action == "arrive"), None)
    return Timeline(
        created_at=ticket.created_at,
        first_response_at=ticket.first_response_at,
        arrived_at=arrived,
        resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at,
    )


async def _checklist(session: AsyncSession, actor: Actor, ticket: Ticket) -> list[ChecklistSection]:
    found = await checklists.for_work_order(session, actor, ticket_id=ticket.id)
    sections = []
    for template, items in found.templates:
        lines = []
        for item in items:
            answer = found.answers.get(item.id)
            lines.append(
                ChecklistLine(
                    label=item.label,
                    kind=item.kind,
                    value=answer.value if answer is not None else None,
                    unit=item.unit,
                    required=item.required,
                )
            )
        sections.append(ChecklistSection(template.name, lines))
    return sections


@dataclass
class _Tally:
    sku: str
    name: str
    unit: str
    price: Decimal
    quantity: Decimal = Decimal(0)
    serials: list[str] = field(default_factory=list)


@dataclass
class _Lot:
    """One consume line of the ledger: what was fitted, at what price."""

    part_id: uuid.UUID
    price: Decimal
    quantity: Decimal
    serial: str | None
    tally: _Tally  # the part's description, for the line it joins


def _take_back(lots: list[_Lot], quantity: Decimal, serial: str | None) -> None:
    """Take ``quantity`` back from a part's lots: the unit's own when it is serialised,
    else the units used last."""
    if serial is not None:
        for lot in lots:
            if lot.serial == serial and lot.quantity > 0:
                lot.quantity = Decimal(0)
                return
    for lot in reversed(lots):
        taken = min(quantity, lot.quantity)
        lot.quantity -= taken
        quantity -= taken
        if quantity <= 0:
            return


async def _parts(
    session: AsyncSession, actor: Actor, ticket: Ticket
) -> tuple[list[PartLine], list[RemovedPart]]:
    """``parts`` and ``removed_parts`` from the ledger (the module docstring says how)."""
    rows = await session.execute(
        select(
            StockMovement.kind,
            StockMovement.condition,
            StockMovement.quantity,
            StockMovement.serial_number,
            func.coalesce(StockMovement.unit_price, Part.price),
            Part.id,
            Part.sku,
            Part.name,
            Part.unit,
        )
        .join(Part, (Part.id == StockMovement.part_id) & (Part.org_id == actor.org_id))
        .where(
            StockMovement.org_id == actor.org_id,
            StockMovement.ticket_id == ticket.id,
            StockMovement.kind.in_([MovementKind.CONSUME.value, MovementKind.RETURN.value]),
        )
        .order_by(StockMovement.created_at, StockMovement.id)
    )
    lots: list[_Lot] = []  # in order of use
    removed: dict[uuid.UUID, _Tally] = {}
    for kind, condition, quantity, serial, price, part_id, sku, name, unit in rows:
        if kind == MovementKind.CONSUME.value:
            lots.append(_Lot(part_id, price, quantity, serial, _Tally(sku, name, unit, price)))
            continue
        mine = [lot for lot in lots if lot.part_id == part_id]
        if condition == "good" and (
            serial is None or any(lot.serial == serial and lot.quantity > 0 for lot in mine)
        ):
            _take_back(mine, quantity, serial)  # an unused unit taken back, not charged
        else:  # out of the equipment: defective, or a unit this work order did not fit
            tally = removed.setdefault(part_id, _Tally(sku, name, unit, price))
            tally.quantity += quantity
            if serial:
                tally.serials.append(serial)
    used: dict[tuple[uuid.UUID, Decimal], _Tally] = {}  # by part and price, in order of use
    for lot in lots:
        if lot.quantity > 0:
            tally = used.setdefault((lot.part_id, lot.price), lot.tally)
            tally.quantity += lot.quantity
            if lot.serial:
                tally.serials.append(lot.serial)
    parts = [
        PartLine(
            sku=t.sku,
            name=t.name,
            unit=t.unit,
            quantity=t.quantity,
            unit_price=t.price,
            total=(t.quantity * t.price).quantize(CENT, ROUND_HALF_UP),
            serial_numbers=t.serials,
        )
        for t in used.values()
    ]
    gone = [RemovedPart(t.sku, t.name, t.quantity, t.serials) for t in removed.values()]
    return parts, gone


# --- pictures ----------------------------------------------------------------------------


async def _all_attachments(session: AsyncSession, actor: Actor, ticket: Ticket) -> list[Attachment]:
    out: list[Attachment] = []
    cursor = None
    while True:
        page = await attachments.list_attachments(
            session, actor, ticket_id=ticket.id, limit=_PAGE, cursor=cursor
        )
        out += page.items
        cursor = page.next_cursor
        if cursor is None:
            return out


async def _picture(
    store: BlobStore, blob: Blob | None, *, png: bool, longest: int
) -> Picture | None:
    """The best stored copy of an image, made fit to print (None when there is none)."""
    if blob is None:
        return None
    for sha in (blob.thumbnail_sha256 if not png else None, blob.customer_sha256, blob.sha256):
        if sha is None:
            continue
        try:
            data = await store.read_all(sha)
        except OSError:
            log.warning("blob %s is missing from the store", sha)
            continue
        max_pixels = get_settings().UPLOAD_MAX_PIXELS
        make = functools.partial(
            pictures.prepare, data, longest=longest, png=png, max_pixels=max_pixels
        )
        picture = await to_thread.run_sync(make)
        if picture is not None:
            return picture
    return None


async def _photos(
    session: AsyncSession, actor: Actor, ticket: Ticket, store: BlobStore | None
) -> tuple[list[Photo], int]:
    found = [
        a for a in await _all_attachments(session, actor, ticket) if a.role == Role.PHOTO.value
    ]
    ready = [a for a in found if a.status == AttachmentStatus.AVAILABLE.value]
    if store is None:
        return [], len(found)
    blobs = await attachments.blobs_of(session, actor, ready[:MAX_PHOTOS])
    photos = []
    for a in ready[:MAX_PHOTOS]:
        picture = await _picture(store, blobs.get(a.sha256), png=False, longest=pictures.PHOTO_PX)
        if picture is not None:
            photos.append(Photo(picture, a.caption, a.captured_at))
    return photos, len(found) - len(photos)


async def _signatures(
    session: AsyncSession, actor: Actor, ticket: Ticket, store: BlobStore | None
) -> list[SignatureInfo]:
    signed = (await attachments.list_signatures(session, actor, ticket_id=ticket.id))[
        -MAX_SIGNATURES:
    ]
    out = []
    for s in signed:
        picture = None
        if store is not None:
            image = await attachments.get_attachment(session, actor, attachment_id=s.attachment_id)
            if image.status == AttachmentStatus.AVAILABLE.value:
                blob = (await attachments.blobs_of(session, actor, [image])).get(image.sha256)
                picture = await _picture(store, blob, png=True, longest=pictures.SIGNATURE_PX)
        out.append(
            SignatureInfo(
                signer_name=s.signer_name,
                signed_status=s.signed_status,
                signed_at=s.device_time or s.created_at,
                picture=picture,
                strokes=s.strokes if isinstance(s.strokes, list) else [],
            )
        )
    return out
