"""The survey page over HTTP: one response per invitation, refused tokens, validation in the
page's language, the rating and the events a response makes."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.engineers import Engineer
from server.events import OutboxEvent
from server.links import AccessLink, LinkKind
from server.links import service as links
from server.surveys.models import SurveyResponse
from tests.fixtures.factories import make_tenant
from tests.fixtures.surveys import Invited, invite, make_template

ANSWERS = {"csat": "5", "nps": "9", "ces": "2", "comment": "Quick and tidy"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


async def _invited(db: AsyncSession, **template: Any) -> Invited:
    t = await make_tenant(db)
    await make_template(db, t, **template)
    got = await invite(db, t)
    await db.commit()  # the factories' savepoint; the test's transaction stays open
    return got


async def _responses(db: AsyncSession, invitation_id: uuid.UUID) -> int:
    query = select(func.count()).where(SurveyResponse.invitation_id == invitation_id)
    return int(await db.scalar(query) or 0)


async def _events(db: AsyncSession, topic: str, ticket_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await db.scalars(
        select(OutboxEvent).where(OutboxEvent.topic == topic, OutboxEvent.aggregate_id == ticket_id)
    )
    return [e.payload for e in rows]


async def test_the_page_asks_the_templates_questions_in_the_browsers_language(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    got = await _invited(db, wording={"en": {"csat": "Happy with Li's visit?"}})
    en = await client.get(f"/s/{got.token}")
    zh = await client.get(f"/s/{got.token}", headers=ZH)
    assert en.status_code == zh.status_code == 200
    assert "Happy with Li&#39;s visit?" in en.text and "How likely are you" in en.text
    assert 'name="nps" value="10"' in en.text and 'name="csat" value="6"' not in en.text
    assert "您对我们的服务满意吗" in zh.text and got.invited["ticket_number"] in zh.text
    assert en.headers["cache-control"] == "no-store" and "<script" not in en.text


async def test_one_response_per_invitation(client: httpx.AsyncClient, db: AsyncSession) -> None:
    got = await _invited(db)
    first = await client.post(f"/s/{got.token}", data=ANSWERS)
    again = await client.post(f"/s/{got.token}", data={**ANSWERS, "csat": "1"})
    shown = await client.get(f"/s/{got.token}")
    assert first.status_code == 200 and "Thank you!" in first.text
    assert again.status_code == 409 and "already been answered" in again.text
    assert shown.status_code == 200 and "already been answered" in shown.text
    assert await _responses(db, got.invitation.id) == 1
    row = await db.scalar(
        select(SurveyResponse).where(SurveyResponse.invitation_id == got.invitation.id)
    )
    assert row is not None and (row.csat, row.nps, row.ces) == (5, 9, 2)
    assert row.comment == "Quick and tidy" and row.language == "en" and not row.detractor
    await db.refresh(got.invitation)
    assert got.invitation.status == "answered"


async def test_invalid_answers_re_render_the_form_in_the_pages_language(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    got = await _invited(db)
    cases = [
        {"nps": "9", "ces": "2"},  # csat missing
        {**ANSWERS, "nps": "11"},
        {**ANSWERS, "csat": "٣"},  # not ASCII digits
        {**ANSWERS, "ces": "0"},
        {**ANSWERS, "comment": "x" * 2001},
    ]
    for form in cases:
        answer = await client.post(f"/s/{got.token}", data=form, headers=ZH)
        assert answer.status_code == 422, form
        assert "部分回答需要您检查" in answer.text, form
        assert 'method="post"' in answer.text
    kept = await client.post(f"/s/{got.token}?lang=en", data={**ANSWERS, "nps": "11"})
    assert 'value="5" checked' in kept.text  # what was right stays chosen
    assert "Please choose one of the values shown." in kept.text
    assert await _responses(db, got.invitation.id) == 0


async def test_refused_tokens_show_the_not_found_page(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    got = await _invited(db)
    other = got.token[:30] + ("A" if got.token[30] != "A" else "B") + got.token[31:]
    _, status_token = links.issue(
        db,
        org_id=got.invitation.org_id,
        kind=LinkKind.STATUS,
        subject_id=got.invitation.id,
        expires_at=None,
    )
    await db.flush()
    for token in (other, status_token, "x" * 44, "short"):
        for method in ("GET", "POST"):
            answer = await client.request(method, f"/s/{token}", data=ANSWERS, headers=ZH)
            assert answer.status_code == 404, (token, method)
            assert "此链接无法使用" in answer.text
    assert await _responses(db, got.invitation.id) == 0


async def test_an_expired_or_revoked_link_answers_nothing(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    expired, revoked = await _invited(db), await _invited(db)
    link = await db.get(AccessLink, expired.invitation.link_id)
    assert link is not None
    link.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert revoked.invitation.link_id is not None
    await links.revoke(db, org_id=revoked.invitation.org_id, link_id=revoked.invitation.link_id)
    await db.flush()
    for got in (expired, revoked):
        assert (await client.get(f"/s/{got.token}")).status_code == 404
        assert (await client.post(f"/s/{got.token}", data=ANSWERS)).status_code == 404
        assert await _responses(db, got.invitation.id) == 0


async def test_a_token_answers_its_own_invitation_only(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await make_template(db, t)
    mine, theirs = await invite(db, t), await invite(db, t, engineer=2)
    await db.commit()
    assert (await client.post(f"/s/{mine.token}", data=ANSWERS)).status_code == 200
    assert await _responses(db, mine.invitation.id) == 1
    assert await _responses(db, theirs.invitation.id) == 0
    # A link naming another organisation's invitation (a row nobody could have made
    # through the service) opens nothing either.
    b = await make_tenant(db)
    _, foreign = links.issue(
        db,
        org_id=b.org.id,
        kind=LinkKind.SURVEY,
        subject_id=theirs.invitation.id,
        expires_at=None,
    )
    await db.flush()
    assert (await client.get(f"/s/{foreign}")).status_code == 404


async def test_a_response_moves_the_engineers_rating_and_tells_who_must_know(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    await make_template(db, t)
    bad, good = await invite(db, t), await invite(db, t)
    await db.commit()
    engineer = t.engineers[0]
    detractor = {"csat": "2", "nps": "7", "ces": "6", "comment": "Came late"}
    assert (await client.post(f"/s/{bad.token}", data=detractor)).status_code == 200
    await db.refresh(engineer)
    assert engineer.rating == round((4.0 * 5 + 2) / 6, 2)  # 3.67
    assert (await client.post(f"/s/{good.token}", data=ANSWERS)).status_code == 200
    await db.refresh(engineer)
    assert engineer.rating == round((4.0 * 5 + 2 + 5) / 7, 2)  # 3.86
    [responded] = await _events(db, "survey.responded", bad.ticket.id)
    assert responded == {
        "invitation_id": str(bad.invitation.id),
        "ticket_id": str(bad.ticket.id),
        "engineer_id": str(engineer.id),
        "csat": 2,
        "nps": 7,
        "ces": 6,
        "detractor": True,
    }
    [flagged] = await _events(db, "survey.detractor", bad.ticket.id)
    response = await db.scalar(
        select(SurveyResponse.id).where(SurveyResponse.invitation_id == bad.invitation.id)
    )
    assert flagged == {
        "invitation_id": str(bad.invitation.id),
        "response_id": str(response),
        "ticket_id": str(bad.ticket.id),
        "ticket_number": bad.invited["ticket_number"],
        "customer_id": str(bad.invitation.customer_id),
        "engineer_id": str(engineer.id),
        "csat": 2,
        "nps": 7,
        "comment": "Came late",
    }
    assert await _events(db, "survey.detractor", good.ticket.id) == []
    [fine] = await _events(db, "survey.responded", good.ticket.id)
    assert fine["detractor"] is False


async def test_two_submissions_at_once_record_one_response(
    app: Any, committing_client: httpx.AsyncClient, committing_db: AsyncSession
) -> None:
    """Real transactions: the unique invitation decides; the other answer changes nothing."""
    t = await make_tenant(committing_db, f"Concurrent {uuid.uuid4().hex[:6]}")
    await make_template(committing_db, t)
    got = await invite(committing_db, t)
    invitation_id, engineer_id = got.invitation.id, t.engineers[0].id
    await committing_db.commit()  # the data stays (a test database of its own, unique names)
    answers = await asyncio.gather(
        *(
            committing_client.post(f"/s/{got.token}", data={**ANSWERS, "csat": str(n)})
            for n in (1, 5)
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert await _responses(committing_db, invitation_id) == 1
    recorded = await committing_db.scalar(
        select(SurveyResponse.csat).where(SurveyResponse.invitation_id == invitation_id)
    )
    rating = await committing_db.scalar(select(Engineer.rating).where(Engineer.id == engineer_id))
    assert recorded in (1, 5) and rating == round((20 + recorded) / 6, 2)


async def test_submissions_to_one_link_are_rate_limited(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    got = await _invited(db)
    wrong = {**ANSWERS, "nps": "11"}
    codes = [(await client.post(f"/s/{got.token}", data=wrong)).status_code for _ in range(21)]
    assert codes[:20] == [422] * 20 and codes[20] == 429
    assert await _responses(db, got.invitation.id) == 0
