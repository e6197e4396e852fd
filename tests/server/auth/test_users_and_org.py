from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.factories import PASSWORD, make_tenant

V1 = {"If-Match": '"v1"'}  # users and organisations start at version 1


async def _login(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})


async def test_deactivating_a_user_blocks_login_tokens_and_refresh(
    client: httpx.AsyncClient, db: Any
) -> None:
    t = await make_tenant(db)
    agent = t.users["agent"]
    tokens = (await _login(client, agent.email)).json()
    response = await client.patch(
        f"/api/v1/users/{agent.id}", json={"is_active": False}, headers={**t.headers("admin"), **V1}
    )
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert (await _login(client, agent.email)).status_code == 401
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.get("/api/v1/tickets", headers=bearer)).status_code == 401
    refresh = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refresh.status_code == 401


async def test_admin_changes_role_and_language(client: httpx.AsyncClient, db: Any) -> None:
    t = await make_tenant(db)
    viewer = t.users["viewer"]
    response = await client.patch(
        f"/api/v1/users/{viewer.id}",
        json={"role": "agent", "locale": "zh_CN"},
        headers={**t.headers("admin"), **V1},
    )
    assert response.json()["role"] == "agent" and response.json()["locale"] == "zh_CN"


async def test_admin_cannot_lock_themselves_out(client: httpx.AsyncClient, db: Any) -> None:
    t = await make_tenant(db)
    admin = t.users["admin"]
    for body in ({"is_active": False}, {"role": "viewer"}):
        response = await client.patch(
            f"/api/v1/users/{admin.id}", json=body, headers={**t.headers("admin"), **V1}
        )
        assert response.status_code == 409


async def test_users_cannot_be_turned_into_engineers(client: httpx.AsyncClient, db: Any) -> None:
    t = await make_tenant(db)
    response = await client.patch(
        f"/api/v1/users/{t.users['agent'].id}",
        json={"role": "engineer"},
        headers={**t.headers("admin"), **V1},
    )
    assert response.status_code == 422


async def test_only_admins_manage_users_and_other_orgs_are_404(
    client: httpx.AsyncClient, db: Any
) -> None:
    a = await make_tenant(db)
    b = await make_tenant(db)
    target = a.users["viewer"].id
    denied = await client.patch(
        f"/api/v1/users/{target}",
        json={"full_name": "X"},
        headers={**a.headers("dispatcher"), **V1},
    )
    assert denied.status_code == 403
    foreign = await client.patch(
        f"/api/v1/users/{target}", json={"full_name": "X"}, headers={**b.headers("admin"), **V1}
    )
    assert foreign.status_code == 404


async def test_organisation_read_and_admin_update(client: httpx.AsyncClient, db: Any) -> None:
    t = await make_tenant(db)
    own = await client.get("/api/v1/organisation", headers=t.headers("engineer1"))
    assert own.json()["id"] == str(t.org.id)
    ok = await client.patch(
        "/api/v1/organisation",
        json={"timezone": "Asia/Shanghai"},
        headers={**t.headers("admin"), **V1},
    )
    assert ok.json()["timezone"] == "Asia/Shanghai"
    assert ok.headers["etag"] == '"v2"'
    bad = await client.patch(
        "/api/v1/organisation",
        json={"timezone": "Mars/Base"},
        headers={**t.headers("admin"), "If-Match": '"v2"'},
    )
    assert bad.status_code == 422
    denied = await client.patch(
        "/api/v1/organisation", json={"name": "Mine"}, headers={**t.headers("dispatcher"), **V1}
    )
    assert denied.status_code == 403


async def test_duties_say_who_is_told(client: httpx.AsyncClient, db: Any) -> None:
    from server.auth import Duty, Role
    from server.auth import service as auth_service

    t = await make_tenant(db)
    agent, viewer = t.users["agent"], t.users["viewer"]
    response = await client.patch(
        f"/api/v1/users/{agent.id}",
        json={"duties": ["second_line", "service_manager", "second_line"]},
        headers={**t.headers("admin"), **V1},
    )
    assert response.status_code == 200, response.text
    assert response.json()["duties"] == ["second_line", "service_manager"]
    bad = await client.patch(
        f"/api/v1/users/{viewer.id}",
        json={"duties": ["boss"]},
        headers={**t.headers("admin"), **V1},
    )
    assert bad.status_code == 422
    managers = await auth_service.staff_to_tell(db, t.org.id, duties=(Duty.SERVICE_MANAGER,))
    assert [u.id for u in managers] == [agent.id]
    both = await auth_service.staff_to_tell(
        db, t.org.id, roles=(Role.DISPATCHER,), duties=(Duty.SERVICE_MANAGER,)
    )
    assert {u.id for u in both} == {agent.id, t.users["dispatcher"].id}
    other = await make_tenant(db)
    assert await auth_service.staff_to_tell(db, other.org.id, duties=(Duty.SERVICE_MANAGER,)) == []
    denied = await client.patch(
        f"/api/v1/users/{viewer.id}",
        json={"duties": ["parts_manager"]},
        headers={**t.headers("dispatcher"), **V1},
    )
    assert denied.status_code == 403
