"""The refresh reads parts, surveys and SLA calendars as the other domains wrote them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.reports import refresh
from server.surveys import responses
from server.surveys.responses import AlreadyAnswered, Answers
from server.tickets.models import BusinessCalendar
from tests.fixtures.factories import (
    make_location,
    make_part,
    make_policy,
    make_tenant,
    make_ticket,
    move,
)
from tests.fixtures.surveys import invite, make_template
from tests.server.reports.test_refresh import backdate, fact


async def test_parts_consumed_and_returned_cost_the_difference(db: AsyncSession) -> None:
    t = await make_tenant(db)
    assert t.customer
    admin = t.actor("admin")
    ticket = await make_ticket(db, admin, t.customer, t.site)
    part = await make_part(db, admin, cost=Decimal("12.50"))
    store = await make_location(db, admin)
    await move(db, admin, kind="receive", part_id=part.id, quantity=10, to_location_id=store.id)
    common = {"part_id": part.id, "ticket_id": ticket.id}
    await move(db, admin, kind="consume", quantity=3, from_location_id=store.id, **common)
    await move(
        db, admin, kind="return", quantity=1, to_location_id=store.id, condition="good", **common
    )
    await db.flush()
    await refresh.refresh_work_orders(db, t.org.id, [ticket.id])
    assert (await fact(db, ticket.id)).parts_cost == Decimal("25.00")  # 3 x 12.50 - 12.50


async def test_a_survey_answered_twice_counts_the_first_answer(db: AsyncSession) -> None:
    t = await make_tenant(db)
    await make_template(db, t)
    invited = await invite(db, t)
    first = await responses.record(
        db, invited.invitation, Answers(csat=2, nps=3, ces=6), language="en"
    )
    with pytest.raises(AlreadyAnswered):
        await responses.record(db, invited.invitation, Answers(csat=5, nps=10), language="en")
    await db.flush()
    await refresh.refresh_work_orders(db, t.org.id, [invited.ticket.id])
    row = await fact(db, invited.ticket.id)
    assert (row.csat, row.nps, row.ces, row.surveyed_at) == (2, 3, 6, first.submitted_at)


async def test_the_first_response_is_counted_in_the_policys_business_hours(
    db: AsyncSession,
) -> None:
    t = await make_tenant(db)
    assert t.customer
    calendar = BusinessCalendar(
        org_id=t.org.id,
        name="Shanghai office",
        timezone="Asia/Shanghai",
        hours={day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        holidays=[dt.date(2026, 10, 1)],
    )
    db.add(calendar)
    await db.flush()
    policy = await make_policy(db, t.org, "P1", response_minutes=60, resolution_minutes=480)
    policy.calendar_id = calendar.id
    plain = await make_policy(db, t.org, "P2", response_minutes=60, resolution_minutes=480)
    await db.flush()
    counted = await make_ticket(db, t.actor("dispatcher"), t.customer, priority="P1")
    elapsed = await make_ticket(db, t.actor("dispatcher"), t.customer, priority="P2")
    assert (counted.sla_policy_id, elapsed.sla_policy_id) == (policy.id, plain.id)
    # Wednesday 30 September 17:00 in Shanghai to Friday 2 October 10:00: the 1st is a
    # holiday, so an hour on Wednesday and one on Friday.
    created = dt.datetime(2026, 9, 30, 9, 0, tzinfo=dt.UTC)
    answered = dt.datetime(2026, 10, 2, 2, 0, tzinfo=dt.UTC)
    for ticket in (counted, elapsed):
        await backdate(db, ticket.id, created_at=created, first_response_at=answered)
    await refresh.refresh_work_orders(db, t.org.id, [counted.id, elapsed.id])
    assert (await fact(db, counted.id)).first_response_business_s == 2 * 3600
    assert (await fact(db, elapsed.id)).first_response_business_s == 41 * 3600


async def test_a_refresh_writes_the_same_rows_twice(db: AsyncSession) -> None:
    t = await make_tenant(db)
    assert t.customer
    for _ in range(3):
        await make_ticket(db, t.actor("dispatcher"), t.customer, assign_to=t.engineers[0])
    columns = "ticket_id, engineer_id, first_assigned_at, schedule_s, status, work_s"
    query = text(f"SELECT {columns} FROM kpi_work_orders WHERE org_id = :o ORDER BY 1")
    await refresh.refresh_org(db, t.org.id, full=True)
    once = (await db.execute(query, {"o": t.org.id})).all()
    await refresh.refresh_org(db, t.org.id, full=True)
    assert (await db.execute(query, {"o": t.org.id})).all() == once and len(once) == 3


async def test_a_calendar_that_no_longer_parses_counts_around_the_clock(
    db: AsyncSession,
) -> None:
    t = await make_tenant(db)
    assert t.customer
    policy = await make_policy(db, t.org, "P1", response_minutes=60, resolution_minutes=480)
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, priority="P1")
    broken = BusinessCalendar(
        org_id=t.org.id, name="Broken", timezone="UTC", hours={"mon": [["18:00", "09:00"]]}
    )
    db.add(broken)
    await db.flush()
    policy.calendar_id = broken.id  # as a row edited by hand might be
    created = dt.datetime(2026, 9, 28, 9, 0, tzinfo=dt.UTC)
    await backdate(db, ticket.id, created_at=created, first_response_at=created + HOUR)
    await db.flush()
    await refresh.refresh_work_orders(db, t.org.id, [ticket.id])
    assert (await fact(db, ticket.id)).first_response_business_s == 3600


HOUR = dt.timedelta(hours=1)
