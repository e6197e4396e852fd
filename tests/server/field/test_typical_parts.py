"""The parts a product model's repairs typically use (what dispatch asks a van to hold)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from server.dispatch import snapshot
from server.field import service as field
from server.parts import service as parts
from shared.ids import uuid7
from tests.fixtures.factories import make_part, make_tenant, make_ticket, move
from tests.server.field.helpers import on_site


async def test_parts_used_on_a_share_of_the_models_repairs_are_typical(db: AsyncSession) -> None:
    t = await make_tenant(db)
    admin = t.actor("admin")
    van = await parts.ensure_van(db, t.engineers[0])
    a, b, c = [await make_part(db, admin) for _ in range(3)]
    for part in (a, b, c):
        await move(db, admin, kind="receive", part_id=part.id, quantity=20, to_location_id=van.id)
    # Four repairs of the tenant's CH-200: A on three, C on two, B on one.
    uses = [(a, c), (a, c), (a,), (b,)]
    for used in uses:
        ticket, visit = await on_site(db, t)
        for part in used:
            await field.use_part(
                db,
                t.actor("engineer1"),
                ticket_id=ticket.id,
                line_id=uuid7(),
                part_id=part.id,
                quantity="1",
                visit_id=visit.id,
            )
    await db.flush()

    typical = await field.typical_parts(db, t.org.id, ["CH-200", "NOPE"])
    assert typical == {"CH-200": frozenset({a.id, c.id})}  # B: 1 of 4, under 30 %
    # A year and more later, none of it counts any more.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=field.TYPICAL_DAYS + 1)
    assert await field.typical_parts(db, t.org.id, ["CH-200"], now=later) == {}
    other = await make_tenant(db, "Other")
    assert await field.typical_parts(db, other.org.id, ["CH-200"]) == {}

    # A new work order on the same model: dispatch sees what its repair usually takes.
    assert t.customer is not None
    new = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site, t.asset)
    job = await snapshot.job(db, t.org.id, new.id)
    assert job is not None and job.typical_parts == {a.id, c.id}
    assert job.parts == frozenset()  # nothing reserved for it
