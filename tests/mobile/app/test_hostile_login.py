"""The log-in screen against the real server, typed carelessly: an address that is no
server, the same engineer's e-mail in capitals after a log-out, another engineer while
only a timer runs, another server while work waits. Each is said on the screen; no queued
work is lost, sent to the wrong server or blocked for a reason the engineer cannot see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.fixtures.factories import PASSWORD, Tenant
from tests.mobile.app.network import offline, online
from tests.mobile.app.test_job_flow import log_in, open_job


async def try_log_in(phone: Any, server: str, email: str) -> None:
    screen = phone.screen
    assert phone.app.screens.current == "login"
    screen.server, screen.email = server, email
    await phone.type(screen.ids.password, PASSWORD)
    await phone.press("Log in")


async def logged_out_with_work(phone: Any, tenant: Tenant, ticket: Any, faults: Any) -> None:
    """engineer1 logged in, the job accepted offline (one change queued), logged out."""
    await log_in(phone, tenant)
    await phone.app.session.sync_now()
    await open_job(phone, str(phone.app.store.get("work_order", str(ticket.id))["number"]))
    offline(faults)
    await phone.press("Accept")
    phone.app.go("settings")
    await phone.press("Log out")
    online(faults)
    assert phone.app.store.pending_count() == 1


@pytest.mark.parametrize("server", ["javascript:alert(1)", "http://", "http://[::1", "a b.c"])
async def test_an_address_that_is_no_server_is_said_and_nothing_is_sent(
    ui: Callable[..., Any], tenant: Tenant, faults: Any, client: httpx.AsyncClient, server: str
) -> None:
    phone = await ui()
    await try_log_in(phone, server, tenant.users["engineer1"].email)
    assert phone.app.screens.current == "login" and not phone.screen.busy
    assert "server address" in phone.screen.error
    assert faults.log == []


async def test_the_same_engineer_in_capitals_logs_in_and_keeps_the_queue(
    ui: Callable[..., Any], tenant: Tenant, ticket: Any, faults: Any, client: httpx.AsyncClient
) -> None:
    phone = await ui()
    await logged_out_with_work(phone, tenant, ticket, faults)
    shouted = "  " + tenant.users["engineer1"].email.upper() + " "
    await try_log_in(phone, "http://test", shouted)
    assert phone.app.screens.current == "today", phone.screen.error
    assert phone.app.store.pending_count() == 1
    await phone.app.session.sync_now()
    assert phone.app.store.pending_count() == 0


async def test_another_server_is_refused_while_work_waits_for_this_one(
    ui: Callable[..., Any], tenant: Tenant, ticket: Any, faults: Any, client: httpx.AsyncClient
) -> None:
    phone = await ui()
    await logged_out_with_work(phone, tenant, ticket, faults)
    sent = len(faults.log)
    await try_log_in(phone, "https://other.example.com", tenant.users["engineer1"].email)
    assert phone.app.screens.current == "login"
    assert "http://test" in phone.screen.error and "1" in phone.screen.error
    assert phone.app.session.server_url == "http://test"  # the queue's server is kept
    assert len(faults.log) == sent
    await try_log_in(phone, "http://test", tenant.users["engineer1"].email)
    await phone.app.session.sync_now()
    assert phone.app.store.pending_count() == 0


async def test_a_running_timer_is_named_when_another_engineer_is_refused(
    ui: Callable[..., Any], tenant: Tenant, ticket: Any, faults: Any, client: httpx.AsyncClient
) -> None:
    phone = await ui()
    await log_in(phone, tenant)
    await phone.app.session.sync_now()
    await open_job(phone, str(phone.app.store.get("work_order", str(ticket.id))["number"]))
    await phone.press("Accept")
    await phone.press("Start travel")
    await phone.app.session.sync_now()
    assert phone.app.store.pending_count() == 0  # every change synced; the timer runs on
    phone.app.go("settings")
    await phone.press("Log out")
    await try_log_in(phone, "http://test", tenant.users["engineer2"].email)
    assert phone.app.screens.current == "login"
    assert "timer" in phone.screen.error and "0 changes" not in phone.screen.error
