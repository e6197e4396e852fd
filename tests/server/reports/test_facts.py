"""Each fact column's rule (docs/kpis.md), on raw rows written by hand with known answers."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from server.engineers import shifts
from server.reports import facts
from server.reports.facts import (
    CheckIn,
    EngineerInfo,
    Event,
    Labour,
    Movement,
    Survey,
    TicketRow,
    WorkOrderRaw,
)
from server.tickets import BusinessHours

UTC = dt.UTC
T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # a Monday
ANNA, BEN = uuid.uuid4(), uuid.uuid4()
PEOPLE = {
    ANNA: EngineerInfo("North", "Pudong", Decimal("60.00")),
    BEN: EngineerInfo("South", "Minhang", None),
}


def h(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def ticket(**fields: Any) -> TicketRow:
    base: dict[str, Any] = {
        "id": uuid.uuid4(),
        "org_id": uuid.uuid4(),
        "number": 7,
        "status": "new",
        "priority": "P2",
        "channel": "phone",
        "type": "repair",
        "customer_id": uuid.uuid4(),
        "site_id": None,
        "asset_id": None,
        "fault_code": None,
        "assignee_id": None,
        "repeat_of_id": None,
        "sla_policy_id": None,
        "created_at": T0,
        "first_response_at": None,
        "resolved_at": None,
        "closed_at": None,
        "response_due_at": None,
        "resolution_due_at": None,
        "response_breached": False,
        "resolution_breached": False,
        "product_model": None,
        "site_territory": None,
        "marked_repeat_at": None,
        "same_fault_next_at": None,
        "next_on_asset_at": None,
    }
    return TicketRow(**{**base, **fields})


def ev(at: float, action: str, frm: str | None = None, **kw: Any) -> Event:
    return Event(h(at), action, frm, kw.get("hold_kind"), kw.get("assignee"))


SHANGHAI = ZoneInfo("Asia/Shanghai")


def fact(
    raw: WorkOrderRaw, now: dt.datetime = h(1000), zone: ZoneInfo = SHANGHAI
) -> dict[str, Any]:
    return facts.work_order_fact(raw, PEOPLE, now, zone)


def test_the_views_dates_are_local_dates_of_the_anchors() -> None:
    """16:30 UTC on 31 January is half past midnight on 1 February in Shanghai: a monthly
    view counts it in February there, in January in London."""
    created = dt.datetime(2027, 1, 31, 16, 30, tzinfo=UTC)
    resolved = dt.datetime(2027, 2, 28, 15, 59, tzinfo=UTC)  # 23:59 local
    t = ticket(created_at=created, status="resolved", resolved_at=resolved)
    answer = Survey(5, 10, 2, dt.datetime(2027, 3, 31, 16, 0, tzinfo=UTC))
    row = fact(WorkOrderRaw(t, survey=answer))
    assert (row["created_day"], row["resolved_day"], row["surveyed_day"]) == (
        dt.date(2027, 2, 1),
        dt.date(2027, 2, 28),
        dt.date(2027, 4, 1),
    )
    london = fact(WorkOrderRaw(t, survey=answer), zone=ZoneInfo("Europe/London"))
    assert (london["created_day"], london["resolved_day"], london["surveyed_day"]) == (
        dt.date(2027, 1, 31),
        dt.date(2027, 2, 28),
        dt.date(2027, 3, 31),
    )
    open_one = fact(WorkOrderRaw(ticket(created_at=created)))
    assert open_one["resolved_day"] is None and open_one["surveyed_day"] is None


def test_a_reopened_work_order_counts_its_last_resolution_and_its_resolver() -> None:
    events = [
        ev(1, "assign", "new", assignee=BEN),
        ev(2, "unassign", "assigned"),
        ev(3, "assign", "new", assignee=ANNA),
        ev(4, "arrive", "travelling"),
        ev(5, "resolve", "on_site"),
        ev(30, "reopen", "resolved"),
        ev(40, "resolve", "on_site"),
    ]
    row = fact(
        WorkOrderRaw(
            ticket(status="closed", resolved_at=h(40), closed_at=h(50), assignee_id=BEN),
            events,
        )
    )
    assert row["resolved_at"] == h(40) and row["ended_at"] == h(40) and row["closed_at"] == h(50)
    assert row["reopened"] == 1 and row["resolve_s"] == 40 * 3600
    assert row["first_assigned_at"] == h(1) and row["schedule_s"] == 3600
    # The engineer is who held it at the (last) resolution, with their team and territory.
    assert (row["engineer_id"], row["team"], row["territory"]) == (ANNA, "North", "Pudong")
    assert row["first_arrival_at"] == h(4) and row["arrive_s"] == 4 * 3600  # no check-in
    assert row["visits"] == 0


def test_an_open_work_order_is_attributed_to_its_assignee_and_has_no_end() -> None:
    row = fact(WorkOrderRaw(ticket(status="on_site", assignee_id=BEN, site_territory="Depot")))
    assert row["engineer_id"] == BEN and row["team"] == "South"
    assert row["territory"] == "Depot"  # the service site's before the engineer's
    assert row["ended_at"] is None and row["resolve_s"] is None and row["resolved_at"] is None


def test_waiting_for_the_customer_counts_until_the_hold_ends() -> None:
    events = [
        ev(1, "assign", "new", assignee=ANNA),
        ev(2, "hold", "on_site", hold_kind="waiting_customer"),
        ev(5, "resume", "on_hold"),
        ev(6, "hold", "on_site", hold_kind="waiting_parts"),  # not the customer
        ev(8, "resume", "on_hold"),
        ev(9, "hold", "on_site", hold_kind="waiting_customer"),
        ev(10.5, "resume", "on_hold"),
        ev(12, "resolve", "on_site"),
    ]
    row = fact(WorkOrderRaw(ticket(status="resolved", resolved_at=h(12)), events))
    assert row["waiting_s"] == 3 * 3600 + 5400
    assert row["resolve_s"] - row["waiting_s"] == 12 * 3600 - 16200
    # Still on hold: the wait runs to now; cancelled while on hold: to the cancel.
    open_row = fact(WorkOrderRaw(ticket(status="on_hold"), events[:2]), now=h(4))
    assert open_row["waiting_s"] == 2 * 3600
    cancelled = [*events[:2], ev(3, "cancel", "on_hold")]
    gone = fact(WorkOrderRaw(ticket(status="cancelled"), cancelled))
    assert gone["waiting_s"] == 3600 and gone["cancelled_at"] == h(3)


def test_first_response_in_business_hours_across_a_weekend_and_dst() -> None:
    berlin = BusinessHours.from_config(
        "Europe/Berlin", {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}, ()
    )
    # Friday 23 October 2026 16:30 in Berlin (summer time, UTC+2) to Monday 26 October
    # 09:30 (winter time, UTC+1; clocks went back on Sunday): half an hour on each side.
    created = dt.datetime(2026, 10, 23, 14, 30, tzinfo=UTC)
    responded = dt.datetime(2026, 10, 26, 8, 30, tzinfo=UTC)
    t = ticket(created_at=created, first_response_at=responded)
    assert fact(WorkOrderRaw(t, calendar=berlin))["first_response_business_s"] == 3600
    # Without a calendar the policy counts around the clock: elapsed time (66 hours).
    assert fact(WorkOrderRaw(t))["first_response_business_s"] == 66 * 3600
    assert fact(WorkOrderRaw(ticket()))["first_response_business_s"] is None


def test_the_first_arrival_is_the_first_check_in_corrected_for_a_wrong_clock() -> None:
    checks = [
        CheckIn(h(5), 0.0, False),
        # The phone was 3 hours fast: it said 6:00, it was 3:00 by the server's clock.
        CheckIn(h(6), 3 * 3600.0, True),
        CheckIn(h(20), 30.0, False),  # a small offset, not flagged: kept as the phone said
    ]
    events = [ev(1, "assign", "new", assignee=ANNA), ev(2.5, "arrive", "travelling")]
    row = fact(WorkOrderRaw(ticket(status="on_site"), events, check_ins=checks))
    assert row["visits"] == 3
    assert row["first_arrival_at"] == h(3) and row["arrive_s"] == 3 * 3600


def test_cancelled_after_a_visit() -> None:
    events = [
        ev(1, "assign", "new", assignee=ANNA),
        ev(3, "arrive", "travelling"),
        ev(7, "cancel", "on_site"),
    ]
    t = ticket(
        status="cancelled",
        assignee_id=ANNA,
        resolution_due_at=h(4),
        response_due_at=h(2),
        first_response_at=h(1.5),
    )
    row = fact(WorkOrderRaw(t, events, check_ins=[CheckIn(h(3), 0.0, False)]))
    assert row["cancelled_at"] == h(7) and row["ended_at"] == h(7)
    assert row["resolved_at"] is None and row["resolve_s"] is None
    assert row["resolution_met"] is None  # cancelled: no resolution to judge
    assert row["response_met"] is True
    assert row["visits"] == 1 and row["engineer_id"] == ANNA


def test_the_sla_targets_are_decided_when_they_can_be() -> None:
    due = {"response_due_at": h(2), "resolution_due_at": h(8)}
    pending = ticket(status="assigned", **due)
    assert (facts.response_met(pending, h(1)), facts.response_met(pending, h(3))) == (None, False)
    late = ticket(status="accepted", first_response_at=h(3), response_breached=True, **due)
    assert facts.response_met(late, h(3)) is False
    assert facts.response_met(ticket(first_response_at=h(1), **due), h(9)) is True
    assert facts.response_met(ticket(), h(9)) is None
    assert fact(WorkOrderRaw(pending), now=h(7))["resolution_met"] is None
    assert fact(WorkOrderRaw(pending), now=h(9))["resolution_met"] is False
    done = ticket(status="resolved", resolved_at=h(9), resolution_breached=True, **due)
    assert fact(WorkOrderRaw(done))["resolution_met"] is False
    ok = ticket(status="closed", resolved_at=h(7), closed_at=h(9), **due)
    assert fact(WorkOrderRaw(ok))["resolution_met"] is True
    assert fact(WorkOrderRaw(ticket(status="resolved", resolved_at=h(7))))["resolution_met"] is None


def test_labour_counts_the_effective_entries_at_each_engineers_rate() -> None:
    labour = [
        Labour(ANNA, "travel", h(0), h(0.5), False, False),
        Labour(ANNA, "work", h(0.5), h(1.5), False, True),  # replaced by the next one
        Labour(ANNA, "work", h(0.5), h(2), False, False),
        Labour(ANNA, "work", h(3), h(6), True, False),  # voided
        Labour(BEN, "work", h(1), h(2), False, False),  # no rate: costs nothing
        Labour(ANNA, "break", h(2), h(3), False, False),  # a break is not labour
    ]
    row = fact(WorkOrderRaw(ticket(), labour=labour))
    assert (row["work_s"], row["travel_s"]) == (9000, 1800)
    assert row["labour_cost"] == Decimal("120.00")  # Anna's 2 hours at 60


def test_parts_consumed_less_good_returns() -> None:
    movements = [
        Movement("consume", Decimal("2"), Decimal("12.50")),
        Movement("consume", Decimal("1.5"), Decimal("3.333")),
        Movement("return", Decimal("1"), Decimal("12.50"), "good"),
        # The broken unit taken out of the equipment: credits nothing.
        Movement("return", Decimal("1"), Decimal("40.00"), "defective"),
    ]
    row = fact(WorkOrderRaw(ticket(), movements=movements))
    assert row["parts_cost"] == Decimal("17.50")  # 25 + 5.00 (4.9995) - 12.50


def test_the_survey_and_the_neighbours_are_carried() -> None:
    marked, same_fault, following = h(100), h(200), h(300)
    t = ticket(
        asset_id=uuid.uuid4(),
        product_model="CH-200",
        fault_code="E7",
        repeat_of_id=uuid.uuid4(),
        marked_repeat_at=marked,
        same_fault_next_at=same_fault,
        next_on_asset_at=following,
    )
    row = fact(WorkOrderRaw(t, survey=Survey(5, 9, None, h(30))))
    assert (row["csat"], row["nps"], row["ces"], row["surveyed_at"]) == (5, 9, None, h(30))
    assert (row["marked_repeat_at"], row["same_fault_next_at"], row["next_on_asset_at"]) == (
        marked,
        same_fault,
        following,
    )
    assert row["repeat_of_id"] == t.repeat_of_id and row["product_model"] == "CH-200"
    assert fact(WorkOrderRaw(ticket()))["csat"] is None


def test_every_column_of_the_table_is_computed_in_its_order() -> None:
    from server.reports.sql import FACT_COLUMNS

    assert tuple(fact(WorkOrderRaw(ticket()))) == FACT_COLUMNS  # the refresh relies on it


# --- engineer days -------------------------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")


def test_an_engineer_day_splits_labour_at_local_midnight_across_dst() -> None:
    # Clocks go back in Berlin at 03:00 on Sunday 25 October 2026: that day has 25 hours.
    sunday = dt.date(2026, 10, 25)
    bounds = shifts.day_bounds(sunday, BERLIN)
    assert (bounds[1] - bounds[0]) == dt.timedelta(hours=25)
    # 22:00 Saturday to 04:00 Sunday local: 2 hours on Saturday, 5 on Sunday (the 02:00
    # to 03:00 hour happens twice).
    start = dt.datetime(2026, 10, 24, 22, 0, tzinfo=BERLIN).astimezone(UTC)
    end = dt.datetime(2026, 10, 25, 4, 0, tzinfo=BERLIN).astimezone(UTC)
    night = [Labour(ANNA, "work", start, end, False, False)]
    saturday = shifts.day_bounds(dt.date(2026, 10, 24), BERLIN)
    hours = {"sat": [["20:00", "24:00"]], "sun": [["00:00", "06:00"]]}
    now = dt.datetime(2026, 11, 1, tzinfo=UTC)
    sat_shift = shifts.on_date(dt.date(2026, 10, 24), hours, (), BERLIN)
    sun_shift = shifts.on_date(sunday, hours, (), BERLIN)
    assert facts.engineer_day(saturday, sat_shift, night, now) == {
        "scheduled_s": 4 * 3600,
        "work_s": 2 * 3600,
        "travel_s": 0,
    }
    assert facts.engineer_day(bounds, sun_shift, night, now) == {
        "scheduled_s": 7 * 3600,  # 00:00-06:00 local is seven hours that night
        "work_s": 5 * 3600,
        "travel_s": 0,
    }


def test_today_counts_the_scheduled_hours_gone_by() -> None:
    day = dt.date(2026, 11, 2)
    bounds = shifts.day_bounds(day, BERLIN)
    shift = shifts.on_date(day, {"mon": [["08:00", "16:00"]]}, (), BERLIN)
    noon = dt.datetime(2026, 11, 2, 12, 0, tzinfo=BERLIN)
    travel = [Labour(ANNA, "travel", noon - dt.timedelta(hours=1), noon, False, False)]
    assert facts.engineer_day(bounds, shift, travel, noon) == {
        "scheduled_s": 4 * 3600,
        "work_s": 0,
        "travel_s": 3600,
    }
