"""The engineer app's translation catalogues: extract, merge, compile, check (`make i18n`).

    python tools/i18n.py extract   # mobile/**/*.py and *.kv -> mobile/i18n/fixflow.pot
    python tools/i18n.py merge     # the .pot into every locale/<lang>/LC_MESSAGES/fixflow.po
    python tools/i18n.py compile   # each .po -> its .mo (committed: the phone has no msgfmt)
    python tools/i18n.py check     # exit 1 listing what is missing, empty, stale or mismatched
    python tools/i18n.py init fr --plural-forms "nplurals=2; plural=(n > 1);"

Marked strings are the literal arguments of ``_``, ``N_``, ``gettext``, ``ngettext``,
``pgettext``, ``npgettext`` and ``tr`` calls (plain or as methods: ``t.pgettext("month",
"May")``, kv's ``_.ngettext(...)``), found with ``ast`` in Python and, in kv, by parsing each
call that a regex finds. The .pot has no creation date, so running `make i18n` twice changes
nothing; ``check`` compares each .mo with what its .po compiles to (modification times mean
nothing in a fresh clone). The file formats are tools/pofile.py. Standard library only, like
the phone's side (mobile.i18n).
"""

from __future__ import annotations

import argparse
import ast
import re
import string
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# tools/ is on the path when this runs as a script, as `make i18n` runs it
from pofile import Catalogue, Entry, Key, compile_mo, format_po, parse_po

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = "fixflow"
SOURCE_LANGUAGE = "en"
ROLES: dict[str, tuple[str, ...]] = {
    "_": ("msgid",),
    "N_": ("msgid",),
    "gettext": ("msgid",),
    "tr": ("msgid",),
    "ngettext": ("msgid", "msgid_plural"),
    "pgettext": ("msgctxt", "msgid"),
    "npgettext": ("msgctxt", "msgid", "msgid_plural"),
}
KV_CALL = re.compile(r"(?<![\w])(" + "|".join(re.escape(name) for name in ROLES) + r")\s*\(")
HEADER = (
    "Project-Id-Version: fixflow\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=UTF-8\n"
    "Content-Transfer-Encoding: 8bit\n"
)


@dataclass
class Layout:
    """Where the sources, the template and the catalogues are under a root (the repository;
    a small tree in the tests)."""

    root: Path

    @property
    def sources(self) -> Path:
        return self.root / "mobile"

    @property
    def pot(self) -> Path:
        return self.root / "mobile" / "i18n" / f"{DOMAIN}.pot"

    @property
    def locale(self) -> Path:
        return self.root / "mobile" / "i18n" / "locale"

    def po_files(self) -> dict[str, Path]:
        found = sorted(self.locale.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
        return {path.parents[1].name: path for path in found}


# --- extraction ----------------------------------------------------------------------------


def _callee(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    return node.func.attr if isinstance(node.func, ast.Attribute) else None


def _marked(tree: ast.AST) -> Iterator[tuple[dict[str, str] | None, int]]:
    """Each marked call: its literal arguments by role, or None when they are not literals."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        roles = ROLES.get(_callee(node) or "")
        if roles is None or len(node.args) < len(roles):
            continue
        values = [
            a.value
            for a in node.args[: len(roles)]
            if isinstance(a, ast.Constant) and isinstance(a.value, str)
        ]
        if len(values) == len(roles):
            yield dict(zip(roles, values, strict=True)), node.lineno
        elif isinstance(node.func, ast.Name) and node.func.id == "_":
            yield None, node.lineno


def _kv_calls(text: str) -> Iterator[tuple[ast.AST, int]]:
    """The marked calls of a kv file, each parsed as the Python expression it is."""
    for match in KV_CALL.finditer(text):
        start = match.start(1)
        for close in (m.end() for m in re.finditer(r"\)", text[start : start + 4000])):
            try:
                tree = ast.parse(text[start : start + close], mode="eval")
            except SyntaxError:
                continue
            yield tree, text.count("\n", 0, start) + 1
            break


def extract(layout: Layout) -> tuple[Catalogue, list[str]]:
    """The template of every marked string under mobile/, and warnings for ``_()`` calls whose
    argument is not a literal (their text cannot be extracted)."""
    found: dict[Key, Entry] = {}
    warnings: list[str] = []
    for path in sorted(layout.sources.rglob("*.py")) + sorted(layout.sources.rglob("*.kv")):
        relative = path.relative_to(layout.root).as_posix()
        text = path.read_text(encoding="utf-8")
        trees: list[tuple[ast.AST, int]]
        if path.suffix == ".py":
            trees = [(ast.parse(text, relative), 0)]
        else:
            trees = [(tree, line - 1) for tree, line in _kv_calls(text)]
        for tree, offset in trees:
            for args, line in _marked(tree):
                where = f"{relative}:{line + offset}"
                if args is None:
                    warnings.append(f"{where}: _() of a non-literal is not extracted")
                    continue
                entry = found.setdefault(
                    (args.get("msgctxt"), args["msgid"]),
                    Entry(args["msgid"], args.get("msgctxt"), args.get("msgid_plural")),
                )
                if where not in entry.references:
                    entry.references.append(where)
    entries = sorted(found.values(), key=lambda e: (e.msgctxt or "", e.msgid))
    for entry in entries:
        if _fields(entry.msgid) or _fields(entry.msgid_plural or ""):
            entry.flags = ["python-brace-format"]
    template = HEADER + "Plural-Forms: nplurals=INTEGER; plural=EXPRESSION;\n"
    return Catalogue(template, entries), warnings


# --- merge, check --------------------------------------------------------------------------


def merge(template: Catalogue, catalogue: Catalogue) -> Catalogue:
    """The catalogue with the template's entries (new ones untranslated, a returning string's
    old translation revived) and the strings the sources dropped kept as obsolete (``#~``).
    Entries are sorted by context and English, the template's order."""
    nplurals = catalogue.nplurals() or 1
    old = {e.key: e for e in catalogue.entries if e.obsolete} | catalogue.active()
    entries = []
    for t in template.entries:
        forms = 1 if t.msgid_plural is None else nplurals
        entry = Entry(t.msgid, t.msgctxt, t.msgid_plural, [""] * forms, list(t.references))
        entry.flags = list(t.flags)
        previous = old.pop(t.key, None)
        if previous is not None:
            entry.comments = previous.comments
            entry.flags += [f for f in previous.flags if not f.endswith("-format")]
            same_kind = (previous.msgid_plural is None) == (t.msgid_plural is None)
            if same_kind and len(previous.msgstr) == forms:
                entry.msgstr = previous.msgstr
            elif any(previous.msgstr):  # singular <-> plural: keep the words, ask a review
                entry.msgstr = [previous.msgstr[0]] * forms
                entry.flags += [] if "fuzzy" in entry.flags else ["fuzzy"]
        entries.append(entry)
    for gone in old.values():
        # A string the sources dropped goes obsolete; one added by hand ahead of the code that
        # will use it (it never had a source reference) stays.
        if gone.references or gone.obsolete:
            gone.obsolete, gone.references = True, []
        entries.append(gone)
    entries.sort(key=lambda e: (e.msgctxt or "", e.msgid))
    return Catalogue(catalogue.header, entries, catalogue.comments)


def _fields(text: str) -> set[str] | None:
    """The ``{name}`` placeholders of a format string; None when it is not one."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return None


def _format_problems(entry: Entry, code: str) -> list[str]:
    """A translation must use the placeholders of its English: each form no other ones, and
    a singular all of them (a plural form may leave ``{n}`` out, as "one day" does)."""
    wanted = _fields(entry.msgid)
    if entry.msgid_plural is not None:
        plural = _fields(entry.msgid_plural)
        wanted = None if wanted is None or plural is None else wanted | plural
    if wanted is None:  # the English is no format string: nothing to compare
        return []
    forms = [_fields(text) for text in entry.msgstr]
    used = set().union(*(f for f in forms if f is not None))
    if any(f is None or not f <= wanted for f in forms) or used != wanted:
        shown = ", ".join(sorted(wanted)) or "none"
        return [f"{code}: placeholders of {entry.label()} ({shown}) differ in {entry.msgstr}"]
    return []


def _catalogue_problems(code: str, path: Path, template: Catalogue) -> list[str]:
    try:
        catalogue = parse_po(path.read_text(encoding="utf-8"), path.name)
    except ValueError as error:
        return [f"{code}: {error}"]
    problems = []
    if "charset=UTF-8" not in catalogue.header:
        problems.append(f"{code}: the header does not say Content-Type ... charset=UTF-8")
    nplurals = catalogue.nplurals()
    if nplurals is None:
        problems.append(f"{code}: the header has no Plural-Forms")
    active = catalogue.active()
    for t in template.entries:
        entry = active.get(t.key)
        if entry is None:
            problems.append(f"{code}: not in {path.name}: {t.label()} (run `make i18n`)")
        elif (entry.msgid_plural is None) != (t.msgid_plural is None):
            problems.append(f"{code}: {t.label()} is plural in one of source and catalogue only")
    for entry in active.values():
        forms = 1 if entry.msgid_plural is None else nplurals
        if not all(entry.msgstr):
            problems.append(f"{code}: untranslated: {entry.label()}")
        elif "fuzzy" in entry.flags:
            problems.append(f"{code}: marked fuzzy (review, then drop the flag): {entry.label()}")
        elif forms is not None and len(entry.msgstr) != forms:
            problems.append(f"{code}: {entry.label()} has {len(entry.msgstr)} forms, not {forms}")
        else:
            problems += _format_problems(entry, code)
    mo = path.with_suffix(".mo")
    if not mo.exists() or mo.read_bytes() != compile_mo(catalogue):
        problems.append(f"{code}: {mo.name} is missing or not compiled from {path.name}")
    return problems


def check(layout: Layout, languages: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """What stops the catalogues from serving the app (each a line), and warnings."""
    template, warnings = extract(layout)
    files = layout.po_files()
    wanted = {code for code in languages if code != SOURCE_LANGUAGE}
    problems = [f"{code}: in LANGUAGES but has no catalogue" for code in sorted(wanted - {*files})]
    problems += [f"{code}: a catalogue not in LANGUAGES" for code in sorted({*files} - wanted)]
    for code, path in files.items():
        problems += _catalogue_problems(code, path, template)
    return problems, warnings


# --- commands ------------------------------------------------------------------------------


def _write(path: Path, data: bytes) -> None:
    """Write only a change, so an unchanged file keeps its time and `make i18n` is idempotent."""
    if not path.exists() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote {path}")


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def run(command: str, layout: Layout, language: str | None = None, plural: str = "") -> int:
    """One command of the CLI; returns the exit code."""
    if command == "extract":
        template, warnings = extract(layout)
        _warn(warnings)
        _write(layout.pot, format_po(template).encode())
    elif command == "merge":
        template = parse_po(layout.pot.read_text(encoding="utf-8"), layout.pot.name)
        for path in layout.po_files().values():
            catalogue = parse_po(path.read_text(encoding="utf-8"), path.name)
            _write(path, format_po(merge(template, catalogue)).encode())
    elif command == "compile":
        for path in layout.po_files().values():
            catalogue = parse_po(path.read_text(encoding="utf-8"), path.name)
            _write(path.with_suffix(".mo"), compile_mo(catalogue))
    elif command == "init":
        if not language or not plural:
            raise SystemExit("init needs a language code and --plural-forms")
        header = f"{HEADER}Language: {language}\nPlural-Forms: {plural}\n"
        path = layout.locale / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        if path.exists():
            raise SystemExit(f"{path} exists already")
        template = parse_po(layout.pot.read_text(encoding="utf-8"), layout.pot.name)
        _write(path, format_po(merge(template, Catalogue(header, []))).encode())
    elif command == "check":
        sys.path.insert(0, str(layout.root))
        from mobile.i18n.translation import LANGUAGES

        problems, warnings = check(layout, LANGUAGES)
        _warn(warnings)
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("command", choices=("extract", "merge", "compile", "check", "init"))
    parser.add_argument("language", nargs="?", help="init: the new catalogue's code")
    parser.add_argument("--plural-forms", default="", help='init: e.g. "nplurals=1; plural=0;"')
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return run(args.command, Layout(args.root), args.language, args.plural_forms)


if __name__ == "__main__":
    sys.exit(main())
