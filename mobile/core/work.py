"""Every tap of the engineer's day: each writes to the local database and the outbox in one
transaction (``mobile.store``), then asks the sync engine to push soon. Nothing here waits
for the network.

Time on a job is kept by timers as well as typed in: starting travel starts the travel
timer, checking in records the travel and starts the work timer, checking out records the
work. The engineer can also start, stop and correct entries by hand.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mobile.core.refusals import InputRefused
from mobile.device import Device, DeviceError, Fix, PermissionDenied
from mobile.i18n import _
from mobile.store import Store
from shared.ids import uuid7

GPS_TIMEOUT_S = 8.0
FIX_MAX_AGE = dt.timedelta(minutes=5)
# What the sync protocol accepts (shared.sync.MUTATIONS): checked here first, so the engineer
# hears it at once, in their language, instead of from the server a day later in English.
NOTE_MAX = 10_000
REASON_MAX = 2_000
SUMMARY_MAX = 5_000
FAULT_FOUND_MAX = 2_000
CODE_MAX = 40
SIGNER_MAX = 200
# Invisible characters (zero-width spaces, direction marks) say nothing on their own.
_INVISIBLE = ("Cf", "Zs", "Zl", "Zp", "Cc")


def blank(text: str) -> bool:
    """Whether ``text`` shows nothing: empty, spaces, or only invisible characters."""
    return all(unicodedata.category(c) in _INVISIBLE for c in text)


def said(text: str, limit: int, *, required: bool = True) -> str:
    """``text`` as it is recorded: stripped, without the characters the server cannot store
    (U+0000, lone surrogates); InputRefused when it says nothing (and must) or is too long."""
    clean = text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8").strip()
    if required and blank(clean):
        raise InputRefused(_("Please write something first"), "text")
    if len(clean) > limit:
        raise InputRefused(
            _("At most {limit} characters; this has {n}").format(
                limit=f"{limit:,}", n=f"{len(clean):,}"
            ),
            "text",
        )
    return clean


class Work:
    def __init__(
        self,
        store: Store,
        device: Device,
        *,
        wake: Callable[[], None] = lambda: None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.store = store
        self.device = device
        self._wake = wake
        self.clock = clock
        self.last_fix: Fix | None = None
        self.no_fix = ""  # why the last position() found none: "timeout", "denied", ...

    def _done(self) -> None:
        self._wake()

    # --- the job's status -------------------------------------------------------------

    def accept(self, work_order_id: str) -> None:
        self.store.accept(work_order_id)
        self._done()

    def decline(self, work_order_id: str, reason: str) -> None:
        self.store.reject(work_order_id, reason=said(reason, REASON_MAX))
        self._done()

    def start_travel(self, work_order_id: str) -> None:
        self.store.start_travel(work_order_id)
        self.store.start_timer(work_order_id, "travel")
        self._done()

    def fix_is_stale(self, now: dt.datetime) -> bool:
        """Whether the last position is missing or older than FIX_MAX_AGE (distances on
        the Today list would mislead)."""
        return self.last_fix is None or now - self.last_fix.at > FIX_MAX_AGE

    async def position(self) -> Fix | None:
        """A fresh GPS fix, or None when there is none within the timeout, the location
        permission is refused or the GPS will not start (``no_fix`` says which: the screen
        says so and the check-in is recorded without a position)."""
        self.no_fix = ""
        try:
            fix = await self.device.location.current(timeout=GPS_TIMEOUT_S)
        except PermissionDenied:
            self.no_fix = "denied"
            return None
        except DeviceError:
            self.no_fix = "unavailable"
            return None
        if fix is not None:
            self.last_fix = fix
        else:
            self.no_fix = "timeout"
        return fix

    async def check_in(self, work_order_id: str) -> tuple[str, Fix | None]:
        fix = await self.position()
        running = self.store.running_timer(work_order_id)
        if running and running.get("kind") == "travel":
            self.store.stop_timer(work_order_id)
        visit_id = self.store.check_in(work_order_id, fix.as_gps() if fix else None)
        self.store.start_timer(work_order_id, "work", visit_id=visit_id)
        self._done()
        return visit_id, fix

    async def check_out(self, work_order_id: str, visit_id: str) -> Fix | None:
        fix = await self.position()
        if self.store.running_timer(work_order_id):
            self.store.stop_timer(work_order_id)
        self.store.check_out(visit_id, fix.as_gps() if fix else None)
        self._done()
        return fix

    def hold(self, work_order_id: str, *, waiting_for: str, reason: str) -> None:
        reason = said(reason, REASON_MAX)
        if self.store.running_timer(work_order_id):
            self.store.stop_timer(work_order_id)
        self.store.hold(work_order_id, waiting_for=waiting_for, reason=reason)
        self._done()

    def resume(self, work_order_id: str) -> None:
        self.store.resume(work_order_id)
        self._done()

    def resolve(
        self,
        work_order_id: str,
        *,
        resolution_code: str,
        summary: str,
        fault_found: str | None = None,
        fault_code: str | None = None,
    ) -> None:
        self.store.resolve(
            work_order_id,
            resolution_code=said(resolution_code, CODE_MAX),
            summary=said(summary, SUMMARY_MAX),
            fault_code=said(fault_code or "", CODE_MAX, required=False) or None,
            root_cause=said(fault_found or "", FAULT_FOUND_MAX, required=False) or None,
        )
        self._done()

    # --- what was done ----------------------------------------------------------------

    def answer(self, work_order_id: str, visit_id: str, item_id: str, value: Any) -> str:
        answer_id = self.store.answer_checklist(
            work_order_id, visit_id=visit_id, item_id=item_id, value=value
        )
        self._done()
        return answer_id

    async def photo(self, work_order_id: str, *, visit_id: str | None = None) -> str | None:
        """Take a photo (the camera on the phone, a file picker on the desktop); None when
        the engineer cancelled."""
        folder = self.device.storage.photos_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = await self._capture(folder / f"{uuid7()}.jpg")
        if path is None:
            return None
        fix = self.last_fix
        attachment_id = self.store.register_photo(
            work_order_id,
            Path(path),
            visit_id=visit_id,
            captured_at=self.store.device_time(),
            gps=fix.as_gps() if fix else None,
        )
        self._done()
        return attachment_id

    async def _capture(self, dest: Path) -> Path | None:
        try:
            return await self.device.camera.capture(dest)
        except PermissionDenied:
            raise InputRefused(
                _("Camera permission refused: allow it in the phone's settings"), "camera"
            ) from None
        except DeviceError:
            raise InputRefused(_("No camera app on this phone"), "camera") from None
        except ValueError:  # the desktop's picker: a file that is not a photo
            raise InputRefused(
                _("That file is not a photo (JPEG, PNG, WebP or HEIC)"), "camera"
            ) from None

    def use_part(
        self,
        work_order_id: str,
        *,
        part_id: str,
        quantity: str,
        visit_id: str | None = None,
        serials: Sequence[str] = (),
        removed_serials: Sequence[str] = (),
        removed_condition: str | None = None,
        took_back_old: bool = False,
    ) -> str:
        """A part fitted. What came out of the equipment: its serial numbers for a
        serialised part (``removed_serials``), or for any other part ``took_back_old``,
        which records the same quantity taken back as defective (a return)."""
        line_id = self.store.use_part(
            work_order_id,
            part_id=part_id,
            quantity=quantity,
            visit_id=visit_id,
            serial_numbers=list(serials) or None,
            removed_serial_numbers=list(removed_serials) or None,
            # What comes out of the equipment is defective unless the engineer says otherwise.
            removed_condition=(removed_condition or "defective") if removed_serials else None,
        )
        if took_back_old and not removed_serials:
            self.store.return_part(
                work_order_id,
                part_id=part_id,
                quantity=quantity,
                condition="defective",
                visit_id=visit_id,
            )
        self._done()
        return line_id

    def add_note(self, work_order_id: str, text: str, *, visit_id: str | None = None) -> str:
        note_id = self.store.add_note(work_order_id, said(text, NOTE_MAX), visit_id=visit_id)
        self._done()
        return note_id

    def signature(
        self,
        work_order_id: str,
        *,
        png: bytes,
        strokes: list[list[list[float]]],
        signer_name: str,
        visit_id: str | None = None,
    ) -> str:
        signature_id = self.store.capture_signature(
            work_order_id,
            png=png,
            strokes=strokes,
            signer_name=said(signer_name, SIGNER_MAX),
            visit_id=visit_id,
        )
        self._done()
        return signature_id

    # --- labour -------------------------------------------------------------------------

    def start_timer(self, work_order_id: str, kind: str, *, visit_id: str | None = None) -> None:
        self.store.start_timer(work_order_id, kind, visit_id=visit_id)

    def stop_timer(self, work_order_id: str) -> str | None:
        entry = self.store.stop_timer(work_order_id)
        if entry is not None:
            self._done()
        return entry

    def add_labour(
        self,
        work_order_id: str,
        *,
        kind: str,
        started_at: dt.datetime,
        ended_at: dt.datetime,
        visit_id: str | None = None,
        note: str | None = None,
    ) -> str:
        entry = self.store.add_labour(
            work_order_id,
            kind=kind,
            started_at=started_at.isoformat(),
            ended_at=ended_at.isoformat(),
            visit_id=visit_id,
            note=note,
        )
        self._done()
        return entry

    def correct_labour(
        self,
        entry_id: str,
        *,
        started_at: dt.datetime,
        ended_at: dt.datetime,
        reason: str,
        kind: str | None = None,
    ) -> str:
        """Replace an entry by one with these times (and ``kind``: None keeps its kind)."""
        new_id = self.store.adjust_labour(
            entry_id,
            started_at=started_at.isoformat(),
            ended_at=ended_at.isoformat(),
            reason=said(reason, REASON_MAX),
            kind=kind,
        )
        self._done()
        return new_id

    def void_labour(self, entry_id: str, reason: str) -> str:
        void_id = self.store.void_labour(entry_id, reason=said(reason, REASON_MAX))
        self._done()
        return void_id
