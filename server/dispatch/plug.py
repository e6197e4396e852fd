"""How dispatch plugs in (server/domains.py): it fills sync's claim pool."""

from __future__ import annotations

from server import sync
from server.dispatch import pool


def install() -> None:
    sync.claim_pool.fill(pool.claim_pool)
