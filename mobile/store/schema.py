"""The phone's SQLite schema, migrated by ``PRAGMA user_version``.

Tables:

- ``meta``      key/value: client id, server URL, pull cursor, last acknowledged seq, tokens.
- ``entities``  local copies of server rows (generic: entity, id, JSON data). ``data`` is what
                the UI sees: the server's row with this phone's unsynced effects on top;
                ``base`` keeps the server's row while such effects exist (NULL when the server
                has not sent the row yet, i.e. a local creation). A few columns are copied out
                of the JSON for the UI's indexes (work orders by status and window, children
                by work order).
- ``outbox``    the mutations, ``seq`` 1, 2, 3, ... in the order the engineer made them.
- ``effects``   each mutation's optimistic local effect, kept until the server's
                acknowledgement arrives through the pull feed (so a server row pulled in the
                meantime does not hide what the engineer just did).
- ``uploads``   photo/signature bytes waiting for a resumable upload.

Version 2 (the engineer app's screens):

- ``entities`` gains ``assignee_id`` and ``asset_id`` (work orders: "my jobs", an asset's
  history) copied out of the JSON like the other index columns.
- ``part_search`` one row per catalogue part: name and SKU normalised (NFKC, case-folded)
  for the van-stock picker's search, the barcode as sent; ``van_stock`` the engineer's van
  (part -> on hand). Both are derived from ``entities`` and written in the same
  transaction as the rows they come from (``mobile.store.search``).
- ``timers``    the running labour timer of a work order (at most one each).
- ``notices``   why a work order left the phone (reassigned, unassigned, ...), written with
                the pulled page that removed it, and (since, with no change of schema) new
                work that arrived (``assigned``, ``claimable``); ``dismissed`` the "needs
                attention" items the engineer has put away (the records themselves stay).

Version 3 (the claim pool):

- ``claims``    a claim the phone asked for and has no answer to yet: the work order and
                the ``Idempotency-Key`` it was sent with, so asking again after a lost
                answer is the same request (``mobile.store.claims``). The pool itself is
                the ``claimable`` rows of ``entities``, as the pull sends them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from mobile.store import rows

# A migration is SQL (statements separated by ";"), or SQL followed by a Python step that
# fills the new structures from the rows already there (no JSON1 needed: Android's SQLite
# builds do not all have it).
Backfill = Callable[[sqlite3.Connection], None]
Migration = str | tuple[str, Backfill]

_V2 = """
    ALTER TABLE entities ADD COLUMN assignee_id TEXT;
    ALTER TABLE entities ADD COLUMN asset_id TEXT;
    CREATE INDEX entities_by_assignee ON entities (entity, assignee_id, status);
    CREATE INDEX entities_by_asset ON entities (entity, asset_id);

    CREATE TABLE part_search (
        id        TEXT PRIMARY KEY,
        name_norm TEXT NOT NULL,
        sku_norm  TEXT NOT NULL,
        barcode   TEXT,
        active    INTEGER NOT NULL CHECK (active IN (0, 1))
    );
    CREATE INDEX part_search_by_name ON part_search (name_norm, sku_norm, active);
    CREATE INDEX part_search_by_sku ON part_search (sku_norm);
    CREATE INDEX part_search_by_barcode ON part_search (barcode) WHERE barcode IS NOT NULL;

    CREATE TABLE van_stock (
        part_id TEXT PRIMARY KEY,
        on_hand TEXT NOT NULL,
        holds   INTEGER NOT NULL CHECK (holds IN (0, 1))
    ) WITHOUT ROWID;

    CREATE TABLE timers (
        work_order_id TEXT PRIMARY KEY,
        kind          TEXT NOT NULL,
        started_at    TEXT NOT NULL,
        visit_id      TEXT
    ) WITHOUT ROWID;

    CREATE TABLE notices (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        kind          TEXT NOT NULL,
        work_order_id TEXT,
        data          TEXT NOT NULL,
        created_at    TEXT NOT NULL
    );

    CREATE TABLE dismissed (
        key          TEXT PRIMARY KEY,
        dismissed_at TEXT NOT NULL
    ) WITHOUT ROWID;
"""


def _backfill_v2(con: sqlite3.Connection) -> None:
    rows.reindex(con)


_V3 = """
    CREATE TABLE claims (
        work_order_id TEXT PRIMARY KEY,
        key           TEXT NOT NULL UNIQUE,
        asked_at      TEXT NOT NULL
    ) WITHOUT ROWID;
"""


_MIGRATIONS: tuple[Migration, ...] = (
    """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE entities (
        entity        TEXT NOT NULL,
        id            TEXT NOT NULL,
        data          TEXT NOT NULL,
        base          TEXT,
        local         INTEGER NOT NULL DEFAULT 0 CHECK (local IN (0, 1)),
        work_order_id TEXT,
        status        TEXT,
        window_start  TEXT,
        PRIMARY KEY (entity, id)
    ) WITHOUT ROWID;
    CREATE INDEX entities_by_status ON entities (entity, status, window_start);
    CREATE INDEX entities_by_work_order ON entities (entity, work_order_id);
    CREATE INDEX entities_local ON entities (local) WHERE local = 1;

    CREATE TABLE outbox (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        id          TEXT NOT NULL UNIQUE,
        name        TEXT NOT NULL,
        args        TEXT NOT NULL,
        device_time TEXT NOT NULL,
        state       TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sent', 'applied', 'rejected')),
        result      TEXT,
        acked       INTEGER NOT NULL DEFAULT 0 CHECK (acked IN (0, 1))
    );
    CREATE INDEX outbox_unsent ON outbox (seq) WHERE state IN ('pending', 'sent');

    CREATE TABLE effects (
        seq    INTEGER NOT NULL REFERENCES outbox (seq),
        entity TEXT NOT NULL,
        id     TEXT NOT NULL,
        kind   TEXT NOT NULL CHECK (kind IN ('create', 'update')),
        patch  TEXT NOT NULL,
        PRIMARY KEY (seq, entity, id)
    ) WITHOUT ROWID;
    CREATE INDEX effects_by_row ON effects (entity, id, seq);

    CREATE TABLE uploads (
        sha256     TEXT PRIMARY KEY,
        path       TEXT NOT NULL,
        size       INTEGER NOT NULL,
        mime       TEXT NOT NULL,
        "offset"   INTEGER NOT NULL DEFAULT 0,
        upload_url TEXT,
        state      TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
        error      TEXT,
        created_at TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    (_V2, _backfill_v2),
    _V3,
)

VERSION = len(_MIGRATIONS)


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (and migrate) the database. Autocommit mode: transactions are explicit.

    WAL with ``synchronous=FULL``: a commit is on disk when it returns, so an action the
    engineer saw succeed survives a power cut at the next instruction.
    """
    con = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    con.row_factory = sqlite3.Row
    mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal" and str(path) != ":memory:":
        raise RuntimeError(f"could not switch {path} to WAL (got {mode})")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("PRAGMA busy_timeout=5000")
    migrate(con)
    return con


class SchemaTooNew(RuntimeError):
    """The database was written by a newer app (downgraded, or restored from a backup of a
    newer install): this app does not know its tables and must not touch them."""


def migrate(con: sqlite3.Connection, *, target: int = VERSION) -> None:
    """Bring the database to ``target`` (the app's version; tests build old databases with
    a lower one), one transaction per version."""
    current = int(con.execute("PRAGMA user_version").fetchone()[0])
    if current > VERSION:
        raise SchemaTooNew(f"database schema {current} is newer than this app ({VERSION})")
    for version in range(current, target):
        migration = _MIGRATIONS[version]
        sql, backfill = (migration, None) if isinstance(migration, str) else migration
        con.execute("BEGIN IMMEDIATE")
        try:
            # executescript would commit first; run the statements one by one instead.
            for statement in sql.split(";"):
                if statement.strip():
                    con.execute(statement)
            if backfill is not None:
                backfill(con)
            con.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
