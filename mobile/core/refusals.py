"""What the engineer reads when the phone refuses an action: the store's reasons
(``ActionRefused``: English, for developers and logs) said in the engineer's language,
with what to do next."""

from __future__ import annotations

from mobile.i18n import N_, _
from mobile.store import ActionRefused


class InputRefused(ActionRefused):
    """Refused by the phone's own checks before the store was asked (what the engineer
    typed, a camera that failed): ``message`` is already in the engineer's language."""

    def __init__(self, message: str, field: str = "input") -> None:
        super().__init__(message, field)


# (field, a fragment of the store's message, what the engineer is told): first match wins.
_SAID: tuple[tuple[str, str, str], ...] = (
    ("work_order_id", "not on the phone", N_("This job is no longer on your phone")),
    ("work_order_id", "declined", N_("You declined this job: nothing more can be recorded on it.")),
    ("visit_id", "check out of the open visit", N_("Check out of the open visit first.")),
    ("visit_id", "already checked out", N_("This visit is already checked out.")),
    ("visit_id", "not on the phone", N_("This visit is no longer on your phone.")),
    ("entry_id", "not on the phone", N_("This time entry is no longer on your phone.")),
    ("entry_id", "voided", N_("This time entry was removed: there is nothing to correct.")),
    ("entry_id", "replaced", N_("This time entry was corrected already: correct the newer one.")),
    ("entry_id", "approved", N_("This time entry is approved: ask the office to correct it.")),
    (
        "entry_id",
        "colleague",
        N_("This is a colleague's time entry: you can correct only your own."),
    ),
    ("ended_at", "at most", N_("A time entry can cover at most 24 hours: split it in two.")),
    ("ended_at", "after", N_("The end must be after the start")),
    (
        "status",
        "",
        N_("This step does not fit the job's status now. Follow the buttons on the job."),
    ),
)


# The table's texts were marked with N_ where they are written; looking one up by value is
# not a new string for the catalogue (the extractor warns on _() of a variable).
translated = _


def explain(refused: ActionRefused) -> str:
    """The refusal in the engineer's language."""
    if isinstance(refused, InputRefused):
        return refused.message
    for field, fragment, message in _SAID:
        if refused.field == field and fragment in refused.message:
            return translated(message)
    return _("This cannot be recorded: {reason}").format(reason=refused.message)
