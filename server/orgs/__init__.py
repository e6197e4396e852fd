"""Organisations (tenants): their settings, time zone and local dates."""

from server.orgs import service
from server.orgs.models import Organisation

__all__ = [
    "Organisation",
    "service",
]
