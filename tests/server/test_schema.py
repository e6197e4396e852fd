"""The schema comes only from migrations, and the migrations match the models."""

from __future__ import annotations

import asyncio
from typing import Any

from server.db import async_url
from server.migrate import check


async def test_models_and_migrations_agree(infra: dict[str, str]) -> None:
    # alembic check raises when autogenerate would produce any operation.
    await asyncio.to_thread(check, async_url(infra["database_url"]))


async def test_every_operation_is_documented(app: Any) -> None:
    spec = app.openapi()
    missing: list[str] = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            name = f"{method.upper()} {path}"
            if not op.get("summary"):
                missing.append(f"{name}: summary")
            if path.startswith("/api/v1") and path != "/api/v1/auth/token":
                if "401" not in op["responses"]:
                    missing.append(f"{name}: 401 response")
            if "requestBody" in op and "422" not in op["responses"]:
                missing.append(f"{name}: 422 response")
    assert missing == []


async def test_create_bodies_carry_examples(app: Any) -> None:
    schemas = app.openapi()["components"]["schemas"]
    for name in (
        "TicketCreate",
        "TransitionIn",
        "CustomerCreate",
        "EngineerCreate",
        "PolicyCreate",
        "TimeOffCreate",
        "ServiceSiteCreate",
        "PreferredEngineersUpdate",
        "RuleUpdate",
    ):
        assert schemas[name].get("examples"), name


async def test_create_responses_link_to_existing_operations(app: Any) -> None:
    spec = app.openapi()
    operations = {op["operationId"]: op for ops in spec["paths"].values() for op in ops.values()}
    linked = 0
    for op in operations.values():
        for link in op["responses"].get("201", {}).get("links", {}).values():
            target = operations[link["operationId"]]
            params = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
            assert set(link["parameters"]) <= params
            linked += 1
    assert linked >= 12
