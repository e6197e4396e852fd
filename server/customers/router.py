from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from server.auth import Actor
from server.auth.http import require
from server.customers import service
from server.customers.models import Asset, Customer
from server.customers.schemas import (
    AssetCreate,
    AssetRead,
    AssetUpdate,
    CustomerCreate,
    CustomerRead,
    CustomerUpdate,
    PreferredEngineersRead,
    PreferredEngineersUpdate,
    SiteCreate,
    SiteRead,
    SiteUpdate,
)
from server.deps import SessionDep
from server.http import (
    Cursor,
    IfMatch,
    Limit,
    created,
    created_headers,
    expected_version,
    problems,
    set_etag,
)
from server.idempotency.http import IdempotencyKey, idempotent_create
from server.orgs import service as orgs
from server.schemas import PageOut

router = APIRouter(prefix="/api/v1", tags=["customers, sites and assets"])
Reader = Annotated[Actor, require("customers:read")]
Writer = Annotated[Actor, require("customers:write")]


async def _assets(session: SessionDep, actor: Actor, *assets: Asset) -> list[AssetRead]:
    """Assets as read, ``under_warranty`` judged on the organisation's own date."""
    today = await orgs.local_today(session, actor.org_id)
    return [
        AssetRead.model_validate(
            {
                **{name: getattr(a, name) for name in AssetRead.model_fields if hasattr(a, name)},
                "under_warranty": a.warranty_end is not None and today <= a.warranty_end,
            }
        )
        for a in assets
    ]


def _preferred(customer: Customer, ids: list[uuid.UUID]) -> PreferredEngineersRead:
    return PreferredEngineersRead(
        customer_id=customer.id, engineer_ids=ids, version=customer.version
    )


# --- customers -------------------------------------------------------------------------


@router.post(
    "/customers",
    status_code=201,
    summary="Create a customer",
    response_model=CustomerRead,
    responses={
        **problems(400, 403, 409),
        **created(
            "Customer created",
            read=("read_customer", "customer_id"),
            update=("update_customer", "customer_id"),
        ),
    },
)
async def create_customer(
    request: Request,
    body: CustomerCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[CustomerRead, dict[str, str]]:
        out = CustomerRead.model_validate(await service.create_customer(session, actor, data=body))
        return out, created_headers("customers", out)

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    "/customers",
    summary="List customers",
    response_model=PageOut[CustomerRead],
    responses=problems(400, 403),
)
async def list_customers(
    session: SessionDep,
    actor: Reader,
    q: Annotated[str | None, Query(max_length=200, description="Part of the name")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[CustomerRead]:
    page = await service.list_customers(session, actor, q=q, limit=limit, cursor=cursor)
    return PageOut(
        items=[CustomerRead.model_validate(c) for c in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/customers/{customer_id}",
    summary="Read a customer",
    response_model=CustomerRead,
    responses=problems(403, 404),
)
async def read_customer(
    customer_id: uuid.UUID, session: SessionDep, actor: Reader, response: Response
) -> CustomerRead:
    customer = await service.get_customer(session, actor, customer_id=customer_id)
    set_etag(response, customer.version)
    return CustomerRead.model_validate(customer)


@router.patch(
    "/customers/{customer_id}",
    summary="Update a customer",
    response_model=CustomerRead,
    responses=problems(400, 403, 404, 412, 428),
)
async def update_customer(
    customer_id: uuid.UUID,
    body: CustomerUpdate,
    session: SessionDep,
    actor: Writer,
    response: Response,
    if_match: IfMatch = None,
) -> CustomerRead:
    customer = await service.update_customer(
        session,
        actor,
        customer_id=customer_id,
        data=body,
        expected_version=expected_version(if_match),
    )
    set_etag(response, customer.version)
    return CustomerRead.model_validate(customer)


@router.get(
    "/customers/{customer_id}/preferred-engineers",
    summary="A customer's preferred engineers",
    response_model=PreferredEngineersRead,
    responses=problems(403, 404),
)
async def read_preferred_engineers(
    customer_id: uuid.UUID, session: SessionDep, actor: Reader, response: Response
) -> PreferredEngineersRead:
    customer, ids = await service.preferred_engineers(session, actor, customer_id=customer_id)
    set_etag(response, customer.version)
    return _preferred(customer, ids)


@router.put(
    "/customers/{customer_id}/preferred-engineers",
    summary="Replace a customer's preferred engineers",
    description="`If-Match`: the ETag of the customer (or of this list: the same version).",
    response_model=PreferredEngineersRead,
    responses=problems(400, 403, 404, 412, 428),
)
async def set_preferred_engineers(
    customer_id: uuid.UUID,
    body: PreferredEngineersUpdate,
    session: SessionDep,
    actor: Writer,
    response: Response,
    if_match: IfMatch = None,
) -> PreferredEngineersRead:
    customer, ids = await service.set_preferred_engineers(
        session,
        actor,
        customer_id=customer_id,
        engineer_ids=body.engineer_ids,
        expected_version=expected_version(if_match),
    )
    set_etag(response, customer.version)
    return _preferred(customer, ids)


# --- sites -----------------------------------------------------------------------------


@router.post(
    "/sites",
    status_code=201,
    summary="Create a site (an address of a customer)",
    response_model=SiteRead,
    responses={
        **problems(400, 403, 409),
        **created(
            "Site created",
            read=("read_site", "site_id"),
            update=("update_site", "site_id"),
        ),
    },
)
async def create_site(
    request: Request,
    body: SiteCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[SiteRead, dict[str, str]]:
        out = SiteRead.model_validate(await service.create_site(session, actor, data=body))
        return out, created_headers("sites", out)

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    "/sites", summary="List sites", response_model=PageOut[SiteRead], responses=problems(400, 403)
)
async def list_sites(
    session: SessionDep,
    actor: Reader,
    customer_id: uuid.UUID | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[SiteRead]:
    page = await service.list_sites(
        session, actor, customer_id=customer_id, limit=limit, cursor=cursor
    )
    return PageOut(
        items=[SiteRead.model_validate(s) for s in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/sites/{site_id}",
    summary="Read a site",
    response_model=SiteRead,
    responses=problems(403, 404),
)
async def read_site(
    site_id: uuid.UUID, session: SessionDep, actor: Reader, response: Response
) -> SiteRead:
    site = await service.get_site(session, actor, site_id=site_id)
    set_etag(response, site.version)
    return SiteRead.model_validate(site)


@router.patch(
    "/sites/{site_id}",
    summary="Update a site",
    response_model=SiteRead,
    responses=problems(400, 403, 404, 412, 428),
)
async def update_site(
    site_id: uuid.UUID,
    body: SiteUpdate,
    session: SessionDep,
    actor: Writer,
    response: Response,
    if_match: IfMatch = None,
) -> SiteRead:
    site = await service.update_site(
        session, actor, site_id=site_id, data=body, expected_version=expected_version(if_match)
    )
    set_etag(response, site.version)
    return SiteRead.model_validate(site)


# --- assets ----------------------------------------------------------------------------


@router.post(
    "/assets",
    status_code=201,
    summary="Register installed equipment",
    response_model=AssetRead,
    responses={
        **problems(400, 403, 409),
        **created(
            "Asset created",
            read=("read_asset", "asset_id"),
            update=("update_asset", "asset_id"),
            history=("asset_history", "asset_id"),
        ),
    },
)
async def create_asset(
    request: Request,
    body: AssetCreate,
    session: SessionDep,
    actor: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> tuple[AssetRead, dict[str, str]]:
        [out] = await _assets(session, actor, await service.create_asset(session, actor, data=body))
        return out, created_headers("assets", out)

    return await idempotent_create(
        request, session, actor, key=idempotency_key, body=body, produce=produce
    )


@router.get(
    "/assets",
    summary="List equipment",
    response_model=PageOut[AssetRead],
    responses=problems(400, 403),
)
async def list_assets(
    session: SessionDep,
    actor: Reader,
    site_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    serial_number: Annotated[str | None, Query(max_length=120)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[AssetRead]:
    page = await service.list_assets(
        session,
        actor,
        site_id=site_id,
        customer_id=customer_id,
        serial_number=serial_number,
        limit=limit,
        cursor=cursor,
    )
    return PageOut(items=await _assets(session, actor, *page.items), next_cursor=page.next_cursor)


@router.get(
    "/assets/{asset_id}",
    summary="Read equipment",
    response_model=AssetRead,
    responses=problems(403, 404),
)
async def read_asset(
    asset_id: uuid.UUID, session: SessionDep, actor: Reader, response: Response
) -> AssetRead:
    asset = await service.get_asset(session, actor, asset_id=asset_id)
    set_etag(response, asset.version)
    [out] = await _assets(session, actor, asset)
    return out


@router.patch(
    "/assets/{asset_id}",
    summary="Update equipment",
    response_model=AssetRead,
    responses=problems(400, 403, 404, 412, 428),
)
async def update_asset(
    asset_id: uuid.UUID,
    body: AssetUpdate,
    session: SessionDep,
    actor: Writer,
    response: Response,
    if_match: IfMatch = None,
) -> AssetRead:
    asset = await service.update_asset(
        session, actor, asset_id=asset_id, data=body, expected_version=expected_version(if_match)
    )
    set_etag(response, asset.version)
    [out] = await _assets(session, actor, asset)
    return out
