"""Customer messages: both languages, the engineer's first name and window, the ETA, the
status link; preferences: quiet hours defer, opt-out suppresses, channel order."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.events import service as events
from server.links import LinkKind
from server.links import service as links
from server.notify import NotificationChannel, NotificationPreference, sending
from server.notify.audience import quiet_end
from server.notify.templates import first_name
from server.tickets import audit
from server.tickets import service as tickets
from server.tickets.schemas import TransitionIn
from shared.lifecycle import Action
from tests.fixtures.factories import Tenant, make_tenant, make_ticket
from tests.server.notify.conftest import HttpPeer, SmtpPeer
from tests.server.notify.test_delivery import deliver, rows


async def _tenant(
    db: AsyncSession, name: str, *, lang: str | None = None, **prefs: object
) -> Tenant:
    t = await make_tenant(db, name)
    assert t.customer is not None
    t.customer.email = f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.test"
    t.customer.contact_name = "Li Na"
    if lang is not None or prefs:
        db.add(
            NotificationPreference(
                customer_id=t.customer.id,
                org_id=t.org.id,
                channels=["email"],
                lang=lang,
                opt_out=prefs.pop("opt_out", False),
                opt_out_templates=prefs.pop("opt_out_templates", []),
                version=1,
                **prefs,
            )
        )
    await db.flush()
    return t


def test_first_names() -> None:
    assert first_name("Anna Berg") == "Anna"
    assert first_name("王小明") == "王师傅"  # as the status page says it
    assert first_name("李") == "李师傅"
    assert first_name("José") == "José" and first_name("José Ruiz") == "José"
    assert first_name("  ") == ""


async def test_work_order_received_in_english_and_in_chinese(
    db: AsyncSession, maker: async_sessionmaker[AsyncSession], smtp_peer: SmtpPeer
) -> None:
    en = await _tenant(db, "English", lang="en")
    zh = await _tenant(db, "Chinese", lang="zh_CN")
    for t in (en, zh):
        await make_ticket(db, t.actor("dispatcher"), t.customer, t.site, title="Pump leak")
    await deliver(maker)
    await sending.send_pending(maker)
    assert en.customer and zh.customer
    [english] = smtp_peer.to(en.customer.email or "")
    [chinese] = smtp_peer.to(zh.customer.email or "")
    assert english["Subject"].startswith("We received your request WO-")
    assert chinese["Subject"].startswith("我们已收到您的报修 WO-")
    assert "Pump leak" in english.get_content() and "Pump leak" in chinese.get_content()
    [row] = await rows(db, zh.org.id)
    assert row.lang == "zh_CN" and row.template == "ticket_received"
    token = chinese.get_content().split("/t/")[1].split()[0]
    link = await links.resolve(db, token, LinkKind.STATUS)  # a live status link of the order
    assert link.subject_id == row.ticket_id


async def test_engineer_assigned_names_the_first_name_and_window_then_on_the_way_with_eta(
    db: AsyncSession, maker: async_sessionmaker[AsyncSession]
) -> None:
    t = await _tenant(db, "Assigned", lang="zh_CN")
    engineer = t.engineers[0]
    engineer.display_name = "王小明"
    start = dt.datetime(2030, 5, 6, 1, 0, tzinfo=dt.UTC)
    t.org.timezone = "Asia/Shanghai"
    await db.flush()
    ticket = await make_ticket(
        db,
        t.actor("dispatcher"),
        t.customer,
        t.site,
        assign_to=engineer,
        window_start=start,
        window_end=start + dt.timedelta(hours=2),
    )
    actor = t.actor("engineer1")
    for action in (Action.ACCEPT, Action.START_TRAVEL):
        await tickets.apply_transition(
            db, actor, ticket_id=ticket.id, data=TransitionIn(action=action)
        )
    await db.flush()
    await deliver(maker)
    log = {r.template: r for r in await rows(db, t.org.id)}
    assigned = log["engineer_assigned"]
    assert assigned.subject.startswith("王师傅将为您处理")
    assert "2030-05-06 09:00-11:00 (Asia/Shanghai)" in assigned.body
    travelling = log["engineer_on_the_way"]
    assert "王师傅" in travelling.subject and "预计到达时间：20" in travelling.body


async def test_resolved_and_survey_invitation(
    db: AsyncSession, maker: async_sessionmaker[AsyncSession]
) -> None:
    t = await _tenant(db, "Resolved", lang="en")
    assert t.customer is not None
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site)
    events.emit(
        db,
        org_id=t.org.id,
        topic="ticket.transition",
        aggregate_id=ticket.id,
        payload=audit.payload(ticket, actor="x", action="resolve", to_status="resolved"),
    )
    survey = {
        "ticket_id": str(ticket.id),
        "customer_id": str(t.customer.id),
        "url": "https://x/s/abc",
    }
    events.emit(db, org_id=t.org.id, topic="survey.invited", aggregate_id=ticket.id, payload=survey)
    await db.flush()
    await deliver(maker)
    log = {r.template: r for r in await rows(db, t.org.id)}
    assert log["ticket_resolved"].subject.endswith("is resolved")
    assert "https://x/s/abc" in log["survey_invitation"].body


async def test_quiet_hours_defer_to_their_end(
    db: AsyncSession, maker: async_sessionmaker[AsyncSession], smtp_peer: SmtpPeer
) -> None:
    now = dt.datetime.now(dt.UTC)
    start = (now - dt.timedelta(hours=1)).time().replace(microsecond=0)
    end = (now + dt.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    t = await _tenant(db, "Quiet", lang="en", quiet_start=start, quiet_end=end)
    await make_ticket(db, t.actor("dispatcher"), t.customer, t.site)
    await deliver(maker)
    [row] = await rows(db, t.org.id)
    assert row.status == "deferred"
    assert row.next_attempt_at == quiet_end(start, end, "UTC", now)
    assert await sending.send_pending(maker) == 0
    assert await sending.send_pending(maker, now=row.next_attempt_at) == 1
    assert t.customer and len(smtp_peer.to(t.customer.email or "")) == 1


def test_quiet_hours_across_midnight() -> None:
    late = dt.datetime(2030, 1, 1, 23, 30, tzinfo=dt.UTC)
    assert quiet_end(dt.time(22), dt.time(7), "UTC", late) == dt.datetime(
        2030, 1, 2, 7, tzinfo=dt.UTC
    )
    early = dt.datetime(2030, 1, 2, 6, 0, tzinfo=dt.UTC)
    assert quiet_end(dt.time(22), dt.time(7), "UTC", early) == dt.datetime(
        2030, 1, 2, 7, tzinfo=dt.UTC
    )
    assert quiet_end(dt.time(22), dt.time(7), "UTC", late.replace(hour=12)) is None


async def test_opt_out_suppresses_and_logs(
    db: AsyncSession, maker: async_sessionmaker[AsyncSession], smtp_peer: SmtpPeer
) -> None:
    out = await _tenant(db, "OptOut", opt_out=True)
    some = await _tenant(db, "Partly", opt_out_templates=["ticket_received"])
    for t in (out, some):
        ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site)
        events.emit(
            db,
            org_id=t.org.id,
            topic="ticket.transition",
            aggregate_id=ticket.id,
            payload=audit.payload(ticket, actor="x", action="resolve"),
        )
    await db.flush()
    await deliver(maker)
    await sending.send_pending(maker)
    assert {(r.template, r.status) for r in await rows(db, out.org.id)} == {
        ("ticket_received", "suppressed"),
        ("ticket_resolved", "suppressed"),
    }
    assert {(r.template, r.status) for r in await rows(db, some.org.id)} == {
        ("ticket_received", "suppressed"),
        ("ticket_resolved", "sent"),
    }
    assert out.customer and smtp_peer.to(out.customer.email or "") == []


async def test_sms_first_when_the_customer_prefers_it(
    db: AsyncSession, maker: async_sessionmaker[AsyncSession], http_peer: HttpPeer
) -> None:
    t = await _tenant(db, "Sms", lang="en")
    assert t.customer is not None
    t.customer.phone = "+86 138 0000 0000"
    prefs = await db.get(NotificationPreference, t.customer.id)
    assert prefs is not None
    prefs.channels = ["sms", "email"]
    db.add(
        NotificationChannel(
            org_id=t.org.id,
            kind="sms_gateway",
            url=f"{http_peer.base}/sms",
            secret="tok",
            options={},
        )
    )
    await db.flush()
    await make_ticket(db, t.actor("dispatcher"), t.customer, t.site)
    await deliver(maker)
    assert await sending.send_pending(maker) == 1
    [request] = http_peer.requests
    assert request.body["to"] == "+86 138 0000 0000"
    assert request.body["text"].startswith("We received your request")
    assert request.headers["Authorization"] == "Bearer tok"


async def test_an_opt_out_during_quiet_hours_stops_the_deferred_message(
    db: AsyncSession, maker: async_sessionmaker[AsyncSession], smtp_peer: SmtpPeer
) -> None:
    now = dt.datetime.now(dt.UTC)
    start = (now - dt.timedelta(hours=1)).time().replace(microsecond=0)
    end = (now + dt.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    t = await _tenant(db, "QuietOut", lang="en", quiet_start=start, quiet_end=end)
    await make_ticket(db, t.actor("dispatcher"), t.customer, t.site)
    await deliver(maker)
    [row] = await rows(db, t.org.id)
    assert t.customer is not None
    prefs = await db.get(NotificationPreference, t.customer.id)
    assert prefs is not None
    prefs.opt_out = True
    await db.flush()
    assert await sending.send_pending(maker, now=row.next_attempt_at) == 0
    [row] = await rows(db, t.org.id)
    assert row.status == "suppressed"
    assert smtp_peer.to(t.customer.email or "") == []


async def test_a_message_that_falls_due_in_quiet_hours_waits_whatever_made_it_due(
    db: AsyncSession, maker: async_sessionmaker[AsyncSession], smtp_peer: SmtpPeer
) -> None:
    """Quiet hours are the customer's at the moment of sending: a staff retry (or a backoff,
    or a rate-limit deferral ending) inside them defers the message again to their end."""
    from server.auth import Actor
    from server.notify import service as notify

    now = dt.datetime.now(dt.UTC)
    t = await _tenant(db, "Quiet retry", lang="en")
    await make_ticket(db, t.actor("dispatcher"), t.customer, t.site)
    await deliver(maker)
    [row] = await rows(db, t.org.id)
    assert row.status == "pending"  # no quiet hours yet
    pref = await db.get(NotificationPreference, t.customer.id)  # type: ignore[union-attr]
    assert pref is not None
    pref.quiet_start = (now - dt.timedelta(hours=1)).time().replace(microsecond=0)
    pref.quiet_end = (now + dt.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    await db.flush()
    admin: Actor = t.actor("admin")
    await notify.retry(db, admin, notification_id=row.id)
    await db.flush()
    await sending.send_pending(maker)
    await db.refresh(row)
    assert row.status == "deferred"
    assert row.next_attempt_at == quiet_end(pref.quiet_start, pref.quiet_end, "UTC", now)
    assert smtp_peer.to(t.customer.email or "") == []  # type: ignore[union-attr]
