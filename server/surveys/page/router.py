"""``GET /s/{token}``: the survey page; ``POST /s/{token}``: its answers (once).

Server-rendered, no JavaScript; the language is ``?lang=``, else the template's, else the
browser's. A token that opens nothing (forged, altered, expired, revoked, another kind) is
the one not-found page. A second submission changes nothing and says so (409); invalid
answers re-render the form with the errors in the page's language (422).
"""

from __future__ import annotations

import pathlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from server import ratelimit
from server.deps import SessionDep
from server.errors import TooManyRequests
from server.http import reads_own_input
from server.languages import Language
from server.links import LinkNotFound
from server.pages.http import (
    add_messages,
    language_for,
    not_found,
    page,
    read_form,
    register_templates,
    text,
)
from server.surveys import words
from server.surveys.public import SCALES, Survey, open_survey, read_answers
from server.surveys.responses import AlreadyAnswered, record

add_messages({"en": words.EN, "zh_CN": words.ZH})
register_templates(pathlib.Path(__file__).resolve().parents[1] / "templates")
router = APIRouter(prefix="/s", tags=["customer pages"], include_in_schema=False)
# Submissions per link per minute (a customer answers once; a script hammering a link
# learns nothing either way).
SUBMIT_LIMIT = 20


def _wording(survey: Survey, lang: Language, question: str) -> str:
    own = (survey.template.wording or {}).get(lang, {}).get(question)
    return str(own) if own else text(lang, f"survey.q.{question}")


def _questions(
    survey: Survey, lang: Language, values: dict[str, str], errors: dict[str, str]
) -> list[dict[str, Any]]:
    out = []
    for name in survey.template.questions:
        low, high = SCALES.get(name, (0, -1))
        scale = list(range(low, high + 1))
        out.append(
            {
                "name": name,
                "text": _wording(survey, lang, name),
                "scale": scale,
                # NPS's eleven buttons in two rows of six: each stays a thumb wide.
                "columns": len(scale) if len(scale) <= 7 else 6,
                "low": text(lang, f"survey.{name}.low") if scale else "",
                "high": text(lang, f"survey.{name}.high") if scale else "",
                "value": values.get(name),
                "error": text(lang, errors[name]) if name in errors else None,
            }
        )
    return out


def _form(
    survey: Survey,
    lang: Language,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    context = {
        "number": survey.ticket_number,
        "questions": _questions(survey, lang, values or {}, errors or {}),
        "errors": bool(errors),
    }
    return page("survey_form.html", lang, context, status_code=422 if errors else 200)


def _finished(lang: Language, key: str, status_code: int = 200) -> HTMLResponse:
    return page("survey_thanks.html", lang, {"key": key}, status_code=status_code)


@router.api_route(
    "/{token}", methods=["GET", "HEAD"], summary="The survey page", response_class=HTMLResponse
)
@reads_own_input
async def survey_page(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    try:
        survey = await open_survey(session, token)
    except LinkNotFound:
        return not_found(language_for(request))
    lang = language_for(request, survey.invitation.language)
    if survey.invitation.status == "answered":
        return _finished(lang, "survey.done")
    return _form(survey, lang)


async def _limited(request: Request, token: str) -> HTMLResponse | None:
    """The page saying "wait" once the link was posted too often this minute."""
    try:
        await ratelimit.hit(request.app.state.redis, f"survey:{token[:64]}", limit=SUBMIT_LIMIT)
    except TooManyRequests as exc:
        response = _finished(language_for(request), "survey.limited", status_code=429)
        response.headers["Retry-After"] = exc.headers.get("Retry-After", "60")
        return response
    return None


@router.post("/{token}", summary="Answer the survey", response_class=HTMLResponse)
@reads_own_input
async def answer_survey(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    if (limited := await _limited(request, token)) is not None:
        return limited
    try:
        survey = await open_survey(session, token)
    except LinkNotFound:
        return not_found(language_for(request))
    lang = language_for(request, survey.invitation.language)
    read = await read_form(request, max_fields=20)
    values = read[0] if read is not None else {}  # unreadable: asked again, as if empty
    answers, errors = read_answers(list(survey.template.questions), values)
    if answers is None:
        return _form(survey, lang, values, errors)
    try:
        await record(session, survey.invitation, answers, language=lang)
    except AlreadyAnswered:
        return _finished(lang, "survey.done", status_code=409)
    return _finished(lang, "survey.thanks")


@router.api_route("/{rest:path}", methods=["GET", "HEAD", "POST"], response_class=HTMLResponse)
@reads_own_input
async def beyond_the_page(rest: str, request: Request) -> HTMLResponse:
    """No token (``/s/``) or a path past one: the one not-found page, never the API's 404."""
    return not_found(language_for(request))
