"""The notify benchmark (benchmarks/bench_notify.py) starts the real worker with an
environment of its own and counts what its peers receive: the worker must accept that
environment and reach the receiver on loopback with it (and production must still refuse
it), and the peers must count each message once and tell a message sent twice from two
messages for one event; the baseline sender must deliver every message it is given."""

from __future__ import annotations

import json
from email.message import EmailMessage

import pytest

from benchmarks.bench_notify import worker_environment
from benchmarks.common import free_port
from benchmarks.notify_peers import HttpSink, Mail, Post, SmtpSink, send_directly
from server.config import Settings
from server.webhooks import addresses


async def test_the_workers_environment_is_accepted_and_reaches_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = worker_environment(
        database_url="postgresql+asyncpg://bench@localhost/bench",
        redis_url="redis://x",
        smtp_port=2525,
        http_port=8099,
    )
    for name, value in env.items():
        if name.startswith("FIXFLOW_"):
            monkeypatch.setenv(name, value)
    settings = Settings()
    settings.check_production()  # development: the worker starts
    assert settings.SMTP_URL == "smtp://127.0.0.1:2525"
    assert settings.WEBHOOKS_ALLOW_PRIVATE and settings.WEBHOOKS_ALLOWED_PORTS == [8099]
    monkeypatch.setattr(addresses, "get_settings", lambda: settings)
    target = await addresses.check("http://127.0.0.1:8099/hooks")
    assert (str(target.address), target.port) == ("127.0.0.1", 8099)
    monkeypatch.setenv("FIXFLOW_ENV", "production")
    monkeypatch.setenv("FIXFLOW_SECRET_KEY", "k9s8d7f6g5h4j3k2l1q0w9e8r7t6y5u4")
    monkeypatch.setenv("FIXFLOW_PUBLIC_URL", "https://service.example.com")
    with pytest.raises(RuntimeError, match="WEBHOOKS_ALLOW_PRIVATE"):
        Settings().check_production()


def _mail(label: str, message_id: str) -> Mail:
    mail = EmailMessage()
    mail["From"], mail["To"] = "noreply@fixflow.test", "dispatcher@fixflow.test"
    mail["Subject"], mail["Message-ID"] = f"SLA breached: {label}", message_id
    mail.set_content("missed its SLA deadline")
    return Mail("noreply@fixflow.test", ["dispatcher@fixflow.test"], bytes(mail))


def _post(label: str, webhook_id: str) -> Post:
    body = json.dumps({"type": "ticket.sla_breached", "data": {"number": label}}).encode()
    return Post(body, {"webhook-id": webhook_id, "content-type": "application/json"})


async def test_the_peers_count_each_message_once_and_the_baseline_delivers_all() -> None:
    mails = [_mail("A-1", "<1@b>"), _mail("A-2", "<2@b>"), _mail("A-2", "<2@b>")]
    mails.append(_mail("A-3", "<3@b>"))
    posts = [_post("A-1", "msg_1"), _post("A-2", "msg_2"), _post("A-3", "msg_3")]
    posts.append(_post("A-3", "msg_4"))  # a second message for one event
    with SmtpSink(free_port(), r"SLA breached: (\S+)") as smtp:
        async with HttpSink(free_port()) as http:
            seconds = await send_directly(
                mails,
                posts,
                smtp_port=smtp.port,
                http_url=http.url,
                smtp_concurrency=2,
                http_concurrency=2,
            )
    assert seconds > 0
    labels = ["A-1", "A-2", "A-3"]
    assert smtp.arrivals.audit(labels) == {
        "events": 3,
        "delivered": 3,
        "messages": 4,
        "same_message_again": 1,
        "events_with_two_messages": 0,
    }
    assert http.arrivals.audit(labels) == {
        "events": 3,
        "delivered": 3,
        "messages": 4,
        "same_message_again": 0,
        "events_with_two_messages": 1,
    }
    assert sorted(smtp.arrivals.first) == sorted(http.arrivals.first) == labels
    assert all(isinstance(m, Mail) and m.raw for m in smtp.arrivals.messages)
