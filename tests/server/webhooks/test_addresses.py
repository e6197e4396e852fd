"""SSRF: webhook URLs reaching loopback, private, link-local, metadata and other non-public
addresses are refused at registration (422 saying why) and again at send time."""

from __future__ import annotations

import ipaddress
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import get_settings
from server.webhooks import addresses, sender
from tests.fixtures.factories import make_tenant
from tests.server.webhooks import receiver as receiving

REFUSED = [
    "http://127.0.0.1/",
    "http://[::1]/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://0x7f000001/",  # ... in hex
    "http://0177.0.0.1/",  # ... in octal
    "http://127.1/",  # ... short form
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
    "http://[::ffff:169.254.169.254]/",
    "http://[::127.0.0.1]/",  # IPv4-compatible IPv6
    "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[fd00:ec2::254]/",  # the EC2 metadata address over IPv6
    "http://[fc00::1]/",
    "http://[fe80::1]/",
    "http://[::]/",
    "http://[ff02::1]/",
]


@pytest.fixture(autouse=True)
def strict() -> Iterator[None]:
    """The SSRF rules as production has them."""
    settings = get_settings()
    saved = settings.WEBHOOKS_ALLOW_PRIVATE, settings.WEBHOOKS_ALLOWED_PORTS
    settings.WEBHOOKS_ALLOW_PRIVATE, settings.WEBHOOKS_ALLOWED_PORTS = False, []
    yield
    settings.WEBHOOKS_ALLOW_PRIVATE, settings.WEBHOOKS_ALLOWED_PORTS = saved


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A controlled resolver behind the same interface as the operating system's."""
    table: dict[str, list[str]] = {"hooks.example.com": ["93.184.216.34"]}

    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("Name or service not known")
        return table[host]

    monkeypatch.setattr(addresses, "resolver", resolve)
    return table


@pytest.mark.parametrize("url", REFUSED)
async def test_non_public_addresses_are_refused(url: str, dns: dict[str, list[str]]) -> None:
    with pytest.raises(addresses.UnsafeUrl) as caught:
        await addresses.check(url)
    assert "resolves to" in caught.value.detail


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://hooks.example.com/", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("https://user:pw@hooks.example.com/", "user name or password"),
        ("https://hooks.example.com:22/", "port 22 is not allowed"),
        ("https://nowhere.invalid/", "does not resolve"),
    ],
)
async def test_other_refusals_say_why(url: str, why: str, dns: dict[str, list[str]]) -> None:
    with pytest.raises(addresses.UnsafeUrl) as caught:
        await addresses.check(url)
    assert why in caught.value.detail


async def test_names_are_judged_by_every_address_they_resolve_to(
    dns: dict[str, list[str]],
) -> None:
    dns["mixed.example.com"] = ["93.184.216.34", "10.1.2.3"]
    dns["metadata.example.com"] = ["169.254.169.254"]
    for name in ("mixed.example.com", "metadata.example.com"):
        with pytest.raises(addresses.UnsafeUrl):
            await addresses.check(f"https://{name}/hook")
    target = await addresses.check("https://hooks.example.com/hook?x=1")
    assert target.address == ipaddress.ip_address("93.184.216.34")
    assert target.pinned_url == "https://93.184.216.34:443/hook?x=1"
    assert target.host_header == "hooks.example.com"


async def test_localhost_resolved_by_the_system_is_refused() -> None:
    with pytest.raises(addresses.UnsafeUrl) as caught:
        await addresses.check("http://localhost/hook")
    assert "loopback" in caught.value.detail


async def test_registration_refuses_with_a_problem(client: httpx.AsyncClient, db, dns) -> None:  # type: ignore[no-untyped-def]
    t = await make_tenant(db)
    dns["internal.example.com"] = ["192.168.0.10"]
    for url in ("http://169.254.169.254/", "https://internal.example.com/x", "http://0x7f000001/"):
        r = await client.post(
            "/api/v1/webhooks/endpoints",
            json={"url": url, "event_types": ["*"]},
            headers=t.headers("admin"),
        )
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        assert problem["code"] == "webhook_url_refused"
        assert "resolves to" in problem["detail"] and problem["field"] == "url"


async def test_send_time_check_refuses_a_name_that_rebinds(dns: dict[str, list[str]]) -> None:
    """Registered while public, the name now resolves to loopback: nothing is sent."""
    with receiving.running() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        get_settings().WEBHOOKS_ALLOWED_PORTS = [int(port)]
        dns["rebind.example.com"] = ["93.184.216.34"]
        await addresses.check(f"http://rebind.example.com:{port}/hook")
        dns["rebind.example.com"] = ["127.0.0.1"]
        outcome = await sender.post(f"http://rebind.example.com:{port}/hook", "{}", {})
        assert not outcome.ok and "refused" in (outcome.error or "")
        assert receiver.requests == []


async def test_a_redirect_is_not_followed() -> None:
    """A receiver answering 302 to the metadata address: a failure, nothing fetched there."""
    settings = get_settings()
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # the receiver itself is on 127.0.0.1
    with receiving.running() as receiver:
        receiver.answer = lambda n: (302, {"Location": "http://169.254.169.254/latest/"})
        outcome = await sender.post(receiver.url, "{}", {"webhook-id": "msg_1"})
    assert not outcome.ok and outcome.status_code == 302
    assert "redirect" in (outcome.error or "") and "not followed" in (outcome.error or "")
    assert len(receiver.requests) == 1


def test_production_refuses_allow_private() -> None:
    from server.config import Settings

    production = Settings(
        ENV="production",
        SECRET_KEY="k9s8d7f6g5h4j3k2l1q0w9e8r7t6y5u4",
        PUBLIC_URL="https://service.example.com",
        WEBHOOKS_ALLOW_PRIVATE=True,
    )
    with pytest.raises(RuntimeError, match="WEBHOOKS_ALLOW_PRIVATE"):
        production.check_production()


async def test_the_connection_goes_to_the_checked_address_with_the_original_host(
    dns: dict[str, list[str]],
) -> None:
    """The sender connects to the address it checked and names the host in Host."""
    get_settings().WEBHOOKS_ALLOW_PRIVATE = True  # the receiver is on 127.0.0.1
    dns["hooks.example.com"] = ["127.0.0.1"]
    with receiving.running() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        outcome = await sender.post(
            f"http://hooks.example.com:{port}/in?a=1", "{}", {"webhook-id": "msg_1"}
        )
    assert outcome.ok, outcome
    [seen] = receiver.requests
    assert seen.headers["host"] == f"hooks.example.com:{port}" and seen.path == "/in?a=1"


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for hooks.example.com (openssl, as the system has it)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    command += ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=hooks.example.com"]
    command += ["-addext", "subjectAltName=DNS:hooks.example.com"]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_https_goes_to_the_checked_address_with_the_name_as_sni_and_certificate(
    dns: dict[str, list[str]], certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pinned to 127.0.0.1, the TLS handshake still names hooks.example.com and verifies the
    certificate against it; a name the certificate does not hold is refused."""
    cert, key = certificate
    get_settings().WEBHOOKS_ALLOW_PRIVATE = True
    monkeypatch.setattr(sender, "tls", ssl.create_default_context(cafile=str(cert)))
    dns["hooks.example.com"] = ["127.0.0.1"]
    dns["other.example.com"] = ["127.0.0.1"]
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    with receiving.running(tls=server_side) as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        headers = {"webhook-id": "msg_1"}
        good = await sender.post(f"https://hooks.example.com:{port}/in", "{}", headers)
        bad = await sender.post(f"https://other.example.com:{port}/in", "{}", headers)
    assert good.ok, good
    assert not bad.ok and "certificate" in (bad.error or "").lower(), bad
    assert receiver.server_names[0] == "hooks.example.com"
    assert [r.headers["host"] for r in receiver.requests] == [f"hooks.example.com:{port}"]


def test_the_default_tls_context_is_built_once_and_verifies() -> None:
    """A client per attempt built httpx's TLS context every time: 24 ms of CPU per webhook
    (docs/benchmarks.md "notify"). One context serves every attempt, still verifying the
    certificate and the name; a test's own context (``sender.tls``) is used as it is."""
    first = sender._verify()
    assert isinstance(first, ssl.SSLContext) and first is sender._verify()
    assert first.verify_mode == ssl.CERT_REQUIRED and first.check_hostname
    own = ssl.create_default_context()
    saved, sender.tls = sender.tls, own
    try:
        assert sender._verify() is own
    finally:
        sender.tls = saved


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://" + "a" * 70 + ".example.com/", "not a valid domain name"),  # was a 500
        ("http://a..example.com/", "not a valid domain name"),
        ("http://hooks.exa\tmple.com/", "spaces, tabs, line breaks"),
        ("http://hooks.example.com/\r\nX-Injected: 1", "spaces, tabs, line breaks"),
        ("http://hooks.example.com\\@127.0.0.1/", "backslashes"),
        ("http://hooks.example.com:0/", "port 0"),
        ("http://hooks.example.com:65536/", "not valid"),
    ],
)
async def test_malformed_urls_are_refused_not_crashed(
    url: str, why: str, dns: dict[str, list[str]]
) -> None:
    with pytest.raises(addresses.UnsafeUrl) as caught:
        await addresses.check(url)
    assert why in caught.value.detail


async def test_an_overlong_host_label_is_a_problem_not_a_500(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    r = await client.post(
        "/api/v1/webhooks/endpoints",
        json={"url": "https://" + "a" * 300 + ".com/", "event_types": ["*"]},
        headers=t.headers("admin"),
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "webhook_url_refused"


async def test_an_international_name_is_sent_in_its_ascii_form(
    dns: dict[str, list[str]],
) -> None:
    dns["xn--bcher-kva.example"] = ["93.184.216.34"]
    target = await addresses.check("https://bücher.example/hook")
    assert target.host == "xn--bcher-kva.example"
    assert target.host_header == "xn--bcher-kva.example"


async def test_a_receiver_that_drips_its_answer_is_cut_off_inside_the_lease(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each read within READ_TIMEOUT, but the whole answer never: the attempt ends at
    TOTAL_SECONDS (below the lease), so no other worker sends the delivery meanwhile."""
    import asyncio
    import time

    from server.webhooks.delivery import LEASE_SECONDS

    assert sender.TOTAL_SECONDS < LEASE_SECONDS  # the real deadline: 30 s, the lease 60 s
    monkeypatch.setattr(get_settings(), "WEBHOOKS_ALLOW_PRIVATE", True)
    monkeypatch.setattr(sender, "TOTAL_SECONDS", 1.0)

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        try:
            for _ in range(100):
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(0.2)
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(drip, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    started = time.monotonic()
    try:
        outcome = await sender.post(f"http://127.0.0.1:{port}/hook", "{}", {"webhook-id": "m"})
    finally:
        server.close()
    assert not outcome.ok and "within 1 s" in (outcome.error or ""), outcome
    assert time.monotonic() - started < 5
