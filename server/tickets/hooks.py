"""The work-order lifecycle's hooks: what higher domains plug into a transition.

- **Guards** run before a transition, after the caller's right to run it and the state
  machine have said yes; a guard sees what the caller asked (the ``TransitionIn``: the
  action, the engineer to assign, ``force``) and refuses by raising (field: resolve needs
  the required checklist items answered, 409 ``checklist_incomplete``; dispatch: assigning
  an engineer who declined the work order, 409 ``engineer_declined``).
- **Listeners** run after the transition is decided (the work order shows its side effects:
  a rejected one has no engineer any more) and before its event is written; they see the
  ``TransitionIn`` too, and what a listener returns is added to the event's ``changes``
  (parts: cancel and close release the work order's reservations,
  ``reservations_released``; dispatch: reject records the decline, ``declined_by``).

Both run in the transition's transaction, so a refusal or an error undoes everything.
Actions with a guard or listener never take the light path (server/tickets/service.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.hooks import Listeners
from server.tickets.models import Ticket
from server.tickets.schemas import TransitionIn
from shared.lifecycle import Action

Guard = Callable[[AsyncSession, Actor, Ticket, TransitionIn], Awaitable[None]]
Listener = Callable[[AsyncSession, Actor, Ticket, TransitionIn], Awaitable[dict[str, Any] | None]]

_guards: Listeners[Any] = Listeners("the work-order lifecycle's guards")
_listeners: Listeners[Any] = Listeners("the work-order lifecycle's listeners")
# The actions something is hooked to, kept as hooks come and go: the light path asks on
# every accept, start travel and arrive.
_hooked: Counter[Action] = Counter()


def guard(*actions: Action) -> Callable[[Guard], Guard]:
    """Register ``fn`` to run before each of ``actions``."""

    def add(fn: Guard) -> Guard:
        _add(_guards, frozenset(actions), fn)
        return fn

    return add


def listener(*actions: Action) -> Callable[[Listener], Listener]:
    """Register ``fn`` to run after each of ``actions`` is decided."""

    def add(fn: Listener) -> Listener:
        _add(_listeners, frozenset(actions), fn)
        return fn

    return add


def _add(hooks: Listeners[Any], actions: frozenset[Action], fn: Guard | Listener) -> None:
    before = len(hooks)
    hooks.add((actions, fn))
    if len(hooks) > before:  # installing twice adds nothing twice
        _hooked.update(actions)


def remove(fn: Guard | Listener) -> None:
    """Take ``fn`` out again (a test's own hook)."""
    for hooks in (_guards, _listeners):
        for entry in [e for e in hooks if e[1] is fn]:
            hooks.remove(entry)
            _hooked.subtract(entry[0])


def hooked(action: Action) -> bool:
    """Whether any guard or listener runs for ``action`` (an error before start-up)."""
    if not _guards.sealed:
        raise RuntimeError(f"{_guards.name}: server.domains.install() has not run")
    return _hooked[action] > 0


async def run_guards(
    session: AsyncSession, actor: Actor, ticket: Ticket, data: TransitionIn
) -> None:
    for actions, fn in _guards:
        if data.action in actions:
            await fn(session, actor, ticket, data)


async def run_listeners(
    session: AsyncSession,
    actor: Actor,
    ticket: Ticket,
    data: TransitionIn,
    changes: dict[str, Any],
) -> None:
    for actions, fn in _listeners:
        if data.action in actions:
            changes.update(await fn(session, actor, ticket, data) or {})
