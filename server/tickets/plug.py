"""How the tickets domain plugs in (server/domains.py): an engineer sees the customers,
sites and assets of their work orders; the SLA sweep runs in the worker."""

from __future__ import annotations

from server import customers
from server.tickets.jobs import JOBS
from server.tickets.service import engineer_reaches

__all__ = ["JOBS", "install"]


def install() -> None:
    customers.engineer_reach.fill(engineer_reaches)
