"""kv's translation function: ``_("Today")`` in a kv rule, redrawn when the language changes.

Every kv file that shows text starts with ``#:import _ mobile.ui.lang._`` and writes
``text: _("Today")`` (``_.ngettext(...)`` and ``_.pgettext(...)`` work the same way). How that
redraws: when kv compiles a rule it looks for ``_(`` and for ``name.attr`` in the expression
and calls ``fbind(<attr>, callback, args)`` on each name that is a Kivy ``Observable``
(``kivy.lang.builder.create_handler``); the callback re-evaluates the rule and sets the
property. So ``_`` is an ``Observable`` that is also callable: its ``fbind`` keeps the rule's
callback, and a switch of language (``switch_lang`` here, or ``mobile.i18n.set_language``
from anywhere: this object listens to the app's translator) calls every callback, so each
label re-runs its rule without being rebuilt.

Text set from Python (``label.text = ...``) is not a rule: set it with a kv rule, or redo it
in a ``mobile.i18n.add_listener`` callback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.event import Observable

from mobile.i18n import Translator, translator

Callback = Callable[..., Any]


class KvTranslator(Observable):  # type: ignore[misc]  # kivy ships no type hints
    """The callable ``_`` of kv rules; every name bound on it is "the language changed"."""

    def __init__(self, source: Translator = translator) -> None:
        super().__init__()
        self._source = source
        self._observers: list[tuple[str, Callback, tuple[Any, ...], dict[str, Any], int]] = []
        self._last_uid = 0
        source.add_listener(self._redraw)

    def __call__(self, msgid: str) -> str:
        return self._source.gettext(msgid)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form for ``n``, for kv's ``_.ngettext("{n} part", "{n} parts", n)``."""
        return self._source.ngettext(singular, plural, n)

    def pgettext(self, context: str, msgid: str) -> str:
        """``msgid`` in ``context``, for kv's ``_.pgettext("month", "May")``."""
        return self._source.pgettext(context, msgid)

    @property
    def language(self) -> str:
        """The current language's code."""
        return self._source.language

    def switch_lang(self, code: str) -> None:
        """Switch the app's language; every bound kv rule re-runs (``ValueError`` for an
        unknown code, and nothing changes)."""
        self._source.set_language(code)

    # --- the Observable protocol the kv builder calls -------------------------------------

    def fbind(self, name: str, func: Callback, *largs: Any, **kwargs: Any) -> int:
        """Keep ``func`` to call as ``func(*largs, self, language, **kwargs)`` after each
        switch; returns the uid ``unbind_uid`` takes."""
        self._last_uid += 1
        self._observers.append((name, func, largs, kwargs, self._last_uid))
        return self._last_uid

    def funbind(self, name: str, func: Callback, *largs: Any, **kwargs: Any) -> None:
        """Forget the first observer bound with exactly these arguments."""
        for index, observer in enumerate(self._observers):
            if observer[:4] == (name, func, largs, kwargs):
                del self._observers[index]
                return

    def unbind_uid(self, name: str, uid: int) -> None:
        """Forget the observer ``fbind`` returned ``uid`` for."""
        self._observers = [o for o in self._observers if o[4] != uid]

    def bind(self, **kwargs: Callback) -> None:
        for name, func in kwargs.items():
            self.fbind(name, func)

    def unbind(self, **kwargs: Callback) -> None:
        for name, func in kwargs.items():
            self.funbind(name, func)

    @property
    def observers(self) -> int:
        """How many callbacks are bound (for tests and leak hunts)."""
        return len(self._observers)

    def _redraw(self, code: str) -> None:
        for _name, func, largs, kwargs, uid in list(self._observers):
            try:
                func(*largs, self, code, **kwargs)
            except ReferenceError:  # its widget was collected without unbinding: drop it
                self.unbind_uid(_name, uid)


_ = KvTranslator()
