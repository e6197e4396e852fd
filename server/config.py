"""Settings, read from the environment (prefix FIXFLOW_) and .env."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-insecure-change-me-0123456789abcdef"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIXFLOW_", env_file=".env", extra="ignore")

    ENV: str = "development"
    # DATABASE_URL / REDIS_URL are the conventional unprefixed names.
    DATABASE_URL: str | None = Field(
        default=None, validation_alias=AliasChoices("FIXFLOW_DATABASE_URL", "DATABASE_URL")
    )
    REDIS_URL: str | None = Field(
        default=None, validation_alias=AliasChoices("FIXFLOW_REDIS_URL", "REDIS_URL")
    )
    VAR_DIR: Path = ROOT / "var"
    HOST: str = "127.0.0.1"
    PORT: int = 8000

    SECRET_KEY: str = DEV_SECRET_KEY
    JWT_ISSUER: str = "fixflow"
    JWT_AUDIENCE: str = "fixflow-api"
    ACCESS_TOKEN_MINUTES: int = 15
    REFRESH_TOKEN_DAYS: int = 30
    LOGIN_ATTEMPTS_PER_MINUTE: int = 10

    CORS_ORIGINS: list[str] = []
    # Proxies whose X-Forwarded-For uvicorn believes (the login rate limit is per client
    # address): "*" when only your load balancer can reach the API.
    FORWARDED_ALLOW_IPS: str = "127.0.0.1"
    MAX_BODY_BYTES: int = 1_048_576
    DB_POOL_SIZE: int = 20
    LOG_LEVEL: str = "INFO"
    SLA_AT_RISK_FRACTION: float = 0.8

    @property
    def is_production(self) -> bool:
        return self.ENV.lower() == "production"

    def check_production(self) -> None:
        """Refuse to serve production with settings that are only safe on a laptop."""
        if not self.is_production:
            return
        if self.SECRET_KEY == DEV_SECRET_KEY or len(self.SECRET_KEY) < 32:
            raise RuntimeError(
                "FIXFLOW_ENV=production needs FIXFLOW_SECRET_KEY: a random value of 32+ "
                "characters (python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )


@lru_cache
def get_settings() -> Settings:
    return Settings()
