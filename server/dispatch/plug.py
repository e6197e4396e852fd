"""How dispatch plugs in (server/domains.py): the day plan's solve runs in the worker."""

from __future__ import annotations

from server.dispatch.plans.jobs import JOBS

__all__ = ["JOBS"]
