"""tools/pofile.py: the .po reader and writer and the .mo compiler."""

from __future__ import annotations

import gettext
import io
import textwrap

import pytest

from tests.mobile.i18n.helpers import load_tool

pofile = load_tool("pofile")

PO = textwrap.dedent(
    r"""
    # Test catalogue.
    msgid ""
    msgstr ""
    "Project-Id-Version: fixflow\n"
    "Content-Type: text/plain; charset=UTF-8\n"
    "Language: xx\n"
    "Plural-Forms: nplurals=2; plural=(n != 1);\n"

    # a translator's note
    #: mobile/a.py:3
    #: mobile/b.kv:7
    msgid "Hello"
    msgstr "Hallo"

    #: mobile/a.py:4
    #, python-brace-format
    msgid "{n} job"
    msgid_plural "{n} jobs"
    msgstr[0] "{n} Auftrag"
    msgstr[1] "{n} Aufträge"

    msgid "Say \"hi\"\tnow"
    msgstr ""
    "Sag \"hallo\"\n"
    "und \\ geh"

    #, fuzzy
    msgid "Unsure"
    msgstr "Unsicher"

    msgid "Untranslated"
    msgstr ""

    msgctxt "month"
    msgid "May"
    msgstr "Mai"

    #~ msgid "Gone"
    #~ msgstr "Weg"
    """
).lstrip()


def test_a_po_file_reads_and_writes_back_the_same() -> None:
    catalogue = pofile.parse_po(PO)
    assert pofile.format_po(catalogue) == PO
    hello, job, say, unsure, untranslated, may, gone = catalogue.entries
    assert hello.references == ["mobile/a.py:3", "mobile/b.kv:7"]
    assert hello.comments == ["a translator's note"]
    assert (job.msgid_plural, job.msgstr) == ("{n} jobs", ["{n} Auftrag", "{n} Aufträge"])
    assert (say.msgid, say.msgstr) == ('Say "hi"\tnow', ['Sag "hallo"\nund \\ geh'])
    assert unsure.flags == ["fuzzy"] and untranslated.msgstr == [""]
    assert (may.msgctxt, may.msgid) == ("month", "May")
    assert gone.obsolete and not may.obsolete
    assert catalogue.nplurals() == 2 and catalogue.comments == ["Test catalogue."]
    (joined,) = pofile.parse_po('#: a.py:1 b.kv:2\nmsgid "x"\nmsgstr ""\n').entries
    assert joined.references == ["a.py:1", "b.kv:2"]  # as other tools write them


@pytest.mark.parametrize(
    "broken",
    ['msgid "open', 'msgid "x"\nmsgstr "\\q"', 'msgid "x"\nmsgtxt "y"', '"floating"'],
)
def test_a_broken_po_file_is_refused_with_its_line(broken: str) -> None:
    with pytest.raises(ValueError, match=r"<po>:\d"):
        pofile.parse_po(broken)


def test_the_compiled_mo_is_what_gettext_reads() -> None:
    mo = pofile.compile_mo(pofile.parse_po(PO))
    catalogue = gettext.GNUTranslations(io.BytesIO(mo))
    assert catalogue.info()["language"] == "xx"
    assert catalogue.gettext("Hello") == "Hallo"
    assert catalogue.ngettext("{n} job", "{n} jobs", 1) == "{n} Auftrag"
    assert catalogue.ngettext("{n} job", "{n} jobs", 3) == "{n} Aufträge"
    assert catalogue.gettext('Say "hi"\tnow') == 'Sag "hallo"\nund \\ geh'
    assert catalogue.pgettext("month", "May") == "Mai"
    assert catalogue.gettext("May") == "May"  # the context keeps them apart
    for english in ("Unsure", "Untranslated", "Gone"):  # fuzzy, empty, obsolete: left out
        assert catalogue.gettext(english) == english
    assert mo == pofile.compile_mo(pofile.parse_po(PO))  # the same bytes each time
