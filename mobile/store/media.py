"""Photos and signatures: the metadata goes through the outbox like any action, the bytes
are queued for the resumable upload in the same transaction (``mobile.sync.upload``)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

from mobile.store import blobs, rows
from mobile.store.actions import Actions, Gps, _new_id
from mobile.store.rows import Effect, Row


class Media(Actions):
    def register_photo(
        self,
        work_order_id: str,
        path: str | Path,
        *,
        role: str = "photo",
        visit_id: str | None = None,
        caption: str | None = None,
        captured_at: str | None = None,
        gps: Gps | None = None,
    ) -> str:
        """Register a photo (metadata through the outbox, bytes queued for upload)."""
        source = Path(path).resolve()
        sha256, size, mime = blobs.digest(source)
        args = {
            "sha256": sha256,
            "size": size,
            "mime": mime,
            "role": role,
            "visit_id": visit_id,
            "caption": caption,
            "captured_at": captured_at,
            "gps": gps,
        }
        attachment_id = _new_id()

        def decide(con: sqlite3.Connection, wo: Row) -> tuple[dict[str, Any], list[Effect]]:
            full = {"work_order_id": wo["id"], "attachment_id": attachment_id, **args}
            local = {k: v for k, v in full.items() if k != "attachment_id"}
            local["status"] = "pending"  # until the server has the bytes
            self._queue_upload(con, sha256=sha256, path=str(source), size=size, mime=mime)
            return full, [Effect.create(rows.ATTACHMENT, attachment_id, local)]

        self._act(work_order_id, "attachment.register", decide)
        return attachment_id

    def capture_signature(
        self,
        work_order_id: str,
        *,
        png: bytes,
        strokes: Any,
        signer_name: str,
        visit_id: str | None = None,
    ) -> str:
        """The customer's signature: the PNG (kept in the blob folder, queued for upload),
        the strokes, the signer's name and the work-order status it signs."""
        sha256 = hashlib.sha256(png).hexdigest()
        path = blobs.keep(self.blob_dir, sha256, png, ".png")
        signature_id, attachment_id = _new_id(), _new_id()

        def decide(con: sqlite3.Connection, wo: Row) -> tuple[dict[str, Any], list[Effect]]:
            args = {
                "work_order_id": wo["id"],
                "signature_id": signature_id,
                "attachment_id": attachment_id,
                "sha256": sha256,
                "size": len(png),
                "signer_name": signer_name,
                "strokes": strokes,
                "signed_status": wo.get("status"),
                "visit_id": visit_id,
            }
            self._queue_upload(con, sha256=sha256, path=str(path), size=len(png), mime="image/png")
            local = {k: v for k, v in args.items() if k != "signature_id"}
            return args, [Effect.create(rows.SIGNATURE, signature_id, local)]

        self._act(work_order_id, "signature.capture", decide)
        return signature_id
