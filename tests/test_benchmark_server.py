"""The benchmarks start the real API with an environment of their own: it must be one the
server accepts. `FIXFLOW_ENV=benchmark` stopped being accepted (only development, test and
production are) and every benchmark that starts the API failed at start-up; nothing in
`make test` noticed."""

from __future__ import annotations

import pytest

from benchmarks.common import ApiServer
from server.config import Settings


def test_the_benchmarks_api_environment_is_one_production_accepts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = ApiServer(database_url="postgresql://bench@localhost/bench", redis_url="redis://x")
    try:
        env = server.environment()
    finally:
        server.log_path.unlink(missing_ok=True)
    for name, value in env.items():
        if name.startswith("FIXFLOW_"):
            monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.is_production  # measured as it runs in production
    settings.check_production()
    assert settings.SECRET_KEY == server.secret_key
