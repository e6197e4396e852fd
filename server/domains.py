"""The domains, lowest first, and how each plugs in (docs/architecture.md).

A domain imports only the domains below it on this ladder, through their face (the package
``__init__``); tests/test_architecture.py computes the import graph from the code and fails
on a loop or on an import past a face. When a lower domain must make something happen
higher up, the higher domain's ``plug.py`` plugs into a hook of the lower one
(``server.hooks``) in ``install()``. A ``plug.py`` also names the domain's worker jobs
(``JOBS``) and subscribes its outbox handlers (``server.events.subscribe``) in
``install()``. This module is the one list of plugs: the API (server/main.py), the worker
(server/worker.py), the CLI and the tests call ``install()`` before any request or job.
"""

from __future__ import annotations

from types import ModuleType

from server import hooks
from server.attachments import plug as attachments
from server.customers import plug as customers
from server.dispatch import plug as dispatch
from server.engineers import plug as engineers
from server.escalation import plug as escalation
from server.events import plug as events
from server.field import plug as field
from server.jobs import Job
from server.notify import plug as notify
from server.orgs import plug as orgs
from server.parts import plug as parts
from server.reports import plug as reports
from server.surveys import plug as surveys
from server.sync import plug as sync
from server.tickets import plug as tickets
from server.webhooks import plug as webhooks

# Lowest first (the full ladder, with the domains that need no plug, is LADDER).
PLUGS: tuple[ModuleType, ...] = (
    events,
    orgs,
    engineers,
    customers,
    tickets,
    attachments,
    parts,
    field,
    sync,
    dispatch,
    escalation,
    surveys,
    notify,
    webhooks,
    reports,
)
LADDER = (
    "events",
    "idempotency",
    "auth",
    "orgs",
    "links",
    "pages",
    "engineers",
    "customers",
    "tickets",
    "attachments",
    "parts",
    "field",
    "sync",
    "service_report",
    "ops",
    "dispatch",
    "escalation",
    "surveys",
    "notify",
    "webhooks",
    "portal",
    "reports",
)
_installed = False


def install() -> None:
    """Plug every domain into the hooks of those below it (once per process)."""
    global _installed
    if _installed:
        return
    for plug in PLUGS:
        if hasattr(plug, "install"):
            plug.install()
    hooks.seal()
    _installed = True


def jobs() -> tuple[Job, ...]:
    """Every domain's worker jobs."""
    return tuple(job for plug in PLUGS for job in getattr(plug, "JOBS", ()))
