"""The survey page against a careless or hostile client: an unreadable body, a file, a
NUL in the query, a path past the token, too many posts: always a page in the customer's
language, never the API's JSON problem."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.factories import make_tenant
from tests.fixtures.surveys import Invited, invite, make_template

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


async def _invited(db: AsyncSession, **template: Any) -> Invited:
    t = await make_tenant(db)
    await make_template(db, t, **template)
    got = await invite(db, t)
    await db.commit()
    return got


def _is_page(r: httpx.Response) -> bool:
    return r.headers.get("content-type", "").startswith("text/html")


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"--x\r\n", "multipart/form-data"),  # no boundary
        (b"garbage" * 50, "multipart/form-data; boundary=abc"),
        ("&".join(f"f{i}=x" for i in range(1500)).encode(), "application/x-www-form-urlencoded"),
        (b'{"csat": 5}', "application/json"),
    ],
)
async def test_an_unreadable_body_re_renders_the_form(
    content: bytes, content_type: str, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    got = await _invited(db)
    r = await client.post(
        f"/s/{got.token}", content=content, headers={"content-type": content_type, **ZH}
    )
    assert r.status_code == 422 and _is_page(r), r.text
    assert "请选择一个答案" in r.text


async def test_a_file_is_not_an_answer(client: httpx.AsyncClient, db: AsyncSession) -> None:
    got = await _invited(db)
    r = await client.post(
        f"/s/{got.token}", data={"csat": "5"}, files={"comment": ("x.txt", b"x" * 1000)}
    )
    assert r.status_code == 422 and _is_page(r), r.text


async def test_a_nul_in_the_query_or_a_field_is_no_json_problem(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    got = await _invited(db)
    shown = await client.get(f"/s/{got.token}", params={"lang": "zh_CN\x00"})
    assert shown.status_code == 200 and _is_page(shown)
    answered = await client.post(
        f"/s/{got.token}",
        params={"lang": "\x00"},
        data={"csat": "5", "nps": "9", "ces": "2", "comment": "fi\x00ne", "x\x00": "y"},
    )
    assert answered.status_code == 200 and _is_page(answered), answered.text


async def test_a_path_past_the_token_is_the_not_found_page(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    got = await _invited(db)
    for path in (f"/s/{got.token}/", f"/s/{got.token}/x", "/s/"):
        for method in ("GET", "POST"):
            r = await client.request(method, path, headers=ZH)
            assert r.status_code == 404 and _is_page(r) and "此链接无法使用" in r.text


async def test_too_many_posts_answer_a_page_saying_wait(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    from server.surveys.page.router import SUBMIT_LIMIT

    got = await _invited(db)
    for _ in range(SUBMIT_LIMIT):
        await client.post(f"/s/{got.token}", data={"nps": "11"})
    limited = await client.post(f"/s/{got.token}", data={"nps": "11"}, headers=ZH)
    assert limited.status_code == 429 and _is_page(limited), limited.text
    assert "请稍候" in limited.text and int(limited.headers["Retry-After"]) > 0


async def test_head_answers_like_get(client: httpx.AsyncClient, db: AsyncSession) -> None:
    got = await _invited(db)
    r = await client.head(f"/s/{got.token}")
    assert r.status_code == 200 and _is_page(r) and r.content == b""
    assert (await client.head("/s/" + "x" * 44)).status_code == 404


async def test_a_comment_only_survey_sent_empty_is_not_an_answer(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """A double tap on "send" of an empty comment-only survey used to record an empty
    response and close the survey."""
    got = await _invited(db, questions=["comment"])
    empty = await client.post(f"/s/{got.token}", data={"comment": "  \x00 "}, headers=ZH)
    assert empty.status_code == 422 and "请写几句话后再提交" in empty.text
    said = await client.post(f"/s/{got.token}", data={"comment": "All good"})
    assert said.status_code == 200


async def test_an_invisible_comment_is_no_comment(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    got = await _invited(db, questions=["comment"])
    blank = await client.post(f"/s/{got.token}", data={"comment": "\u200b\u200f"}, headers=ZH)
    assert blank.status_code == 422 and "请写几句话后再提交" in blank.text
