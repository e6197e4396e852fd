"""Reading the customer pages' forms: what was typed and sent, checked, or the reasons
it was not (message keys with their values, which the page shows in its language)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from server.portal import photos
from server.portal.photos import Photo, PhotoRefused
from server.portal.updates import NOTE_MAX, Contact, Update
from server.text import visible

PREFERRED = ("asap", "morning", "afternoon", "evening")
HONEYPOT = "website"
_LIMITS = {"name": 100, "phone": 40, "email": 254}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"[0-9+()\-.\s]{5,40}")


@dataclass
class Problems:
    items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def add(self, key: str, **values: Any) -> None:
        self.items.append((key, values))

    def __bool__(self) -> bool:
        return bool(self.items)


def is_bot(fields: Mapping[str, str]) -> bool:
    """A filled honeypot: a person never sees the field."""
    return bool(fields.get(HONEYPOT, "").strip())


def _photos(sent: Sequence[bytes], problems: Problems) -> list[Photo]:
    files = [data for data in sent if data]
    if len(files) > photos.MAX_PHOTOS:
        problems.add("portal.error.photo_count", count=photos.MAX_PHOTOS)
        return []
    checked = []
    for data in files:
        try:
            checked.append(photos.check(data))
        except PhotoRefused as refused:
            problems.add(refused.key, mb=photos.MAX_PHOTO_BYTES // (1024 * 1024))
    return checked


def _text(fields: Mapping[str, str], name: str, limit: int, problems: Problems) -> str:
    value = fields.get(name, "").strip()
    if not visible(value):  # only zero-width or direction marks: nothing was written
        return ""
    if len(value) > limit:
        problems.add("portal.error.too_long", field=name, max=limit)
    return value


def _contact(fields: Mapping[str, str], problems: Problems) -> Contact:
    name, phone, email = (_text(fields, key, limit, problems) for key, limit in _LIMITS.items())
    if email and not _EMAIL.fullmatch(email):
        problems.add("portal.error.email")
    if phone and not _PHONE.fullmatch(phone):
        problems.add("portal.error.phone")
    preferred = fields.get("preferred", "asap")
    if preferred not in PREFERRED:
        problems.add("portal.error.preferred")
    return Contact(name=name, phone=phone, email=email, preferred=preferred)


def qr_report(fields: Mapping[str, str], sent: Sequence[bytes]) -> tuple[Update, Problems]:
    """The QR form: what is wrong (required), photos, contact, the preferred time."""
    problems = Problems()
    what = _text(fields, "what", NOTE_MAX, problems)
    if not what:
        problems.add("portal.error.what_required")
    contact = _contact(fields, problems)
    return Update(note=what, photos=_photos(sent, problems), contact=contact), problems


def status_note(fields: Mapping[str, str], sent: Sequence[bytes]) -> tuple[Update, Problems]:
    """The status page's form: a message, photos, or both."""
    problems = Problems()
    note = _text(fields, "note", NOTE_MAX, problems)
    checked = _photos(sent, problems)
    if not note and not checked and not problems:
        problems.add("portal.error.note_required")
    return Update(note=note, photos=checked), problems
