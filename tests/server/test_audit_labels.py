"""Who did something is a person's e-mail ("user:<e-mail>") in every audit column. A
caller without engineers:read (people's profiles) read them anyway: a parts:read key
learned from the ledger's `actor` which engineer's login moved stock, and a tickets:read
key who created each work order. Such a caller now reads "user": that a person did it,
not who. Integration keys ("key:<name>") and "system" read as they are."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import service as auth_service
from tests.fixtures.factories import Tenant, make_location, make_part, make_tenant, make_ticket
from tests.fixtures.factories import move as record_move


async def _key(db: AsyncSession, t: Tenant, *scopes: str) -> dict[str, str]:
    _, secret = await auth_service.create_api_key(
        db, t.actor("admin"), name="integration", scopes=list(scopes)
    )
    return {"Authorization": f"Bearer {secret}"}


async def test_audit_labels_name_people_only_to_callers_who_read_people(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer
    admin = t.actor("admin")
    warehouse = await make_location(db, admin)
    part = await make_part(db, admin)
    await record_move(
        db, admin, part_id=part.id, kind="receive", quantity=1, to_location_id=warehouse.id
    )
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer)
    narrow = await _key(db, t, "parts:read", "tickets:read")
    wide = await _key(db, t, "parts:read", "tickets:read", "engineers:read")
    await db.flush()

    def labels(responses: list[httpx.Response]) -> list[str]:
        for response in responses:
            assert response.status_code == 200, response.text
        ledger, work_order, events = (r.json() for r in responses)
        return [
            *(line["actor"] for line in ledger["items"]),
            work_order["created_by"],
            *(event["actor"] for event in events),
        ]

    async def read(headers: dict[str, str]) -> list[str]:
        return labels(
            [
                await client.get("/api/v1/stock-movements", headers=headers),
                await client.get(f"/api/v1/tickets/{ticket.id}", headers=headers),
                await client.get(f"/api/v1/tickets/{ticket.id}/events", headers=headers),
            ]
        )

    hidden, shown = await read(narrow), await read(wide)
    assert hidden and set(hidden) == {"user"}, hidden
    assert all(label.startswith("user:") and "@" in label for label in shown), shown
    # The same caller's own session is not affected by another's: the setting is per request.
    assert await read(narrow) == hidden
