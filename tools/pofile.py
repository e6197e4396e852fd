"""The GNU gettext file formats, standard library only: read and write a .po (or .pot), and
compile one to the .mo that ``gettext.GNUTranslations`` loads on the phone.

What is kept of a .po: entries with context (``msgctxt``), plurals (``msgid_plural``,
``msgstr[n]``), source references (``#:``), flags (``#,``), the translator's comments
(``# ``) and obsolete entries (``#~``); extracted comments (``#.``) and previous msgids
(``#|``) are dropped, since nothing here writes them. Output is canonical (one reference a
line, no line wrapping), so reading and writing a file changes nothing and diffs stay small.
Used by tools/i18n.py.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
Key = tuple[str | None, str]


@dataclass
class Entry:
    msgid: str
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=lambda: [""])
    references: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)  # the translator's "# ..." lines
    obsolete: bool = False

    @property
    def key(self) -> Key:
        return (self.msgctxt, self.msgid)

    def label(self) -> str:
        where = f" ({self.references[0]})" if self.references else ""
        context = f" [{self.msgctxt}]" if self.msgctxt is not None else ""
        return f"{self.msgid!r}{context}{where}"


@dataclass
class Catalogue:
    header: str
    entries: list[Entry]
    comments: list[str] = field(default_factory=list)  # above the header

    def active(self) -> dict[Key, Entry]:
        return {e.key: e for e in self.entries if not e.obsolete}

    def nplurals(self) -> int | None:
        found = re.search(r"^Plural-Forms:.*nplurals\s*=\s*(\d+)", self.header, re.M)
        return int(found.group(1)) if found else None


# --- the .po format ------------------------------------------------------------------------


def _unquote(text: str, where: str) -> str:
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"{where}: expected a quoted string, got {text!r}")

    def unescape(match: re.Match[str]) -> str:
        if match.group(1) not in ESCAPES:
            raise ValueError(f"{where}: unknown escape \\{match.group(1)}")
        return ESCAPES[match.group(1)]

    return re.sub(r"\\(.)", unescape, text[1:-1])


def _quote(text: str) -> str:
    for raw, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\t", "\\t"), ("\r", "\\r")):
        text = text.replace(raw, escaped)
    return f'"{text}"'


def _entry(fields: dict[str, list[str]], notes: dict[str, list[str]], obsolete: bool) -> Entry:
    plural = sorted((int(k[7:-1]), "".join(v)) for k, v in fields.items() if k[:7] == "msgstr[")
    return Entry(
        msgid="".join(fields.get("msgid", [])),
        msgctxt="".join(fields["msgctxt"]) if "msgctxt" in fields else None,
        msgid_plural="".join(fields["msgid_plural"]) if "msgid_plural" in fields else None,
        msgstr=[text for _, text in plural] or ["".join(fields.get("msgstr", []))],
        references=notes["references"],
        flags=notes["flags"],
        comments=notes["comments"],
        obsolete=obsolete,
    )


class _Reader:
    """The state of reading a .po: the entry being read, and the ones done."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.fields: dict[str, list[str]] = {}
        self.notes: dict[str, list[str]] = {"references": [], "flags": [], "comments": []}
        self.current = ""
        self.obsolete = False

    def flush(self) -> None:
        if not self.fields:  # comments alone wait for their entry
            return
        self.entries.append(_entry(self.fields, self.notes, self.obsolete))
        self.fields, self.current, self.obsolete = {}, "", False
        self.notes = {"references": [], "flags": [], "comments": []}

    def comment(self, line: str) -> None:
        if self.fields:  # a comment opens the next entry
            self.flush()
        kind, rest = line[:2], line[2:].strip()
        if kind == "#:":
            self.notes["references"] += rest.split()
        elif kind == "#,":
            self.notes["flags"] += [f.strip() for f in rest.split(",") if f.strip()]
        elif kind not in ("#.", "#|"):  # extracted comments and previous msgids are redone
            self.notes["comments"].append(line[1:].strip())

    def keyword(self, line: str, where: str) -> None:
        keyword, _, rest = line.partition(" ")
        if not re.fullmatch(r"msgctxt|msgid|msgid_plural|msgstr(\[\d+\])?", keyword):
            raise ValueError(f"{where}: unknown keyword {keyword!r}")
        if keyword in ("msgctxt", "msgid") and any(k.startswith("msgstr") for k in self.fields):
            self.flush()
        self.current = keyword
        self.fields[keyword] = [_unquote(rest.strip(), where)]


def parse_po(text: str, name: str = "<po>") -> Catalogue:
    """A .po file's entries (obsolete ``#~`` ones too), its header and the header's comments."""
    reader = _Reader()
    for number, raw in enumerate(text.splitlines(), 1):
        line, where = raw.strip(), f"{name}:{number}"
        obsolete = line.startswith("#~")
        line = line[2:].strip() if obsolete else line
        if not line:
            reader.flush()
        elif line.startswith("#"):
            reader.comment(line)
        elif line.startswith('"'):
            if not reader.current:
                raise ValueError(f"{where}: a string continues no keyword")
            reader.fields[reader.current].append(_unquote(line, where))
        else:
            reader.keyword(line, where)
        reader.obsolete = reader.obsolete or obsolete
    reader.flush()
    head = next((e for e in reader.entries if e.key == (None, "")), None)
    return Catalogue(
        head.msgstr[0] if head else "",
        [e for e in reader.entries if e.msgid],
        head.comments if head else [],
    )


def _field(keyword: str, value: str, prefix: str) -> list[str]:
    if "\n" not in value.rstrip("\n"):
        return [f"{prefix}{keyword} {_quote(value)}"]
    pieces = re.findall(r"[^\n]*\n|[^\n]+$", value)
    return [f'{prefix}{keyword} ""'] + [f"{prefix}{_quote(p)}" for p in pieces]


def format_po(catalogue: Catalogue) -> str:
    """The text of a .po (or .pot): the header, then each entry; obsolete ones last."""
    head = [f"# {c}".rstrip() for c in catalogue.comments]
    blocks = ["\n".join(head + _field("msgid", "", "") + _field("msgstr", catalogue.header, ""))]
    ordered = [e for e in catalogue.entries if not e.obsolete]
    ordered += [e for e in catalogue.entries if e.obsolete]
    for entry in ordered:
        prefix = "#~ " if entry.obsolete else ""
        lines = [f"# {c}".rstrip() for c in entry.comments]
        lines += [f"#: {ref}" for ref in entry.references]
        lines += [f"#, {', '.join(entry.flags)}"] if entry.flags else []
        if entry.msgctxt is not None:
            lines += _field("msgctxt", entry.msgctxt, prefix)
        lines += _field("msgid", entry.msgid, prefix)
        if entry.msgid_plural is None:
            lines += _field("msgstr", entry.msgstr[0], prefix)
        else:
            lines += _field("msgid_plural", entry.msgid_plural, prefix)
            for i, text in enumerate(entry.msgstr):
                lines += _field(f"msgstr[{i}]", text, prefix)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


# --- the .mo format ------------------------------------------------------------------------


def compile_mo(catalogue: Catalogue) -> bytes:
    """The GNU .mo of a catalogue: the header and every translated entry that is not fuzzy or
    obsolete (gettext shows the English of the rest). Keys sorted, no hash table, as
    ``gettext.GNUTranslations`` and GNU gettext read it."""
    pairs = [(b"", catalogue.header.encode())]
    for e in catalogue.entries:
        if e.obsolete or "fuzzy" in e.flags or not all(e.msgstr):
            continue
        key = e.msgid if e.msgid_plural is None else f"{e.msgid}\0{e.msgid_plural}"
        key = key if e.msgctxt is None else f"{e.msgctxt}\x04{key}"
        pairs.append((key.encode(), "\0".join(e.msgstr).encode()))
    pairs.sort()
    count = len(pairs)
    keys_at = 7 * 4 + 16 * count
    keys = b"".join(k + b"\0" for k, _ in pairs)
    values = b"".join(v + b"\0" for _, v in pairs)
    table_k, table_v, k_off, v_off = [], [], keys_at, keys_at + len(keys)
    for k, v in pairs:
        table_k += [len(k), k_off]
        table_v += [len(v), v_off]
        k_off, v_off = k_off + len(k) + 1, v_off + len(v) + 1
    head = struct.pack("<7I", 0x950412DE, 0, count, 28, 28 + 8 * count, 0, keys_at)
    tables = struct.pack(f"<{4 * count}I", *table_k, *table_v)
    return head + tables + keys + values
