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


async def test_create_admin_accepts_an_address_another_organisation_uses(
    client: Any, db: Any, infra: dict[str, str]
) -> None:
    """Addresses are unique per organisation: the same person becomes admin of a second
    organisation (whose slug repeats the first's), and log-in asks which one they mean."""
    import asyncio

    email = f"twice-{uuid.uuid4().hex[:8]}@example.com"
    name = f"Twin {uuid.uuid4().hex[:6]}"
    runs = []
    for org in (name, name.upper() + "!"):  # different names, the same derived slug
        runs.append(
            await asyncio.to_thread(
                CliRunner().invoke,
                cli,
                ["create-admin", "--email", email, "--org", org, "--password", "a-long-password-1"],
            )
        )
    assert [r.exit_code for r in runs] == [0, 0], [r.output for r in runs]
    slugs = [r.output.split("organisation '")[1].split("'")[0] for r in runs]
    assert slugs[1] == f"{slugs[0]}-2"
    form = {"username": email, "password": "a-long-password-1"}
    ambiguous = await client.post("/api/v1/auth/token", data=form)
    assert ambiguous.status_code == 409, ambiguous.text
    chosen = await client.post("/api/v1/auth/token", data={**form, "organisation": slugs[1]})
    assert chosen.status_code == 200, chosen.text
    again = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["create-admin", "--email", email, "--org", slugs[1], "--password", "a-long-password-1"],
    )
    assert again.exit_code == 1 and "already exists in your organisation" in again.output
