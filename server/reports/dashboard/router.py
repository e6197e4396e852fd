"""The managers' dashboard: ``/dashboard`` and its pages, behind a login of their own.

Server-rendered (server/pages: one base template, its strict CSP, no JavaScript), in the
reader's language: ``?lang=``, else their account's, else English; the login page before
anyone is known: ``?lang=``, else the browser's. Every page reads the KPI service with the
reader as the actor, so its rules are the API's: an engineer's numbers are their own work
only and another engineer's scorecard does not exist for them. A page's address holds its
whole selection (``selection``), so a view is a bookmark and the back button works.

Not logged in: 303 to ``/dashboard/login?next=<this page>``. The login form counts its
attempts in the API login's buckets (an address and a client share one allowance, whichever
door they knock on).
"""

from __future__ import annotations

import pathlib
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from server import ratelimit
from server.auth import Actor
from server.auth import service as auth_service
from server.config import Settings
from server.deps import SessionDep, SettingsDep
from server.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    OrganisationRequired,
    TooManyRequests,
    Unauthenticated,
    Unprocessable,
)
from server.http import reads_own_input
from server.languages import Language
from server.orgs import service as orgs
from server.pages.http import add_messages, language_for, page, read_form, register_templates, text
from server.reports.dashboard import content, quality, words
from server.reports.dashboard import http as web
from server.reports.dashboard.selection import Selection
from server.reports.dashboard.views import Words

add_messages({"en": words.EN, "zh_CN": words.ZH})
register_templates(pathlib.Path(__file__).resolve().parent / "templates")
router = APIRouter(prefix="/dashboard", tags=["dashboard"], include_in_schema=False)


def _other(lang: Language) -> str:
    return "en" if lang == "zh_CN" else "zh_CN"


# --- logging in and out ----------------------------------------------------------------------


def _login_form(
    request: Request,
    settings: Settings,
    lang: Language,
    *,
    error: str | None = None,
    status_code: int = 200,
    fields: dict[str, str] | None = None,
    organisations: list[dict[str, str]] | None = None,
) -> HTMLResponse:
    token, new = web.csrf_token(request)
    fields = fields or {}
    context = {
        "error": error,
        "csrf": token,
        "next": web.safe_next(fields.get("next") or request.query_params.get("next")),
        "email": fields.get("email", "")[:254],
        "organisation": fields.get("organisation", "")[:64],
        "organisations": organisations or [],
        "other_lang": _other(lang),
    }
    response = page("dash_login.html", lang, context, status_code=status_code)
    if new:
        web.set_csrf(response, settings, token)
    return response


@router.get("/login")
@reads_own_input
async def login_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    return _login_form(request, settings, language_for(request))


async def _limit(request: Request, settings: Settings, email: str) -> None:
    """The API login's limits, in its buckets (server/auth/router.py ``token``)."""
    client = ratelimit.client_key(request.client.host if request.client else None)
    limit = settings.LOGIN_ATTEMPTS_PER_MINUTE
    await ratelimit.hit(request.app.state.redis, f"login:user:{email}", limit=limit)
    await ratelimit.hit(request.app.state.redis, f"login:ip:{client}", limit=limit * 5)


@router.post("/login")
@reads_own_input
async def login(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    lang = language_for(request)
    read = await read_form(request, max_fields=10)
    fields = read[0] if read else {}
    if not web.csrf_ok(request, fields.get("csrf")):
        return _login_form(
            request, settings, lang, error=text(lang, "dash.login.expired"), status_code=403
        )
    email = fields.get("email", "")[:254].strip().lower()
    password = fields.get("password", "")[:200]
    organisation = fields.get("organisation", "")[:64].strip() or None
    try:
        await _limit(request, settings, email)
        pair = await auth_service.login(
            session, settings, email=email, password=password, organisation=organisation
        )
    except TooManyRequests as exc:
        seconds = exc.headers.get("Retry-After", "60")
        error = text(lang, "dash.login.limited", seconds=seconds)
        response = _login_form(request, settings, lang, error=error, status_code=429, fields=fields)
        response.headers["Retry-After"] = seconds
        return response
    except OrganisationRequired as exc:
        error = text(lang, "dash.login.several")
        return _login_form(
            request,
            settings,
            lang,
            error=error,
            status_code=409,
            fields=fields,
            organisations=list(exc.extra.get("organisations", [])),
        )
    except Unauthenticated:
        error = text(lang, "dash.login.wrong")
        return _login_form(request, settings, lang, error=error, status_code=401, fields=fields)
    done = RedirectResponse(web.safe_next(fields.get("next")), status_code=303)
    web.store(done, settings, pair)
    web.set_csrf(done, settings, web.new_csrf())  # a login gets a token of its own
    return done


@router.post("/logout")
@reads_own_input
async def logout(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    read = await read_form(request, max_fields=5)
    fields = read[0] if read else {}
    if not web.csrf_ok(request, fields.get("csrf")):
        lang = language_for(request)
        context = {"message": text(lang, "dash.logout.expired"), "other_lang": _other(lang)}
        return page("dash_message.html", lang, context, status_code=403)
    refresh = request.cookies.get(web.REFRESH)
    if refresh and len(refresh) <= 200:
        await auth_service.logout(session, refresh_token=refresh)
    response = RedirectResponse(f"{web.PATH}/login", status_code=303)
    web.forget(response, settings)
    return response


# --- the pages -------------------------------------------------------------------------------

Build = Callable[[Actor, Selection, Words, Language], Awaitable[dict[str, Any]]]
# What a page answers when the selection cannot be shown: a filter naming another
# organisation's engineer or customer, an unknown metric (404); an engineer user without
# an engineer profile (403); a drill-down's cursor that is not one (400: a tampered or
# truncated ``cursor=`` in the address); a query the service refuses (422). Each is a page
# in the reader's language, never the API's problem+json.
_REFUSALS = (NotFound, Forbidden, Unprocessable, BadRequest)
_REFUSAL_WORDS = {Forbidden: "dash.forbidden", BadRequest: "dash.drill.cursor"}


def _t(lang: Language) -> Words:
    def t(key: str, **values: Any) -> str:
        return text(lang, key, **values)

    return t


async def _render(
    request: Request, session: AsyncSession, settings: Settings, template: str, build: Build
) -> Response:
    """A page for the logged-in reader (else the redirect to the login page): its frame
    (navigation, the filter bar, the language switch) and what ``build`` reads for it."""
    visitor = await web.visitor(request, session, settings)
    if visitor is None:
        return web.to_login(request)
    actor = visitor.actor
    lang = await auth_service.language_of(session, actor, request.query_params.get("lang"))
    zone = await orgs.zone(session, actor.org_id)
    selection = content.selection_for(
        actor, request.query_params, orgs.local_date(content.now(), zone)
    )
    t = _t(lang)
    frame = {
        "csrf": web.csrf_token(request)[0],
        "who": actor.label.removeprefix("user:"),
        "zone": zone,
        "tz": ZoneInfo(zone),
        "other_lang": _other(lang),
        "sel": selection,
        "path": request.url.path,
        "is_engineer": actor.is_engineer,
        "keep_fields": [],
    }
    try:
        frame["form"] = await content.filter_form(session, actor, selection, t)
        context = await build(actor, selection, t, lang)
    except _REFUSALS as exc:
        key = _REFUSAL_WORDS.get(type(exc), "dash.drill.none")
        message = {"message": text(lang, key), "other_lang": _other(lang)}
        response = page("dash_message.html", lang, message, status_code=exc.status)
    else:
        response = page(template, lang, {**frame, **context})
    return web.keep(response, settings, visitor)


@router.get("")
@reads_own_input
async def overview(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    async def build(actor: Actor, sel: Selection, t: Words, lang: Language) -> dict[str, Any]:
        return await content.overview(session, actor, sel, t, lang)

    return await _render(request, session, settings, "dash_overview.html", build)


@router.get("/quality")
@reads_own_input
async def quality_page(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    async def build(actor: Actor, sel: Selection, t: Words, lang: Language) -> dict[str, Any]:
        return await quality.quality(session, actor, sel, t, lang)

    return await _render(request, session, settings, "dash_quality.html", build)


@router.get("/parts")
@reads_own_input
async def parts_page(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    group = request.query_params.get("group", "")[:40]

    async def build(actor: Actor, sel: Selection, t: Words, lang: Language) -> dict[str, Any]:
        return await quality.parts(session, actor, sel, t, lang, group=group)

    return await _render(request, session, settings, "dash_parts.html", build)


@router.get("/engineers")
@reads_own_input
async def engineers(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    sort = request.query_params.get("sort", "")[:80]

    async def build(actor: Actor, sel: Selection, t: Words, lang: Language) -> dict[str, Any]:
        return await content.engineers(session, actor, sel, t, lang, sort=sort)

    return await _render(request, session, settings, "dash_engineers.html", build)


@router.get("/faults")
@reads_own_input
async def faults(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    async def build(actor: Actor, sel: Selection, t: Words, lang: Language) -> dict[str, Any]:
        return await content.faults(session, actor, sel, t, lang)

    return await _render(request, session, settings, "dash_faults.html", build)


@router.get("/backlog")
@reads_own_input
async def backlog(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    group = request.query_params.get("group", "")

    async def build(actor: Actor, sel: Selection, t: Words, lang: Language) -> dict[str, Any]:
        return await content.backlog(session, actor, sel, t, lang, group=group)

    return await _render(request, session, settings, "dash_backlog.html", build)


@router.get("/work-orders")
@reads_own_input
async def work_orders(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    params = request.query_params

    async def build(actor: Actor, sel: Selection, t: Words, lang: Language) -> dict[str, Any]:
        return await content.drill(
            session,
            actor,
            sel,
            t,
            lang,
            metric=params.get("metric", ""),
            part=params.get("part"),
            cursor=params.get("cursor"),
        )

    return await _render(request, session, settings, "dash_drill.html", build)


# --- any other address under /dashboard ------------------------------------------------------
# Declared last: the pages above match first. A mistyped address, a trailing slash, a form
# posted to a page or a link to Log out is a page in the reader's language, not the API's
# problem+json.
# The dashboard's addresses and the methods each answers.
_ALLOW = {
    **dict.fromkeys(
        ("", "/quality", "/parts", "/engineers", "/faults", "/backlog", "/work-orders"), "GET"
    ),
    "/login": "GET, POST",
    "/logout": "POST",
}
_OTHER_METHODS = ["HEAD", "POST", "PUT", "PATCH", "DELETE"]


def _no_page(request: Request, status_code: int, allow: str | None = None) -> Response:
    lang = language_for(request)
    message = {"message": text(lang, "dash.no_page"), "other_lang": _other(lang)}
    response = page("dash_message.html", lang, message, status_code=status_code)
    if allow:
        response.headers["Allow"] = allow
    return response


@router.api_route("", methods=_OTHER_METHODS)
@reads_own_input
async def no_such_method(request: Request) -> Response:
    return _no_page(request, 405, _ALLOW[""])


@router.api_route("/{rest:path}", methods=["GET", *_OTHER_METHODS])
@reads_own_input
async def no_such_page(request: Request, rest: str) -> Response:
    """A page's address with a trailing slash goes to the page (GET); a page asked with a
    method it does not answer: 405; anything else: 404."""
    page_path = "/" + rest.strip("/") if rest.strip("/") else ""
    allow = _ALLOW.get(page_path)
    if allow and request.url.path.endswith("/") and request.method in allow.split(", "):
        if request.method == "GET":
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"{web.PATH}{page_path}{query}", status_code=303)
    if allow and not request.url.path.endswith("/"):
        return _no_page(request, 405, allow)
    return _no_page(request, 404)
