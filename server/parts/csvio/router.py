"""The catalogue as CSV: ``POST /api/v1/parts/import`` and ``GET /api/v1/parts/export``.

Included in the app before the parts router: ``/parts/export`` would otherwise be taken for
``/parts/{part_id}``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.http import problems
from server.parts.csvio import service as csvio

router = APIRouter(prefix="/api/v1", tags=["spare parts and stock"])
Reader = Annotated[Actor, require("parts:read")]
Writer = Annotated[Actor, require("parts:write")]

CSV = "text/csv"
_EXAMPLE = (
    "sku,name,unit,cost,price,barcode,serialised,compatible_models,active\r\n"
    "CMP-200-A,Compressor relay 24 V,pcs,18.40,39.00,6901234567892,false,CH-200|CH-250,true\r\n"
    "FAN-90,冷凝风扇电机 90 W,pcs,55.00,120.00,,false,CH-200,true\r\n"
)
_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The catalogue as CSV (UTF-8, header line first). Columns: "
        + ", ".join(csvio.COLUMNS)
        + "; only sku and name are required. compatible_models are separated by `|`; "
        "booleans are true/false, yes/no or 1/0.",
        "content": {CSV: {"schema": {"type": "string"}, "example": _EXAMPLE}},
    }
}


@router.post(
    "/parts/import",
    summary="Import the catalogue from CSV (creates or updates parts by SKU)",
    description="Every row is validated first. A dry run (the default) only reports what "
    "would be created and updated and every row's problems, with the file's line numbers "
    "(the header is line 1). With `dry_run=false` the file is imported only if no row has a "
    "problem (otherwise 422 `import_rejected` with the same `errors`): nothing is ever half "
    "imported. Importing the same file again changes nothing, so no Idempotency-Key is "
    f"needed. At most {csvio.MAX_ROWS} rows per file.",
    response_model=csvio.ImportReport,
    responses=problems(403, 409, 413),
    openapi_extra=_IMPORT_BODY,
)
async def import_parts(
    request: Request,
    session: SessionDep,
    actor: Writer,
    dry_run: Annotated[
        bool, Query(description="Only validate and report; write nothing (default)")
    ] = True,
) -> csvio.ImportReport:
    data = await request.body()  # the app's body limit applies while it is read
    return await csvio.import_parts(session, actor, data=data, dry_run=dry_run)


@router.get(
    "/parts/export",
    summary="Export the catalogue as CSV",
    description="The columns import reads, ordered by SKU: an export imports back unchanged. "
    "Filter like the list with `q`, `model` and `active`.",
    response_class=Response,
    responses={
        **problems(403),
        200: {
            "description": "The catalogue as CSV (UTF-8)",
            "content": {CSV: {"schema": {"type": "string"}, "example": _EXAMPLE}},
        },
    },
)
async def export_parts(
    session: SessionDep,
    actor: Reader,
    q: Annotated[str | None, Query(max_length=200, description="Part of the SKU or name")] = None,
    model: Annotated[
        str | None, Query(max_length=120, description="A compatible product model")
    ] = None,
    active: bool | None = None,
    bom: Annotated[
        bool,
        Query(description="Start with a UTF-8 byte-order mark, so Excel reads non-Latin names"),
    ] = False,
) -> Response:
    text = await csvio.export_parts(session, actor, q=q, model=model, active=active)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    return Response(
        ("\ufeff" if bom else "") + text,
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="parts-{stamp}.csv"'},
    )
