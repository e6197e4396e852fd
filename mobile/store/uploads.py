"""Photo and signature bytes waiting for their resumable upload (``mobile.sync.upload``):
queued in the transaction of the action that registers them, their progress kept after
every chunk."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from mobile.store.core import StoreCore


@dataclass(frozen=True)
class PendingUpload:
    sha256: str
    path: str
    size: int
    mime: str
    offset: int
    upload_url: str | None


class Uploads(StoreCore):
    def _queue_upload(
        self, con: sqlite3.Connection, *, sha256: str, path: str, size: int, mime: str
    ) -> None:
        # The same bytes twice (the same photo attached to two work orders) upload once.
        con.execute(
            "INSERT INTO uploads (sha256, path, size, mime, created_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (sha256) DO NOTHING",
            (sha256, path, size, mime, self.device_time()),
        )

    def pending_uploads(self) -> list[PendingUpload]:
        with self._read() as con:
            found = con.execute(
                'SELECT sha256, path, size, mime, "offset", upload_url FROM uploads'
                " WHERE state = 'pending' ORDER BY created_at, sha256"
            ).fetchall()
        return [
            PendingUpload(
                sha256=r["sha256"],
                path=r["path"],
                size=int(r["size"]),
                mime=r["mime"],
                offset=int(r["offset"]),
                upload_url=r["upload_url"],
            )
            for r in found
        ]

    def failed_uploads(self) -> dict[str, str]:
        """Uploads the server refused (e.g. the file changed after it was registered), by
        SHA-256, with the reason: kept for the engineer to see, never retried."""
        with self._read() as con:
            found = con.execute(
                "SELECT sha256, error FROM uploads WHERE state = 'failed' ORDER BY sha256"
            ).fetchall()
        return {r["sha256"]: str(r["error"]) for r in found}

    def upload_progress(self, sha256: str, *, offset: int, upload_url: str | None) -> None:
        with self.transaction() as con:
            con.execute(
                'UPDATE uploads SET "offset" = ?, upload_url = ? WHERE sha256 = ?',
                (offset, upload_url, sha256),
            )

    def finish_upload(self, sha256: str, *, error: str | None = None) -> None:
        with self.transaction() as con:
            con.execute(
                "UPDATE uploads SET state = ?, error = ? WHERE sha256 = ?",
                ("failed" if error else "done", error, sha256),
            )

    def pending_uploads_count(self) -> int:
        """Files still to send (the sync bar's "photos waiting")."""
        with self._read() as con:
            found = con.execute("SELECT count(*) FROM uploads WHERE state = 'pending'").fetchone()
        return int(found[0])
