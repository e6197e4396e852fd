"""The job screen's texts, from a ``JobView``: what each section says, whether the customer
can be called and the site navigated to, the history, reserved parts and what has been
recorded. Every server field goes through ``mobile.core.text`` (no "None", nothing longer
than a phone can draw) and every number or date is checked before it is believed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from mobile.core.geo import site_position
from mobile.core.job import JobView
from mobile.core.text import clip, line, one_line, shown
from mobile.device.uris import normalise_number
from mobile.i18n import _, format_quantity

SHORT = 200  # a name, an address: a few lines at most


@dataclass(frozen=True)
class Destination:
    """Where *Navigate* sends the maps app: a checked position, else the address."""

    lat: float | None
    lon: float | None
    address: str


@dataclass(frozen=True)
class JobCard:
    header: str
    customer_name: str
    contact: str
    phone: str
    phone_problem: str  # "" when the number can be dialled (or there is none)
    address: str
    access_notes: str
    destination: Destination | None  # None: no position and no address
    asset_line: str
    warranty_text: str
    in_warranty: bool
    description: str
    fault_code: str
    history: list[str] = field(default_factory=list)
    reserved: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)


def dialable(number: str) -> bool:
    try:
        normalise_number(number)
    except ValueError:
        return False
    return True


def _destination(site: dict[str, object], address: str) -> Destination | None:
    position = site_position(site)
    plain = " ".join(address.split())
    if position is None:
        return Destination(None, None, plain) if plain else None
    return Destination(position[0], position[1], plain)


def _warranty(job: JobView, today: dt.date) -> tuple[str, bool]:
    warranty, end = job.warranty(today), job.warranty_end
    label = {True: _("In warranty"), False: _("Out of warranty"), None: _("Warranty unknown")}
    return label[warranty] + (f"  ({_('until')} {end.isoformat()})" if end else ""), bool(warranty)


def _history(job: JobView) -> list[str]:
    lines = []
    for wo in job.history[:10]:
        created = wo.get("created_at")
        day = created[:10] if isinstance(created, str) else ""
        lines.append(clip(one_line(day, wo.get("number"), wo.get("title")), chars=SHORT))
    return lines


def _reserved(job: JobView) -> list[str]:
    return [
        clip(
            f"{format_quantity(str(part.get('quantity')))} × "
            + one_line(
                part.get("name"), f"({shown(part.get('sku'))})" if part.get("sku") else "", sep=" "
            ),
            chars=SHORT,
        )
        for part in job.reserved
    ]


def _records(job: JobView) -> list[str]:
    signer = shown(job.signatures[-1].get("signer_name")) if job.signatures else ""
    return [
        _("Visits: {n}").format(n=len(job.visits)),
        _("Checklist: {done} of {total} answered").format(
            done=sum(1 for c in job.checklist if c.answered), total=len(job.checklist)
        ),
        _("Photos: {n}").format(n=len(job.photos)),
        _("Parts used: {n}").format(n=len([p for p in job.parts if p.get("direction") == "use"])),
        _("Labour entries: {n}").format(n=len(job.labour)),
        _("Notes: {n}").format(n=len(job.notes)),
        (_("Signed by {name}").format(name=clip(signer, chars=SHORT)) if signer else _("Signed"))
        if job.signatures
        else _("Not signed yet"),
    ]


def job_card(job: JobView, today: dt.date) -> JobCard:
    """The job screen's texts for ``job`` (``today``: the engineer's local date)."""
    wo, customer, site, asset = job.work_order, job.customer or {}, job.site or {}, job.asset
    phone = shown(customer.get("phone")).strip()
    address = shown(site.get("address")) or shown(site.get("name"))
    warranty, in_warranty = _warranty(job, today)
    model, serial = (asset or {}).get("product_model"), (asset or {}).get("serial_number")
    asset_line = (
        f"{shown(model) or '—'}   {_('S/N')} {shown(serial) or '—'}"
        if asset
        else _("No asset recorded")
    )
    return JobCard(
        header=clip(one_line(wo.get("priority"), wo.get("number"), wo.get("title")), chars=SHORT),
        customer_name=clip(customer.get("name"), chars=SHORT),
        contact=clip(customer.get("contact_name"), chars=SHORT),
        phone=line(phone, 40),
        phone_problem=_("This number cannot be dialled") if phone and not dialable(phone) else "",
        address=clip(address, chars=SHORT),
        access_notes=clip(site.get("access_notes")),
        destination=_destination(site, address),
        asset_line=clip(asset_line, chars=SHORT),
        warranty_text=warranty,
        in_warranty=in_warranty,
        description=clip(wo.get("description")),
        fault_code=clip(wo.get("fault_code"), chars=SHORT),
        history=_history(job),
        reserved=_reserved(job),
        records=_records(job),
    )
