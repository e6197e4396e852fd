"""A work order's nearest service site: the one rule, written for the ORM and for
hand-written SQL (the work-order hot path, server/tickets/creation.py).

Nearest by great-circle distance from the customer site's coordinates to each active
service site of the organisation; none when the site has no coordinates (or there is no
site) or the organisation has no active service site. Sites are ordered by the haversine
term ``hav = sin²(Δφ/2) + cos φ1 · cos φ2 · sin²(Δλ/2)`` rather than the distance
``2R·asin(√hav)``: the distance grows with it, and rounding can push ``hav`` a hair above 1,
where ``asin`` fails. Ties go to the lower id, so both forms choose the same site.
tests/server/tickets/test_creation.py compares what the two write.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ScalarSelect, and_, func, select
from sqlalchemy.orm import aliased

from server.customers.models import ServiceSite, Site


def _hav(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    half_dlat = func.sin(func.radians(lat2 - lat1) / 2)
    half_dlon = func.sin(func.radians(lon2 - lon1) / 2)
    return func.power(half_dlat, 2) + func.cos(func.radians(lat1)) * func.cos(
        func.radians(lat2)
    ) * func.power(half_dlon, 2)


def nearest_service_site(site_id: Any, org_id: Any) -> ScalarSelect[Any]:
    """The id of the nearest active service site to the site ``site_id`` (a value or a
    column) of the organisation ``org_id``, as a scalar subquery (NULL when none)."""
    site = aliased(Site)
    return (
        select(ServiceSite.id)
        .join(site, and_(site.id == site_id, site.org_id == org_id))
        .where(
            ServiceSite.org_id == org_id,
            ServiceSite.active.is_(True),
            site.lat.is_not(None),
            site.lon.is_not(None),
        )
        .order_by(_hav(site.lat, site.lon, ServiceSite.lat, ServiceSite.lon), ServiceSite.id)
        .limit(1)
        .scalar_subquery()
    )


def nearest_service_site_sql(site_id: str, org_id: str) -> str:
    """``nearest_service_site`` as SQL text for a hand-written statement: ``site_id`` and
    ``org_id`` are SQL expressions of the statement (parameters such as ``$2``)."""
    hav = (
        "power(sin(radians(ss.lat - ns.lat) / 2), 2) + cos(radians(ns.lat)) "
        "* cos(radians(ss.lat)) * power(sin(radians(ss.lon - ns.lon) / 2), 2)"
    )
    return f"""(SELECT ss.id FROM service_sites ss
                  JOIN sites ns ON ns.id = {site_id} AND ns.org_id = {org_id}
                 WHERE ss.org_id = {org_id} AND ss.active
                   AND ns.lat IS NOT NULL AND ns.lon IS NOT NULL
                 ORDER BY {hav}, ss.id
                 LIMIT 1)"""  # noqa: S608 (SQL expressions of our own statements)
