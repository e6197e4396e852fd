"""dispatch.snapshot against the real schema: what every dispatch feature starts from."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update

from server.customers import PreferredEngineer, ServiceSite
from server.dispatch import snapshot
from server.dispatch.models import Decline
from server.engineers import Engineer, TimeOff
from server.orgs.models import Organisation
from server.tickets import Ticket
from tests.fixtures.factories import make_customer, make_engineer, make_tenant, make_ticket

MONDAY = dt.date(2030, 1, 7)
UTC = dt.UTC


def _at(hour: int, minute: int = 0, day: dt.date = MONDAY) -> dt.datetime:
    # Asia/Shanghai is UTC+8 all year.
    local = dt.datetime(
        day.year, day.month, day.day, hour, minute, tzinfo=dt.timezone(dt.timedelta(hours=8))
    )
    return local.astimezone(UTC)


async def _tenant(db: Any) -> Any:
    t = await make_tenant(db)
    await db.execute(
        update(Organisation).where(Organisation.id == t.org.id).values(timezone="Asia/Shanghai")
    )
    return t


async def test_engineer_day_has_shifts_with_leave_cut_out_and_starts_at_the_service_site(
    db: Any,
) -> None:
    t = await _tenant(db)
    depot = ServiceSite(
        org_id=t.org.id, name="Depot", kind="depot", address="", lat=31.0, lon=121.0, version=1
    )
    db.add(depot)
    await db.flush()
    _, engineer = await make_engineer(
        db,
        t.org,
        working_hours={"mon": [["08:00", "12:00"], ["13:00", "17:00"]]},
        start_site_id=depot.id,
        end_site_id=depot.id,
        max_jobs_per_day=5,
        max_minutes_per_day=480,
        territory="Pudong",
        skills={"hvac": 4},
    )
    db.add(
        TimeOff(
            org_id=t.org.id,
            engineer_id=engineer.id,
            kind="training",
            starts_at=_at(9),
            ends_at=_at(10),
        )
    )
    await db.flush()

    (day,) = await snapshot.engineer_days(db, t.org.id, MONDAY, engineer_ids=[engineer.id])

    assert day.shifts == ((_at(8), _at(9)), (_at(10), _at(12)), (_at(13), _at(17)))
    assert day.start == day.end == snapshot.Point(31.0, 121.0)
    assert (day.max_jobs, day.max_seconds, day.rating) == (5, 480 * 60, 4.0)
    assert day.skills == {"hvac": 4} and day.territory == "Pudong"
    # The day after has no working hours: no shift.
    (tuesday,) = await snapshot.engineer_days(
        db, t.org.id, MONDAY + dt.timedelta(days=1), engineer_ids=[engineer.id]
    )
    assert tuesday.shifts == ()


async def test_a_weekday_may_start_and_end_elsewhere(db: Any) -> None:
    t = await _tenant(db)
    depot = ServiceSite(
        org_id=t.org.id, name="Depot", kind="depot", address="", lat=31.0, lon=121.0, version=1
    )
    workshop = ServiceSite(
        org_id=t.org.id,
        name="Shop",
        kind="partner_workshop",
        address="",
        lat=31.4,
        lon=121.2,
        version=1,
    )
    db.add_all([depot, workshop])
    await db.flush()
    _, engineer = await make_engineer(
        db,
        t.org,
        working_hours={d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed")},
        start_site_id=depot.id,
        day_sites={"tue": {"start": None, "end": str(workshop.id)}},
    )
    home = snapshot.Point(engineer.home_lat or 0, engineer.home_lon or 0)

    async def ends(day: dt.date) -> tuple[Any, Any]:
        (found,) = await snapshot.engineer_days(db, t.org.id, day, engineer_ids=[engineer.id])
        return found.start, found.end

    depot_at = snapshot.Point(31.0, 121.0)
    assert await ends(MONDAY) == (depot_at, home)  # end_site_id null: home
    assert await ends(MONDAY + dt.timedelta(days=1)) == (home, snapshot.Point(31.4, 121.2))
    assert await ends(MONDAY + dt.timedelta(days=2)) == (depot_at, home)


async def test_planned_stops_in_plan_order_and_jobs_with_their_facts(db: Any) -> None:
    t = await _tenant(db)
    engineer: Engineer = t.engineers[0]
    dispatcher = t.actor("dispatcher")
    customer, site, _ = await make_customer(db, t.org)
    first = await make_ticket(
        db,
        dispatcher,
        customer,
        site,
        assign_to=engineer,
        window_start=_at(9),
        window_end=_at(11),
        estimated_minutes=45,
        required_skills=["hvac", "electrical:3"],
    )
    second = await make_ticket(
        db,
        dispatcher,
        customer,
        site,
        assign_to=engineer,
        window_start=_at(8),
        window_end=_at(10),
    )
    elsewhere = await make_ticket(
        db,
        dispatcher,
        customer,
        site,
        assign_to=engineer,
        window_start=_at(9, day=MONDAY + dt.timedelta(days=1)),
        window_end=_at(10, day=MONDAY + dt.timedelta(days=1)),
    )
    waiting = await make_ticket(db, dispatcher, customer, site, priority="P1")
    # Made after the work orders: a new work order takes its nearest service site
    # (docs/dispatch.md), and only the waiting one is to be West's here.
    site_west = ServiceSite(
        org_id=t.org.id,
        name="West",
        kind="depot",
        address="",
        lat=31.2,
        lon=121.4,
        territory="West",
        version=1,
    )
    db.add(site_west)
    await db.flush()
    await db.execute(
        update(Ticket).where(Ticket.id == first.id).values(plan_position=0, planned_start=_at(9))
    )
    await db.execute(
        update(Ticket).where(Ticket.id == second.id).values(plan_position=1, planned_start=_at(10))
    )
    await db.execute(
        update(Ticket).where(Ticket.id == waiting.id).values(service_site_id=site_west.id)
    )
    db.add(PreferredEngineer(org_id=t.org.id, customer_id=customer.id, engineer_id=engineer.id))
    db.add(Decline(org_id=t.org.id, ticket_id=waiting.id, engineer_id=t.engineers[1].id))
    await db.flush()
    assert site.lat is not None and site.lon is not None
    where = snapshot.Point(site.lat, site.lon)
    first_id, second_id, waiting_id, elsewhere_id = first.id, second.id, waiting.id, elsewhere.id
    org_id = t.org.id
    engineer_id = engineer.id
    other_engineer = t.engineers[1].id
    db.expire_all()

    (day,) = await snapshot.engineer_days(db, org_id, MONDAY, engineer_ids=[engineer_id])
    assert [s.ticket_id for s in day.stops] == [first_id, second_id]
    stop = day.stops[0]
    assert stop.skills == {"hvac": 1, "electrical": 3}
    assert stop.service_seconds == 45 * 60
    assert stop.location == where
    assert stop.latest_start() == _at(11)

    jobs = await snapshot.open_jobs(db, org_id, MONDAY)
    ids = {j.ticket_id for j in jobs}
    assert {first_id, second_id, waiting_id} <= ids and elsewhere_id not in ids
    found = await snapshot.job(db, org_id, waiting_id)
    assert found is not None
    assert found.territory == "West"
    assert found.service_seconds == snapshot.DEFAULT_SERVICE_MINUTES * 60
    assert found.preferred == {engineer_id} and found.declined == {other_engineer}
    assert (await snapshot.open_jobs(db, org_id, MONDAY, territory="West")) == [found]
    # Another tenant sees none of it.
    other = await make_tenant(db, "Other")
    assert await snapshot.job(db, other.org.id, waiting_id) is None
    assert await snapshot.open_jobs(db, other.org.id, MONDAY) == []


def test_required_skills_read_levels_and_ignore_odd_digits() -> None:
    assert snapshot.required_skills(["hvac", "electrical:3", "gas:9", "x:٣"]) == {
        "hvac": 1,
        "electrical": 3,
        "gas": 5,
        "x": 1,
    }


def test_latest_start_is_the_earlier_of_the_window_end_and_the_sla_less_service() -> None:
    base: dict[str, Any] = dict(
        ticket_id=None,
        number=1,
        title="",
        status="new",
        priority="P2",
        customer_id=None,
        location=None,
        service_seconds=3600,
        skills={},
        window_start=None,
        territory=None,
        assignee_id=None,
        pinned=False,
        open_for_claim=False,
        planned_start=None,
        plan_position=None,
        parts=frozenset(),
        preferred=frozenset(),
        declined=frozenset(),
    )
    job = snapshot.Job(**base, window_end=_at(12), sla_deadline=_at(12, 30))
    assert job.latest_start() == _at(11, 30)
    job = snapshot.Job(**base, window_end=None, sla_deadline=None)
    assert job.latest_start() is None
