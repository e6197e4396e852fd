"""Escalation policies per priority (server/escalation/policies.py): the default chain,
create/replace/delete with preconditions, who may, and clear 422s for bad steps."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.escalation import engine
from server.events import service as events
from tests.fixtures.factories import make_tenant
from tests.server.escalation.helpers import p1_ticket, sla_at, world

URL = "/api/v1/escalation/policies/P1"
STEPS: list[dict[str, Any]] = [
    {"trigger": "at_risk", "action": "notify", "owner": "dispatcher", "due_minutes": 15},
    {"trigger": 30, "action": "reassign", "owner": "service_manager", "due_minutes": 60},
]
CREATE = {"If-None-Match": "*"}


async def test_without_a_policy_the_default_chain_applies(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    resp = await client.get(URL, headers=t.headers("dispatcher"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["default"], body["version"]) == (True, 0)
    assert [s["owner"] for s in body["steps"]] == ["agent", "second_line", "service_manager"]
    listed = await client.get("/api/v1/escalation/policies", headers=t.headers("admin"))
    assert [p["priority"] for p in listed.json()] == ["P1", "P2", "P3", "P4"]


async def test_admins_set_replace_and_delete_a_policy(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    admin = t.headers("admin")
    made = await client.put(URL, json={"steps": STEPS}, headers={**admin, **CREATE})
    assert made.status_code == 200, made.text
    assert (made.json()["default"], made.headers["etag"]) == (False, '"v1"')
    again = await client.put(URL, json={"steps": STEPS}, headers={**admin, **CREATE})
    assert again.status_code == 412
    assert (await client.put(URL, json={"steps": STEPS}, headers=admin)).status_code == 428
    replaced = await client.put(
        URL, json={"steps": STEPS[:1]}, headers={**admin, "If-Match": '"v1"'}
    )
    assert replaced.status_code == 200 and replaced.json()["version"] == 2
    stale = await client.put(URL, json={"steps": STEPS}, headers={**admin, "If-Match": '"v1"'})
    assert stale.status_code == 412
    gone = await client.delete(URL, headers={**admin, "If-Match": '"v2"'})
    assert gone.status_code == 204
    assert (await client.get(URL, headers=admin)).json()["default"] is True


async def test_dispatchers_read_engineers_do_not_only_admins_write(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert (await client.get(URL, headers=t.headers("dispatcher"))).status_code == 200
    assert (await client.get(URL, headers=t.headers("engineer1"))).status_code == 403
    for who in ("dispatcher", "agent", "engineer1"):
        resp = await client.put(URL, json={"steps": STEPS}, headers={**t.headers(who), **CREATE})
        assert resp.status_code == 403, (who, resp.text)


BAD: list[tuple[list[dict[str, Any]], str]] = [
    ([], "at least 1"),
    ([{**STEPS[0], "trigger": 10}], "first step"),
    ([{**STEPS[0], "trigger": "soon"}], "trigger"),
    ([{**STEPS[0], "action": "shout"}], "action"),
    ([{**STEPS[0], "owner": "boss"}], "owner must be one of"),
    ([{**STEPS[0], "due_minutes": 0}], "due_minutes"),
    (
        [STEPS[0], {**STEPS[0], "trigger": "at_risk"}],
        "only one step may have the trigger 'at_risk'",
    ),
    ([{**STEPS[0], "trigger": "breached"}, STEPS[0]], "must come before"),
    ([{**STEPS[0], "trigger": 10.5}], "trigger"),
]


async def test_bad_steps_are_clear_422s(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    headers = {**t.headers("admin"), **CREATE}
    for steps, says in BAD:
        resp = await client.put(URL, json={"steps": steps}, headers=headers)
        assert resp.status_code == 422, (steps, resp.text)
        assert says in resp.text, (says, resp.text)
    other = await make_tenant(db)
    stranger = {**STEPS[0], "owner": str(other.users["admin"].id)}
    resp = await client.put(URL, json={"steps": [stranger]}, headers=headers)
    assert resp.status_code == 422 and "no active user" in resp.json()["detail"]


async def test_a_named_user_owns_the_step(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await world(db)
    owner = str(w.t.users["viewer"].id)
    steps = [{"trigger": "at_risk", "action": "notify", "owner": owner, "due_minutes": 5}]
    headers = {**w.t.headers("admin"), **CREATE}
    assert (await client.put(URL, json={"steps": steps}, headers=headers)).status_code == 200
    ticket = await p1_ticket(db, w)
    await sla_at(db, ticket, 0.9 * 480)
    await events.deliver_pending(db)
    [step] = await engine.steps_reached(db, ticket)
    assert str(step.owner_user_id) == owner


async def test_a_user_id_is_kept_in_one_spelling(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """``{...}``, upper case, no hyphens: all the same user, stored as every answer names
    users (a client comparing a policy's owner with a user's id must find them equal)."""
    t = await make_tenant(db)
    user_id = str(t.users["dispatcher"].id)
    for spelling in (user_id.upper(), "{" + user_id + "}", user_id.replace("-", "")):
        steps = [{"trigger": "at_risk", "action": "notify", "owner": spelling, "due_minutes": 5}]
        r = await client.put(URL, json={"steps": steps}, headers={**t.headers("admin"), **CREATE})
        assert r.status_code == 200, r.text
        assert r.json()["steps"][0]["owner"] == user_id
        gone = await client.delete(
            URL, headers={**t.headers("admin"), "If-Match": r.headers["ETag"]}
        )
        assert gone.status_code == 204
