"""tools/i18n.py: extraction from Python and kv, merge, check and the commands of `make i18n`."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.mobile.i18n.helpers import load_tool

tool = load_tool("i18n")


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


SOURCE = """
    from mobile.i18n import N_, _, pgettext


    def show(t, name, n):
        print("not marked", other("Nor this"))
        return _("Hello"), t.ngettext("{n} job", "{n} jobs", n), pgettext("month", "May")


    LATER = N_("Later")
    WRONG = _(name)
"""
KV = """
    #:import _ mobile.ui.lang._
    <Jobs@BoxLayout>:
        Label:
            text: _("Today")
        Label:
            text: _('Parts (reserved)') + " " + _("Today")
        Label:
            text:
                _.ngettext(
                "{n} part",
                "{n} parts", self.n).format(n=self.n)
        Label:
            text: "plain"
"""


def test_extraction_finds_the_marked_strings_of_python_and_kv(tmp_path: Path) -> None:
    write(tmp_path, "mobile/a.py", SOURCE)
    write(tmp_path, "mobile/ui/jobs.kv", KV)
    template, warnings = tool.extract(tool.Layout(tmp_path))
    found = {e.key: e for e in template.entries}
    assert list(found) == [
        (None, "Hello"),
        (None, "Later"),
        (None, "Parts (reserved)"),
        (None, "Today"),
        (None, "{n} job"),
        (None, "{n} part"),
        ("month", "May"),
    ]
    assert found[(None, "Today")].references == ["mobile/ui/jobs.kv:4", "mobile/ui/jobs.kv:6"]
    assert found[(None, "Hello")].references == ["mobile/a.py:6"]
    assert found[(None, "{n} part")].references == ["mobile/ui/jobs.kv:9"]
    assert found[(None, "{n} part")].msgid_plural == "{n} parts"
    assert found[(None, "{n} job")].flags == ["python-brace-format"]
    assert found[(None, "Hello")].flags == []
    assert warnings == ["mobile/a.py:10: _() of a non-literal is not extracted"]


def entry(msgid: str, msgstr: str = "", *refs: str, **fields: object) -> object:
    return tool.Entry(msgid, msgstr=[msgstr], references=list(refs), **fields)


def test_merge_adds_new_strings_keeps_translations_and_retires_dropped_ones() -> None:
    template = tool.Catalogue(
        "",
        [
            entry("Hello", "", "mobile/a.py:9"),
            entry("Returning", "", "mobile/a.py:10"),
            tool.Entry("{n} job", msgid_plural="{n} jobs", references=["mobile/a.py:11"]),
        ],
    )
    header = "Plural-Forms: nplurals=2; plural=(n != 1);\n"
    catalogue = tool.Catalogue(
        header,
        [
            entry("Hello", "Hallo", "mobile/a.py:3"),
            entry("Dropped", "Weg", "mobile/a.py:4"),
            entry("Ahead", "Voraus"),  # added by hand before the code that will use it
            entry("Returning", "Zurück", obsolete=True),
        ],
        ["kept"],
    )
    merged = tool.merge(template, catalogue)
    got = {e.msgid: (e.msgstr, e.references, e.obsolete) for e in merged.entries}
    assert got == {
        "Ahead": (["Voraus"], [], False),
        "Dropped": (["Weg"], [], True),
        "Hello": (["Hallo"], ["mobile/a.py:9"], False),
        "Returning": (["Zurück"], ["mobile/a.py:10"], False),
        "{n} job": (["", ""], ["mobile/a.py:11"], False),
    }
    assert (merged.header, merged.comments) == (header, ["kept"])


def test_a_string_that_became_plural_keeps_its_words_for_review() -> None:
    template = tool.Catalogue("", [tool.Entry("{n} job", msgid_plural="{n} jobs")])
    catalogue = tool.Catalogue("Plural-Forms: nplurals=1; plural=0;\n", [entry("{n} job", "x")])
    (merged,) = tool.merge(template, catalogue).entries
    assert (merged.msgstr, merged.flags) == (["x"], ["fuzzy"])


ZH_HEADER = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
ZH_HEADER += '"Plural-Forms: nplurals=1; plural=0;\\n"\n'


@pytest.fixture
def project(tmp_path: Path) -> tool.Layout:
    """A small project whose catalogues are complete: `check` finds nothing."""
    write(
        tmp_path,
        "mobile/a.py",
        'x = _("Hello"), _("{n} min ago"), ngettext("{n} d", "{n} ds", 2)\n',
    )
    layout = tool.Layout(tmp_path)
    assert tool.main(["extract", "--root", str(tmp_path)]) == 0
    po = layout.locale / "zh_CN" / "LC_MESSAGES" / "fixflow.po"
    write(tmp_path, str(po.relative_to(tmp_path)), ZH_HEADER)
    assert tool.main(["merge", "--root", str(tmp_path)]) == 0
    text = po.read_text(encoding="utf-8")
    for english, chinese in (
        ("Hello", "你好"),
        ("{n} min ago", "{n} 分钟前"),
        ("{n} ds", "{n} 天"),
    ):
        text = text.replace(f'"{english}"\nmsgstr "', f'"{english}"\nmsgstr "{chinese}')
        text = text.replace(f'"{english}"\nmsgstr[0] "', f'"{english}"\nmsgstr[0] "{chinese}')
    po.write_text(text, encoding="utf-8")
    assert tool.main(["compile", "--root", str(tmp_path)]) == 0
    assert tool.check(layout, ("en", "zh_CN")) == ([], [])
    return layout


def po_of(layout: tool.Layout) -> Path:
    return layout.po_files()["zh_CN"]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_check_finds_a_new_string_missing_from_the_catalogue(project: tool.Layout) -> None:
    write(project.root, "mobile/ui/today.kv", 'Label:\n    text: _("Upcoming")\n')
    problems, _ = tool.check(project, ("en", "zh_CN"))
    assert problems == [
        "zh_CN: not in fixflow.po: 'Upcoming' (mobile/ui/today.kv:2) (run `make i18n`)"
    ]


def test_check_finds_an_empty_translation(project: tool.Layout) -> None:
    edit(po_of(project), 'msgstr "你好"', 'msgstr ""')
    tool.main(["compile", "--root", str(project.root)])
    problems, _ = tool.check(project, ("en", "zh_CN"))
    assert problems == ["zh_CN: untranslated: 'Hello' (mobile/a.py:1)"]


def test_check_finds_a_catalogue_edited_but_not_compiled(project: tool.Layout) -> None:
    edit(po_of(project), 'msgstr "你好"', 'msgstr "您好"')
    problems, _ = tool.check(project, ("en", "zh_CN"))
    assert problems == ["zh_CN: fixflow.mo is missing or not compiled from fixflow.po"]
    po_of(project).with_suffix(".mo").unlink()
    assert tool.check(project, ("en", "zh_CN"))[0] == problems


@pytest.mark.parametrize("wrong", ["{m} 分钟前", "分钟前", "{n} {n2} 分钟前", "{n 分钟前"])
def test_check_finds_placeholders_that_differ(project: tool.Layout, wrong: str) -> None:
    edit(po_of(project), "{n} 分钟前", wrong)
    tool.main(["compile", "--root", str(project.root)])
    (problem,) = tool.check(project, ("en", "zh_CN"))[0]
    assert problem.startswith("zh_CN: placeholders of '{n} min ago'")


def test_check_finds_a_fuzzy_translation(project: tool.Layout) -> None:
    edit(po_of(project), 'msgid "Hello"', '#, fuzzy\nmsgid "Hello"')
    tool.main(["compile", "--root", str(project.root)])
    (problem,) = tool.check(project, ("en", "zh_CN"))[0]
    assert "fuzzy" in problem and "'Hello'" in problem


def test_check_finds_languages_and_catalogues_that_disagree(project: tool.Layout) -> None:
    problems, _ = tool.check(project, ("en", "zh_CN", "fr"))
    assert problems == ["fr: in LANGUAGES but has no catalogue"]
    problems, _ = tool.check(project, ("en",))
    assert problems == ["zh_CN: a catalogue not in LANGUAGES"]


def test_make_i18n_twice_changes_nothing(
    project: tool.Layout, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [project.pot, po_of(project), po_of(project).with_suffix(".mo")]
    before = [path.read_bytes() for path in files]
    capsys.readouterr()
    for command in ("extract", "merge", "compile"):
        assert tool.main([command, "--root", str(project.root)]) == 0
    assert [path.read_bytes() for path in files] == before
    assert capsys.readouterr().out == ""  # nothing written


def test_init_starts_a_catalogue_from_the_template(project: tool.Layout) -> None:
    args = [
        "init",
        "fr",
        "--plural-forms",
        "nplurals=2; plural=(n > 1);",
        "--root",
        str(project.root),
    ]
    assert tool.main(args) == 0
    french = tool.parse_po((project.locale / "fr/LC_MESSAGES/fixflow.po").read_text())
    assert french.nplurals() == 2 and "Language: fr" in french.header
    assert {e.msgid: e.msgstr for e in french.entries} == {
        "Hello": [""],
        "{n} d": ["", ""],
        "{n} min ago": [""],
    }
    with pytest.raises(SystemExit):
        tool.main(args)  # never over a translator's work
