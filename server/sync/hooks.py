"""What the sync domain asks of the domains above it (``server.hooks``, ADR 10).

- ``claim_pool``: the work orders open for claim that an engineer qualifies for, as rows
  (``claimable`` entity, server/sync/claimables.py). Dispatch decides who qualifies
  (skills, territory, shifts, declines); sync only sends what it is given, read when the
  pull runs. Filled by ``server.dispatch.plug``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.hooks import Slot

# (session, the engineer's actor) -> the pool, best first: each row a mapping with ``id``
# (the work order's) and the fields of ``claimables.FIELDS`` (others are not sent).
ClaimPool = Callable[[AsyncSession, Actor], Awaitable[list[Mapping[str, Any]]]]

claim_pool: Slot[ClaimPool] = Slot("sync.claim_pool")
