"""Customers, their sites and assets (the equipment archive); ``engineer_reach`` is the
hook through which work orders say what an engineer may see."""

from server.customers import service
from server.customers.models import Asset, Customer, Site
from server.customers.service import engineer_reach

__all__ = [
    "Asset",
    "Customer",
    "Site",
    "engineer_reach",
    "service",
]
