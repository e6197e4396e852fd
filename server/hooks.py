"""How a lower domain reaches a higher one without importing it.

The domains form a ladder (docs/architecture.md): a domain imports only the ones below it.
When a lower domain must make something happen higher up (resolving a work order needs the
checklist, closing one releases its parts, a new engineer gets a van), it declares a hook
here and the higher domain plugs into it at start-up (its ``plug.py``, called by
``server.domains.install``). Everything a hook runs runs in the caller's transaction.

- ``Listeners``: any number of functions, run in the order they were added.
- ``Slot``: exactly one provider; asking an empty slot is a programming error that says
  which start-up step was missed (never a silent default).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, TypeVar

F = TypeVar("F")

_ALL: list[Slot[Any] | Listeners[Any]] = []
_MISSING = (
    "nothing is plugged into {name}: the process did not call server.domains.install() at start-up"
)


class Slot(Generic[F]):
    """One function a higher domain provides (``fill``) and a lower one calls (``get``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._fn: F | None = None
        _ALL.append(self)

    def fill(self, fn: F) -> F:
        """Plug ``fn`` in (again: the same function is accepted, another one replaces it,
        so a test may plug in its own)."""
        self._fn = fn
        return fn

    @property
    def filled(self) -> bool:
        return self._fn is not None

    def get(self) -> F:
        if self._fn is None:
            raise RuntimeError(_MISSING.format(name=self.name))
        return self._fn


class Listeners(Generic[F]):
    """Functions a higher domain adds (``add``) and a lower one runs in order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._fns: list[F] = []
        self._sealed = False
        _ALL.append(self)

    def add(self, fn: F) -> F:
        if fn not in self._fns:  # installing twice adds nothing twice
            self._fns.append(fn)
        return fn

    def remove(self, fn: F) -> None:
        self._fns.remove(fn)

    @property
    def sealed(self) -> bool:
        return self._sealed

    def seal(self) -> None:
        """Mark the start-up as done: from now on running the listeners is allowed."""
        self._sealed = True

    def __iter__(self) -> Iterator[F]:
        if not self._sealed:
            raise RuntimeError(_MISSING.format(name=self.name))
        return iter(tuple(self._fns))

    def __len__(self) -> int:
        return len(self._fns)


def seal() -> None:
    """The start-up is done (``server.domains.install``): listeners may run; every slot
    must be filled by now."""
    empty = [hook.name for hook in _ALL if isinstance(hook, Slot) and not hook.filled]
    if empty:
        raise RuntimeError(f"nothing is plugged into {', '.join(empty)}")
    for hook in _ALL:
        if isinstance(hook, Listeners):
            hook.seal()
