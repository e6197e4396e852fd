"""kv rules written with ``_("...")`` follow a switch of language without being rebuilt."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from kivy.lang import Builder
from kivy.uix.label import Label

from mobile import i18n
from mobile.i18n import Translator
from mobile.ui.lang import KvTranslator, _

pytestmark = pytest.mark.usefixtures("window")

HEADER = "#:import _ mobile.ui.lang._\n"


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    i18n.set_language("en")
    yield
    i18n.set_language("en")


def label(rule: str) -> Label:
    """A Label built by kv from ``text: <rule>``."""
    widget = Builder.load_string(f"{HEADER}Label:\n    text: {rule}\n")
    assert isinstance(widget, Label)
    return widget


def test_a_kv_label_switches_language_in_place() -> None:
    today = label('_("Today")')
    assert today.text == "Today"

    _.switch_lang("zh_CN")
    assert today.text == "今日"
    assert _.language == i18n.current_language() == "zh_CN"

    _.switch_lang("en")
    assert today.text == "Today"


def test_a_switch_from_kivy_free_code_reaches_kv_too() -> None:
    sync = label('_("Last sync") + ": " + _("Never")')
    i18n.set_language("zh_CN")
    assert sync.text == "上次同步: 从未"


def test_plural_and_context_calls_in_kv_follow_too() -> None:
    ago = label('_.ngettext("{n} day ago", "{n} days ago", 2).format(n=2)')
    month = label('_.pgettext("month", "May")')
    assert (ago.text, month.text) == ("2 days ago", "May")
    _.switch_lang("zh_CN")
    assert (ago.text, month.text) == ("2 天前", "5月")


def test_a_rule_also_watching_its_widget_reruns_on_either() -> None:
    widget = Builder.load_string(
        HEADER + "Label:\n" + "    count: 3\n" + '    text: _("Parts") + " " + str(self.count)\n'
    )
    widget.count = 4
    assert widget.text == "Parts 4"
    _.switch_lang("zh_CN")
    assert widget.text == "备件 4"
    widget.count = 5
    assert widget.text == "备件 5"


def test_an_unknown_language_is_refused_and_nothing_changes() -> None:
    done = label('_("Done")')
    with pytest.raises(ValueError, match="fr"):
        _.switch_lang("fr")
    assert (done.text, _.language) == ("Done", "en")


def test_builder_unbinding_a_widget_releases_its_rule() -> None:
    gc.collect()  # the widgets earlier tests dropped
    before = _.observers
    save = label('_("Save")')
    assert _.observers == before + 1
    Builder.unbind_widget(save.uid)
    assert _.observers == before
    _.switch_lang("zh_CN")
    assert save.text == "Save"  # no longer redrawn


def test_a_collected_widget_releases_its_rule() -> None:
    gc.collect()
    before = _.observers
    cancel = label('_("Cancel")')
    assert _.observers == before + 1
    del cancel
    gc.collect()  # Kivy's widget destructor unbinds the widget's rules
    assert _.observers == before
    _.switch_lang("zh_CN")


def test_an_observer_whose_widget_is_gone_is_dropped() -> None:
    tr = KvTranslator(source := Translator())

    def dead(*args: Any) -> None:
        raise ReferenceError("weakly-referenced object no longer exists")

    tr.fbind("_", dead)
    source.set_language("zh_CN")
    assert tr.observers == 0


def test_the_observable_protocol() -> None:
    source = Translator()
    tr = KvTranslator(source)
    calls: list[tuple[Any, ...]] = []

    def seen(*args: Any, **kwargs: Any) -> None:
        calls.append((*args, kwargs))

    first = tr.fbind("_", seen, "a")
    tr.fbind("ngettext", seen, "b", key=1)
    tr.bind(_=seen)
    assert first and tr.observers == 3

    source.set_language("zh_CN")
    assert calls == [("a", tr, "zh_CN", {}), ("b", tr, "zh_CN", {"key": 1}), (tr, "zh_CN", {})]
    assert tr("Today") == "今日"

    tr.unbind_uid("_", first)
    tr.funbind("ngettext", seen, "b", key=1)
    tr.unbind(_=seen)
    assert tr.observers == 0
    calls.clear()
    source.set_language("en")
    assert calls == []
