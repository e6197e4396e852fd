"""The customer's pages: ``/t/{token}`` (a work order's status, and a form to add to it)
and ``/q/{token}`` (an asset's fault report form). Server-rendered, no JavaScript needed.

A token that does not open (forged, altered, another kind, expired, revoked, or a work
order ended long ago) answers the one 404 page. Bad input re-renders the form with the
reasons (422); too many posts answer a 429 page saying when to try again. A filled
honeypot answers as if all went well and keeps nothing."""

from __future__ import annotations

import datetime as dt
import math
import pathlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from server import ratelimit
from server.attachments.http import BlobStoreDep
from server.deps import SessionDep
from server.errors import TooManyRequests
from server.http import reads_own_input
from server.languages import Language
from server.links import AccessLink, LinkKind, LinkNotFound
from server.links import service as links
from server.pages.http import (
    language_for,
    not_found,
    page,
    read_form,
    register_templates,
    text,
)
from server.portal import forms, photos, report, status, updates
from server.portal.forms import Problems
from server.portal.pages import http as messages
from server.tickets import Ticket, format_number

router = APIRouter(include_in_schema=False)
register_templates(pathlib.Path(__file__).resolve().parents[1] / "templates")
assert messages.EN  # the pages' words are registered on import

PAGE_FORM_MAX_BYTES = photos.MAX_PHOTOS * photos.MAX_PHOTO_BYTES + 256 * 1024
# Posts per token and per client address, per hour.
PER_TOKEN, PER_ADDRESS, WINDOW_S = 5, 20, 3600
_TIME = "%Y-%m-%d %H:%M"


def _other(lang: Language) -> str:
    return "en" if lang == "zh_CN" else "zh_CN"


def _common(lang: Language) -> dict[str, Any]:
    return {
        "other_lang": _other(lang),
        "errors": [],
        "max_photos": photos.MAX_PHOTOS,
        "photo_mb": photos.MAX_PHOTO_BYTES // (1024 * 1024),
        "note_max": updates.NOTE_MAX,
    }


def _errors(lang: Language, problems: Problems) -> list[str]:
    return [text(lang, key, **values) for key, values in problems.items]


async def _limited(request: Request, link: AccessLink, lang: Language) -> HTMLResponse | None:
    """The 429 page once the token or the client's address sent too much this hour."""
    client = ratelimit.client_key(request.client.host if request.client else None)
    redis = request.app.state.redis
    try:
        await ratelimit.hit(redis, f"portal:link:{link.id}", limit=PER_TOKEN, window_s=WINDOW_S)
        await ratelimit.hit(redis, f"portal:ip:{client}", limit=PER_ADDRESS, window_s=WINDOW_S)
    except TooManyRequests as exc:
        seconds = int(exc.headers.get("Retry-After", WINDOW_S))
        response = page(
            "portal_limited.html", lang, {"minutes": math.ceil(seconds / 60)}, status_code=429
        )
        response.headers["Retry-After"] = str(seconds)
        return response
    return None


async def _read_form(request: Request) -> tuple[dict[str, str], list[bytes]] | None:
    """The fields and the photos' bytes; None for a body that is not a readable form."""
    return await read_form(
        request,
        max_fields=20,
        file_field="photos",
        max_files=photos.MAX_PHOTOS + 1,
        max_file_bytes=photos.MAX_PHOTO_BYTES,
    )


# --- /t/{token} ----------------------------------------------------------------------------


def _window(window: tuple[dt.datetime, dt.datetime] | None) -> tuple[str, str] | None:
    """``2026-12-08 09:00`` to ``12:00`` (the end's date only when it is another day)."""
    if window is None:
        return None
    start, end = window
    same_day = start.date() == end.date()
    return start.strftime(_TIME), end.strftime("%H:%M" if same_day else _TIME)


async def _status_ticket(request: Request, session: SessionDep, token: str) -> Ticket:
    link = await links.resolve(session, token, LinkKind.STATUS)
    request.state.portal_link = link
    return await status.ticket_of(session, link, dt.datetime.now(dt.UTC))


async def _status_page(
    session: SessionDep,
    ticket: Ticket,
    lang: Language,
    *,
    notice: bool = False,
    problems: Problems | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    v = await status.view(session, ticket)
    context = {
        **_common(lang),
        "v": v,
        "steps": [{"key": s.key, "at": s.at.strftime(_TIME)} for s in v.steps],
        "eta": v.eta.strftime("%H:%M") if v.eta else None,
        "window": _window(v.window),
        "notice": notice,
        "can_add": ticket.status not in ("closed", "cancelled"),
        "form": {"note": (form or {}).get("note", "")},
        "errors": _errors(lang, problems) if problems else [],
    }
    return page("portal_status.html", lang, context, status_code=422 if problems else 200)


@router.api_route("/t/{token}", methods=["GET", "HEAD"], response_class=HTMLResponse)
@reads_own_input
async def status_page(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    lang = language_for(request)
    try:
        ticket = await _status_ticket(request, session, token)
    except LinkNotFound:
        return not_found(lang)
    sent = request.query_params.get("sent") == "1"
    return await _status_page(session, ticket, lang, notice=sent)


@router.post("/t/{token}", response_class=HTMLResponse)
@reads_own_input
async def status_add(
    token: str, request: Request, session: SessionDep, store: BlobStoreDep
) -> Response:
    lang = language_for(request)
    try:
        ticket = await _status_ticket(request, session, token)
    except LinkNotFound:
        return not_found(lang)
    if (limited := await _limited(request, request.state.portal_link, lang)) is not None:
        return limited
    read = await _read_form(request)
    if read is None:
        problems = Problems()
        problems.add("portal.error.form")
        return await _status_page(session, ticket, lang, problems=problems)
    fields, sent = read
    if not forms.is_bot(fields):
        update, problems = forms.status_note(fields, sent)
        if ticket.status in ("closed", "cancelled"):  # a page opened before it ended
            problems = Problems()
            problems.add("portal.error.ended")
        if problems:
            return await _status_page(session, ticket, lang, problems=problems, form=fields)
        await updates.lock_subject(session, ticket.id)
        await updates.add(session, store, ticket=ticket, update=update, source="status")
    return RedirectResponse(f"/t/{token}?lang={lang}&sent=1", status_code=303)


# --- /q/{token} ----------------------------------------------------------------------------


def _asset_name(asset: Any) -> str:
    return " · ".join(p for p in (asset.name, asset.product_model, asset.serial_number) if p)


async def _qr_form(
    session: SessionDep,
    link: AccessLink,
    lang: Language,
    *,
    problems: Problems | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    asset = await report.asset_of(session, link)
    values = {key: (form or {}).get(key, "") for key in ("what", "name", "phone", "email")}
    context = {
        **_common(lang),
        "asset": _asset_name(asset),
        "form": {**values, "preferred": (form or {}).get("preferred", "asap")},
        "preferred_choices": forms.PREFERRED,
        "errors": _errors(lang, problems) if problems else [],
    }
    return page("portal_qr.html", lang, context, status_code=422 if problems else 200)


@router.api_route("/q/{token}", methods=["GET", "HEAD"], response_class=HTMLResponse)
@reads_own_input
async def qr_page(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    lang = language_for(request)
    try:
        link = await links.resolve(session, token, LinkKind.QR)
        return await _qr_form(session, link, lang)
    except LinkNotFound:
        return not_found(lang)


@router.post("/q/{token}", response_class=HTMLResponse)
@reads_own_input
async def qr_report(
    token: str, request: Request, session: SessionDep, store: BlobStoreDep
) -> HTMLResponse:
    lang = language_for(request)
    try:
        link = await links.resolve(session, token, LinkKind.QR)
        await report.asset_of(session, link)
    except LinkNotFound:
        return not_found(lang)
    if (limited := await _limited(request, link, lang)) is not None:
        return limited
    read = await _read_form(request)
    if read is None:
        problems = Problems()
        problems.add("portal.error.form")
        return await _qr_form(session, link, lang, problems=problems)
    fields, sent = read
    update, problems = forms.qr_report(fields, sent)
    if problems:
        return await _qr_form(session, link, lang, problems=problems, form=fields)
    if forms.is_bot(fields):
        bot = {**_common(lang), "attached": False, "number": "—", "status_url": None}
        return page("portal_thanks.html", lang, bot)
    done = await report.report(session, store, link=link, update=update)
    context = {
        **_common(lang),
        "attached": done.attached,
        "number": format_number(done.ticket.number),
        "status_url": f"{done.status.url}?lang={lang}" if done.status is not None else None,
    }
    return page("portal_thanks.html", lang, context)


@router.api_route("/t/{rest:path}", methods=["GET", "HEAD", "POST"], response_class=HTMLResponse)
@router.api_route("/q/{rest:path}", methods=["GET", "HEAD", "POST"], response_class=HTMLResponse)
@reads_own_input
async def beyond_a_page(rest: str, request: Request) -> HTMLResponse:
    """No token (``/t/``, a link cut short in a message) or a path past one (``/t/{token}/``):
    the one not-found page, as for a token that does not open, never the API's JSON 404."""
    return not_found(language_for(request))
