"""How higher domains plug into lower ones (server/hooks.py, server/domains.py): hooks
that nobody filled fail loudly, every process fills all of them at start-up, lifecycle
hooks run on every path of a transition (the light one too) in its transaction, and the
worker runs every domain's jobs."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import attachments, auth, customers, domains, engineers, hooks, tickets
from server.errors import Conflict
from server.tickets import service as tickets_service
from server.tickets.models import Ticket, TicketEvent
from server.tickets.schemas import TransitionIn
from server.worker import WorkerSettings
from shared.lifecycle import Action, Status
from tests.fixtures.factories import make_tenant, make_ticket


def test_an_empty_slot_names_the_missed_start_up() -> None:
    slot: hooks.Slot[Any] = hooks.Slot("a test's slot")
    with pytest.raises(RuntimeError, match=r"a test's slot.*server\.domains\.install\(\)"):
        slot.get()


def test_listeners_run_only_after_start_up() -> None:
    listeners: hooks.Listeners[Any] = hooks.Listeners("a test's listeners")
    listeners.add(print)
    with pytest.raises(RuntimeError, match="a test's listeners"):
        list(listeners)
    listeners.seal()
    assert list(listeners) == [print]


def test_install_fills_every_hook() -> None:
    domains.install()  # again: nothing is added twice
    for slot in (
        auth.tenants,
        auth.engineer_of_user,
        customers.engineer_reach,
        attachments.visit_check,
    ):
        assert slot.filled, slot.name
    assert len(engineers.created) == 1  # parts: the van
    assert tickets.lifecycle.hooked(Action.RESOLVE)  # field: the checklist
    assert tickets.lifecycle.hooked(Action.CANCEL) and tickets.lifecycle.hooked(Action.CLOSE)
    assert not tickets.lifecycle.hooked(Action.ACCEPT)  # the light path is open


def test_the_worker_runs_every_domains_jobs() -> None:
    names = {getattr(f, "name", None) or f.__name__ for f in WorkerSettings.functions}
    assert (
        names
        == {job.name for job in domains.jobs()}
        == {
            "events.deliver_outbox",
            "tickets.sweep_sla",
            "attachments.derive_images",
            "attachments.sweep",
            "sync.prune_feed",
            "dispatch.plan_day",
            "dispatch.sweep_plans",
            "escalation.sweep",
            "surveys.send_due",
            "notify.send_pending",
            "webhooks.send",
            "reports.refresh",
        }
    )
    crons = {c.name.removeprefix("cron:") for c in WorkerSettings.cron_jobs}
    assert crons == {
        "events.deliver_outbox",
        "tickets.sweep_sla",
        "attachments.sweep",
        "sync.prune_feed",
        "dispatch.sweep_plans",
        "escalation.sweep",
        "surveys.send_due",
        "notify.send_pending",
        "webhooks.send",
        "reports.refresh",
    }


async def test_a_listener_runs_on_the_light_path_too(db: AsyncSession) -> None:
    t = await make_tenant(db)
    assert t.customer
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, assign_to=t.engineers[0])
    seen: list[tuple[Any, Action]] = []

    async def listen(session: AsyncSession, actor: Any, ticket: Ticket, data: Any) -> Any:
        seen.append((ticket.id, data.action))
        return {"heard": True}

    tickets.lifecycle.listener(Action.ACCEPT)(listen)
    try:
        assert tickets.lifecycle.hooked(Action.ACCEPT)
        await tickets_service.apply_transition(
            db, t.actor("engineer1"), ticket_id=ticket.id, data=TransitionIn(action=Action.ACCEPT)
        )
    finally:
        tickets.lifecycle.remove(listen)
    assert seen == [(ticket.id, Action.ACCEPT)]
    event = await db.scalar(
        select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.action == "accept"
        )
    )
    assert event is not None and event.changes["heard"] is True


async def test_a_guard_refuses_and_nothing_is_written(db: AsyncSession) -> None:
    t = await make_tenant(db)
    assert t.customer
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, assign_to=t.engineers[0])

    async def refuse(session: AsyncSession, actor: Any, ticket: Ticket, data: Any) -> None:
        raise Conflict("not today")

    tickets.lifecycle.guard(Action.ACCEPT)(refuse)
    try:
        with pytest.raises(Conflict, match="not today"):
            async with db.begin_nested():
                await tickets_service.apply_transition(
                    db,
                    t.actor("engineer1"),
                    ticket_id=ticket.id,
                    data=TransitionIn(action=Action.ACCEPT),
                )
    finally:
        tickets.lifecycle.remove(refuse)
    await db.refresh(ticket)
    assert ticket.status == Status.ASSIGNED.value
