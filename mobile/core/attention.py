"""The "needs attention" list in the engineer's words: each item of ``Store.attention()``
(rejected changes, the server's flags, jobs that left the phone) as a headline and a
reason in the engineer's language. A rejection's reason is the server's own sentence."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mobile.core.numbers import finite
from mobile.core.text import line, one_line, shown
from mobile.i18n import N_, _

translated = _  # looks up texts marked with N_ below (not new strings for the catalogue)

# What a rejected change was, by mutation name.
ACTIONS = {
    "work_order.accept": N_("Accepting the job"),
    "work_order.reject": N_("Declining the job"),
    "work_order.start_travel": N_("Starting travel"),
    "work_order.hold": N_("Putting the job on hold"),
    "work_order.resume": N_("Resuming the job"),
    "work_order.resolve": N_("Resolving the job"),
    "work_order.update_findings": N_("The findings"),
    "visit.check_in": N_("Checking in"),
    "visit.check_out": N_("Checking out"),
    "labour.add": N_("A time entry"),
    "labour.void": N_("Removing a time entry"),
    "labour.adjust": N_("Correcting a time entry"),
    "part.use": N_("A part used"),
    "part.return": N_("A part taken back"),
    "note.add": N_("A note"),
    "checklist.answer": N_("A checklist answer"),
    "attachment.register": N_("A photo"),
    "signature.capture": N_("The customer's signature"),
}
# Why a job left the phone (the pull's reason codes).
DEPARTURES = {
    "reassigned": N_("The office gave this job to another engineer."),
    "unassigned": N_("The office took this job off your list."),
    "cancelled": N_("The office cancelled this job."),
    "out_of_scope": N_("This job is no longer in your work list."),
    "deleted": N_("This job was deleted by the office."),
}


def _job(item: Mapping[str, Any]) -> str:
    return line(one_line(item.get("number"), item.get("title"), sep=" "))


def _detail(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """The item's detail object ({} when the server sent anything else)."""
    detail = item.get("detail")
    return detail if isinstance(detail, Mapping) else {}


def _metres(value: Any) -> int | None:
    metres = finite(value)
    return None if metres is None else round(metres)


def _flag(item: Mapping[str, Any]) -> str:
    detail = _detail(item)
    checked_in = detail.get("side") != "check_out"
    if item.get("kind") == "clock_skew":
        return (
            _("The phone's clock was wrong when you checked in.")
            if checked_in
            else _("The phone's clock was wrong when you checked out.")
        )
    distance = detail.get("distance_m")
    if distance is None:
        return _("Checked in or out without a GPS position: the office may ask where you were.")
    metres = _metres(distance)
    if metres is None:
        return _("Checked in or out far from the site.")
    return _("Checked in or out {m} m from the site.").format(m=metres)


def describe(item: Mapping[str, Any]) -> tuple[str, str]:
    """(headline, reason) for one attention item."""
    kind, job, reason = shown(item.get("kind")), _job(item), line(item.get("reason"), 300)
    if kind == "rejected":
        what = ACTIONS.get(shown(_detail(item).get("mutation")), N_("A change"))
        headline = _("{what} was not accepted by the server").format(what=translated(what))
        return (f"{headline}: {job}" if job else headline), reason
    if kind == "removed":
        reason = DEPARTURES.get(str(item.get("reason")), DEPARTURES["out_of_scope"])
        headline = _("Job left your phone")
        return (f"{headline}: {job}" if job else headline), translated(reason)
    if kind in ("far_from_site", "clock_skew"):
        headline = _("Flagged by the server")
        return (f"{headline}: {job}" if job else headline), _flag(item)
    if kind == "negative_stock":
        detail = _detail(item)
        part = line(detail.get("name")) or line(detail.get("sku")) or "—"
        return _("Van stock below zero"), _(
            "The van shows {qty} of {part}: count it and tell the parts manager."
        ).format(qty=line(detail.get("on_hand"), 40) or "—", part=part)
    return kind, reason
