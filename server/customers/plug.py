"""How the customers domain plugs in (server/domains.py): an engineer's day starts and ends
at one of the organisation's service sites (engineers.service_site_check)."""

from __future__ import annotations

from server import engineers
from server.customers.service_sites.service import problem_with


def install() -> None:
    engineers.service_site_check.fill(problem_with)
