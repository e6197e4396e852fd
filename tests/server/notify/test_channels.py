"""The HTTP provider adapters against a real local receiver, each signature checked by
an independent computation; the channels API (secrets never shown in full)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
import uuid

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.notify import NotificationChannel, sending
from server.notify.channels import (
    ChannelError,
    DingTalk,
    Feishu,
    MailDir,
    Message,
    SmsGateway,
    WeCom,
)
from tests.fixtures.factories import make_tenant, make_ticket
from tests.server.notify.conftest import HttpPeer
from tests.server.notify.test_delivery import deliver, rows

MESSAGE = Message(uuid.uuid4(), "+8613800000000", "SLA breached: WO-000001", "Chiller down")


async def test_sms_gateway_fills_its_body_template(http_peer: HttpPeer) -> None:
    template = {"mobile": "{to}", "content": {"msg": "{text}"}, "sign": "Fixflow"}
    receipt = await SmsGateway(f"{http_peer.base}/send", "t0k", template).send(MESSAGE)
    [request] = http_peer.requests
    assert request.body == {
        "mobile": "+8613800000000",
        "content": {"msg": "SLA breached: WO-000001: Chiller down"},
        "sign": "Fixflow",
    }
    assert request.headers["Authorization"] == "Bearer t0k"
    assert request.headers["Idempotency-Key"] == str(MESSAGE.id)
    assert receipt.reference is None


async def test_wecom_robot(http_peer: HttpPeer) -> None:
    await WeCom(f"{http_peer.base}/cgi-bin/webhook/send?key=abc").send(MESSAGE)
    [request] = http_peer.requests
    assert request.path == "/cgi-bin/webhook/send?key=abc"
    assert request.body == {
        "msgtype": "text",
        "text": {"content": "SLA breached: WO-000001\nChiller down"},
    }


async def test_dingtalk_signature_verifies_independently(http_peer: HttpPeer) -> None:
    secret = "SEC" + uuid.uuid4().hex
    before = int(time.time() * 1000)
    await DingTalk(f"{http_peer.base}/robot/send?access_token=xyz", secret).send(MESSAGE)
    [request] = http_peer.requests
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
    assert query["access_token"] == ["xyz"]
    stamp = query["timestamp"][0]
    assert before <= int(stamp) <= int(time.time() * 1000)
    # DingTalk's documented check: base64(HmacSHA256(key=secret, "timestamp\nsecret")).
    expected = base64.b64encode(
        hmac.new(secret.encode("utf-8"), f"{stamp}\n{secret}".encode(), "sha256").digest()
    ).decode()
    assert query["sign"] == [expected]
    assert request.body["text"]["content"].startswith("SLA breached")


async def test_feishu_signature_verifies_independently(http_peer: HttpPeer) -> None:
    secret = "fs-" + uuid.uuid4().hex
    await Feishu(f"{http_peer.base}/open-apis/bot/v2/hook/h00k", secret).send(MESSAGE)
    [request] = http_peer.requests
    stamp = request.body["timestamp"]
    # Feishu's documented check: base64(HmacSHA256(key="timestamp\nsecret", empty message)).
    string_to_sign = f"{stamp}\n{secret}".encode()
    expected = base64.b64encode(hmac.new(string_to_sign, digestmod=hashlib.sha256).digest())
    assert request.body["sign"] == expected.decode()
    assert request.body["content"]["text"].endswith("Chiller down")


async def test_provider_errors_are_channel_errors(http_peer: HttpPeer) -> None:
    http_peer.answers = [(200, {"errcode": 310000, "errmsg": "sign not match"}), (500, {})]
    with pytest.raises(ChannelError, match="310000"):
        await DingTalk(f"{http_peer.base}/robot", "s").send(MESSAGE)
    with pytest.raises(ChannelError, match="HTTP 500"):
        await WeCom(f"{http_peer.base}/wecom").send(MESSAGE)
    with pytest.raises(ChannelError):
        await WeCom("http://127.0.0.1:9/nobody-listens").send(MESSAGE)


async def test_mail_dir_writes_eml_files(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path)) / "mail"
    receipt = await MailDir(folder, "Fixflow <noreply@example.test>").send(MESSAGE)
    written = (folder / f"{MESSAGE.id}.eml").read_text()
    assert receipt.reference == f"{MESSAGE.id}.eml"
    assert "Subject: SLA breached: WO-000001" in written
    assert f"Message-ID: <{MESSAGE.id}@fixflow.notifications>" in written


async def test_staff_alerts_also_reach_the_im_group(
    db: AsyncSession, maker: async_sessionmaker[AsyncSession], http_peer: HttpPeer
) -> None:
    t = await make_tenant(db, "Group")
    secret = "SEC" + uuid.uuid4().hex
    db.add(
        NotificationChannel(
            org_id=t.org.id,
            kind="dingtalk",
            url=f"{http_peer.base}/robot",
            secret=secret,
            options={},
        )
    )
    await db.flush()
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site)
    from server.tickets import audit

    audit.record(db, ticket, kind="field_conflict", actor="system:sync")
    await db.flush()
    await deliver(maker)
    await sending.send_pending(maker)
    sent = {
        (r.channel, r.status) for r in await rows(db, t.org.id) if r.template == "field_conflict"
    }
    assert sent == {("email", "sent"), ("im", "sent")}
    [request] = http_peer.requests
    assert request.body["text"]["content"].startswith("Field conflict on WO-")


async def test_channels_api_configures_and_masks_secrets(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db, "ChannelsApi")
    admin = t.headers("admin")
    body = {
        "kind": "dingtalk",
        "url": "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef",
        "secret": "SECabcdefghijklmnop",
    }
    created = await client.post("/api/v1/notifications/channels", json=body, headers=admin)
    assert created.status_code == 201, created.text
    shown = created.json()
    assert "0123456789abcdef" not in shown["url"] and shown["url"].endswith("access_token=***cdef")
    assert shown["secret_hint"] == "mnop" and "secret" not in shown
    again = await client.post("/api/v1/notifications/channels", json=body, headers=admin)
    assert again.status_code == 409
    bad = await client.post(
        "/api/v1/notifications/channels", json={**body, "url": "ftp://x/y"}, headers=admin
    )
    assert bad.status_code == 422
    listed = await client.get("/api/v1/notifications/channels", headers=admin)
    assert [c["kind"] for c in listed.json()] == ["dingtalk"]
    off = await client.patch(
        f"/api/v1/notifications/channels/{shown['id']}",
        json={"enabled": False},
        headers={**admin, "If-Match": created.headers["ETag"]},
    )
    assert off.status_code == 200 and off.json()["enabled"] is False
    denied = await client.get("/api/v1/notifications/channels", headers=t.headers("dispatcher"))
    assert denied.status_code == 403
