"""Time zones: which names Fixflow accepts, and what a stored name means once it is not.

A zone is used on both sides: Python (``zoneinfo``) computes SLA deadlines, labour days, pick
lists and the service report's times; PostgreSQL buckets the stock reports
(``AT TIME ZONE``). The two read different copies of the tz database, so a name one knows
can be unknown to the other (``America/Coyhaique`` is newer than PostgreSQL 16's copy), and
a zone that only one side knows breaks the other for the whole organisation. So:

- **Accepted** (organisation, business calendars: :func:`check`): a name PostgreSQL lists in
  ``pg_timezone_names`` with exactly that spelling (it also resolves ``asia/shanghai``;
  zoneinfo does not) that zoneinfo also loads, and that names a region's civil time: not
  ``localtime`` (whatever the server's clock is set to), ``posixrules``, ``Factory``, or a
  ``posix/`` or ``right/`` copy (the latter counts leap seconds) — send the plain name. The
  422 suggests the right spelling when only the case was wrong.
- **Stored before this rule** and not accepted now: :func:`usable` answers ``"UTC"`` instead,
  and every answer that depends on the zone names the zone it used (a stock report's and a
  day's ``timezone``, the service report's footer), so the fallback is visible; an admin
  sets a valid zone with ``PATCH /organisation``. Calendars are read by Python only (SLA),
  where a name zoneinfo cannot load is already a 422 naming the calendar.

PostgreSQL's list is read once per process (about 25 ms, 600 names) and kept: zones are
added to the tz database a few times a year, with a PostgreSQL upgrade and so a restart.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import Unprocessable
from server.text import quote

UTC = "UTC"
_NOT_CIVIL = frozenset({"localtime", "posixrules", "Factory"})
_COPIES = ("posix/", "right/")

_postgres_names: frozenset[str] | None = None


async def postgres_names(session: AsyncSession) -> frozenset[str]:
    """Every zone name PostgreSQL knows, spelled as it lists them (cached per process)."""
    global _postgres_names
    if _postgres_names is None:
        rows = await session.execute(text("SELECT name FROM pg_catalog.pg_timezone_names"))
        _postgres_names = frozenset(name for (name,) in rows)
    return _postgres_names


def _python_knows(name: str) -> bool:
    try:
        ZoneInfo(name)
    # Malformed keys (absolute paths, "..", NUL) raise ValueError or OSError, not NotFound.
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        return False
    return True


def _acceptable(name: str, known: frozenset[str]) -> bool:
    return (
        name in known  # first: arbitrary text never reaches the file system
        and name not in _NOT_CIVIL
        and not name.startswith(_COPIES)
        and _python_knows(name)
    )


async def check(session: AsyncSession, name: str, *, field: str = "timezone") -> str:
    """``name`` when both PostgreSQL and Python resolve it to a region's civil time; a 422
    naming ``field`` (and the right spelling, if only the case was wrong) otherwise."""
    known = await postgres_names(session)
    if _acceptable(name, known):
        return name
    plain = name.split("/", 1)[1] if name.startswith(_COPIES) else name
    spelled = {n.lower(): n for n in known}.get(plain.lower())
    hint = (
        f"; did you mean {spelled!r}?"
        if spelled and spelled != name and _acceptable(spelled, known)
        else "; use an IANA name such as 'Asia/Shanghai' or 'Europe/London'"
    )
    raise Unprocessable(
        f"unknown time zone {quote(name, 64)}: not one both the database and the server know{hint}",
        field=field,
    )


async def usable(session: AsyncSession, name: str | None) -> str:
    """A stored zone name as it may be used: itself when it is accepted today, else UTC."""
    if name is None:
        return UTC
    return name if _acceptable(name, await postgres_names(session)) else UTC
