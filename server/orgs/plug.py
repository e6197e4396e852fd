"""How the orgs domain plugs in (server/domains.py): log-in finds organisations here."""

from __future__ import annotations

from server import auth
from server.orgs.service import Tenants


def install() -> None:
    auth.tenants.fill(Tenants())
