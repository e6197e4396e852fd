"""Settings, read from the environment (prefix FIXFLOW_) and .env."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.text import quote

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-insecure-change-me-0123456789abcdef"
# No aliases: "prod" or "staging" is a typo or a wish, and running it as development (the
# public key, the demo password) is the one thing a typo must not do.
ENVIRONMENTS = ("development", "test", "production")


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
    # Where customers reach this server: the start of every link sent to them (status,
    # QR label, survey). Set it to the public https address in production; unset, it is
    # http://HOST:PORT (what `make run` serves).
    PUBLIC_URL: str | None = None
    JWT_ISSUER: str = "fixflow"
    JWT_AUDIENCE: str = "fixflow-api"
    ACCESS_TOKEN_MINUTES: int = 15
    REFRESH_TOKEN_DAYS: int = 30
    # A refresh token presented again this soon after its rotation, while the token that
    # rotation issued is still unused, is a client retrying a lost answer (a phone losing
    # signal mid-refresh), not a thief: it gets new tokens instead of revoking the login.
    REFRESH_RETRY_GRACE_SECONDS: int = 120
    LOGIN_ATTEMPTS_PER_MINUTE: int = 10
    # argon2id hashes (log-in, new users) run on threads of their own, this many at once per
    # API process (64 MiB each); this many more may wait, past that 503 (server/auth/security.py).
    PASSWORD_HASH_THREADS: int = Field(default=2, ge=1)
    PASSWORD_HASH_QUEUE: int = Field(default=16, ge=0)

    CORS_ORIGINS: list[str] = []
    # Proxies whose X-Forwarded-For uvicorn believes (the login rate limit is per client
    # address): "*" when only your load balancer can reach the API.
    FORWARDED_ALLOW_IPS: str = "127.0.0.1"
    MAX_BODY_BYTES: int = 1_048_576
    DB_POOL_SIZE: int = 20
    LOG_LEVEL: str = "INFO"
    # The hand-written SQL fast paths (server/fastpaths.py lists them): off, every request
    # takes their ORM twins, which write the same rows at a higher cost.
    FAST_PATHS: bool = True
    # The garbage collector once the API has started (server/runtime.py): freeze the
    # start-up heap (and once more after the warm-up) so full collections stop walking it;
    # the youngest generation's threshold (0: Python's default, 700).
    GC_FREEZE: bool = True
    GC_FREEZE_AFTER_SECONDS: float = Field(default=60, ge=0)
    GC_THRESHOLD: int = Field(default=5000, ge=0)
    SLA_AT_RISK_FRACTION: float = 0.8
    # Field check-ins (docs/field.md): flagged far from the site beyond this distance, or
    # when the GPS reading is less accurate than this; flagged for clock skew when the
    # device clock is off by more than this many seconds.
    FIELD_SITE_RADIUS_M: float = 500.0
    FIELD_GPS_MAX_ACCURACY_M: float = 500.0
    FIELD_CLOCK_SKEW_SECONDS: float = 600.0

    # Attachments (docs/attachments.md). BLOB_DIR defaults to VAR_DIR/blobs.
    BLOB_DIR: Path | None = None
    UPLOAD_MAX_BYTES: int = 25 * 1024 * 1024
    UPLOAD_MAX_PIXELS: int = 50_000_000
    UPLOAD_EXPIRY_HOURS: int = 24

    # Sync (docs/sync.md). Finished work orders stay on the engineer's phone this many days;
    # the asset history brings this many finished work orders per asset; the change feed
    # keeps deletions and scope exits this long (older cursors get a full snapshot).
    SYNC_RECENT_DAYS: int = Field(default=14, ge=1)
    SYNC_HISTORY_PER_ASSET: int = Field(default=20, ge=0, le=500)
    SYNC_TOMBSTONE_DAYS: int = Field(default=90, ge=90)
    # A pushed mutation waits this long for a row lock before the push answers 503.
    SYNC_LOCK_TIMEOUT_MS: int = Field(default=5000, ge=100)
    SYNC_RETRY_AFTER_SECONDS: int = Field(default=2, ge=1)
    # PostgreSQL ends a session that sits idle inside a transaction this long (0: never). A
    # forgotten open transaction holds back every pull's watermark and vacuum.
    DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: int = Field(default=60_000, ge=0)

    # Dispatch (docs/dispatch.md). Day plans take travel times from this routing server
    # (an OSRM base URL, server/dispatch/travel.py); unset: great-circle distance x the road
    # factor at the average speed. The day planner's default solver time limit.
    ROUTING_URL: str | None = None
    ROAD_FACTOR: float = Field(default=1.3, ge=1.0, le=5.0)
    AVERAGE_SPEED_KMH: float = Field(default=40.0, gt=0, le=200)
    PLAN_SECONDS: int = Field(default=10, ge=1, le=60)
    # Plans one worker process solves at once (each takes a CPU for its seconds); the
    # others wait in the queue without holding a worker slot.
    PLAN_SOLVERS: int = Field(default=2, ge=1, le=32)

    # Notifications (docs/notifications.md). E-mail goes to this SMTP server
    # (smtp://user:pass@host:587, smtps://... for implicit TLS); unset: each message is
    # written as an .eml file into MAIL_DIR (default VAR_DIR/mail) instead, the dev default.
    SMTP_URL: str | None = None
    SMTP_STARTTLS: bool = False
    MAIL_FROM: str = "Fixflow <noreply@fixflow.local>"
    MAIL_DIR: Path | None = None
    # At most this many messages per hour to one address of an organisation (more wait).
    NOTIFY_PER_HOUR: int = Field(default=20, ge=1)
    NOTIFY_MAX_ATTEMPTS: int = Field(default=8, ge=1, le=50)
    NOTIFY_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0, le=120)
    # The SMS gateway's and IM robots' URLs may name loopback and private addresses and any
    # port (an on-premises gateway): the operator's choice, so allowed in production too.
    # Unset, they must be public addresses on port 80 or 443, like a webhook's
    # (server/addresses.py).
    NOTIFY_ALLOW_PRIVATE: bool = False
    # Webhooks (docs/webhooks.md). Ports a webhook URL may name besides 80 (http) and 443
    # (https). ALLOW_PRIVATE lets webhooks reach loopback and private addresses on any port:
    # for tests and a laptop only, refused in production.
    WEBHOOKS_ALLOWED_PORTS: list[int] = []
    WEBHOOKS_ALLOW_PRIVATE: bool = False

    @field_validator("ENV")
    @classmethod
    def _known_environment(cls, value: str) -> str:
        name = value.strip().lower()
        if name not in ENVIRONMENTS:
            allowed = ", ".join(ENVIRONMENTS)
            raise ValueError(
                f"FIXFLOW_ENV={quote(value, 40)} is not known; use one of {allowed} "
                "(production checks the secret key and refuses the demo password and data)"
            )
        return name

    @property
    def blob_dir(self) -> Path:
        return self.BLOB_DIR if self.BLOB_DIR is not None else self.VAR_DIR / "blobs"

    @property
    def public_url(self) -> str:
        """The start of customers' links, without a trailing slash (``PUBLIC_URL``)."""
        if self.PUBLIC_URL and self.PUBLIC_URL.strip():
            return self.PUBLIC_URL.strip().rstrip("/")
        return f"http://{self.HOST}:{self.PORT}"

    @property
    def mail_dir(self) -> Path:
        return self.MAIL_DIR if self.MAIL_DIR is not None else self.VAR_DIR / "mail"

    @property
    def is_production(self) -> bool:
        return self.ENV == "production"

    def check_production(self) -> None:
        """Refuse to run production with settings that are only safe on a laptop. Every
        entry point runs it: the API (create_app), the worker (its startup) and every
        `fixflow` command (the CLI's callback). The demo password and demo data are refused
        where they are used (log-in, `fixflow demo`, `fixflow dev`)."""
        if not self.is_production:
            return
        if not_random(self.SECRET_KEY):
            raise RuntimeError(
                "FIXFLOW_ENV=production needs FIXFLOW_SECRET_KEY: a random value of 32+ "
                "characters (python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if not (self.PUBLIC_URL or "").strip().lower().startswith(("https://", "http://")):
            raise RuntimeError(
                "FIXFLOW_ENV=production needs FIXFLOW_PUBLIC_URL: the address customers reach "
                "this server at (https://service.example.com), the start of every status, QR "
                "and survey link"
            )
        if self.WEBHOOKS_ALLOW_PRIVATE:
            raise RuntimeError(
                "FIXFLOW_WEBHOOKS_ALLOW_PRIVATE=true lets webhooks reach this network's private "
                "addresses: it is for tests and development only, unset it in production"
            )


def not_random(key: str) -> bool:
    """A secret key nobody could have drawn at random: the development key, fewer than 32
    characters, fewer than 8 different ones, or a shorter text repeated ("a" * 40,
    "0123456789" * 4). Real random keys always pass: 32 hex digits (``openssl rand -hex 16``)
    use about 14 of the 16 digits, and fewer than 8 happens about once in 30 million."""
    if key == DEV_SECRET_KEY or len(key) < 32 or len(set(key)) < 8:
        return True
    # Periodic: the key shifted by `period` characters is the key itself.
    return any(key[period:] == key[:-period] for period in range(1, len(key) // 2 + 1))


@lru_cache
def get_settings() -> Settings:
    return Settings()
