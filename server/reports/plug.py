"""How the KPIs plug in (server/domains.py): the cron job that refreshes the facts."""

from __future__ import annotations

from server.reports.jobs import JOBS

__all__ = ["JOBS"]
