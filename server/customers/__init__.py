"""Customers, their sites and assets (the equipment archive), their preferred engineers,
and the organisation's own service sites; ``engineer_reach`` is the hook through which work
orders say what an engineer may see."""

from server.customers import service
from server.customers.models import Asset, Customer, PreferredEngineer, ServiceSite, Site
from server.customers.service import engineer_reach

__all__ = [
    "Asset",
    "Customer",
    "PreferredEngineer",
    "ServiceSite",
    "Site",
    "engineer_reach",
    "service",
]
