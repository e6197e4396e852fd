"""Who uses the phone: the logged-in user, and what happens when someone else logs in.

The store belongs to one user at a time. The same user logging in again (after a logout,
or because the refresh token expired during a week offline) keeps everything: the outbox,
unsynced records, running timers. A different user is refused while anything of the
previous one is still queued (``UserSwitchRefused``: their work would be sent under the
new user's name, or lost); once the queue is empty they get a clean store: no server rows,
notices, answered outbox, uploads, cursor or registration, and a new installation id, so
nothing of the previous user is visible to them.

"The same user" is decided before the server is asked (``begin_session``, so a phone
without a network refuses at once): the same e-mail (case aside) in the same
organisation, where a log-in that names none matches any. Once the server answered who
it is (``remember_user``, from GET /api/v1/auth/me), its user id settles it.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Mapping
from typing import Any

from mobile.store import notices
from mobile.store.core import (
    ACCESS_EXPIRES_AT,
    ACCESS_TOKEN,
    CLIENT_ID,
    CURSOR,
    ENGINEER_ID,
    FULL_NAME,
    LAST_SEQ,
    ORG_ID,
    ORGANISATION,
    REFRESH_TOKEN,
    REGISTERED,
    USER_ID,
    USERNAME,
    StoreCore,
    meta_get,
    meta_set,
)
from shared.ids import uuid7

TOKENS = (ACCESS_TOKEN, REFRESH_TOKEN, ACCESS_EXPIRES_AT)
_IDENTITY = (USER_ID, ORG_ID, ENGINEER_ID, FULL_NAME)
# Everything of the previous user; the outbox and its effects, notices and uploads too.
_WIPED_TABLES = (
    "claims",
    "effects",
    "outbox",
    "entities",
    "part_search",
    "van_stock",
    "uploads",
    "timers",
    "notices",
    "dismissed",
)


class UserSwitchRefused(Exception):
    """Another user cannot log in while ``pending`` things of the current one wait: changes
    not yet answered by the server, photos not yet uploaded, timers still running."""

    def __init__(self, pending: int, username: str | None) -> None:
        super().__init__(
            f"{pending} change(s) of {username or 'the previous user'} are not synced yet: "
            "sync them (log in as that user) before another user logs in on this phone"
        )
        self.pending = pending
        self.username = username


def _same_user(known: str, known_org: str | None, username: str, organisation: str | None) -> bool:
    if known.strip().casefold() != username.strip().casefold():
        return False
    if known_org is None or organisation is None:
        return True
    return known_org.strip().casefold() == organisation.strip().casefold()


def queued(con: sqlite3.Connection) -> int:
    """Unanswered mutations, files not uploaded, running timers."""
    found = con.execute(
        "SELECT (SELECT count(*) FROM outbox WHERE state IN ('pending', 'sent'))"
        " + (SELECT count(*) FROM uploads WHERE state = 'pending')"
        " + (SELECT count(*) FROM timers)"
    ).fetchone()
    return int(found[0])


class Session(StoreCore):
    def begin_session(self, username: str, *, organisation: str | None) -> None:
        """Before a log-in reaches the server: refuse another user while this one's work is
        queued; give another user a clean store; keep everything for the same user."""
        wiped = False
        with self.transaction() as con:
            known = meta_get(con, USERNAME)
            if known is not None and not _same_user(
                known, meta_get(con, ORGANISATION), username, organisation
            ):
                if pending := queued(con):
                    raise UserSwitchRefused(pending, known)
                wiped = self._wipe(con)
                for key in (*TOKENS, *_IDENTITY, ORGANISATION):
                    meta_set(con, key, None)
            meta_set(con, USERNAME, username)
            if organisation is not None:
                meta_set(con, ORGANISATION, organisation)
        if wiped:
            shutil.rmtree(self.blob_dir, ignore_errors=True)

    def remember_user(self, me: Mapping[str, Any]) -> None:
        """Who the server says is logged in (GET /api/v1/auth/me). A different user than
        the one this store holds (the same e-mail, another account) is refused while work
        is queued (the new tokens are forgotten), else the store is cleaned for them."""
        user_id, org_id = str(me["id"]), str(me.get("org_id") or "")
        refused: UserSwitchRefused | None = None
        wiped = False
        with self.transaction() as con:
            known = meta_get(con, USER_ID)
            if known is not None and (known, meta_get(con, ORG_ID) or "") != (user_id, org_id):
                if pending := queued(con):
                    refused = UserSwitchRefused(pending, meta_get(con, FULL_NAME))
                    for key in TOKENS:
                        meta_set(con, key, None)
                else:
                    wiped = self._wipe(con)
            if refused is None:
                meta_set(con, USER_ID, user_id)
                meta_set(con, ORG_ID, org_id or None)
                engineer = me.get("engineer_id")
                meta_set(con, ENGINEER_ID, None if engineer is None else str(engineer))
                meta_set(con, FULL_NAME, str(me.get("full_name") or "") or None)
        if refused is not None:
            raise refused
        if wiped:
            shutil.rmtree(self.blob_dir, ignore_errors=True)

    def is_current_user(self, username: str, *, organisation: str | None) -> bool:
        """Whether ``username`` (in ``organisation``) is who this store belongs to, by the
        rule ``begin_session`` applies; yes when it belongs to no one yet."""
        known = self.get_meta(USERNAME)
        return known is None or _same_user(
            known, self.get_meta(ORGANISATION), username, organisation
        )

    def logout(self) -> None:
        """Forget the tokens; the outbox and all local work stay for the next log-in."""
        self.set_meta(**dict.fromkeys(TOKENS))

    def user(self) -> dict[str, Any] | None:
        """``{username, organisation, user_id, org_id, engineer_id, full_name}`` of the
        user this store belongs to (the last three once the server said), or None."""
        keys = (USERNAME, ORGANISATION, *_IDENTITY)
        values = {key: self.get_meta(key) for key in keys}
        return None if values[USERNAME] is None else values

    def engineer_id(self) -> str | None:
        return self.get_meta(ENGINEER_ID)

    def pending_count(self) -> int:
        """Mutations the server has not answered yet (pending or sent)."""
        with self._read() as con:
            found = con.execute(
                "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sent')"
            ).fetchone()
        return int(found[0])

    @staticmethod
    def _wipe(con: sqlite3.Connection) -> bool:
        """Everything of the previous user, in the caller's transaction; the numbering of
        the outbox starts again at 1 for the new installation id. (The caller removes
        their signature images once it has committed.)"""
        for table in _WIPED_TABLES:
            con.execute(f"DELETE FROM {table}")  # noqa: S608 (the names above)
        con.execute("DELETE FROM sqlite_sequence WHERE name IN ('outbox', 'notices')")
        for key in (CURSOR, LAST_SEQ, REGISTERED, notices.SNAPSHOT):
            meta_set(con, key, None)
        meta_set(con, CLIENT_ID, str(uuid7()))
        return True
