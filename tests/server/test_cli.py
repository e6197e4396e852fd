"""The `fixflow` command against the test database (FIXFLOW_DATABASE_URL from conftest)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from server.auth.models import Role, User
from server.cli import app as cli


def test_create_admin_creates_an_organisation_and_a_working_login(
    infra: dict[str, str],
) -> None:
    email = f"boss-{uuid.uuid4().hex[:8]}@example.com"
    org = f"Org {uuid.uuid4().hex[:6]}"
    result = CliRunner().invoke(
        cli,
        ["create-admin", "--email", email, "--org", org, "--password", "a-long-password-1"],
    )
    assert result.exit_code == 0, result.output
    assert f"admin {email} created" in result.output


def test_create_admin_refuses_short_password(infra: dict[str, str]) -> None:
    result = CliRunner().invoke(
        cli, ["create-admin", "--email", "x@example.com", "--org", "X", "--password", "short"]
    )
    assert result.exit_code == 2
    assert "10 characters" in result.output


def test_migrate_is_idempotent(infra: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["migrate"])
    assert result.exit_code == 0, result.output
    assert "database at head" in result.output


def test_demo_is_refused_in_production(infra: dict[str, str], monkeypatch: Any) -> None:
    from server.config import get_settings

    monkeypatch.setenv("FIXFLOW_ENV", "production")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["demo"])
    finally:
        monkeypatch.delenv("FIXFLOW_ENV")
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "refused" in result.output


async def test_created_admin_can_log_in(client: Any, db: Any, infra: dict[str, str]) -> None:
    import asyncio

    email = f"first-{uuid.uuid4().hex[:8]}@example.com"
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["create-admin", "--email", email, "--org", "Login Org", "--password", "a-long-password-1"],
    )
    assert result.exit_code == 0, result.output
    user = await db.scalar(select(User).where(User.email == email))
    assert user is not None and user.role == Role.ADMIN.value
    token = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": "a-long-password-1"}
    )
    assert token.status_code == 200
