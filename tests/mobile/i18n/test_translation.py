"""Choosing and switching the app's language (Kivy-free)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mobile import i18n
from mobile.i18n import LANGUAGES, Translator, language_for, language_from_environment


@pytest.mark.parametrize(
    "tag",
    [
        "zh",
        "zh-CN",
        "zh_CN",
        "zh_CN.UTF-8",
        "zh-Hans-CN",
        "zh-Hans",
        "zh-TW",
        "zh_HK",
        "zh-Hant-TW",
        "zh_TW.Big5@stroke",
        "ZH-cn",
        " zh-SG ",
        "Chinese (Simplified)_China.936",  # Windows' locale.getlocale()
        "zho",
    ],
)
def test_every_chinese_locale_gets_the_chinese_catalogue(tag: str) -> None:
    assert language_for(tag) == "zh_CN"


@pytest.mark.parametrize(
    "tag",
    [
        None,
        "",
        "en",
        "en-US",
        "en_GB.UTF-8",
        "fr-FR",
        "de",
        "ja-JP",
        "C",
        "POSIX",
        "zz",
        "-_.@",
        "z",
    ],
)
def test_everything_else_gets_english(tag: str | None) -> None:
    assert language_for(tag) == "en"


def test_the_desktop_locale_is_read_in_gettexts_order() -> None:
    assert language_from_environment({"LANG": "zh_CN.UTF-8"}) == "zh_CN"
    assert language_from_environment({"LANGUAGE": "en_US:zh_CN", "LANG": "zh_CN.UTF-8"}) == "en"
    assert language_from_environment({"LC_ALL": "C", "LANG": "zh_TW.UTF-8"}) == "zh_CN"
    assert language_from_environment({"LC_MESSAGES": "zh_CN", "LANG": "en_US"}) == "zh_CN"
    assert language_from_environment({}) == "en"


def test_english_is_the_source_and_chinese_the_catalogue() -> None:
    english, chinese = Translator("en"), Translator("zh_CN")
    assert (english.gettext("Today"), chinese.gettext("Today")) == ("Today", "今日")
    assert english.ngettext("{n} day ago", "{n} days ago", 1) == "{n} day ago"
    assert english.ngettext("{n} day ago", "{n} days ago", 2) == "{n} days ago"
    assert chinese.ngettext("{n} day ago", "{n} days ago", 1) == "{n} 天前"
    assert chinese.ngettext("{n} day ago", "{n} days ago", 5) == "{n} 天前"
    assert (english.pgettext("month", "May"), chinese.pgettext("month", "May")) == ("May", "5月")
    assert chinese.gettext("a string nobody translated") == "a string nobody translated"


def test_a_switch_tells_the_listeners_once() -> None:
    translator = Translator()
    heard: list[str] = []
    translator.add_listener(heard.append)
    translator.set_language("zh_CN")
    translator.set_language("zh_CN")  # no change: no news
    translator.set_language("en")
    assert heard == ["zh_CN", "en"]
    translator.remove_listener(heard.append)
    translator.remove_listener(heard.append)  # twice is harmless
    translator.set_language("zh_CN")
    assert heard == ["zh_CN", "en"]


def test_an_unknown_language_is_refused_and_changes_nothing() -> None:
    translator = Translator("zh_CN")
    heard: list[str] = []
    translator.add_listener(heard.append)
    for code in ("fr", "zh", "zh_TW", ""):
        with pytest.raises(ValueError, match="no catalogue"):
            translator.set_language(code)
    assert (translator.language, translator.gettext("Done"), heard) == ("zh_CN", "已完成", [])
    with pytest.raises(ValueError):
        Translator("de")


def test_a_missing_compiled_catalogue_is_an_error_not_english(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Translator("zh_CN", localedir=tmp_path)
    assert Translator("en", localedir=tmp_path).gettext("Today") == "Today"


@pytest.fixture
def app_language() -> Iterator[None]:
    yield
    i18n.set_language("en")


@pytest.mark.usefixtures("app_language")
def test_underscore_translates_in_the_language_current_at_call_time() -> None:
    from mobile.i18n import _  # as mobile.core imports it: once, at the top

    assert (_("Accept"), i18n.current_language()) == ("Accept", "en")
    i18n.set_language("zh_CN")
    assert _("Accept") == "接受"
    assert i18n.ngettext("{n} day ago", "{n} days ago", 3) == "{n} 天前"
    assert i18n.pgettext("weekday", "Sun") == "周日"
    assert i18n.gettext("Accept") == "接受"
    assert i18n.N_("Accept") == "Accept"  # marked, not translated


@pytest.mark.usefixtures("app_language")
def test_the_app_translator_tells_its_listeners() -> None:
    heard: list[str] = []
    i18n.add_listener(heard.append)
    try:
        i18n.set_language("zh_CN")
    finally:
        i18n.remove_listener(heard.append)
    i18n.set_language("en")
    assert heard == ["zh_CN"]


def test_there_are_the_two_languages() -> None:
    assert LANGUAGES == ("en", "zh_CN") and i18n.DEFAULT == "en"


def test_the_package_needs_the_standard_library_only() -> None:
    """It runs on the phone and under the Kivy-free packages: no Kivy, no third party."""
    code = (
        "import sys; before = set(sys.modules); import mobile.i18n; "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded = {name.split(".")[0] for name in result.stdout.split()}
    assert "mobile" in loaded
    assert loaded - {"mobile"} <= set(sys.stdlib_module_names), loaded - set(
        sys.stdlib_module_names
    )
