from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from server.auth.http import ActorDep
from server.deps import SessionDep
from server.http import Cursor, IfMatch, Limit, expected_version, problems, set_etag
from server.idempotency.http import IdempotencyKey, idempotent_create
from server.schemas import PageOut
from server.webhooks import delivery, service, topics
from server.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from server.webhooks.schemas import (
    AttemptRead,
    DeliveryDetail,
    DeliveryRead,
    EndpointCreate,
    EndpointRead,
    EndpointUpdate,
    EndpointWithSecret,
    EventType,
)

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
EndpointPath = "/endpoints/{endpoint_id}"


def _with_secret(endpoint: WebhookEndpoint, secret: str) -> EndpointWithSecret:
    return EndpointWithSecret.model_validate(
        {**EndpointRead.model_validate(endpoint).model_dump(), "secret": secret}
    )


def _delivery(row: WebhookDelivery) -> DeliveryRead:
    pending = row.status == "pending"
    return DeliveryRead.model_validate(
        {
            **{n: getattr(row, n) for n in DeliveryRead.model_fields if hasattr(row, n)},
            "webhook_id": delivery.webhook_id(row.id),
            "next_attempt_at": row.next_attempt_at if pending else None,
        }
    )


def _detail(row: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryDetail:
    return DeliveryDetail.model_validate(
        {
            **_delivery(row).model_dump(),
            "body": row.body,
            "attempt_log": [AttemptRead.model_validate(a) for a in attempts],
        }
    )


@router.get(
    "/event-types",
    summary="The event types an endpoint can subscribe to",
    response_model=list[EventType],
    responses=problems(401),
)
async def list_event_types(actor: ActorDep) -> list[EventType]:
    return [EventType(name=k, description=v) for k, v in topics.EVENT_TYPES.items()]


@router.post(
    "/endpoints",
    status_code=201,
    summary="Register a webhook endpoint (its secret is shown once)",
    response_model=EndpointWithSecret,
    responses=problems(400, 401, 403, 409, 422),
)
async def create_endpoint(
    request: Request,
    body: EndpointCreate,
    session: SessionDep,
    actor: ActorDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[EndpointWithSecret, dict[str, str]]:
        endpoint, secret = await service.create_endpoint(session, actor, data=body)
        location = {"Location": f"/api/v1/webhooks/endpoints/{endpoint.id}"}
        return _with_secret(endpoint, secret), location

    # Checked here too: a replay does not run produce(), and the caller may no longer be
    # an admin. A replay answers without the secret (it is kept nowhere but the endpoint).
    actor.require_admin("manage webhooks")
    return await idempotent_create(
        request,
        session,
        actor,
        key=idempotency_key,
        body=body,
        produce=produce,
        redact=lambda stored: {**stored, "secret": None},
    )


@router.get(
    "/endpoints",
    summary="List webhook endpoints",
    response_model=PageOut[EndpointRead],
    responses=problems(400, 401, 403),
)
async def list_endpoints(
    session: SessionDep, actor: ActorDep, limit: Limit = 50, cursor: Cursor = None
) -> PageOut[EndpointRead]:
    page = await service.list_endpoints(session, actor, limit=limit, cursor=cursor)
    items = [EndpointRead.model_validate(e) for e in page.items]
    return PageOut(items=items, next_cursor=page.next_cursor)


@router.get(
    EndpointPath,
    summary="Read a webhook endpoint",
    response_model=EndpointRead,
    responses=problems(401, 403, 404),
)
async def read_endpoint(
    endpoint_id: uuid.UUID, session: SessionDep, actor: ActorDep, response: Response
) -> EndpointRead:
    endpoint = await service.get_endpoint(session, actor, endpoint_id)
    set_etag(response, endpoint.version)
    return EndpointRead.model_validate(endpoint)


@router.patch(
    EndpointPath,
    summary="Change a webhook endpoint's URL, event types or description",
    response_model=EndpointRead,
    responses=problems(400, 401, 403, 404, 412, 422, 428),
)
async def update_endpoint(
    endpoint_id: uuid.UUID,
    body: EndpointUpdate,
    session: SessionDep,
    actor: ActorDep,
    response: Response,
    if_match: IfMatch = None,
) -> EndpointRead:
    endpoint = await service.update_endpoint(
        session, actor, endpoint_id, data=body, expected_version=expected_version(if_match)
    )
    set_etag(response, endpoint.version)
    return EndpointRead.model_validate(endpoint)


@router.delete(
    EndpointPath,
    status_code=204,
    summary="Delete a webhook endpoint and its delivery log",
    responses=problems(400, 401, 403, 404, 412),
)
async def delete_endpoint(
    endpoint_id: uuid.UUID, session: SessionDep, actor: ActorDep, if_match: IfMatch = None
) -> Response:
    version = expected_version(if_match, required=False)
    await service.delete_endpoint(session, actor, endpoint_id, expected_version=version)
    return Response(status_code=204)


@router.post(
    EndpointPath + "/rotate-secret",
    summary="Rotate an endpoint's secret (the old one signs too for 24 hours)",
    response_model=EndpointWithSecret,
    responses=problems(401, 403, 404),
)
async def rotate_secret(
    endpoint_id: uuid.UUID, session: SessionDep, actor: ActorDep, response: Response
) -> EndpointWithSecret:
    endpoint, secret = await service.rotate_secret(session, actor, endpoint_id)
    set_etag(response, endpoint.version)
    return _with_secret(endpoint, secret)


@router.post(
    EndpointPath + "/enable",
    summary="Enable an endpoint again (after it was disabled for failing)",
    response_model=EndpointRead,
    responses=problems(401, 403, 404),
)
async def enable_endpoint(
    endpoint_id: uuid.UUID, session: SessionDep, actor: ActorDep, response: Response
) -> EndpointRead:
    endpoint = await service.enable(session, actor, endpoint_id)
    set_etag(response, endpoint.version)
    return EndpointRead.model_validate(endpoint)


@router.get(
    EndpointPath + "/deliveries",
    summary="An endpoint's delivery log, oldest first",
    response_model=PageOut[DeliveryRead],
    responses=problems(400, 401, 403, 404),
)
async def list_deliveries(
    endpoint_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    status: Annotated[
        Literal["pending", "succeeded", "failed"] | None, Query(description="Only these")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[DeliveryRead]:
    page = await service.list_deliveries(
        session, actor, endpoint_id, status=status, limit=limit, cursor=cursor
    )
    return PageOut(items=[_delivery(d) for d in page.items], next_cursor=page.next_cursor)


@router.get(
    "/deliveries/{delivery_id}",
    summary="A delivery with its body and every attempt",
    response_model=DeliveryDetail,
    responses=problems(401, 403, 404),
)
async def read_delivery(
    delivery_id: uuid.UUID, session: SessionDep, actor: ActorDep
) -> DeliveryDetail:
    row, attempts = await service.get_delivery(session, actor, delivery_id)
    return _detail(row, attempts)


@router.post(
    "/deliveries/{delivery_id}/replay",
    status_code=202,
    summary="Send a delivery again now, with the same webhook-id",
    response_model=DeliveryRead,
    responses=problems(401, 403, 404),
)
async def replay_delivery(
    delivery_id: uuid.UUID, session: SessionDep, actor: ActorDep
) -> DeliveryRead:
    return _delivery(await service.replay(session, actor, delivery_id))
