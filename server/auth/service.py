"""Log-in, token refresh with rotation and reuse detection, API keys, users."""

from __future__ import annotations

import datetime as dt
import hmac
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Select, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server import languages
from server.auth import security
from server.auth.actor import ROLE_SCOPES, SCOPES, Actor
from server.auth.models import ApiKey, Duty, RefreshToken, Role, User
from server.config import Settings
from server.crud import check_version, get_scoped, patch
from server.errors import (
    Conflict,
    Forbidden,
    InvalidToken,
    NotFound,
    OrganisationRequired,
    Unauthenticated,
    Unprocessable,
)
from server.hooks import Slot
from server.languages import Language
from shared.ids import uuid7

_KEY_TOUCH = dt.timedelta(minutes=1)
_API_KEY = re.compile(r"ffk_([A-Za-z0-9]{8})_[A-Za-z0-9_-]{16,128}", re.ASCII)


class Tenants(Protocol):
    """The organisations users log in to (plugged in by server/orgs)."""

    def named(self, name: str) -> Select[Any]:
        """The ids of the organisation with this slug or id (none or one)."""

    async def describe(
        self, session: AsyncSession, org_ids: Sequence[uuid.UUID]
    ) -> list[dict[str, str]]:
        """``id``, ``slug`` and ``name`` of each, by slug."""


tenants: Slot[Tenants] = Slot("auth: the organisations users log in to")
# A user's engineer profile id (a correlated scalar subquery on the user's id column),
# plugged in by server/engineers: the Actor of an engineer carries it.
engineer_of_user: Slot[Callable[[Any], Any]] = Slot("auth: the engineer profile of a user")

# The caller's statements run on every request, so they are built once: building a
# statement and its cache key cost more CPU than running it (docs/benchmarks.md, "load").
_user_of_token: tuple[object, Select[Any]] | None = None


def _user_of_token_query() -> Select[Any]:
    global _user_of_token
    profile = engineer_of_user.get()
    if _user_of_token is None or _user_of_token[0] is not profile:
        query = select(User.is_active, User.email, User.role, profile(User.id).label("id")).where(
            User.id == bindparam("user_id"), User.org_id == bindparam("org_id")
        )
        _user_of_token = (profile, query)
    return _user_of_token[1]


_KEY_BY_PREFIX = select(ApiKey).where(ApiKey.prefix == bindparam("prefix"))
# At most once a minute, and without touching the row otherwise: a row lock held until
# commit on every request would serialise all requests of one key.
_TOUCH_KEY = (
    update(ApiKey)
    .where(
        ApiKey.id == bindparam("key_id"),
        or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < func.now() - _KEY_TOUCH),
    )
    .values(last_used_at=func.now())
    .execution_options(synchronize_session=False)
)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def login(
    session: AsyncSession,
    settings: Settings,
    *,
    email: str,
    password: str,
    organisation: str | None = None,
) -> TokenPair:
    """Log in with an address and a password, optionally naming the organisation (its slug
    or id). An address is unique per organisation only, so the password is checked against
    each active account with it (of that organisation, when named): the one it opens logs
    in. Several: 409 ``organisation_required`` naming them, which tells the caller only
    what the password already proved. None: 401, after the same one verification an
    unknown address costs (an address with k accounts costs k)."""
    query = select(User).where(User.email == email.strip().lower(), User.is_active)
    if organisation is not None:
        query = query.where(User.org_id.in_(tenants.get().named(organisation.strip())))
    accounts = list(await session.scalars(query.order_by(User.org_id)))
    if not accounts:
        await security.verify_password_async(None, password)
    opened = [
        u for u in accounts if await security.verify_password_async(u.password_hash, password)
    ]
    if not opened:
        raise Unauthenticated("wrong e-mail or password")
    if settings.is_production and password == "fixflow-demo":
        raise Unauthenticated("the demo password is refused in production; set a real one")
    if len(opened) > 1:
        raise OrganisationRequired(
            "this e-mail and password open accounts in several organisations: log in again "
            "with `organisation` set to one of them (its slug or id)",
            organisations=await tenants.get().describe(session, [u.org_id for u in opened]),
        )
    return await _issue(session, settings, opened[0], family_id=uuid7())


async def _issue(
    session: AsyncSession, settings: Settings, user: User, *, family_id: uuid.UUID
) -> TokenPair:
    now = _now()
    access, ttl = security.create_access_token(
        settings, user_id=user.id, org_id=user.org_id, role=user.role, now=now
    )
    refresh = security.new_secret("ffr")
    session.add(
        RefreshToken(
            org_id=user.org_id,
            user_id=user.id,
            family_id=family_id,
            token_hash=security.digest(refresh),
            expires_at=now + dt.timedelta(days=settings.REFRESH_TOKEN_DAYS),
        )
    )
    await session.flush()
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=ttl)


async def refresh(
    session: AsyncSession, settings: Settings, *, refresh_token: str
) -> TokenPair | None:
    """Rotate a refresh token. Presenting one already used revokes its whole family:
    a stolen token and the legitimate one cannot both keep working. Returns None then.

    Except a retry of a lost answer: the token presented is the family's last rotated one,
    at most FIXFLOW_REFRESH_RETRY_GRACE_SECONDS after that rotation (retries do not move
    the window), and the token that rotation issued has never been used (so its answer
    most likely never arrived). The retry gets new tokens and the unused one is
    superseded: presenting it later is reuse, as is a token presented after the window
    or behind a newer rotation.

    Rotation and revocation of one family are serialised by a transaction-scoped
    advisory lock, so a revocation cannot miss a token issued at the same moment."""
    digest = security.digest(refresh_token)
    family_id = await session.scalar(
        select(RefreshToken.family_id).where(RefreshToken.token_hash == digest)
    )
    if family_id is None:
        raise InvalidToken("refresh token is invalid, expired or revoked; log in again")
    await session.execute(select(func.pg_advisory_xact_lock(_family_lock(family_id))))
    # Read again after the lock: a concurrent rotation or revocation has committed by now.
    row = await session.scalar(
        select(RefreshToken)
        .where(RefreshToken.token_hash == digest)
        .execution_options(populate_existing=True)
    )
    now = _now()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise InvalidToken("refresh token is invalid, expired or revoked; log in again")
    retry = row.used_at is not None and await _retry_of_lost_answer(session, settings, row, now)
    if row.used_at is not None and not retry:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == row.family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        # Reported, not raised: the revocation must commit with this request.
        return None
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise InvalidToken("the user is no longer active")
    if not retry:
        row.used_at = now  # a retry keeps the time of the rotation: its window does not move
    return await _issue(session, settings, user, family_id=row.family_id)


async def logout(session: AsyncSession, *, refresh_token: str) -> None:
    """End a login: every refresh token of its family stops working (the dashboard's log
    out). Its access token lives on until it expires (ACCESS_TOKEN_MINUTES) for the API;
    the dashboard refuses it at once (``login_alive``). An unknown token ends nothing
    and says nothing."""
    digest = security.digest(refresh_token)
    family_id = await session.scalar(
        select(RefreshToken.family_id).where(RefreshToken.token_hash == digest)
    )
    if family_id is None:
        return
    await session.execute(select(func.pg_advisory_xact_lock(_family_lock(family_id))))
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now())
    )


async def login_alive(
    session: AsyncSession, *, refresh_token: str | None, user_id: uuid.UUID
) -> bool:
    """Whether ``refresh_token`` is one of ``user_id``'s logins not logged out (nor revoked
    by a reuse, nor expired). The dashboard asks it beside a valid access token, so the
    access cookie of a login that logged out stops opening pages at once instead of
    living on to its expiry."""
    if not refresh_token or len(refresh_token) > 200:
        return False
    found = await session.scalar(
        select(RefreshToken.id).where(
            RefreshToken.token_hash == security.digest(refresh_token),
            RefreshToken.user_id == user_id,
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > _now(),
        )
    )
    return found is not None


async def _retry_of_lost_answer(
    session: AsyncSession, settings: Settings, row: RefreshToken, now: dt.datetime
) -> bool:
    """Whether used token ``row`` is a client retrying the rotation whose answer it lost
    (see ``refresh``); if so the token that rotation issued is marked superseded. Under
    the family lock.

    Eligible: ``row`` was rotated (not superseded) at most the grace ago, by the family's
    last rotation, and the family's one live token has never been used. The window runs
    from the rotation, so retries cannot stretch it; a superseded token presented later
    is reuse."""
    assert row.used_at is not None
    grace = dt.timedelta(seconds=settings.REFRESH_RETRY_GRACE_SECONDS)
    if row.superseded_at is not None or now - row.used_at > grace:
        return False
    family = list(
        await session.scalars(
            select(RefreshToken)
            .where(RefreshToken.family_id == row.family_id, RefreshToken.revoked_at.is_(None))
            .execution_options(populate_existing=True)
        )
    )
    live = [t for t in family if t.used_at is None]
    rotations = [t.used_at for t in family if t.used_at is not None and t.superseded_at is None]
    if len(live) != 1 or row.used_at != max(rotations):
        return False
    live[0].used_at = live[0].superseded_at = now
    return True


def _family_lock(family_id: uuid.UUID) -> int:
    return int.from_bytes(family_id.bytes[:8], "big", signed=True)


async def actor_from_bearer(session: AsyncSession, settings: Settings, token: str) -> Actor:
    if token.startswith("ffk_"):
        return await _actor_from_api_key(session, token)
    try:
        claims = security.decode_access_token(settings, token)
        role = Role(claims.role)
    except security.TokenRejected as exc:
        raise InvalidToken(str(exc)) from exc
    except ValueError as exc:
        raise InvalidToken("the access token names an unknown role") from exc
    user_id, org_id = claims.user_id, claims.org_id
    # Read on every request, never cached: a deactivation or a demotion takes effect at
    # the caller's next request. Core, not the ORM: no objects are needed.
    connection = await session.connection()
    params = {"user_id": user_id, "org_id": org_id}
    row = (await connection.execute(_user_of_token_query(), params)).one_or_none()
    if row is None or not row.is_active:
        raise InvalidToken("the user of this token no longer exists or is inactive")
    # The role in the database wins over the claim: a demotion takes effect at once.
    role = Role(row.role)
    return Actor(
        org_id=org_id,
        role=role,
        scopes=ROLE_SCOPES[role],
        user_id=user_id,
        engineer_id=row.id if role is Role.ENGINEER else None,
        label=f"user:{row.email}",
    )


async def _actor_from_api_key(session: AsyncSession, token: str) -> Actor:
    # The shape create_api_key makes, checked before anything reaches the database: an odd
    # character or a megabyte-long "prefix" is a malformed key, not a query.
    found = _API_KEY.fullmatch(token)
    if found is None:
        raise InvalidToken("malformed API key: expected ffk_<8 letters or digits>_<secret>")
    key = await session.scalar(_KEY_BY_PREFIX, {"prefix": found.group(1)})
    if key is None or not hmac.compare_digest(key.key_hash, security.digest(token)):
        raise InvalidToken("unknown API key")
    if key.revoked_at is not None:
        raise InvalidToken("this API key was revoked")
    await session.execute(_TOUCH_KEY, {"key_id": key.id})
    return Actor(
        org_id=key.org_id,
        role=None,
        scopes=frozenset(key.scopes),
        api_key_id=key.id,
        label=f"key:{key.name}",
    )


def ensure_admin(actor: Actor) -> None:
    actor.require_admin("manage API keys and users")


async def create_api_key(
    session: AsyncSession, actor: Actor, *, name: str, scopes: list[str]
) -> tuple[ApiKey, str]:
    ensure_admin(actor)
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise Unprocessable(
            f"unknown or missing scopes: {unknown}; choose from {sorted(SCOPES)}",
            allowed_scopes=sorted(SCOPES),
        )
    prefix = security.new_secret("x")[2:10].replace("_", "x").replace("-", "x")
    secret = f"ffk_{prefix}_{security.new_secret('s')[2:]}"
    assert actor.user_id is not None
    key = ApiKey(
        org_id=actor.org_id,
        name=name,
        prefix=prefix,
        key_hash=security.digest(secret),
        scopes=sorted(set(scopes)),
        created_by=actor.user_id,
    )
    session.add(key)
    await session.flush()
    return key, secret


async def list_api_keys(session: AsyncSession, actor: Actor) -> list[ApiKey]:
    ensure_admin(actor)
    rows = await session.scalars(
        select(ApiKey).where(ApiKey.org_id == actor.org_id).order_by(ApiKey.created_at)
    )
    return list(rows)


async def revoke_api_key(session: AsyncSession, actor: Actor, *, key_id: uuid.UUID) -> ApiKey:
    ensure_admin(actor)
    key = await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.org_id == actor.org_id)
    )
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    if key.revoked_at is None:
        key.revoked_at = _now()
    return key


async def create_user(
    session: AsyncSession,
    actor: Actor,
    *,
    email: str,
    full_name: str,
    password: str,
    role: Role,
    locale: str = "en",
    duties: list[Duty] | None = None,
) -> User:
    ensure_admin(actor)
    if role is Role.ENGINEER:
        raise Unprocessable("create engineers with POST /api/v1/engineers (it adds their profile)")
    return await add_user(
        session,
        org_id=actor.org_id,
        email=email,
        full_name=full_name,
        password=password,
        role=role,
        locale=locale,
        duties=duties,
    )


async def add_user(
    session: AsyncSession,
    *,
    org_id: uuid.UUID,
    email: str,
    full_name: str,
    password: str,
    role: Role,
    locale: str = "en",
    duties: list[Duty] | None = None,
) -> User:
    """Create a user without an actor check (CLI bootstrap, demo data). An address is
    unique within the organisation only: another organisation's account with it is
    neither an obstacle nor mentioned (that would tell one tenant about another's users)."""
    email = email.strip().lower()
    taken = f"a user with e-mail {email} already exists in your organisation"
    if await session.scalar(select(User.id).where(User.org_id == org_id, User.email == email)):
        raise Conflict(taken, field="email")
    user = User(
        org_id=org_id,
        email=email,
        full_name=full_name,
        password_hash=await security.hash_password_async(password),
        role=role.value,
        locale=locale,
        duties=sorted({d.value for d in duties or ()}),
    )
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # the same address added at the same moment
        raise Conflict(taken, field="email") from exc
    return user


async def update_user(
    session: AsyncSession,
    actor: Actor,
    *,
    user_id: uuid.UUID,
    full_name: str | None = None,
    role: Role | None = None,
    locale: str | None = None,
    duties: list[Duty] | None = None,
    is_active: bool | None = None,
    expected_version: int | None,
) -> User:
    """Change a user; deactivating also ends all their sessions (refresh tokens)."""
    ensure_admin(actor)
    if role is not None or is_active is not None:
        await _still_an_admin(session, actor)
    user = await get_user(session, actor, user_id=user_id, for_update=True)
    check_version(user.version, expected_version, label="the user")
    if user.id == actor.user_id and (is_active is False or (role and role is not Role.ADMIN)):
        raise Conflict("you cannot deactivate or demote yourself; ask another admin")
    if role is not None and (role is Role.ENGINEER) != (user.role == Role.ENGINEER.value):
        raise Unprocessable(
            "a user cannot become or stop being an engineer; create engineers with "
            "POST /api/v1/engineers"
        )
    changes = {
        "full_name": full_name,
        "locale": locale,
        "role": role.value if role is not None else None,
        "is_active": is_active,
        "duties": sorted({d.value for d in duties}) if duties is not None else None,
    }
    patch(user, {k: v for k, v in changes.items() if v is not None}, expected_version=None)
    if is_active is not None:
        if not is_active:
            await session.execute(
                update(RefreshToken)
                .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=_now())
            )
    return user


async def _still_an_admin(session: AsyncSession, actor: Actor) -> None:
    """An organisation keeps an active admin: nobody demotes or deactivates themselves, so
    the admin making a change remains. But two admins demoting each other at one moment
    each read the other as an admin before either committed, and left nobody to manage
    users and keys. The active admins' rows are locked, in id order, before any change of
    a role or of who is active, and the caller must still be among them: the second of
    two such changes waits for the first, then finds its caller demoted (403)."""
    admins = await session.scalars(
        select(User.id)
        .where(User.org_id == actor.org_id, User.role == Role.ADMIN.value, User.is_active)
        .order_by(User.id)
        .with_for_update()
    )
    if actor.user_id not in set(admins):
        raise Forbidden("only an admin can manage API keys and users (you are no longer one)")


async def get_user(
    session: AsyncSession, actor: Actor, *, user_id: uuid.UUID, for_update: bool = False
) -> User:
    return await get_scoped(session, actor, User, user_id, label="user", for_update=for_update)


async def language_of(session: AsyncSession, actor: Actor, requested: str | None) -> Language:
    """The language an answer in words is written in (server/languages.py): the one asked
    for, else the caller's own (a user's ``locale``), else English (keys have none)."""
    own = None
    if languages.language(requested) is None and actor.user_id is not None:
        own = await session.scalar(
            select(User.locale).where(User.id == actor.user_id, User.org_id == actor.org_id)
        )
    return languages.choose(requested, own)


async def read_user(session: AsyncSession, actor: Actor, *, user_id: uuid.UUID) -> User:
    """One user as the list shows them, for the same callers (their own: /auth/me)."""
    _may_list_users(actor)
    return await get_user(session, actor, user_id=user_id)


def _may_list_users(actor: Actor) -> None:
    actor.require_manager("can list users", keys=False)


async def list_users(session: AsyncSession, actor: Actor) -> list[User]:
    _may_list_users(actor)
    rows = await session.scalars(
        select(User).where(User.org_id == actor.org_id).order_by(User.email)
    )
    return list(rows)


async def staff_to_tell(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    roles: tuple[Role, ...] = (),
    duties: tuple[Duty, ...] = (),
) -> list[User]:
    """The organisation's active users holding any of ``roles`` or any of ``duties``
    (notifications, escalation owners, follow-up tasks), by e-mail."""
    if not roles and not duties:
        return []
    wanted = []
    if roles:
        wanted.append(User.role.in_([r.value for r in roles]))
    if duties:
        wanted.append(User.duties.overlap([d.value for d in duties]))
    rows = await session.scalars(
        select(User).where(User.org_id == org_id, User.is_active, or_(*wanted)).order_by(User.email)
    )
    return list(rows)
