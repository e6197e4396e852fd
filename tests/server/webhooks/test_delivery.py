"""Deliveries end to end, with real commits, a real receiver on 127.0.0.1 and the worker's
own code: signatures checked by an independent implementation of the Standard Webhooks
specification, retries until a failing receiver recovers (every event exactly once by id),
a worker killed mid-delivery, a rolled-back transaction, disabling and enabling."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server import events
from server.auth import Actor
from server.config import ROOT, get_settings
from server.db import session_scope
from server.orgs.models import Organisation
from server.webhooks import delivery, sender, service
from server.webhooks.jobs import send_due
from server.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from server.webhooks.schemas import EndpointCreate
from tests.fixtures.factories import make_org
from tests.server.webhooks import receiver as receiving
from tests.server.webhooks.receiver import Receiver

Maker = async_sessionmaker[AsyncSession]


# --- the specification, implemented again from its text for the test ---------------------


def verify(secret: str, headers: dict[str, str], body: str, *, tolerance: int = 300) -> bool:
    """Standard Webhooks verification: base64-decode the secret after ``whsec_``, HMAC-SHA256
    over ``id.timestamp.body``, compare with each space-separated ``v1,`` signature."""
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(stamp)) > tolerance:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    mac = hmac.new(key, f"{msg_id}.{stamp}.{body}".encode(), hashlib.sha256).digest()
    expected = base64.b64encode(mac).decode()
    for candidate in headers["webhook-signature"].split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return True
    return False


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def private_ok() -> Iterator[None]:
    """The test receiver is on 127.0.0.1: the opt-in test setting."""
    settings = get_settings()
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    yield
    settings.WEBHOOKS_ALLOW_PRIVATE = False


@pytest.fixture
async def maker(app: Any, private_ok: None) -> Maker:
    return app.state.sessionmaker  # type: ignore[no-any-return]


@pytest.fixture
async def org(maker: Maker) -> AsyncIterator[Organisation]:
    async with session_scope(maker) as session:
        org = await make_org(session, "Hooks")
    yield org
    async with session_scope(maker) as session:
        await session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.org_id == org.id))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving.running() as running:
        yield running


async def _endpoint(maker: Maker, org: Organisation, url: str, types: list[str]) -> tuple[Any, str]:
    async with session_scope(maker) as session:
        data = EndpointCreate(url=url, event_types=types)
        return await service.create_endpoint(session, Actor.system(org.id), data=data)


async def _emit(
    maker: Maker, org: Organisation, n: int, topic: str = "ticket.created"
) -> list[uuid.UUID]:
    async with session_scope(maker) as session:
        rows = [
            events.emit(session, org_id=org.id, topic=topic, aggregate_id=None, payload={"n": i})
            for i in range(n)
        ]
        await session.flush()
        return [r.id for r in rows]


async def _pump(maker: Maker, *, due_now: Organisation | None = None) -> None:
    """The outbox job, then the sender; ``due_now`` makes that org's waiting retries due
    (time passing)."""
    for _ in range(5):
        async with session_scope(maker) as session:
            if sum(await events.service.deliver_pending(session)) == 0:
                break
    if due_now is not None:
        async with session_scope(maker) as session:
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.org_id == due_now.id, WebhookDelivery.status == "pending")
                .values(next_attempt_at=dt.datetime.now(dt.UTC))
            )
    await send_due(maker)


async def _deliveries(maker: Maker, org: Organisation) -> list[WebhookDelivery]:
    async with session_scope(maker) as session:
        rows = await session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.org_id == org.id)
        )
        return list(rows)


# --- tests --------------------------------------------------------------------------------


async def test_a_failing_receiver_that_recovers_gets_every_event_once_by_id(
    maker: Maker, org: Organisation, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender, "READ_TIMEOUT", 0.5)
    receiver.answer = lambda n: (500, {}) if n < 4 else (200, {})
    receiver.before = lambda n: time.sleep(1.0) if n in (5, 6) else None  # timeouts, processed
    _, secret = await _endpoint(maker, org, receiver.url, ["ticket.*"])
    event_ids = await _emit(maker, org, 5)
    for _ in range(8):
        await _pump(maker, due_now=org)
        if all(d.status == "succeeded" for d in await _deliveries(maker, org)):
            break
    rows = await _deliveries(maker, org)
    assert sorted(d.event_id for d in rows) == sorted(event_ids)
    assert all(d.status == "succeeded" for d in rows)
    ids = {delivery.webhook_id(d.id) for d in rows}
    assert set(receiver.ids) == ids  # every event reached it, retries with the same id
    assert len(receiver.requests) > len(ids)  # ... some more than once
    assert sorted(receiver.processed) == sorted(ids)  # its de-duplication handled each once
    for seen in receiver.requests:
        assert verify(secret, seen.headers, seen.body), seen.headers
        message = json.loads(seen.body)
        assert message["type"] == "ticket.created" and set(message) == {"type", "timestamp", "data"}
    async with session_scope(maker) as session:
        attempts = list(
            await session.scalars(
                select(WebhookAttempt).join(WebhookDelivery).where(WebhookDelivery.org_id == org.id)
            )
        )
    assert len(attempts) == len(receiver.requests)
    assert sum(a.status_code == 500 for a in attempts) == 4
    assert any(a.error and "Timeout" in a.error for a in attempts)


async def test_rotation_sends_both_signatures_each_verifies(
    maker: Maker, org: Organisation, receiver: Receiver
) -> None:
    endpoint, old = await _endpoint(maker, org, receiver.url, ["*"])
    async with session_scope(maker) as session:
        _, new = await service.rotate_secret(session, Actor.system(org.id), endpoint.id)
    await _emit(maker, org, 1, topic="stock.below_minimum")
    await _pump(maker)
    [seen] = receiver.requests
    assert len(seen.headers["webhook-signature"].split(" ")) == 2
    assert verify(old, seen.headers, seen.body) and verify(new, seen.headers, seen.body)
    assert not verify("whsec_" + base64.b64encode(b"x" * 32).decode(), seen.headers, seen.body)
    tampered = seen.body.replace("stock", "stack")
    assert not verify(new, seen.headers, tampered)


async def test_a_rolled_back_transaction_sends_nothing(
    maker: Maker, org: Organisation, receiver: Receiver
) -> None:
    await _endpoint(maker, org, receiver.url, ["*"])
    async with maker() as session:
        events.emit(session, org_id=org.id, topic="ticket.created", aggregate_id=None, payload={})
        await session.flush()
        await session.rollback()
    await _pump(maker, due_now=org)
    assert await _deliveries(maker, org) == [] and receiver.requests == []


_WORKER = """
import asyncio
import server.models  # noqa: F401 - every table, for the flush order
from server.config import get_settings
from server.db import make_engine, make_sessionmaker
from server.webhooks.jobs import send_due

async def main():
    engine = make_engine(get_settings().DATABASE_URL, pool_size=2)
    await send_due(make_sessionmaker(engine), lease_seconds=3)

asyncio.run(main())
"""


async def test_a_worker_killed_mid_delivery_is_redelivered_with_the_same_id(
    maker: Maker, org: Organisation, receiver: Receiver
) -> None:
    import threading

    release = threading.Event()

    def hold_the_first(n: int) -> None:
        if n == 0:
            release.wait(30)

    receiver.before = hold_the_first
    await _endpoint(maker, org, receiver.url, ["*"])
    await _emit(maker, org, 1)
    async with session_scope(maker) as session:
        await events.service.deliver_pending(session)
    env = {**os.environ, "FIXFLOW_WEBHOOKS_ALLOW_PRIVATE": "true"}
    worker = await asyncio.create_subprocess_exec(sys.executable, "-c", _WORKER, cwd=ROOT, env=env)
    try:
        assert await asyncio.to_thread(receiver.arrived.wait, 60), "the worker never sent"
    finally:
        worker.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(worker.wait(), 10) == -signal.SIGKILL
        release.set()
    [row] = await _deliveries(maker, org)
    assert row.status == "pending" and row.attempts == 1  # leased, never recorded
    await send_due(maker)  # the lease still holds: nothing is sent
    assert len(receiver.requests) == 1
    await asyncio.sleep(3.5)
    await send_due(maker)
    [row] = await _deliveries(maker, org)
    assert row.status == "succeeded"
    assert receiver.ids == [delivery.webhook_id(row.id)] * 2
    assert receiver.processed == [delivery.webhook_id(row.id)]


async def test_persistent_failure_disables_the_endpoint_and_deliveries_wait(
    maker: Maker, org: Organisation, receiver: Receiver
) -> None:
    receiver.answer = lambda n: (503, {})
    endpoint, _ = await _endpoint(maker, org, receiver.url, ["*"])
    await _emit(maker, org, 1)
    async with session_scope(maker) as session:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint.id)
            .values(failing_since=dt.datetime.now(dt.UTC) - dt.timedelta(days=5, minutes=1))
        )
    await _pump(maker)
    async with session_scope(maker) as session:
        row = await session.get(WebhookEndpoint, endpoint.id)
        assert row is not None and not row.enabled and row.disabled_at is not None
        assert "failed for 5 days" in (row.disabled_reason or "")
    sent = len(receiver.requests)
    await _pump(maker, due_now=org)
    assert len(receiver.requests) == sent  # disabled: the pending delivery waits
    [waiting] = await _deliveries(maker, org)
    assert waiting.status == "pending"
    receiver.answer = lambda n: (204, {})
    async with session_scope(maker) as session:
        await service.enable(session, Actor.system(org.id), endpoint.id)
    await _pump(maker, due_now=org)
    [done] = await _deliveries(maker, org)
    assert done.status == "succeeded" and done.id == waiting.id


async def test_a_delivery_is_given_up_after_the_last_attempt_and_replayed(
    maker: Maker, org: Organisation, receiver: Receiver
) -> None:
    receiver.answer = lambda n: (500, {}) if n == 0 else (200, {})
    await _endpoint(maker, org, receiver.url, ["*"])
    await _emit(maker, org, 1)
    async with session_scope(maker) as session:
        await events.service.deliver_pending(session)
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.org_id == org.id)
            .values(attempts=delivery.MAX_ATTEMPTS - 1)
        )
    await send_due(maker)
    [row] = await _deliveries(maker, org)
    assert row.status == "failed" and row.last_status_code == 500
    async with session_scope(maker) as session:
        await service.replay(session, Actor.system(org.id), row.id)
    await send_due(maker)
    [row] = await _deliveries(maker, org)
    assert row.status == "succeeded"
    assert receiver.ids == [delivery.webhook_id(row.id)] * 2


def test_the_retry_schedule_spans_more_than_three_days() -> None:
    assert sum(delivery.SCHEDULE) >= 72 * 3600
    waits = [delivery.backoff(n).total_seconds() for n in range(1, delivery.MAX_ATTEMPTS)]
    assert all(base <= w <= base * 1.2 for base, w in zip(delivery.SCHEDULE, waits, strict=True))
    assert sorted(delivery.SCHEDULE) == list(delivery.SCHEDULE)


def test_the_specifications_test_vector() -> None:
    """The example of the Standard Webhooks reference libraries: ours signs it alike, and
    the independent verifier above accepts it (its timestamp is old: no tolerance)."""
    from server.webhooks import signing

    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    msg_id, stamp, body = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert signing.sign(secret, msg_id, stamp, body) == expected
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(stamp), "webhook-signature": expected}
    assert verify(secret, headers, body, tolerance=10**10)
    assert not verify(secret, headers, body)  # five minutes of tolerance: too old
    secret_bytes = base64.b64decode(signing.new_secret().removeprefix("whsec_"))
    assert 24 <= len(secret_bytes) <= 64


async def test_the_outbox_job_nudges_the_sender_after_its_commit(
    maker: Maker, org: Organisation, receiver: Receiver
) -> None:
    from server.events.jobs import deliver_outbox

    class Queue:
        def __init__(self) -> None:
            self.jobs: list[tuple[str, dict[str, Any]]] = []

        async def enqueue_job(self, name: str, **kwargs: Any) -> None:
            self.jobs.append((name, kwargs))

        async def hincrby(self, *args: Any) -> None:
            pass

    await _endpoint(maker, org, receiver.url, ["*"])
    await _emit(maker, org, 1)
    queue = Queue()
    await deliver_outbox({"sessionmaker": maker, "redis": queue})
    assert (delivery.SEND_JOB, {"_job_id": delivery.SEND_JOB_ID}) in queue.jobs
    assert all(kwargs.get("_job_id") != "outbox-deliver" for _, kwargs in queue.jobs)


def test_a_customers_link_never_leaves_in_a_webhook() -> None:
    """survey.invited carries the customer's survey address for the notifications; a
    webhook gets the event without it (the token is the customer's credential)."""
    from server.events import OutboxEvent
    from server.links import LinkKind
    from server.links import service as link_service
    from server.webhooks.delivery import body_of

    token = "AaJQdlDncWyZ0epHhhe0Qw9TA41Gbw9KYC3wUs2QaW8g"
    payload = {
        "invitation_id": "i",
        "ticket_number": "WO-000001",
        "url": link_service.url(LinkKind.SURVEY, token),
        "changes": {"note": f"see https://x.example/t/{token}", "kept": "/t/short"},
        "list": [f"/q/{token}", "other"],
        "lang": None,
    }
    event = OutboxEvent(topic="survey.invited", payload=payload)
    data = json.loads(body_of(event))["data"]
    assert token not in json.dumps(data)
    assert data == {
        "invitation_id": "i",
        "ticket_number": "WO-000001",
        "changes": {"kept": "/t/short"},
        "list": ["other"],
        "lang": None,
    }
    assert payload["url"].endswith(token)  # the outbox's own payload is untouched
