"""What the app tests put on the server: a stocked van and a checklist."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.factories import Tenant, make_location, make_part, make_ticket, move


async def stock_van(db: AsyncSession, tenant: Tenant, engineer: int = 0) -> dict[str, Any]:
    """Two parts in the engineer's van and a serialised one in the warehouse."""
    from server.parts import service as parts_service

    actor = tenant.actor("admin")
    filter_ = await make_part(
        db, actor, name="Condenser fan motor", sku="FAN-200", barcode="6901234567892"
    )
    belt = await make_part(db, actor, name="Drive belt 冷却", sku="BLT-010")
    warehouse = await make_location(db, actor)
    van = await parts_service.ensure_van(db, tenant.engineers[engineer])
    for part in (filter_, belt):
        await move(
            db, actor, kind="receive", part_id=part.id, quantity=10, to_location_id=warehouse.id
        )
        await move(
            db,
            actor,
            kind="transfer",
            part_id=part.id,
            quantity=4,
            from_location_id=warehouse.id,
            to_location_id=van.id,
        )
    return {"fan": filter_, "belt": belt, "van": van, "warehouse": warehouse}


# The checklist's words as the office writes them, per language (for the screenshots).
CHECKLIST_WORDS = {
    "en": ("Safety", "Power isolated", "Pressure"),
    "zh_CN": ("安全检查", "已断电并挂牌上锁", "系统压力"),
}


async def checklist(db: AsyncSession, tenant: Tenant, language: str = "en") -> Any:
    from server.field.checklists import service as checklists
    from server.field.schemas import TemplateCreate

    name, isolated, pressure = CHECKLIST_WORDS[language]
    data = TemplateCreate.model_validate(
        {
            "name": name,
            "items": [
                {"kind": "yes_no", "label": isolated, "required": True},
                {
                    "kind": "number",
                    "label": pressure,
                    "unit": "bar",
                    "min_value": 0,
                    "max_value": 40,
                },
            ],
        }
    )
    return await checklists.create_template(db, tenant.actor("admin"), data=data)


async def reserve(db: AsyncSession, tenant: Tenant, ticket: Any, part: Any, van: Any) -> Any:
    """The office reserves a part of the van for the job."""
    return await move(
        db,
        tenant.actor("admin"),
        kind="reserve",
        part_id=part.id,
        quantity=1,
        from_location_id=van.id,
        ticket_id=ticket.id,
    )


async def jobs_for(db: AsyncSession, tenant: Tenant, n: int, engineer: int = 0) -> list[Any]:
    """``n`` work orders at the tenant's site, assigned to one of its engineers."""
    assert tenant.customer and tenant.site
    return [
        await make_ticket(
            db,
            tenant.actor("dispatcher"),
            tenant.customer,
            tenant.site,
            tenant.asset,
            assign_to=tenant.engineers[engineer],
        )
        for _ in range(n)
    ]


EVERY_DAY = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


async def pool_jobs(
    db: AsyncSession, tenant: Tenant, jobs: list[tuple[str, str, float, float]]
) -> list[Any]:
    """Work orders open for claim, one per ``(title, priority, lat, lon)``, each at a site of
    its own there; the tenant's engineers work every day, so they qualify."""
    from server.customers import Site

    assert tenant.customer and tenant.site
    for engineer in tenant.engineers:
        engineer.working_hours = EVERY_DAY
    out = []
    for n, (title, priority, lat, lon) in enumerate(jobs):
        site = Site(
            org_id=tenant.org.id,
            customer_id=tenant.customer.id,
            name=f"{tenant.site.name} {n + 2}",
            address=f"{n + 2} {tenant.site.address}",
            lat=lat,
            lon=lon,
            version=1,
        )
        db.add(site)
        await db.flush()
        ticket = await make_ticket(
            db, tenant.actor("dispatcher"), tenant.customer, site, title=title, priority=priority
        )
        ticket.open_for_claim = True
        out.append(ticket)
    await db.flush()
    return out
