"""Which catalogue the app speaks, and the switch between them.

The source strings are English, so English needs no catalogue: it is gettext's
``NullTranslations`` (which also applies English plural rules). Every other language is a
compiled ``locale/<code>/LC_MESSAGES/fixflow.mo`` next to this module, built from its ``.po`` by
``make i18n`` and committed, because the phone's build has no gettext tools.

A ``Translator`` looks the current language up at every call, so a string translated after
``set_language`` is in the new language; what was already on screen is redrawn by the listeners
(the Kivy side, ``mobile.ui.lang``, re-runs its kv rules from one).
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from pathlib import Path

DOMAIN = "fixflow"
LOCALEDIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "zh_CN")
DEFAULT = "en"

Listener = Callable[[str], None]


def language_for(tag: str | None) -> str:
    """The catalogue for a locale tag as phones and desktops spell it.

    Accepts BCP 47 (``zh-Hans-CN``, Android's ``Locale.toLanguageTag()``), POSIX
    (``zh_CN.UTF-8``, ``zh_TW@stroke``) and Windows names (``Chinese (Simplified)_China.936``).
    Every Chinese locale, Traditional ones included, gets ``zh_CN``: it is the only Chinese
    catalogue, and Simplified Chinese is far closer to what a Taiwan or Hong Kong reader
    expects than English is. Anything else, ``None`` or garbage gets English.
    """
    if not tag:
        return DEFAULT
    primary = tag.strip().lower().replace("-", "_").split(".")[0].split("@")[0].split("_")[0]
    if primary in ("zh", "zho", "chi") or primary.startswith("chinese"):
        return "zh_CN"
    return DEFAULT


def language_from_environment(environ: dict[str, str]) -> str:
    """The catalogue for a desktop's locale, read from the variables gettext itself reads, in
    its order (``LANGUAGE`` may be a colon-separated preference list: its first entry wins).

    A phone's locale does not come from here (Android sets no ``LANG`` for the app): the app
    passes ``Locale.getDefault().toLanguageTag()`` to ``language_for``.
    """
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "").split(":")[0]
        if value and value not in ("C", "POSIX"):
            return language_for(value)
    return DEFAULT


def load_catalogue(code: str, localedir: Path = LOCALEDIR) -> gettext.NullTranslations:
    """The compiled catalogue of a language; English, the source language, needs none."""
    if code not in LANGUAGES:
        raise ValueError(f"no catalogue for language {code!r}; known: {', '.join(LANGUAGES)}")
    if code == DEFAULT:
        return gettext.NullTranslations()
    with (localedir / code / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as fp:
        return gettext.GNUTranslations(fp)


class Translator:
    """The app's current language and its catalogue, with listeners told of a switch."""

    def __init__(self, language: str = DEFAULT, localedir: Path = LOCALEDIR) -> None:
        self._localedir = localedir
        self._catalogues: dict[str, gettext.NullTranslations] = {}
        self._listeners: list[Listener] = []
        self._language = language
        self._catalogue = self._load(language)

    def _load(self, code: str) -> gettext.NullTranslations:
        if code not in self._catalogues:
            self._catalogues[code] = load_catalogue(code, self._localedir)
        return self._catalogues[code]

    @property
    def language(self) -> str:
        """The code of the current language, one of ``LANGUAGES``."""
        return self._language

    def set_language(self, code: str) -> None:
        """Switch language and tell every listener; an unknown code is a ``ValueError`` and
        changes nothing. Setting the current language again tells no one."""
        catalogue = self._load(code)
        if code == self._language:
            return
        self._language, self._catalogue = code, catalogue
        for listener in list(self._listeners):
            listener(code)

    def add_listener(self, callback: Listener) -> None:
        """Call ``callback(code)`` after each switch of language."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Listener) -> None:
        """Stop calling ``callback``; one that was never added is ignored."""
        if callback in self._listeners:
            self._listeners.remove(callback)

    def gettext(self, msgid: str) -> str:
        """``msgid`` in the current language (itself when untranslated)."""
        return self._catalogue.gettext(msgid)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form for ``n`` of a message with a plural, in the current language."""
        return self._catalogue.ngettext(singular, plural, n)

    def pgettext(self, context: str, msgid: str) -> str:
        """``msgid`` in the current language, told apart from the same English in another
        ``context`` (``pgettext("month", "May")``)."""
        return self._catalogue.pgettext(context, msgid)


# The app's one translator: ``mobile.i18n._`` and the kv ``_`` both read it, so a switch of
# language reaches Python and kv alike.
translator = Translator()
