"""The hand-written fast paths: every one registered here, each with an ORM twin.

A fast path sends hand-written SQL through asyncpg (server/db.py ``driver``) where the ORM
would cost too much on a path the phone or the back office takes all day (ADR 7). Each has
a twin, the same service's ORM path, which writes the same rows (and the same change-feed
rows, server/feed.py); the fast path leaves the work to it whenever anything unusual
applies. Before it runs, a fast path asks ``enabled(name)``: with
``FIXFLOW_FAST_PATHS=0`` every request takes the ORM paths (to rule a fast path out when
something looks wrong, or to measure what it buys).

Registering a fast path (tests/server/test_fast_path_registry.py holds these to it):
- an entry below: its name, the module that owns it (the only place its SQL lives), the
  owner's function that runs it (answering None, or for the push raising, when it leaves
  the work to the ORM path), one line on what it does, and its twin test: a test that runs
  it and its ORM path on twin data and compares every row written, feed rows included,
  naming the fast path it expects to have run;
- ``if fastpaths.enabled("<name>")`` in the owner before any hand-written statement.
A module that calls ``driver()`` or hand-writes an ``INSERT INTO`` without being the owner
of a registered fast path fails that test.

``enabled`` is a dictionary look-up and an attribute of the cached settings: nothing on
the hot path that could be measured.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.config import get_settings


@dataclass(frozen=True)
class FastPath:
    name: str
    owner: str  # the module whose hand-written SQL it is
    entry: str  # the owner's function that runs it
    description: str
    twin: str  # the test comparing it with its ORM path: "tests/...py::test_name"


_FIELD_TWINS = "tests/server/field/test_fast_paths.py"
REGISTRY: dict[str, FastPath] = {
    path.name: path
    for path in (
        FastPath(
            "field.new_record",
            "server.field.access",
            "insert_new",
            "a new labour entry, note or checklist answer and its feed row in one statement",
            f"{_FIELD_TWINS}::test_labour_is_written_as_the_orm_writes_it",
        ),
        FastPath(
            "field.checklist_item",
            "server.field.checklists.service",
            "_item_now",
            "the rule of the checklist item an answer names, read once per session",
            f"{_FIELD_TWINS}::test_checklist_answers_are_written_as_the_orm_writes_them",
        ),
        FastPath(
            "field.check_in",
            "server.field.visits.service",
            "_check_in_now",
            "a check-in: the work order locked, its visits read, the visit, check and feed row",
            f"{_FIELD_TWINS}::test_a_check_in_with_its_arrival_is_written_as_the_orm_writes_it",
        ),
        FastPath(
            "field.check_out",
            "server.field.visits.service",
            "_check_out_now",
            "a visit's first check-out: a locking look-up, then the check and its feed row",
            f"{_FIELD_TWINS}::test_a_check_out_is_written_as_the_orm_writes_it",
        ),
        FastPath(
            "tickets.light_transition",
            "server.tickets.service",
            "_light_transition",
            "accept, start travel, arrive: the work order, event, outbox and feed rows",
            f"{_FIELD_TWINS}::test_accept_and_start_travel_are_written_as_the_orm_writes_them",
        ),
        FastPath(
            "tickets.create",
            "server.tickets.creation",
            "create_now",
            "a new work order without an assignee: its number, row, event and outbox row",
            "tests/server/tickets/test_creation.py::test_a_work_order_on_a_business_calendar_is_written_as_the_orm_writes_it",
        ),
        FastPath(
            "parts.movement_lookup",
            "server.parts.service",
            "_lookup_now",
            "a stock movement's part (KEY SHARE locked) and locations in one query",
            "tests/server/parts/test_ledger_twins.py::test_movements_are_written_as_the_orm_writes_them",
        ),
        FastPath(
            "parts.ledger_shift",
            "server.parts.ledger.service",
            "_shift_now",
            "a movement's balances, its ledger line and the minimums in one statement",
            "tests/server/parts/test_ledger_twins.py::test_movements_are_written_as_the_orm_writes_them",
        ),
        FastPath(
            "sync.push",
            "server.sync.push",
            "_push_now",
            "a push in one savepoint: ATOMIC mutations without their own, log row and ack in one",
            "tests/server/sync/test_fast_push.py::test_a_push_is_written_as_the_careful_push_writes_it",
        ),
    )
}


def enabled(name: str) -> bool:
    """Whether the fast path ``name`` may run: it is registered and FIXFLOW_FAST_PATHS is on."""
    return name in REGISTRY and get_settings().FAST_PATHS
