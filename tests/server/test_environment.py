"""FIXFLOW_ENV is one of the known environments, and production's safety check runs at every
entry point: the API, the worker, the command line (tests/server/test_cli.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from server.config import Settings, get_settings


@pytest.mark.parametrize("value", ["prod", "Prod", "staging", "live", "dev", "", "production "])
def test_an_unknown_environment_is_refused_naming_the_allowed_ones(value: str) -> None:
    if value.strip().lower() == "production":
        assert Settings(ENV=value).is_production  # case and padding are forgiven
        return
    with pytest.raises(ValidationError) as raised:
        Settings(ENV=value)
    assert "development, test, production" in str(raised.value)


@pytest.mark.parametrize("value", ["development", "test", "production", "PRODUCTION"])
def test_the_known_environments_are_accepted(value: str) -> None:
    assert Settings(ENV=value, SECRET_KEY="k" * 40).ENV == value.lower()


def test_the_api_refuses_production_with_the_development_key() -> None:
    from server.main import create_app

    with pytest.raises(RuntimeError, match="FIXFLOW_SECRET_KEY"):
        create_app(Settings(ENV="production"))


async def test_the_worker_refuses_production_with_the_development_key(
    infra: dict[str, str], monkeypatch: Any
) -> None:
    from server import worker

    monkeypatch.setenv("FIXFLOW_ENV", "production")
    get_settings.cache_clear()
    ctx: dict[str, Any] = {"configure_logs": False}
    try:
        with pytest.raises(RuntimeError, match="FIXFLOW_SECRET_KEY"):
            await worker.startup(ctx)
    finally:
        monkeypatch.setenv("FIXFLOW_ENV", "test")
        get_settings.cache_clear()
    assert "engine" not in ctx  # stopped before connecting to anything
