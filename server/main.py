"""create_app(): lifespan, middleware, routers, error handlers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

import server.models  # noqa: F401  (every table known to the ORM)
from server import domains, logs, runtime, text
from server.attachments.router import router as attachments_router
from server.attachments.storage import blob_store_for
from server.attachments.uploads.router import router as uploads_router
from server.auth.router import router as auth_router
from server.config import Settings, get_settings
from server.customers.router import router as customers_router
from server.customers.service_sites.router import router as service_sites_router
from server.db import make_engine, make_sessionmaker
from server.dispatch.board.router import router as dispatch_board_router
from server.dispatch.candidates.router import router as dispatch_candidates_router
from server.dispatch.claims.router import router as dispatch_claims_router
from server.dispatch.plans.router import router as dispatch_plans_router
from server.dispatch.rules.router import router as dispatch_rules_router
from server.engineers.router import router as engineers_router
from server.errors import AppError, RetryableConflict
from server.escalation.router import router as escalation_router
from server.field.checklists.router import router as field_checklist_router
from server.field.labour.router import router as field_labour_router
from server.field.router import router as field_router
from server.field.visits.router import router as field_visits_router
from server.http import check_request, document_body_formats
from server.middleware import RequestContext
from server.notify.router import router as notify_router
from server.ops.router import router as ops_router
from server.orgs.router import router as orgs_router
from server.pages import http as pages_http
from server.parts.csvio.router import router as parts_csv_router
from server.parts.ledger.router import router as parts_pick_router
from server.parts.replenishment.router import router as parts_levels_router
from server.parts.reports.router import router as parts_report_router
from server.parts.returns.router import router as parts_returns_router
from server.parts.router import router as parts_router
from server.parts.serials.router import router as parts_units_router
from server.portal.pages.router import PAGE_FORM_MAX_BYTES
from server.portal.pages.router import router as portal_pages_router
from server.portal.router import router as portal_router
from server.queue import JobSender
from server.reports.router import router as reports_router
from server.service_report.router import router as service_report_router
from server.surveys.page.router import router as survey_page_router
from server.surveys.router import router as surveys_router
from server.surveys.router import tickets_router as survey_tickets_router
from server.sync.router import router as sync_router
from server.tickets.policies.router import router as policy_router
from server.tickets.router import assets_router as tickets_assets_router
from server.tickets.router import router as tickets_router
from server.webhooks.router import router as webhooks_router

log = logging.getLogger("fixflow.app")
PROBLEM = "application/problem+json"


def _problem_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return _problem_response(exc.status, exc.to_problem(request.url.path), exc.headers)


_SOURCES = frozenset({"body", "query", "path", "header", "cookie"})
# A body of 60,000 unknown keys has 60,000 problems; the answer lists the first of them,
# like the CSV import (a 1 MB request answered with 5 MB of problem before).
MAX_LISTED_ERRORS = 50
MESSAGE_LIMIT = 500


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    everything = exc.errors()
    errors = [
        {
            "loc": text.location(e.get("loc", ())),
            "msg": text.fit(str(e.get("msg", "")), MESSAGE_LIMIT),
            "type": e.get("type", ""),
        }
        for e in everything[:MAX_LISTED_ERRORS]
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid"}
    loc = first["loc"]
    where = text.path(loc)
    # `field` as the service-level 422s name it: the input's path without body/query.
    field = text.path(loc[1:] if loc[:1] and loc[0] in _SOURCES else loc)
    more = len(everything) - 1
    body = {
        "type": "https://fixflow.dev/problems/validation_error",
        "title": "Invalid request",
        "status": 422,
        "code": "validation_error",
        "detail": f"{where}: {first['msg']}" + (f" (and {more} more)" if more > 0 else ""),
        "instance": request.url.path,
        "errors": errors,
        "error_count": len(everything),
        "errors_truncated": len(everything) > len(errors),
        **({"field": field} if field else {}),
    }
    return _problem_response(422, body)


# The code of every status the HTTP layer (Starlette, FastAPI) raises itself: each is one
# docs/api.md lists. A status missing here still gets a listed code, by its class.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    428: "precondition_required",
    429: "rate_limited",
    503: "unavailable",
}


def _http_code(status: int) -> str:
    return _HTTP_CODES.get(status) or ("internal" if status >= 500 else "bad_request")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, Exception):
        # FastAPI's "error parsing the body": JSON nested deeper than the parser goes
        # (RecursionError), or not UTF-8. Invalid like malformed JSON (422), not a 400.
        return _problem_response(422, _invalid_body(request, _unreadable(exc.__cause__)))
    code = _http_code(exc.status_code)
    detail = str(exc.detail)
    path = request.url.path
    if exc.status_code == 404 and path.endswith("/") and path != "/":
        shorter = text.fit(path.rstrip("/"), 200)
        detail = f"no such route: paths have no trailing slash (try {shorter})"
    body = {
        "type": f"https://fixflow.dev/problems/{code}",
        "title": str(exc.detail),
        "status": exc.status_code,
        "code": code,
        "detail": detail,
        "instance": path,
    }
    return _problem_response(exc.status_code, body, dict(exc.headers or {}))


def _unreadable(cause: Exception) -> str:
    if isinstance(cause, UnicodeDecodeError):
        return "the body is not UTF-8 JSON"
    if isinstance(cause, RecursionError):
        return "the body's JSON is nested too deeply"
    return "the body cannot be read as JSON"


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    body = {
        "type": "https://fixflow.dev/problems/internal",
        "title": "Internal error",
        "status": 500,
        "code": "internal",
        "detail": "something went wrong on our side; the request id identifies it in our logs",
        "request_id": logs.request_id.get(),
    }
    return _problem_response(500, body)


def _invalid_body(request: Request, detail: str) -> dict[str, Any]:
    return {
        "type": "https://fixflow.dev/problems/validation_error",
        "title": "Invalid request",
        "status": 422,
        "code": "validation_error",
        "detail": detail,
        "instance": request.url.path,
    }


# SQLSTATEs PostgreSQL raises for text it cannot store (U+0000 in a query parameter or a
# cursor, say): the caller's input, so a 422, never a 500.
_UNSTORABLE_TEXT = frozenset({"22021", "22P05"})
_RETRYABLE = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure


async def _db_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in _RETRYABLE:
        # The transaction was rolled back as a whole: nothing was written, retry it.
        body = RetryableConflict(
            "the request collided with a concurrent change and was rolled back; retry it"
        ).to_problem(request.url.path)
        return _problem_response(409, body, {"Retry-After": "1"})
    if sqlstate == "22003":
        return _problem_response(
            422, _invalid_body(request, "a number is out of the range this field can hold")
        )
    if sqlstate not in _UNSTORABLE_TEXT:
        return await _unexpected(request, exc)
    detail = "text cannot contain the NUL character (U+0000) or invalid UTF-8"
    return _problem_response(422, _invalid_body(request, detail))


# Matched in this order, one route after the other: the phones' sync routes, the requests
# most often made, come first (no other router's paths overlap theirs).
ROUTERS = (
    sync_router,
    ops_router,
    auth_router,
    tickets_router,
    webhooks_router,
    customers_router,
    tickets_assets_router,
    engineers_router,
    service_sites_router,
    policy_router,
    orgs_router,
    parts_csv_router,  # before parts_router: /parts/export is not a {part_id}
    parts_router,
    parts_report_router,
    parts_units_router,
    parts_pick_router,
    parts_returns_router,
    parts_levels_router,
    field_visits_router,
    field_labour_router,
    field_router,
    field_checklist_router,
    uploads_router,
    attachments_router,
    service_report_router,
    dispatch_candidates_router,
    dispatch_plans_router,
    dispatch_board_router,
    dispatch_claims_router,
    dispatch_rules_router,
    escalation_router,
    portal_router,
    portal_pages_router,
    surveys_router,
    survey_tickets_router,
    survey_page_router,
    notify_router,
    reports_router,
)


def _lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from arq import create_pool
        from redis.asyncio import Redis

        from server.worker import redis_settings

        if not settings.DATABASE_URL or not settings.REDIS_URL:
            raise RuntimeError("DATABASE_URL and REDIS_URL must be set (`fixflow dev` sets them)")
        app.state.engine = make_engine(settings.DATABASE_URL, pool_size=settings.DB_POOL_SIZE)
        app.state.sessionmaker = make_sessionmaker(app.state.engine)
        app.state.redis = Redis.from_url(settings.REDIS_URL)
        app.state.arq = await create_pool(redis_settings(settings.REDIS_URL))
        app.state.jobs = JobSender(app.state.arq)
        runtime.measure_pauses()
        runtime.after_startup(freeze=settings.GC_FREEZE, threshold=settings.GC_THRESHOLD)
        refreeze = None
        if settings.GC_FREEZE and settings.GC_FREEZE_AFTER_SECONDS:
            refreeze = asyncio.create_task(runtime.freeze_after(settings.GC_FREEZE_AFTER_SECONDS))
        try:
            yield
        finally:
            if refreeze is not None:
                refreeze.cancel()
            await app.state.jobs.drain()
            await app.state.arq.aclose()
            await app.state.redis.aclose()
            await app.state.engine.dispose()

    return lifespan


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    if settings.CORS_ORIGINS:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.CORS_ORIGINS,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "If-Match",
                "If-None-Match",  # creating a replenishment level (PUT)
            ],
            expose_headers=["ETag", "Location", "X-Request-ID"],
        )
    # tus PATCH bodies stream to disk under their own limits
    # (server/attachments/uploads/service.py).
    # The customer pages' forms carry photos (server/portal/pages/router.py).
    app.add_middleware(
        RequestContext,
        max_body=settings.MAX_BODY_BYTES,
        streamed_prefixes=("/api/v1/uploads/",),
        larger_posts=(("/t/", PAGE_FORM_MAX_BYTES), ("/q/", PAGE_FORM_MAX_BYTES)),
        page_prefixes=("/t/", "/q/", "/s/"),
        too_large_page=pages_http.too_large,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_production()
    domains.install()
    app = FastAPI(
        title="Fixflow API",
        version="1.0.0",
        description=(
            "After-sales field service management: work orders with SLA deadlines, "
            "customers, sites and equipment, engineers. Authenticate with "
            "`POST /api/v1/auth/token` (or an API key) and send `Authorization: Bearer ...`. "
            "Errors are `application/problem+json` with a stable `code`."
        ),
        lifespan=_lifespan(settings),
        # No redirect from /tickets/ to /tickets: Starlette builds that Location from the
        # request's Host header, so anyone could make us point a client at their host.
        # A trailing slash is a 404 that names the path without it.
        redirect_slashes=False,
        # operationId = the endpoint's function name: stable, readable names for generated clients.
        generate_unique_id_function=lambda route: route.name,
        dependencies=[Depends(check_request)],
    )
    app.state.settings = settings
    app.state.blob_store = blob_store_for(settings)
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _db_error)
    app.add_exception_handler(Exception, _unexpected)
    for router in ROUTERS:
        app.include_router(router)
    # The 415 every operation with a body may answer (check_request) in the document.
    app.openapi = lambda: app.openapi_schema or document_body_formats(FastAPI.openapi(app))  # type: ignore[method-assign]
    _add_middleware(app, settings)
    return app
