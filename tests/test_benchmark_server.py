"""The benchmarks start the real API with an environment of their own and mint its tokens:
both must be ones the server accepts. `FIXFLOW_ENV=benchmark` stopped being accepted (only
development, test and production are), and tokens minted for 60 minutes or a day stopped
being accepted by a server issuing 15-minute ones: every benchmark that starts the API
failed, and nothing in `make test` noticed."""

from __future__ import annotations

import uuid

import pytest

from benchmarks.common import ApiServer, bench_token
from server.auth.security import decode_access_token
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
    user, org = uuid.uuid4(), uuid.uuid4()
    token = bench_token(server.secret_key, user_id=user, org_id=org, role="engineer")
    claims = decode_access_token(settings, token)
    assert (claims.user_id, claims.org_id, claims.role) == (user, org, "engineer")
