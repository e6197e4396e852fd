"""Customers, their sites and assets (the equipment archive), their preferred engineers,
and the organisation's own service sites; ``engineer_reach`` is the hook through which work
orders say what an engineer may see; ``site_stock`` is how the parts domain gives a service
site its warehouse."""

from server.customers import service
from server.customers.models import Asset, Customer, PreferredEngineer, ServiceSite, Site
from server.customers.service import engineer_reach
from server.customers.service_sites.nearest import nearest_service_site, nearest_service_site_sql
from server.customers.service_sites.service import site_stock

__all__ = [
    "Asset",
    "Customer",
    "PreferredEngineer",
    "ServiceSite",
    "Site",
    "engineer_reach",
    "nearest_service_site",
    "nearest_service_site_sql",
    "service",
    "site_stock",
]
