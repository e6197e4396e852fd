from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse

from server import ratelimit
from server.auth import service
from server.auth.http import ActorDep
from server.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    MeRead,
    RefreshIn,
    TokenOut,
    UserCreate,
    UserRead,
    UserUpdate,
)
from server.deps import SessionDep, SettingsDep
from server.errors import InvalidToken
from server.http import IfMatch, created_headers, expected_version, problems, set_etag
from server.idempotency.http import IdempotencyKey, idempotent_create

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post(
    "/auth/token",
    summary="Log in (OAuth2 password grant)",
    description="An e-mail address is unique within an organisation, so one person may hold "
    "accounts in several. When the password opens more than one, the answer is 409 "
    "`organisation_required` with `organisations` (`id`, `slug`, `name` of each account the "
    "password opened): log in again with `organisation` set to one of them.",
    response_model=TokenOut,
    responses=problems(409, 429),
)
async def token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=254, description="The user's e-mail")],
    password: Annotated[str, Form(max_length=200)],
    organisation: Annotated[
        str | None,
        Form(
            max_length=64,
            description="Optional: the organisation's slug or id, needed only when the "
            "e-mail and password open accounts in several organisations",
        ),
    ] = None,
) -> TokenOut:
    client = ratelimit.client_key(request.client.host if request.client else None)
    limit = settings.LOGIN_ATTEMPTS_PER_MINUTE
    # The same normalisation as the lookup, so padding or case cannot reset the count.
    email = username.strip().lower()
    await ratelimit.hit(request.app.state.redis, f"login:user:{email}", limit=limit)
    await ratelimit.hit(request.app.state.redis, f"login:ip:{client}", limit=limit * 5)
    pair = await service.login(
        session, settings, email=username, password=password, organisation=organisation or None
    )
    return TokenOut(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post(
    "/auth/refresh",
    summary="Exchange a refresh token for new tokens (the old one stops working)",
    description=(
        "Each refresh token works once: presenting a used one revokes every token of that "
        "login (401). Exception for clients that lost the answer: the same token presented "
        "again within FIXFLOW_REFRESH_RETRY_GRACE_SECONDS (120 s) of its use, while the "
        "token that use issued is unused, gets a new pair; the unused token is superseded "
        "and presenting it later counts as reuse. Retries do not extend the window."
    ),
    response_model=TokenOut,
    responses=problems(429),
)
async def refresh(
    request: Request, body: RefreshIn, session: SessionDep, settings: SettingsDep
) -> TokenOut | JSONResponse:
    pair = await service.refresh(session, settings, refresh_token=body.refresh_token)
    if pair is None:
        # Answered, not raised: an exception would roll back the family's revocation.
        exc = InvalidToken("refresh token was already used; all sessions of this login are revoked")
        return JSONResponse(
            exc.to_problem(request.url.path),
            status_code=exc.status,
            media_type="application/problem+json",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return TokenOut(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.get("/auth/me", summary="Who am I", response_model=MeRead, responses=problems(404))
async def me(session: SessionDep, actor: ActorDep) -> MeRead:
    if actor.user_id is None:
        from server.errors import NotFound

        raise NotFound("an API key is not a user")
    user = await service.get_user(session, actor, user_id=actor.user_id)
    base = UserRead.model_validate(user).model_dump()
    return MeRead(
        **base, org_id=actor.org_id, engineer_id=actor.engineer_id, scopes=sorted(actor.scopes)
    )


@router.post(
    "/api-keys",
    status_code=201,
    summary="Create an integration API key (the secret is shown once)",
    response_model=ApiKeyCreated,
    responses=problems(400, 403, 409),
)
async def create_api_key(
    request: Request,
    body: ApiKeyCreate,
    session: SessionDep,
    actor: ActorDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[ApiKeyCreated, dict[str, str]]:
        key, secret = await service.create_api_key(
            session, actor, name=body.name, scopes=body.scopes
        )
        read = ApiKeyRead.model_validate(key).model_dump()
        return ApiKeyCreated(**read, key=secret), {"Location": f"/api/v1/api-keys/{key.id}"}

    # Checked here too: a replay does not run produce(), and the caller may have lost
    # the admin role since the first request.
    service.ensure_admin(actor)
    return await idempotent_create(
        request,
        session,
        actor,
        key=idempotency_key,
        body=body,
        produce=produce,
        redact=lambda stored: {**stored, "key": None},
    )


@router.get(
    "/api-keys",
    summary="List API keys (without secrets)",
    response_model=list[ApiKeyRead],
    responses=problems(403),
)
async def list_api_keys(session: SessionDep, actor: ActorDep) -> list[ApiKeyRead]:
    return [ApiKeyRead.model_validate(k) for k in await service.list_api_keys(session, actor)]


@router.delete(
    "/api-keys/{key_id}",
    summary="Revoke an API key",
    response_model=ApiKeyRead,
    responses=problems(403, 404),
)
async def revoke_api_key(key_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> ApiKeyRead:
    return ApiKeyRead.model_validate(await service.revoke_api_key(session, actor, key_id=key_id))


@router.post(
    "/users",
    status_code=201,
    summary="Create a user in your organisation",
    response_model=UserRead,
    responses=problems(400, 403, 409),
)
async def create_user(
    request: Request,
    body: UserCreate,
    session: SessionDep,
    actor: ActorDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[UserRead, dict[str, str]]:
        user = await service.create_user(
            session,
            actor,
            email=str(body.email),
            full_name=body.full_name,
            password=body.password,
            role=body.role,
            locale=body.locale,
            duties=body.duties,
        )
        return UserRead.model_validate(user), created_headers("users", user)

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get("/users", summary="List users", response_model=list[UserRead], responses=problems(403))
async def list_users(session: SessionDep, actor: ActorDep) -> list[UserRead]:
    return [UserRead.model_validate(u) for u in await service.list_users(session, actor)]


@router.get(
    "/users/{user_id}",
    summary="Read a user (admins and dispatchers)",
    response_model=UserRead,
    responses=problems(403, 404),
)
async def read_user(
    user_id: uuid.UUID, session: SessionDep, actor: ActorDep, response: Response
) -> UserRead:
    user = await service.read_user(session, actor, user_id=user_id)
    set_etag(response, user.version)
    return UserRead.model_validate(user)


@router.patch(
    "/users/{user_id}",
    summary="Change a user's name, role, language, or deactivate them",
    response_model=UserRead,
    responses=problems(400, 403, 404, 409, 412, 428),
)
async def update_user(
    user_id: uuid.UUID,
    body: UserUpdate,
    session: SessionDep,
    actor: ActorDep,
    response: Response,
    if_match: IfMatch = None,
) -> UserRead:
    user = await service.update_user(
        session,
        actor,
        user_id=user_id,
        expected_version=expected_version(if_match),
        **body.model_dump(exclude_unset=True),
    )
    set_etag(response, user.version)
    return UserRead.model_validate(user)
