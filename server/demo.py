"""Demo data: "Demo Service Co." (Shanghai) and a smaller second tenant, "Acme Lifts".

Built through the services, so work orders have real numbers, SLA deadlines and
audit events; resolved and closed ones carry the field work their engineer recorded (a
visit with GPS, labour, the checklist, a part from the van, a note, the resolution), so
their service report (report.pdf) has something to show. The demo password is refused
when FIXFLOW_ENV=production.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import secrets
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import EmailStr, Field
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import domains
from server.auth import service as auth
from server.auth.actor import Actor
from server.auth.models import Role, User
from server.customers.models import Asset, Customer, Site
from server.db import make_engine, make_sessionmaker, session_scope
from server.engineers.models import Engineer
from server.escalation import demo as escalation_demo
from server.notify import demo as notify_demo
from server.orgs.models import Organisation
from server.portal import demo as portal_demo
from server.schemas import Input, Text200
from server.surveys import demo as surveys_demo
from server.text import fit_column
from server.tickets import service as tickets
from server.tickets.models import BusinessCalendar, SlaPolicy, Ticket
from server.tickets.schemas import TicketCreate, TransitionIn
from server.webhooks import demo as webhooks_demo
from shared.lifecycle import Action

DEMO_PASSWORD = "fixflow-demo"
Echo = Callable[[str], Any]

_CUSTOMERS = [
    "上海华联超市",
    "Jinqiao Office Park",
    "浦东国际医院",
    "Hongqiao Hotel",
    "静安冷链物流",
    "Lujiazui Tower B",
    "徐汇第一中学",
    "Xintiandi Mall",
    "闵行数据中心",
    "Zhangjiang Biotech",
    "长宁社区卫生中心",
    "Wujiaochang Cinema",
    "宝山钢材仓库",
    "Qibao Food Factory",
    "虹口体育馆",
    "Songjiang University",
    "嘉定汽车配件厂",
    "Century Park Café",
    "杨浦图书馆",
    "Expo Centre Hall 3",
    "奉贤制药",
    "Pudong Airport T2 Kiosk",
    "青浦奥特莱斯",
    "Fengxian Cold Store",
]
_MODELS = [
    ("CH-200", "Chiller"),
    ("AHU-45", "Air handler"),
    ("RF-9", "Refrigerated cabinet"),
    ("GEN-30", "Backup generator"),
    ("LIFT-X1", "Passenger lift"),
]
_SKILLS = ["hvac", "refrigeration", "electrical", "generators", "lifts"]
_TITLES = [
    "Unit not cooling",
    "Compressor trips on high pressure",
    "Water leak under unit",
    "Annual maintenance",
    "Strange noise from fan",
    "Install new cabinet",
    "Alarm E31 on panel",
    "Door seal damaged",
    "Generator fails weekly test",
    "Lift stops between floors",
    "Customer complaint: slow repair",
    "Safety inspection",
]
# Statuses to walk work orders into, and the actions that get them there.
_PATHS: dict[str, list[Action]] = {
    "new": [],
    "assigned": [Action.ASSIGN],
    "accepted": [Action.ASSIGN, Action.ACCEPT],
    "travelling": [Action.ASSIGN, Action.ACCEPT, Action.START_TRAVEL],
    "on_site": [Action.ASSIGN, Action.ACCEPT, Action.START_TRAVEL, Action.ARRIVE],
    "on_hold": [Action.ASSIGN, Action.ACCEPT, Action.ARRIVE, Action.HOLD],
    # Resolved and closed ones get a visit with labour, a checklist, parts and a resolution
    # recorded by their engineer (_field_work), then close.
    "resolved": [Action.ASSIGN, Action.ACCEPT, Action.START_TRAVEL],
    "closed": [Action.ASSIGN, Action.ACCEPT, Action.START_TRAVEL],
    "cancelled": [Action.CANCEL],
}


async def is_empty(session: AsyncSession) -> bool:
    return not await session.scalar(select(func.count()).select_from(Organisation))


async def load_if_empty(database_url: str, *, echo: Echo = print) -> bool:
    engine = make_engine(database_url, pool_size=2)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            if not await is_empty(session):
                return False
    finally:
        await engine.dispose()
    await load(database_url, echo=echo)
    return True


async def load(database_url: str, *, echo: Echo = print) -> None:
    from rich.progress import Progress

    domains.install()
    engine = make_engine(database_url, pool_size=2)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            with Progress(transient=True) as progress:
                task = progress.add_task("loading demo data", total=2)
                await _tenant(session, "Demo Service Co.", "demo", 6, 24, 40, "Asia/Shanghai")
                progress.advance(task)
                await _tenant(session, "Acme Lifts", "acme", 2, 4, 6, "Europe/Berlin")
                progress.advance(task)
        echo("demo data loaded: Demo Service Co. and Acme Lifts")
    finally:
        await engine.dispose()


async def _tenant(
    session: AsyncSession, name: str, slug: str, n_eng: int, n_cust: int, n_wo: int, tz: str
) -> None:
    rng = random.Random(slug)  # noqa: S311 - demo data, not security
    org = Organisation(name=name, slug=slug, timezone=tz)
    session.add(org)
    await session.flush()
    users = {}
    for role in (Role.ADMIN, Role.DISPATCHER, Role.AGENT, Role.VIEWER):
        users[role] = await auth.add_user(
            session,
            org_id=org.id,
            email=f"{role.value}@{slug}.fixflow",
            full_name=f"{name} {role.value}",
            password=DEMO_PASSWORD,
            role=role,
        )
    engineers = await _engineers(session, org, slug, n_eng, rng)
    await _sla(session, org, tz)
    customers = await _customers(session, org, n_cust, rng)
    await notify_demo.seed(session, [c for c, _, _ in customers], users)
    admin = users[Role.ADMIN]
    actor = Actor(
        org_id=org.id,
        role=Role.DISPATCHER,
        scopes=frozenset({"tickets:read", "tickets:write"}),
        user_id=admin.id,
        label=f"user:{admin.email}",
    )
    part_ids, warehouse_id = await _parts(session, actor, engineers, rng)
    if slug == "demo":  # Shanghai: service sites, start sites, leave, preferred engineers
        await _dispatch(session, actor, engineers, customers, warehouse_id, tz)
    await _checklist(session, actor)
    await _work_orders(session, actor, customers, engineers, n_wo, rng, part_ids)
    if slug == "demo":  # tomorrow's work to plan, the claim pool, auto-assign for P1
        await _tomorrow(session, actor, engineers, customers, tz)
        await escalation_demo.seed(session, org.id, slug, password=DEMO_PASSWORD)
    await portal_demo.seed(session, org)  # QR and status links (docs/customer-pages.md)
    await surveys_demo.seed(session, org)  # a default template, answered surveys
    await webhooks_demo.seed(session, org.id)


async def _engineers(
    session: AsyncSession, org: Organisation, slug: str, n: int, rng: random.Random
) -> list[Engineer]:
    out = []
    hours = {d: [["08:30", "17:30"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    for i in range(1, n + 1):
        user: User = await auth.add_user(
            session,
            org_id=org.id,
            email=f"engineer{i}@{slug}.fixflow",
            full_name=f"Engineer {i}",
            password=DEMO_PASSWORD,
            role=Role.ENGINEER,
            locale="zh_CN" if i % 2 else "en",
        )
        skills = {s: rng.randint(1, 5) for s in rng.sample(_SKILLS, 3)}
        engineer = Engineer(
            org_id=org.id,
            user_id=user.id,
            display_name=user.full_name,
            phone=f"+86 138 0000 {i:04d}",
            skills=skills,
            home_lat=31.2 + rng.uniform(-0.15, 0.15),
            home_lon=121.45 + rng.uniform(-0.2, 0.2),
            working_hours=hours,
            territory=rng.choice(["Pudong", "Puxi"]),
            active=True,
            version=1,
        )
        session.add(engineer)
        out.append(engineer)
    await session.flush()
    return out


async def _sla(session: AsyncSession, org: Organisation, tz: str) -> None:
    cal = BusinessCalendar(
        org_id=org.id,
        name="Office hours",
        timezone=tz,
        hours={d: [["08:30", "17:30"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        holidays=[dt.date(2026, 1, 1), dt.date(2026, 10, 1), dt.date(2027, 1, 1)],
    )
    session.add(cal)
    await session.flush()
    targets = {
        "P1": (60, 8 * 60),
        "P2": (4 * 60, 2 * 9 * 60),
        "P3": (9 * 60, 5 * 9 * 60),
        "P4": (2 * 9 * 60, 10 * 9 * 60),
    }
    for prio, (resp, res) in targets.items():
        # P1 runs around the clock; the others on office hours.
        session.add(
            SlaPolicy(
                org_id=org.id,
                priority=prio,
                response_minutes=resp,
                resolution_minutes=res,
                calendar_id=None if prio == "P1" else cal.id,
            )
        )
    await session.flush()


async def _customers(
    session: AsyncSession, org: Organisation, n: int, rng: random.Random
) -> list[tuple[Customer, Site, Asset]]:
    out = []
    for i in range(n):
        name = _CUSTOMERS[i % len(_CUSTOMERS)]
        customer = Customer(
            org_id=org.id,
            name=name,
            contact_name=f"Contact {i + 1}",
            phone=f"+86 21 5555 {i:04d}",
            version=1,
        )
        session.add(customer)
        await session.flush()
        site = Site(
            org_id=org.id,
            customer_id=customer.id,
            name=f"{name} main site",
            address=f"{100 + i} Century Avenue, Shanghai",
            lat=31.23 + rng.uniform(-0.2, 0.2),
            lon=121.47 + rng.uniform(-0.25, 0.25),
            access_notes="Ask at reception",
            version=1,
        )
        session.add(site)
        await session.flush()
        model, label = rng.choice(_MODELS)
        installed = dt.date(2022, 1, 1) + dt.timedelta(days=rng.randint(0, 1200))
        asset = Asset(
            org_id=org.id,
            site_id=site.id,
            customer_id=customer.id,
            product_model=model,
            serial_number=f"{model}-{org.slug.upper()}-{i + 1:05d}",
            name=label,
            install_date=installed,
            warranty_end=installed + dt.timedelta(days=730),
            version=1,
        )
        session.add(asset)
        out.append((customer, site, asset))
    await session.flush()
    return out


async def _work_orders(
    session: AsyncSession,
    actor: Actor,
    customers: list[tuple[Customer, Site, Asset]],
    engineers: list[Engineer],
    n: int,
    rng: random.Random,
    part_ids: list[Any],
) -> None:
    statuses = list(_PATHS)
    for i in range(n):
        customer, site, asset = customers[i % len(customers)]
        status = statuses[i % len(statuses)]
        ticket: Ticket = await tickets.create(
            session,
            actor,
            data=TicketCreate(
                customer_id=customer.id,
                site_id=site.id,
                asset_id=asset.id,
                title=_TITLES[i % len(_TITLES)],
                description="Reported by the customer",
                priority=rng.choice(["P1", "P2", "P3", "P3", "P4"]),
                channel=rng.choice(["phone", "web", "email", "qr", "im", "iot"]),
                type=rng.choice(["repair", "repair", "maintenance", "installation", "inspection"]),
                required_skills=[rng.choice(_SKILLS)],
                estimated_minutes=rng.choice([30, 60, 90, 120]),
            ),
        )
        await session.flush()
        engineer = engineers[i % len(engineers)]
        for action in _PATHS[status]:
            body = TransitionIn(
                action=action,
                engineer_id=engineer.id if action is Action.ASSIGN else None,
                reason="Demo" if action in (Action.CANCEL, Action.HOLD) else None,
                hold_kind="waiting_customer" if action is Action.HOLD else None,
            )
            await tickets.apply_transition(session, actor, ticket_id=ticket.id, data=body)
        if status in ("resolved", "closed"):
            await _field_work(session, engineer, ticket, site, rng, part_ids)
        if status == "closed":
            close = TransitionIn(action=Action.CLOSE)
            await tickets.apply_transition(session, actor, ticket_id=ticket.id, data=close)
        await session.flush()


async def _checklist(session: AsyncSession, actor: Actor) -> None:
    """One SOP for every work order: what a resolve needs answered."""
    from server.field.checklists import service as checklists
    from server.field.schemas import ItemIn, TemplateCreate

    items = [
        {"kind": "yes_no", "label": "Power isolated before work?", "required": True},
        {
            "kind": "number",
            "label": "Supply voltage",
            "unit": "V",
            "min_value": 0,
            "max_value": 500,
        },
        {"kind": "text", "label": "Findings", "required": True},
        {
            "kind": "choice",
            "label": "Result",
            "options": ["fixed", "temporary fix"],
            "required": True,
        },
    ]
    data = TemplateCreate(
        name="General service checklist", items=[ItemIn.model_validate(i) for i in items]
    )
    await checklists.create_template(session, actor, data=data)


async def _field_work(
    session: AsyncSession,
    engineer: Engineer,
    ticket: Ticket,
    site: Site,
    rng: random.Random,
    part_ids: list[Any],
) -> None:
    """What the engineer recorded on site, through the field services the phone uses: a
    visit with GPS, travel and work labour, the checklist, a part from the van, a note, the
    resolution."""
    from server.field import parts_used
    from server.field import service as field
    from server.field.visits import service as visits
    from shared.ids import uuid7

    me = _engineer_actor(engineer)
    now = dt.datetime.now(dt.UTC)
    arrived, done = now - dt.timedelta(hours=2), now - dt.timedelta(minutes=40)
    gps = None
    if site.lat is not None and site.lon is not None:
        gps = {"lat": site.lat, "lon": site.lon, "accuracy_m": 12.0}
    visit = (
        await visits.check_in(
            session, me, ticket_id=ticket.id, visit_id=uuid7(), device_time=arrived, gps=gps
        )
    ).visit
    await _labour(session, me, ticket, visit.id, arrived, done)
    await _answer_checklist(session, me, ticket, visit.id)
    await parts_used.use_part(
        session,
        me,
        ticket_id=ticket.id,
        line_id=uuid7(),
        part_id=rng.choice(part_ids),
        quantity=1,
        visit_id=visit.id,
    )
    await field.add_note(
        session, me, ticket_id=ticket.id, note_id=uuid7(), text="Customer informed."
    )
    await visits.check_out(session, me, visit_id=visit.id, device_time=done, gps=gps)
    await field.resolve(
        session,
        me,
        ticket_id=ticket.id,
        resolution_code="REPLACED_PART",
        fault_code="E-WORN",
        root_cause="Wear after years of service",
        summary="Replaced the worn part and tested the unit under load.",
    )


def _engineer_actor(engineer: Engineer) -> Actor:
    """The engineer as the phone signs them in: their role's scopes, their label."""
    from server.auth.actor import ROLE_SCOPES

    return Actor(
        org_id=engineer.org_id,
        role=Role.ENGINEER,
        scopes=ROLE_SCOPES[Role.ENGINEER],
        user_id=engineer.user_id,
        engineer_id=engineer.id,
        label=f"user:{engineer.display_name}",
    )


async def _labour(
    session: AsyncSession,
    me: Actor,
    ticket: Ticket,
    visit_id: uuid.UUID,
    arrived: dt.datetime,
    done: dt.datetime,
) -> None:
    """The travel there (35 minutes before arriving) and the work until ``done``."""
    from server.field.labour import service as labour
    from shared.ids import uuid7

    for kind, start, end in (
        ("travel", arrived - dt.timedelta(minutes=35), arrived),
        ("work", arrived, done),
    ):
        await labour.add_labour(
            session,
            me,
            ticket_id=ticket.id,
            entry_id=uuid7(),
            kind=kind,
            started_at=start,
            ended_at=end,
            visit_id=visit_id,
        )


async def _answer_checklist(
    session: AsyncSession, me: Actor, ticket: Ticket, visit_id: uuid.UUID
) -> None:
    """An answer to every item of the checklists that apply to the work order."""
    from server.field.checklists import service as checklists
    from shared.ids import uuid7

    view = await checklists.for_work_order(session, me, ticket_id=ticket.id)
    values = {"yes_no": True, "number": 228, "text": "Contacts worn; replaced", "choice": "fixed"}
    for item in (item for _, items in view.templates for item in items):
        await checklists.answer(
            session,
            me,
            ticket_id=ticket.id,
            visit_id=visit_id,
            item_id=item.id,
            answer_id=uuid7(),
            value=values[item.kind],
        )


_PARTS = [
    ("CMP-RELAY-24", "Compressor relay 24 V", "pcs", "18.40", "39.00", ["CH-200", "AHU-45"]),
    ("FAN-MTR-120", "Condenser fan motor 120 W", "pcs", "96.00", "189.00", ["CH-200"]),
    ("SEAL-RF9", "Door seal for RF-9 cabinet", "pcs", "12.50", "29.00", ["RF-9"]),
    ("R410A-KG", "Refrigerant R410A", "kg", "22.00", "48.00", ["CH-200", "RF-9", "AHU-45"]),
    ("FLT-AHU45", "Air filter G4 for AHU-45", "pcs", "8.20", "19.00", ["AHU-45"]),
    ("BAT-GEN30", "Starter battery 12 V for GEN-30", "pcs", "64.00", "129.00", ["GEN-30"]),
    ("DOOR-SNS-X1", "Lift door sensor", "pcs", "140.00", "290.00", ["LIFT-X1"]),
    ("CABLE-2.5", "Cable 2.5 mm² (metre)", "m", "0.90", "2.20", []),
]


async def _parts(
    session: AsyncSession, actor: Actor, engineers: list[Engineer], rng: random.Random
) -> tuple[list[Any], uuid.UUID]:
    """A central warehouse stocked from a delivery, and a van per engineer topped up from it;
    returns the parts' ids and the warehouse's."""
    from decimal import Decimal

    from server.parts import service as parts
    from server.parts.models import MovementKind
    from server.parts.schemas import LocationCreate, MovementCreate, PartCreate

    stock_actor = Actor(
        org_id=actor.org_id,
        role=Role.DISPATCHER,
        scopes=frozenset({"parts:read", "parts:write"}),
        user_id=actor.user_id,
        label=actor.label,
    )
    warehouse = await parts.create_location(
        session, stock_actor, data=LocationCreate(kind="warehouse", name="Central warehouse")
    )
    vans = [await parts.ensure_van(session, e) for e in engineers]
    part_ids = []
    for sku, name, unit, cost, price, models in _PARTS:
        part = await parts.create_part(
            session,
            stock_actor,
            data=PartCreate(
                sku=sku,
                name=name,
                unit=unit,
                cost=Decimal(cost),
                price=Decimal(price),
                compatible_models=models,
            ),
        )
        await parts.create_movement(
            session,
            stock_actor,
            data=MovementCreate(
                kind=MovementKind.RECEIVE,
                part_id=part.id,
                quantity=Decimal(rng.randint(40, 120)),
                to_location_id=warehouse.id,
                reason="Opening stock",
            ),
        )
        for van in vans:
            await parts.create_movement(
                session,
                stock_actor,
                data=MovementCreate(
                    kind=MovementKind.TRANSFER,
                    part_id=part.id,
                    quantity=Decimal(rng.randint(1, 4)),
                    from_location_id=warehouse.id,
                    to_location_id=van.id,
                ),
            )
        part_ids.append(part.id)
    return part_ids, warehouse.id


# Shanghai: a depot in Minhang (holding the central warehouse), a service centre in Pudong,
# a partner workshop in Jiading.
_SERVICE_SITES = (
    ("Minhang depot", "depot", "88 Jianchuan Rd, Minhang", 31.0215, 121.4328, "Puxi"),
    (
        "Pudong service centre",
        "service_centre",
        "500 Zhangyang Rd, Pudong",
        31.2290,
        121.5260,
        "Pudong",
    ),
    ("Jiading partner workshop", "partner_workshop", "1 Bole Rd, Jiading", 31.3830, 121.2500, None),
)


async def _dispatch(
    session: AsyncSession,
    actor: Actor,
    engineers: list[Engineer],
    customers: list[tuple[Customer, Site, Asset]],
    warehouse_id: uuid.UUID,
    tz: str,
) -> None:
    """Service sites, where each engineer's day starts and ends (the depot or the service
    centre; the last one from home), capacity and rating, a day of leave on the next
    working day for engineer 2, and the first customer's preferred engineers."""
    from zoneinfo import ZoneInfo

    from server.customers import service as customers_service
    from server.customers.service_sites import service as service_sites
    from server.customers.service_sites.schemas import ServiceSiteCreate
    from server.engineers.models import TimeOff

    sites = []
    for name, kind, address, lat, lon, territory in _SERVICE_SITES:
        data = ServiceSiteCreate(
            name=name,
            kind=kind,
            address=address,
            lat=lat,
            lon=lon,
            territory=territory,
            stock_location_id=warehouse_id if kind == "depot" else None,
        )
        sites.append((await service_sites.create(session, actor, data=data)).id)
    for i, engineer in enumerate(engineers, start=1):
        home = i == len(engineers)
        # Odd engineers start at the depot, even ones at the service centre.
        engineer.start_site_id = engineer.end_site_id = None if home else sites[(i + 1) % 2]
        engineer.max_jobs_per_day = 6
        engineer.max_minutes_per_day = 8 * 60
        engineer.rating = (3.6, 4.0, 4.4, 4.8)[i % 4]
    day = _next_working_day(tz)
    starts = dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))
    session.add(
        TimeOff(
            org_id=actor.org_id,
            engineer_id=engineers[1].id,
            kind="leave",
            starts_at=starts,
            ends_at=starts + dt.timedelta(days=1),
            note="Annual leave",
        )
    )
    customer = customers[0][0]
    await customers_service.set_preferred_engineers(
        session,
        actor,
        customer_id=customer.id,
        engineer_ids=[engineers[0].id, engineers[2].id],
        expected_version=customer.version,
    )
    await session.flush()


def _next_working_day(tz: str) -> dt.date:
    from zoneinfo import ZoneInfo

    day = dt.datetime.now(ZoneInfo(tz)).date() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


async def _tomorrow(
    session: AsyncSession,
    actor: Actor,
    engineers: list[Engineer],
    customers: list[tuple[Customer, Site, Asset]],
    tz: str,
) -> None:
    """The next working day's work for a day plan (new work orders with morning or
    afternoon windows); two of them, needing engineer 1's skill and in engineer 1's
    territory (or in none), open for claiming; auto-assign for P1, falling back to the pool."""
    from zoneinfo import ZoneInfo

    from server.customers.models import ServiceSite
    from server.dispatch.claims import service as claims
    from server.dispatch.models import AutoAssignRule

    day = _next_working_day(tz)
    zone = ZoneInfo(tz)
    first = engineers[0]
    skill = sorted(first.skills)[0]
    pooled = 0
    for i in range(12):
        customer, site, asset = customers[(i * 5 + 3) % len(customers)]
        morning = i % 2 == 0
        start = dt.datetime(day.year, day.month, day.day, 9 if morning else 13, 0, tzinfo=zone)
        ticket = await tickets.create(
            session,
            actor,
            data=TicketCreate(
                customer_id=customer.id,
                site_id=site.id,
                asset_id=asset.id,
                title=_TITLES[(i + 3) % len(_TITLES)],
                description="Booked for tomorrow",
                priority=("P2", "P3", "P3", "P4")[i % 4],
                channel="phone",
                type="maintenance" if i % 3 else "repair",
                required_skills=[skill if i < 6 else _SKILLS[i % len(_SKILLS)]],
                window_start=start,
                window_end=start + dt.timedelta(hours=3 if morning else 4),
                estimated_minutes=(60, 90, 45, 120)[i % 4],
            ),
        )
        await session.flush()
        territory = await session.scalar(
            select(ServiceSite.territory).where(ServiceSite.id == ticket.service_site_id)
        )
        if i < 6 and pooled < 2 and territory in (None, first.territory):
            await claims.open_for_claim(session, actor, ticket_id=ticket.id)
            pooled += 1
    session.add(AutoAssignRule(org_id=actor.org_id, priority="P1", fallback_to_pool=True))
    await session.flush()


class AdminIn(Input):
    """The first admin of an organisation, as `fixflow create-admin` takes it: the same
    limits as the API's, so nothing the command accepts fails at the database."""

    email: EmailStr
    org_name: Text200
    name: Text200
    password: Annotated[str, Field(min_length=10, max_length=200)]


async def create_admin(database_url: str, admin: AdminIn) -> str:
    """Add an admin to the organisation named ``admin.org_name`` (its name or slug), created
    if missing. Returns the organisation's slug: log-in asks for it when the address has
    accounts in several organisations."""
    domains.install()
    engine = make_engine(database_url, pool_size=2)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            org = await _organisation(session, admin.org_name)
            await auth.add_user(
                session,
                org_id=org.id,
                email=admin.email,
                full_name=admin.name,
                password=admin.password,
                role=Role.ADMIN,
            )
            return org.slug
    finally:
        await engine.dispose()


async def _organisation(session: AsyncSession, name: str) -> Organisation:
    """The organisation with this name or slug (the oldest, if names repeat), or a new one
    with a slug no other organisation has."""
    found = await session.scalar(
        select(Organisation)
        .where(or_(Organisation.name == name, Organisation.slug == name))
        .order_by(Organisation.created_at)
        .limit(1)
    )
    if found is not None:
        return found
    org = Organisation(name=name, slug=await _free_slug(session, name))
    session.add(org)
    await session.flush()
    return org


async def _free_slug(session: AsyncSession, name: str) -> str:
    """A slug from the name's ASCII letters and digits, made unique with a random suffix
    when taken ("Acme Ltd" and "ACME-LTD" are one slug; every Chinese name is "org")."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50].strip("-") or "org"
    slug = base
    while await session.scalar(select(Organisation.id).where(Organisation.slug == slug)):
        slug = f"{base}-{secrets.token_hex(3)}"
    return fit_column(Organisation.slug, slug)


async def customer_links(database_url: str) -> dict[str, str]:
    """One live link of each kind in the demo organisation, for `make run` to print: the
    status page of a work order on its way (else any open one), a QR fault-report form, and
    a survey nobody answered yet. Empty when there is no demo organisation."""
    from server.links import AccessLink, LinkKind
    from server.links import service as links
    from server.surveys.models import SurveyResponse

    engine = make_engine(database_url, pool_size=1)
    found: dict[str, str] = {}
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            org_id = await session.scalar(
                select(Organisation.id).where(Organisation.slug == "demo")
            )
            if org_id is None:
                return found
            live = (AccessLink.org_id == org_id) & AccessLink.revoked_at.is_(None)
            status = await session.scalar(
                select(AccessLink)
                .join(Ticket, Ticket.id == AccessLink.subject_id)
                .where(live, AccessLink.kind == LinkKind.STATUS.value)
                .order_by((Ticket.status != "travelling"), Ticket.number)
                .limit(1)
            )
            qr = await session.scalar(
                select(AccessLink).where(live, AccessLink.kind == LinkKind.QR.value).limit(1)
            )
            survey = await session.scalar(
                select(AccessLink)
                .where(live, AccessLink.kind == LinkKind.SURVEY.value)
                .where(~AccessLink.subject_id.in_(select(SurveyResponse.invitation_id)))
                .limit(1)
            )
            for name, link in (("status", status), ("qr", qr), ("survey", survey)):
                if link is not None:
                    found[name] = links.url(LinkKind(link.kind), links.token_for(link))
    finally:
        await engine.dispose()
    return found
