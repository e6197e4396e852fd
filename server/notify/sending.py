"""Sending the delivery log's due messages, at least once and recognisably so.

``send_pending`` claims due rows (pending, deferred whose time came, or ``sending`` whose
lease ran out) with FOR UPDATE SKIP LOCKED, marks them ``sending`` with a lease and an
attempt more, and COMMITS before talking to any peer. Then the messages are sent, up to
``SEND_CONCURRENCY`` at once, and each group's rows are finished in one transaction:
``sent``, or back to ``pending`` after an exponential backoff with jitter, or ``failed``
after the last attempt. A worker that dies
between the peer's acceptance and the ``sent`` commit leaves a ``sending`` row whose lease
expires and which is sent again: the one duplicate possible, and a recognisable one (the
e-mail's Message-ID and the SMS gateway's Idempotency-Key are the notification's id).

The rate limit (``NOTIFY_PER_HOUR`` messages per address per organisation and channel) is
applied at the claim: a row over it is deferred to when the oldest send of the hour ages
out, never dropped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings, get_settings
from server.db import session_scope
from server.notify.audience import quiet_end
from server.notify.channels import (
    Channel,
    ChannelError,
    DingTalk,
    Feishu,
    MailDir,
    Message,
    Receipt,
    SmsGateway,
    SmtpMail,
    WeCom,
)
from server.notify.models import (
    ChannelKind,
    Notification,
    NotificationChannel,
    NotificationPreference,
    Provider,
    Status,
)
from server.orgs import Organisation
from server.text import fit, fit_column

log = logging.getLogger("fixflow.notify")
_random = secrets.SystemRandom()
HOUR = dt.timedelta(hours=1)
DUE = (Status.PENDING.value, Status.DEFERRED.value, Status.SENDING.value)


@dataclass(frozen=True)
class Claimed:
    """A row claimed for sending, with what sending it needs (read before the commit)."""

    message: Message
    attempts: int
    channel: Channel | None
    problem: str | None = None


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, ... at most an hour, each +-20 % (jitter spreads a burst)."""
    seconds = min(3600.0, 30.0 * 2 ** max(0, attempts - 1))
    return dt.timedelta(seconds=seconds * _random.uniform(0.8, 1.2))


def lease(settings: Settings) -> dt.timedelta:
    """How long a ``sending`` row is left alone: well past the send's own timeout."""
    return dt.timedelta(seconds=3 * settings.NOTIFY_TIMEOUT_SECONDS + 30)


RateKey = tuple[uuid.UUID, str, str]  # organisation, channel, address


@dataclass
class _Window:
    """Messages to one address in the last hour, and when the oldest of them went."""

    count: int
    oldest: dt.datetime | None


async def _recent(
    session: AsyncSession, rows: list[Notification], now: dt.datetime
) -> dict[RateKey, _Window]:
    """Per address of ``rows``: messages sent in the last hour or being sent (other than
    ``rows`` themselves), in one query."""
    keys = {(r.org_id, r.channel, r.address) for r in rows}
    if not keys:
        return {}
    found = await session.execute(
        select(
            Notification.org_id,
            Notification.channel,
            Notification.address,
            func.count(),
            func.min(func.coalesce(Notification.sent_at, Notification.next_attempt_at)),
        )
        .where(
            tuple_(Notification.org_id, Notification.channel, Notification.address).in_(keys),
            Notification.id.not_in([r.id for r in rows]),
            or_(
                Notification.sent_at > now - HOUR,
                Notification.status == Status.SENDING.value,
            ),
        )
        .group_by(Notification.org_id, Notification.channel, Notification.address)
    )
    windows = {key: _Window(0, None) for key in keys}
    for org_id, channel, address, count, oldest in found:
        windows[(org_id, channel, address)] = _Window(count, oldest)
    return windows


def _rate_wait(window: _Window, now: dt.datetime, per_hour: int) -> dt.datetime | None:
    """When a message to this address may go (None: now, and it is counted)."""
    if window.count < per_hour:
        window.count += 1
        window.oldest = window.oldest or now
        return None
    return max(now + dt.timedelta(seconds=30), (window.oldest or now) + HOUR)


def build_channel(
    kind: str, address: str, providers: dict[str, NotificationChannel], settings: Settings
) -> Channel | None:
    """The adapter a message on ``kind`` leaves by (None: not configured)."""
    timeout = settings.NOTIFY_TIMEOUT_SECONDS
    if kind == ChannelKind.EMAIL:
        if settings.SMTP_URL:
            return SmtpMail(settings.SMTP_URL, settings.MAIL_FROM, settings.SMTP_STARTTLS, timeout)
        return MailDir(settings.mail_dir, settings.MAIL_FROM)
    name = Provider.SMS_GATEWAY.value if kind == ChannelKind.SMS else address
    row = providers.get(name)
    if row is None or not row.enabled:
        return None
    if name == Provider.SMS_GATEWAY:
        return SmsGateway(row.url, row.secret, row.options.get("body_template"), timeout)
    if name == Provider.WECOM:
        return WeCom(row.url, timeout)
    if name == Provider.DINGTALK:
        return DingTalk(row.url, row.secret, timeout)
    if name == Provider.FEISHU:
        return Feishu(row.url, row.secret, timeout)
    return None


async def _providers(
    session: AsyncSession, org_ids: set[uuid.UUID]
) -> dict[uuid.UUID, dict[str, NotificationChannel]]:
    rows = await session.scalars(
        select(NotificationChannel).where(NotificationChannel.org_id.in_(org_ids))
    )
    found: dict[uuid.UUID, dict[str, NotificationChannel]] = {}
    for row in rows:
        found.setdefault(row.org_id, {})[row.kind] = row
    return found


async def _customer_holds(
    session: AsyncSession, rows: list[Notification], now: dt.datetime
) -> tuple[set[uuid.UUID], dict[uuid.UUID, dt.datetime]]:
    """The customers' preferences as they are NOW, whatever they were when a row was
    written: rows to customers who opted out (of all, or of the row's template) since, and
    rows that fall in the customer's quiet hours with when those end. Every way a message
    becomes due (a deferral ending, a retry's backoff, a staff retry) passes here, so none
    sends at night or after an opt-out."""
    customers = {r.recipient_id for r in rows if r.recipient_kind == "customer"}
    if not customers:
        return set(), {}
    prefs = {
        p.customer_id: p
        for p in await session.scalars(
            select(NotificationPreference).where(
                NotificationPreference.customer_id.in_(customers),
                NotificationPreference.org_id.in_({r.org_id for r in rows}),
            )
        )
    }
    found = await session.execute(
        select(Organisation.id, Organisation.timezone).where(
            Organisation.id.in_({r.org_id for r in rows})
        )
    )
    zones: dict[uuid.UUID, str] = {org_id: zone for org_id, zone in found}
    out: set[uuid.UUID] = set()
    quiet: dict[uuid.UUID, dt.datetime] = {}
    for row in rows:
        pref = prefs.get(row.recipient_id) if row.recipient_kind == "customer" else None
        if pref is None or pref.org_id != row.org_id:
            continue
        if pref.opt_out or row.template in pref.opt_out_templates:
            out.add(row.id)
        elif end := quiet_end(pref.quiet_start, pref.quiet_end, zones[row.org_id], now):
            quiet[row.id] = end
    return out, quiet


async def claim(
    session: AsyncSession, *, now: dt.datetime, limit: int = 50, settings: Settings | None = None
) -> list[Claimed]:
    """Claim due rows (see the module docstring); the caller commits before sending."""
    settings = settings or get_settings()
    rows = list(
        await session.scalars(
            select(Notification)
            .where(Notification.status.in_(DUE), Notification.next_attempt_at <= now)
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    providers = await _providers(session, {row.org_id for row in rows})
    opted_out, quiet = await _customer_holds(session, rows, now)
    windows = await _recent(session, rows, now)
    claimed = []
    for row in rows:
        if row.id in opted_out:
            row.status = Status.SUPPRESSED.value
            continue
        if row.id in quiet:
            row.status, row.next_attempt_at = Status.DEFERRED.value, quiet[row.id]
            continue
        if row.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
            row.status, row.last_error = Status.FAILED.value, "gave up: attempts exhausted"
            continue
        window = windows[(row.org_id, row.channel, row.address)]
        wait = _rate_wait(window, now, settings.NOTIFY_PER_HOUR)
        if wait is not None:
            row.status, row.next_attempt_at = Status.DEFERRED.value, wait
            continue
        row.status, row.attempts = Status.SENDING.value, row.attempts + 1
        row.next_attempt_at = now + lease(settings)
        channel = build_channel(row.channel, row.address, providers.get(row.org_id, {}), settings)
        message = Message(row.id, row.address, row.subject, row.body)
        claimed.append(Claimed(message, row.attempts, channel))
    return claimed


Outcome = tuple[Claimed, Receipt | None, str | None]  # the row, its receipt or its error
_table = cast(Table, Notification.__table__)
_FINISH = (
    _table.update()
    .where(
        _table.c.id == bindparam("b_id"),
        _table.c.status == Status.SENDING.value,
        _table.c.attempts == bindparam("b_attempts"),  # still this attempt's row
    )
    .values(
        status=bindparam("b_status"),
        sent_at=bindparam("b_sent_at"),
        next_attempt_at=bindparam("b_next"),
        last_error=bindparam("b_error"),
        receipt=bindparam("b_receipt"),
    )
)


def _finished(outcome: Outcome, now: dt.datetime, max_attempts: int) -> dict[str, Any]:
    item, receipt, error = outcome
    values: dict[str, Any] = {"b_id": item.message.id, "b_attempts": item.attempts}
    if error is None:
        reference = receipt.reference if receipt else None
        return values | {
            "b_status": Status.SENT.value,
            "b_sent_at": now,
            "b_next": now,
            "b_error": None,
            "b_receipt": fit_column(Notification.receipt, reference) if reference else None,
        }
    last = item.attempts >= max_attempts
    return values | {
        "b_status": Status.FAILED.value if last else Status.PENDING.value,
        "b_sent_at": None,
        "b_next": now + backoff(item.attempts),
        "b_error": fit_column(Notification.last_error, error),
        "b_receipt": None,
    }


async def finish(
    session: AsyncSession,
    outcomes: list[Outcome],
    *,
    now: dt.datetime,
    settings: Settings | None = None,
) -> None:
    """Record the outcomes of attempts, in one statement: ``sent``, or ``pending`` again
    after the backoff, or ``failed`` after the last attempt (each only if its row is
    still this attempt's)."""
    if not outcomes:
        return
    limit = (settings or get_settings()).NOTIFY_MAX_ATTEMPTS
    await session.execute(_FINISH, [_finished(o, now, limit) for o in outcomes])


async def _attempt(item: Claimed) -> Outcome:
    if item.channel is None:
        return item, None, "the channel is not configured or disabled for this organisation"
    try:
        return item, await item.channel.send(item.message), None
    except ChannelError as exc:
        log.warning("notification %s not sent: %s", item.message.id, exc)
        return item, None, str(exc)
    except Exception as exc:
        # A channel's own fault (a header it cannot encode, say) is this message's failure,
        # retried like any other: raised, it stopped the whole group's gather, and the
        # messages of the group already sent stayed "sending", to be sent again.
        log.exception("notification %s: the channel failed", item.message.id)
        return item, None, fit(f"{type(exc).__name__}: {exc}", 500)


SEND_CONCURRENCY = 16  # messages in flight at once per worker


async def send_pending(
    maker: async_sessionmaker[AsyncSession],
    *,
    now: dt.datetime | None = None,
    limit: int = 50,
) -> int:
    """Claim and commit, then send SEND_CONCURRENCY messages at a time, recording each
    group's outcomes in one transaction; returns how many were sent."""
    async with session_scope(maker) as session:
        claimed = await claim(session, now=now or dt.datetime.now(dt.UTC), limit=limit)
    sent = 0
    for start in range(0, len(claimed), SEND_CONCURRENCY):
        group = claimed[start : start + SEND_CONCURRENCY]
        done = list(await asyncio.gather(*(_attempt(item) for item in group)))
        async with session_scope(maker) as session:
            await finish(session, done, now=now or dt.datetime.now(dt.UTC))
        sent += sum(error is None for _, _, error in done)
    return sent
