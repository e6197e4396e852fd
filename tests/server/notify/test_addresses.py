"""The providers' URLs follow the webhooks' SSRF rules (server/addresses.py): an
organisation's admin may not point the SMS gateway or an IM robot at loopback, private,
link-local or metadata addresses (the delivery log would read the answer back to them),
neither when configuring the channel nor at send time (a name that re-binds), and a
redirect is not followed. E-mail headers stay on one line."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import get_settings
from server.notify import channels
from server.notify.channels import ChannelError, Message, WeCom, _email
from tests.fixtures.factories import make_tenant
from tests.server.notify.conftest import HttpPeer

MESSAGE = Message(uuid.uuid4(), "+8613800000000", "SLA breached: WO-000001", "Chiller down")


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[str]]]:
    table: dict[str, list[str]] = {"robot.example.com": ["93.184.216.34"]}

    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("Name or service not known")
        return table[host]

    monkeypatch.setattr(channels, "resolver", resolve)
    yield table


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/send",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:7f00:1]/",
        "http://0x7f000001/",
        "http://10.0.0.1/",
        "https://internal.example.com/robot",
        "http://evil.example\\@127.0.0.1/",
        "http://robot.example.com/\r\nX-Injected: 1",
        "http://" + "a" * 70 + ".example/",
        "https://robot.example.com:25/",  # a public host's other services: not through us
    ],
)
async def test_channel_urls_naming_private_addresses_are_refused(
    url: str, client: httpx.AsyncClient, db: AsyncSession, dns: dict[str, list[str]]
) -> None:
    dns["internal.example.com"] = ["192.168.1.20"]
    t = await make_tenant(db, "ChannelSsrf")
    r = await client.post(
        "/api/v1/notifications/channels",
        json={"kind": "wecom", "url": url},
        headers=t.headers("admin"),
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] in ("channel_url_refused", "validation_error")


async def test_a_public_or_unresolved_name_is_kept_and_a_change_is_checked(
    client: httpx.AsyncClient, db: AsyncSession, dns: dict[str, list[str]]
) -> None:
    t = await make_tenant(db, "ChannelSsrfOk")
    admin = t.headers("admin")
    made = await client.post(
        "/api/v1/notifications/channels",
        json={"kind": "wecom", "url": "https://qyapi.weixin.example/send?key=k"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    changed = await client.patch(
        f"/api/v1/notifications/channels/{made.json()['id']}",
        json={"url": "http://169.254.169.254/latest/"},
        headers={**admin, "If-Match": made.headers["ETag"]},
    )
    assert changed.status_code == 422 and changed.json()["code"] == "channel_url_refused"


async def test_send_time_check_refuses_a_name_that_rebinds(
    http_peer: HttpPeer, dns: dict[str, list[str]]
) -> None:
    get_settings().NOTIFY_ALLOW_PRIVATE = False  # restored by http_peer
    port = http_peer.base.rsplit(":", 1)[1]
    dns["robot.example.com"] = ["127.0.0.1"]
    with pytest.raises(ChannelError, match="refused"):
        await WeCom(f"http://robot.example.com:{port}/send").send(MESSAGE)
    assert http_peer.requests == []


async def test_the_post_goes_to_the_checked_address_with_the_name_as_host(
    http_peer: HttpPeer, dns: dict[str, list[str]]
) -> None:
    port = http_peer.base.rsplit(":", 1)[1]
    dns["robot.example.com"] = ["127.0.0.1"]  # NOTIFY_ALLOW_PRIVATE (http_peer)
    await WeCom(f"http://robot.example.com:{port}/send?key=k").send(MESSAGE)
    [request] = http_peer.requests
    assert request.path == "/send?key=k"
    host = {k.lower(): v for k, v in request.headers.items()}["host"]
    assert host == f"robot.example.com:{port}"


async def test_a_redirect_is_not_followed(http_peer: HttpPeer) -> None:
    http_peer.answers.append((302, {"to": "http://169.254.169.254/"}))
    with pytest.raises(ChannelError, match="HTTP 302"):
        await WeCom(f"{http_peer.base}/send").send(MESSAGE)
    assert len(http_peer.requests) == 1


def test_mail_headers_stay_on_one_line() -> None:
    message = Message(
        uuid.uuid4(), "a@example.com", "Pump\r\nBcc: evil@example.com\x0bx\u2028y", "body"
    )
    mail = _email(message, "Fixflow <noreply@fixflow.local>")
    assert mail["Bcc"] is None
    assert "\n" not in str(mail["Subject"]) and "\r" not in str(mail["Subject"])
    assert "Bcc: evil@example.com" in str(mail["Subject"])
    raw = bytes(mail)
    assert b"\nBcc:" not in raw


async def test_a_channel_that_breaks_fails_its_message_not_the_group() -> None:
    """A channel's own fault (here: a token an HTTP header cannot carry) is that message's
    failure: raised, it stopped the group's gather and left the group's sent messages
    "sending", to be sent again."""
    from server.notify.sending import Claimed, _attempt

    class Broken:
        async def send(self, message: Message) -> channels.Receipt:
            "tök".encode("ascii")
            raise AssertionError("unreachable")

    _item, receipt, error = await _attempt(Claimed(MESSAGE, 1, Broken()))
    assert receipt is None and error is not None and error.startswith("UnicodeEncodeError")


async def test_a_secret_must_be_printable_ascii(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db, "ChannelSecret")
    for secret in ("tök", "a b", "line\nbreak"):
        r = await client.post(
            "/api/v1/notifications/channels",
            json={"kind": "sms_gateway", "url": "https://sms.example.net/send", "secret": secret},
            headers=t.headers("admin"),
        )
        assert r.status_code == 422, (secret, r.text)


def test_a_robot_key_in_the_path_is_masked_too() -> None:
    """Feishu's robot key is the URL path's end; the channel read promised no key in full."""
    from server.notify.service import masked_url

    key = "0f3c9a7e-1b2d-4c5e-8f90-a1b2c3d4e5f6"
    shown = masked_url(f"https://open.feishu.cn/open-apis/bot/v2/hook/{key}")
    assert key not in shown and shown.endswith("/open-apis/bot/v2/hook/***e5f6")
    ding = masked_url("https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef")
    assert ding.endswith("/robot/send?access_token=***cdef")
    assert masked_url("https://sms.example.net/api/send") == "https://sms.example.net/api/send"
