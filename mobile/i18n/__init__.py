"""The app's languages (English, Simplified Chinese): gettext catalogues and formatters.

Standard library only: it runs on the phone and in the Kivy-free packages. Mark a string with
``from mobile.i18n import _`` then ``_("Accept")``; the call translates into the language
current *at call time*, so keep ``_()`` calls where the text is shown, not in module-level
constants. kv files use ``mobile.ui.lang._`` instead, which also redraws on a switch.
See docs/translations.md.
"""

from mobile.i18n.formats import (
    format_ago,
    format_countdown,
    format_distance,
    format_duration,
    format_quantity,
    format_window,
)
from mobile.i18n.translation import (
    DEFAULT,
    DOMAIN,
    LANGUAGES,
    LOCALEDIR,
    Listener,
    Translator,
    language_for,
    language_from_environment,
    load_catalogue,
    translator,
)


def gettext(msgid: str) -> str:
    """``msgid`` in the app's current language."""
    return translator.gettext(msgid)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form for ``n`` in the app's current language."""
    return translator.ngettext(singular, plural, n)


def pgettext(context: str, msgid: str) -> str:
    """``msgid`` in ``context``, in the app's current language."""
    return translator.pgettext(context, msgid)


_ = gettext


def N_(msgid: str) -> str:  # gettext's own name for it
    """Mark ``msgid`` for extraction and return it untranslated: for texts defined at import
    (a table of reasons), translated with ``_(text)`` where they are shown."""
    return msgid


def current_language() -> str:
    """The app's current language code, one of ``LANGUAGES``."""
    return translator.language


def set_language(code: str) -> None:
    """Switch the app's language (``ValueError`` for a code not in ``LANGUAGES``)."""
    translator.set_language(code)


def add_listener(callback: Listener) -> None:
    """Call ``callback(code)`` after each switch of the app's language."""
    translator.add_listener(callback)


def remove_listener(callback: Listener) -> None:
    """Stop telling ``callback`` of switches."""
    translator.remove_listener(callback)


__all__ = [
    "DEFAULT",
    "DOMAIN",
    "LANGUAGES",
    "LOCALEDIR",
    "N_",
    "Listener",
    "Translator",
    "_",
    "add_listener",
    "current_language",
    "format_ago",
    "format_countdown",
    "format_distance",
    "format_duration",
    "format_quantity",
    "format_window",
    "gettext",
    "language_for",
    "language_from_environment",
    "load_catalogue",
    "ngettext",
    "pgettext",
    "remove_listener",
    "set_language",
    "translator",
]
