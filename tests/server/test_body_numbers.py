"""Every number a request body carries is a number the way the phone's protocol writes it:
a JSON number, or text of ASCII digits and a point. pydantic alone read "3_1.2" as 31.2
for a latitude, "9_0" as 90 minutes, and true as 1 (a latitude of 1.0, a skill level of
1); the Decimal fields had been made ASCII, the int and float fields had not."""

from __future__ import annotations

import typing
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server.schemas import AsciiNumber, Input
from shared.ids import uuid7
from tests.fixtures.factories import Tenant, make_tenant
from tests.server.field.helpers import travelling

NUMBERS = (int, float, Decimal)
ODD = ["3_1", True, "٣١", "３１", "3e1", " 31", "+31", "NaN"]


def _models(cls: type[Input]) -> list[type[Input]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_models(sub)]
    return found


def _unchecked(annotation: Any, metadata: list[Any], where: str) -> list[str]:
    """The number leaves of ``annotation`` without the AsciiNumber validator."""
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *more = typing.get_args(annotation)
        return _unchecked(inner, [*metadata, *more], where)
    if annotation in NUMBERS:
        return [] if AsciiNumber in metadata else [where]
    out = []
    for arg in typing.get_args(annotation):
        out += _unchecked(arg, [], where)
    return out


def test_every_number_field_of_a_body_is_read_as_the_phone_reads_it() -> None:
    import server.main  # noqa: F401  (every router, so every body model, is imported)

    missing = []
    for model in _models(Input):
        for name, field in model.model_fields.items():
            where = f"{model.__module__}.{model.__name__}.{name}"
            missing += _unchecked(field.annotation, list(field.metadata), where)
    assert not missing, f"number fields without server.schemas.AsciiNumber: {missing}"


async def _ticket_body(t: Tenant) -> dict[str, Any]:
    assert t.customer
    return {"customer_id": str(t.customer.id), "title": "Chiller"}


@pytest.mark.parametrize("odd", ODD, ids=repr)
async def test_an_odd_number_in_a_body_is_a_422(
    client: httpx.AsyncClient, db: AsyncSession, odd: Any
) -> None:
    t = await make_tenant(db)
    assert t.customer
    ticket = await travelling(db, t)
    admin, engineer = t.headers("admin"), t.headers("engineer1")
    customer = str(t.customer.id)
    cases: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
        (
            "/api/v1/sites",
            "lat",
            {"customer_id": customer, "name": "S", "address": "A"} | {"lat": odd, "lon": 121.0},
            admin,
        ),
        (
            "/api/v1/tickets",
            "estimated_minutes",
            await _ticket_body(t) | {"estimated_minutes": odd},
            admin,
        ),
        (
            "/api/v1/sla-policies",
            "response_minutes",
            {"priority": "P1", "response_minutes": odd} | {"resolution_minutes": 600},
            admin,
        ),
        (
            f"/api/v1/tickets/{ticket.id}/visits",
            "gps.accuracy_m",
            {"visit_id": str(uuid7())}
            | {"device_time": "2026-11-24T09:00:00Z"}
            | {"gps": {"lat": 31.2, "lon": 121.4, "accuracy_m": odd}},
            engineer,
        ),
    ]
    for url, name, body, headers in cases:
        response = await client.post(url, json=body, headers=headers)
        assert response.status_code == 422, (url, odd, response.text)
        assert response.json()["field"] == name, response.text


async def test_numbers_and_plain_number_text_are_read_as_before(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    for minutes in (90, "90", 90.0):
        response = await client.post(
            "/api/v1/tickets",
            json=await _ticket_body(t) | {"estimated_minutes": minutes},
            headers=t.headers("admin"),
        )
        assert response.status_code == 201, (minutes, response.text)
        assert response.json()["estimated_minutes"] == 90
