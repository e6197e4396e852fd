"""The channels a message leaves by, behind one interface: ``await channel.send(message)``
returns a ``Receipt`` or raises ``ChannelError`` (the sender retries later).

- ``SmtpMail``: e-mail over SMTP (aiosmtplib; ``smtp://`` with optional STARTTLS,
  ``smtps://`` for implicit TLS). The Message-ID is derived from the notification id, so a
  message sent twice (a worker that died after the peer accepted it and before the log
  said ``sent``) is recognisable as the same message by the receiver.
- ``MailDir``: the development default when no SMTP server is configured: one ``.eml``
  file per message in ``var/mail/`` (like the local blob directory).
- ``SmsGateway``: a generic JSON SMS gateway: POST to its URL with a bearer token, the
  body built from a JSON template whose strings may hold ``{to}`` and ``{text}``.
- ``WeCom``, ``DingTalk``, ``Feishu``: group robots (webhooks of the IM platforms);
  DingTalk signs ``timestamp\\nsecret`` into the query, Feishu into the body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib
import httpx

from server import addresses
from server.config import get_settings
from server.outbound import tls_context
from server.text import fit


@dataclass(frozen=True)
class Message:
    id: uuid.UUID  # the notification's id: the dedupe key a receiver may use
    address: str
    subject: str
    body: str


@dataclass(frozen=True)
class Receipt:
    reference: str | None = None  # what the peer called it (a Message-ID, a provider id)


class ChannelError(Exception):
    """The peer refused or could not be reached: try again later."""


class Channel(Protocol):
    async def send(self, message: Message) -> Receipt: ...


def message_id(notification_id: uuid.UUID) -> str:
    return f"<{notification_id}@fixflow.notifications>"


_BREAKS = frozenset("\x7f\x85\u2028\u2029")


def one_line(value: str) -> str:
    """A header's value on one line: a line break or other control character in a
    subject (a work order's title, a name) would end the header or start another
    (``Bcc:``); each becomes a space."""
    return "".join(" " if ord(ch) < 32 or ch in _BREAKS else ch for ch in value)


def _email(message: Message, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = one_line(sender)
    mail["To"] = one_line(message.address)
    mail["Subject"] = one_line(message.subject)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = message_id(message.id)
    mail.set_content(message.body)
    return mail


@dataclass(frozen=True)
class SmtpMail:
    url: str
    sender: str
    starttls: bool = False
    timeout: float = 10.0

    async def send(self, message: Message) -> Receipt:
        parts = urllib.parse.urlsplit(self.url)
        implicit = parts.scheme == "smtps"
        try:
            await aiosmtplib.send(
                _email(message, self.sender),
                hostname=parts.hostname or "localhost",
                port=parts.port or (465 if implicit else 25),
                username=urllib.parse.unquote(parts.username) if parts.username else None,
                password=urllib.parse.unquote(parts.password) if parts.password else None,
                use_tls=implicit,
                start_tls=self.starttls if not implicit else False,
                timeout=self.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"SMTP: {type(exc).__name__}: {exc}") from exc
        return Receipt(message_id(message.id))


@dataclass(frozen=True)
class MailDir:
    directory: Path
    sender: str

    async def send(self, message: Message) -> Receipt:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{message.id}.eml"
        path.write_bytes(bytes(_email(message, self.sender)))
        return Receipt(str(path.name))


resolver: addresses.Resolver = addresses.os_resolver  # tests put a controlled resolver here


async def check_url(url: str) -> addresses.Target:
    """A provider URL checked like a webhook's (server/addresses.py): public addresses on
    the scheme's port (80, 443) only, unless ``FIXFLOW_NOTIFY_ALLOW_PRIVATE`` (an
    on-premises gateway, any address and port); ``addresses.Refused`` otherwise."""
    allow_private = get_settings().NOTIFY_ALLOW_PRIVATE
    return await addresses.check(
        url, resolver=resolver, allowed_ports=(), allow_private=allow_private
    )


async def _post(url: str, *, seconds: float, **kwargs: Any) -> dict[str, Any]:
    """POST JSON to the checked address the URL names (a name that re-binds to a private
    address between the check and the connection cannot win; redirects are not followed);
    the answer's JSON (or {}) when 2xx, ``ChannelError`` otherwise."""
    try:
        target = await check_url(url)
    except addresses.Refused as refused:
        raise ChannelError(f"refused: {refused.detail}") from None
    headers = {**kwargs.pop("headers", {}), "host": target.host_header}
    try:
        async with httpx.AsyncClient(
            timeout=seconds, follow_redirects=False, verify=tls_context()
        ) as client:
            request = client.build_request("POST", target.pinned_url, headers=headers, **kwargs)
            if target.scheme == "https":
                request.extensions["sni_hostname"] = target.host
            response = await client.send(request)
    except httpx.HTTPError as exc:
        raise ChannelError(f"{type(exc).__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise ChannelError(f"HTTP {response.status_code}: {fit(response.text, 200)}")
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        for key, value in values.items():
            template = template.replace("{" + key + "}", value)
        return template
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    return template


DEFAULT_SMS_TEMPLATE = {"to": "{to}", "text": "{text}"}


@dataclass(frozen=True)
class SmsGateway:
    url: str
    token: str | None
    template: dict[str, Any] | None = None
    timeout: float = 10.0

    async def send(self, message: Message) -> Receipt:
        text = f"{message.subject}: {message.body}"
        body = _fill(self.template or DEFAULT_SMS_TEMPLATE, {"to": message.address, "text": text})
        headers = {"Idempotency-Key": str(message.id)}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        answer = await _post(self.url, json=body, headers=headers, seconds=self.timeout)
        reference = answer.get("id") or answer.get("message_id")
        return Receipt(fit(str(reference), 200) if reference is not None else None)


def _check_errcode(answer: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if key in answer and answer[key] not in (0, "0"):
            message = answer.get("errmsg") or answer.get("msg") or ""
            raise ChannelError(f"{key} {answer[key]}: {fit(str(message), 200)}")


def _text(message: Message) -> str:
    return f"{message.subject}\n{message.body}"


@dataclass(frozen=True)
class WeCom:
    url: str  # https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...
    timeout: float = 10.0

    async def send(self, message: Message) -> Receipt:
        body = {"msgtype": "text", "text": {"content": _text(message)}}
        _check_errcode(await _post(self.url, json=body, seconds=self.timeout), "errcode")
        return Receipt()


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


@dataclass(frozen=True)
class DingTalk:
    url: str  # https://oapi.dingtalk.com/robot/send?access_token=...
    secret: str | None
    timeout: float = 10.0

    async def send(self, message: Message) -> Receipt:
        url = self.url
        if self.secret:
            stamp = int(time.time() * 1000)
            query = urllib.parse.urlencode(
                {"timestamp": stamp, "sign": dingtalk_sign(self.secret, stamp)}
            )
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        body = {"msgtype": "text", "text": {"content": _text(message)}}
        _check_errcode(await _post(url, json=body, seconds=self.timeout), "errcode")
        return Receipt()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    mac = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


@dataclass(frozen=True)
class Feishu:
    url: str  # https://open.feishu.cn/open-apis/bot/v2/hook/...
    secret: str | None
    timeout: float = 10.0

    async def send(self, message: Message) -> Receipt:
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": _text(message)}}
        if self.secret:
            stamp = int(time.time())
            body |= {"timestamp": str(stamp), "sign": feishu_sign(self.secret, stamp)}
        _check_errcode(await _post(self.url, json=body, seconds=self.timeout), "code", "StatusCode")
        return Receipt()
