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
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

_MIGRATIONS: tuple[str, ...] = (
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


def migrate(con: sqlite3.Connection) -> None:
    current = int(con.execute("PRAGMA user_version").fetchone()[0])
    if current > VERSION:
        raise RuntimeError(f"database schema {current} is newer than this app ({VERSION})")
    for version in range(current, VERSION):
        con.execute("BEGIN IMMEDIATE")
        try:
            # executescript would commit first; run the statements one by one instead.
            for statement in _MIGRATIONS[version].split(";"):
                if statement.strip():
                    con.execute(statement)
            con.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
