"""The customer's side of a survey, behind ``/s/{token}`` (no account, no JavaScript).

``open_survey`` finds what a survey link opens (``LinkNotFound`` for a forged, altered,
expired or revoked token, or one of another kind: the page answers them all alike);
``read_answers`` checks a submitted form: every scale question the template asks must be
answered with a value of its scale (ASCII digits only), the comment is optional and at most
``COMMENT_LIMIT`` characters. Errors are message keys, shown in the page's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.links import LinkKind, LinkNotFound
from server.links import service as links
from server.surveys.models import SurveyInvitation, SurveyTemplate
from server.surveys.responses import Answers
from server.text import visible
from server.tickets import Ticket, format_number

# question -> (lowest, highest)
SCALES: dict[str, tuple[int, int]] = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
COMMENT_LIMIT = 2000


@dataclass(frozen=True)
class Survey:
    invitation: SurveyInvitation
    template: SurveyTemplate
    ticket_number: str


async def open_survey(session: AsyncSession, token: str) -> Survey:
    link = await links.resolve(session, token, LinkKind.SURVEY)
    row = (
        await session.execute(
            select(SurveyInvitation, SurveyTemplate, Ticket.number)
            .join(SurveyTemplate, SurveyTemplate.id == SurveyInvitation.template_id)
            .join(Ticket, Ticket.id == SurveyInvitation.ticket_id)
            .where(
                SurveyInvitation.id == link.subject_id,
                SurveyInvitation.org_id == link.org_id,
                SurveyInvitation.link_id == link.id,
            )
        )
    ).one_or_none()
    if row is None:
        raise LinkNotFound("this link is not valid: ask for a new one")
    invitation, template, number = row
    return Survey(invitation, template, format_number(number))


def _scale_value(raw: str | None, low: int, high: int) -> int | str:
    """The answer, or the key of what is wrong with it."""
    if raw is None or raw == "":
        return "survey.error.required"
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 2) or not low <= int(raw) <= high:
        return "survey.error.range"
    return int(raw)


def read_answers(
    questions: list[str], form: Mapping[str, str]
) -> tuple[Answers | None, dict[str, str]]:
    """(the answers, {}) or (None, {question: message key})."""
    values: dict[str, int | None] = {"csat": None, "nps": None, "ces": None}
    errors: dict[str, str] = {}
    for question in questions:
        if question not in SCALES:
            continue
        found = _scale_value(form.get(question), *SCALES[question])
        if isinstance(found, str):
            errors[question] = found
        else:
            values[question] = found
    comment = None
    if "comment" in questions:
        comment = (form.get("comment") or "").replace("\x00", "").strip() or None
        if comment is not None and not visible(comment):
            comment = None  # only zero-width or direction marks: nothing was written
        if comment is not None and len(comment) > COMMENT_LIMIT:
            errors["comment"] = "survey.error.long"
        if comment is None and not any(q in SCALES for q in questions):
            errors["comment"] = "survey.error.empty"  # the only question: not an answer
    if errors:
        return None, errors
    return Answers(comment=comment, **values), {}
