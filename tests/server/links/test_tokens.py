"""Links for people without an account: tampering, another kind, expiry, revocation."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server import languages
from server.links import LinkKind, LinkNotFound, service
from tests.fixtures.factories import make_tenant


async def _link(db: AsyncSession, **kw: object) -> tuple[object, str, uuid.UUID]:
    org = (await make_tenant(db)).org
    subject = uuid.uuid4()
    link, token = service.issue(
        db,
        org_id=org.id,
        kind=kw.get("kind", LinkKind.STATUS),  # type: ignore[arg-type]
        subject_id=subject,
        expires_at=kw.get("expires_at"),  # type: ignore[arg-type]
    )
    await db.flush()
    return link, token, subject


async def test_a_token_opens_its_link(db: AsyncSession) -> None:
    link, token, subject = await _link(db)
    assert len(token) == service.TOKEN_LENGTH and token.isascii()
    found = await service.resolve(db, token, LinkKind.STATUS)
    assert found.id == link.id and found.subject_id == subject  # type: ignore[attr-defined]
    assert found.last_used_at is not None


@pytest.mark.parametrize("position", [0, 5, 21, 22, 30, 43])
async def test_any_changed_character_is_refused(db: AsyncSession, position: int) -> None:
    _, token, _ = await _link(db)
    swapped = "A" if token[position] != "A" else "B"
    forged = token[:position] + swapped + token[position + 1 :]
    with pytest.raises(LinkNotFound):
        await service.resolve(db, forged, LinkKind.STATUS)


@pytest.mark.parametrize(
    "token",
    ["", "x", "A" * 44, "A" * 45, "é" * 44, "+" * 44, "/" * 44, "=" * 44, "\x00" * 44],
)
async def test_malformed_tokens_are_refused_before_any_query(db: AsyncSession, token: str) -> None:
    assert service.link_id_of(token, LinkKind.STATUS) is None
    with pytest.raises(LinkNotFound):
        await service.resolve(db, token, LinkKind.STATUS)


async def test_a_token_of_one_kind_does_not_open_another(db: AsyncSession) -> None:
    _, token, _ = await _link(db, kind=LinkKind.SURVEY)
    await service.resolve(db, token, LinkKind.SURVEY)
    for other in (LinkKind.STATUS, LinkKind.QR):
        with pytest.raises(LinkNotFound):
            await service.resolve(db, token, other)


async def test_expired_and_revoked_links_are_refused(db: AsyncSession) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    _, expired, _ = await _link(db, expires_at=past)
    with pytest.raises(LinkNotFound):
        await service.resolve(db, expired, LinkKind.STATUS)
    link, token, subject = await _link(db, expires_at=past + dt.timedelta(days=30))
    await service.revoke(db, org_id=link.org_id, link_id=link.id)  # type: ignore[attr-defined]
    with pytest.raises(LinkNotFound):
        await service.resolve(db, token, LinkKind.STATUS)
    assert (
        await service.current(
            db,
            org_id=link.org_id,  # type: ignore[attr-defined]
            kind=LinkKind.STATUS,
            subject_id=subject,
        )
        is None
    )


async def test_another_organisation_cannot_revoke(db: AsyncSession) -> None:
    link, token, _ = await _link(db)
    other = (await make_tenant(db)).org
    with pytest.raises(LinkNotFound):
        await service.revoke(db, org_id=other.id, link_id=link.id)  # type: ignore[attr-defined]
    await service.resolve(db, token, LinkKind.STATUS)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR, zh;q=0.5, en;q=0.4", "zh_CN"),
        ("de, fr", None),
        ("zh;q=abc, en;q=0.1", "en"),
        ("zh;q=0, en;q=0.1", "en"),
        ("", None),
        (None, None),
        ("en;q=0.5, zh-Hans;q=0.5", "en"),
        ("\u200b" * 5000, None),
        # Where Simplified Chinese is written too (was English).
        ("zh-SG,en;q=0.5", "zh_CN"),
        ("zh-Hans-SG, en;q=0.5", "zh_CN"),
        ("zh-MY", "zh_CN"),
        # Hostile q-values are skipped, never a 500.
        ("zh;q=1e9, en;q=0.5", "en"),
        ("zh;q=nan, zh;q=-1, zh;q=inf, en;q=0.1", "en"),
        ("*", None),
        ("x" * 10_000, None),
    ],
)
def test_the_browser_language(header: str | None, expected: str | None) -> None:
    assert languages.from_accept_language(header) == expected


def test_the_mac_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain ``!=`` stops at the first differing character: its timing would let a
    forger find a valid MAC character by character."""
    import hmac

    from server.links import service as link_service

    seen: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(link_service.hmac, "compare_digest", spy)
    token = link_service.token_for_parts(uuid.uuid4(), "status")
    assert link_service.link_id_of(token, LinkKind.STATUS) is not None
    assert (
        link_service.link_id_of(token[:-1] + ("A" if token[-1] != "A" else "B"), LinkKind.STATUS)
        is None
    )
    assert len(seen) == 2
