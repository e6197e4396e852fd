"""The "needs attention" list in the engineer's words: each item of ``Store.attention()``
(rejected changes, the server's flags, jobs that left the phone, new work) as a headline
and a reason in the engineer's language. A rejection's reason is the server's own
sentence. Also the phone's notification of new work (``announcement``) and the count of
new work Today shows (``new_work``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mobile.core.numbers import finite
from mobile.core.text import line, one_line, shown
from mobile.i18n import N_, _, ngettext

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
    if kind == "assigned":
        headline = _("New job")
        reason = (
            _("It has left your phone since: see above.")
            if item.get("gone")
            else _("Yours now: open it from Today.")
        )
        return (f"{headline}: {job}" if job else headline), reason
    if kind == "claimable":
        headline = _("New in the pool")
        reason = _("Claim it before a colleague does.")
        return (f"{headline}: {job}" if job else headline), reason
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


ARRIVALS = ("assigned", "claimable")


def new_work(items: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
    """(new jobs of the engineer's, new jobs in the pool) among the attention items not yet
    put away: what Today's banner counts (a job that has left since is not counted)."""
    mine = sum(1 for i in items if i.get("kind") == "assigned" and not i.get("gone"))
    return mine, sum(1 for i in items if i.get("kind") == "claimable")


def _named(item: Mapping[str, Any]) -> str:
    return line(item.get("number"), 40) or "—"


def announcement(arrivals: Sequence[Mapping[str, Any]]) -> tuple[str, str] | None:
    """(title, message) of the phone's notification of the new work one pull brought, in
    the engineer's language; None when it brought none. One job is named with its title;
    several are counted and their numbers listed."""
    mine = [a for a in arrivals if a.get("kind") == "assigned"]
    pool = [a for a in arrivals if a.get("kind") == "claimable"]
    if mine:
        if len(mine) == 1:
            title = (
                _("New job {number}: {title}")
                .format(number=_named(mine[0]), title=line(mine[0].get("title"), 80))
                .rstrip(" :\uff1a")
            )  # no title: no colon
        else:
            title = ngettext("{n} new job", "{n} new jobs", len(mine)).format(n=len(mine))
        message = ", ".join(_named(a) for a in mine[:5]) if len(mine) > 1 else ""
        if pool:
            more = ngettext("{n} new job in the pool", "{n} new jobs in the pool", len(pool))
            message = "; ".join(filter(None, (message, more.format(n=len(pool)))))
        return title, message or _("It is on your list in Fixflow.")
    if not pool:
        return None
    if len(pool) == 1:
        title = (
            _("New job in the pool {number}: {title}")
            .format(number=_named(pool[0]), title=line(pool[0].get("title"), 80))
            .rstrip(" :\uff1a")
        )
    else:
        title = ngettext("{n} new job in the pool", "{n} new jobs in the pool", len(pool)).format(
            n=len(pool)
        )
    return title, _("Open the pool in Fixflow to claim.")
