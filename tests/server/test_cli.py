"""The `fixflow` command against the test database (FIXFLOW_DATABASE_URL from conftest)."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import pytest
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
    monkeypatch.setenv("FIXFLOW_SECRET_KEY", secrets.token_urlsafe(48))  # production needs its own
    monkeypatch.setenv("FIXFLOW_PUBLIC_URL", "https://service.example.com")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["demo"])
    finally:
        monkeypatch.delenv("FIXFLOW_ENV")
        monkeypatch.delenv("FIXFLOW_SECRET_KEY")
        monkeypatch.delenv("FIXFLOW_PUBLIC_URL")
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
    assert slugs[1] != slugs[0] and slugs[1].startswith(f"{slugs[0]}-")
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


def test_create_admin_refuses_text_longer_than_its_columns(infra: dict[str, str]) -> None:
    """Checked like the API's input: before, a 201-character organisation name got as far as
    the database and the command died with a traceback."""
    for option, value in (("--org", "O" * 201), ("--name", "N" * 201), ("--email", "not-mail")):
        args = {
            "--email": f"long-{uuid.uuid4().hex[:8]}@example.com",
            "--org": "Org",
            "--name": "A",
        }
        args[option] = value
        flat = [item for pair in args.items() for item in pair]
        result = CliRunner().invoke(cli, ["create-admin", *flat, "--password", "a-long-password-1"])
        assert result.exit_code == 2, (option, result.output)
        assert option in result.output


def test_create_admin_with_names_at_their_limits_and_colliding_slugs(
    infra: dict[str, str],
) -> None:
    """Slugs are derived: "上海…" and "北京…" both have no ASCII letters, "Acme Ltd" and
    "ACME LTD" are the same letters. Each gets its own slug."""
    mark = uuid.uuid4().hex[:6]
    names = ["上海华联" + "😀" * 196, "北京" + "字" * 198, f"Acme {mark} Ltd", f"ACME-{mark}-LTD"]
    for org in names:
        email = f"limit-{uuid.uuid4().hex[:8]}@example.com"
        result = CliRunner().invoke(
            cli,
            [
                "create-admin",
                "--email",
                email,
                "--org",
                org,
                "--name",
                "管" * 200,
                "--password",
                "a-long-password-1",
            ],
        )
        assert result.exit_code == 0, (org[:10], result.output)


def test_create_admin_with_a_taken_email_says_so(infra: dict[str, str]) -> None:
    email = f"twice-{uuid.uuid4().hex[:8]}@example.com"
    base = ["create-admin", "--email", email, "--password", "a-long-password-1"]
    assert CliRunner().invoke(cli, [*base, "--org", "One"]).exit_code == 0
    again = CliRunner().invoke(cli, [*base, "--org", "One"])
    assert again.exit_code == 1 and "already exists" in again.output


COMMANDS = [
    ["migrate"],
    ["demo"],
    ["api"],
    ["worker"],
    ["dev"],
    ["create-admin", "--email", "x@example.com", "--org", "X", "--password", "a-long-password-1"],
]


@pytest.fixture
def nothing_starts(monkeypatch: Any) -> None:
    """A command that got past the check would start a server: make that fail instead."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the command ran past the configuration check")

    import arq
    import uvicorn

    import server.devserver

    monkeypatch.setattr(uvicorn, "run", refuse)
    monkeypatch.setattr(arq, "run_worker", refuse)
    monkeypatch.setattr(server.devserver, "run", refuse)
    monkeypatch.setattr("server.cli._db_url_or_embedded", refuse)


def _with_env(monkeypatch: Any, args: list[str], **env: str) -> Any:
    from server.config import get_settings

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, args)
    finally:
        for name in env:
            monkeypatch.delenv(name)
        monkeypatch.setenv("FIXFLOW_ENV", "test")
        get_settings.cache_clear()


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
@pytest.mark.parametrize("env", ["prod", "staging", "PRODUCTION-1", "", "dev"])
def test_every_command_refuses_an_unknown_environment(
    infra: dict[str, str], monkeypatch: Any, nothing_starts: None, args: list[str], env: str
) -> None:
    result = _with_env(monkeypatch, args, FIXFLOW_ENV=env)
    assert result.exit_code == 2, result.output
    assert "development, test, production" in result.output


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_every_command_refuses_production_with_the_development_key(
    infra: dict[str, str], monkeypatch: Any, nothing_starts: None, args: list[str]
) -> None:
    result = _with_env(monkeypatch, args, FIXFLOW_ENV="production")
    assert result.exit_code == 2, result.output
    assert "FIXFLOW_SECRET_KEY" in result.output
