"""Who acts when a customer writes through a public page: no user, no key.

A customer page acts as the organisation's own integration (``role=None``) holding only
``tickets:read`` and ``tickets:write``, labelled ``customer:qr`` or ``customer:status`` in
the audit trail (as the SLA sweep is ``system:sla``). It can create a work order and add
to one, nothing else; which work order or asset the token opens is decided before."""

from __future__ import annotations

import uuid
from typing import Literal

from server.auth import Actor

Source = Literal["qr", "status"]


def customer_actor(org_id: uuid.UUID, source: Source) -> Actor:
    return Actor(
        org_id=org_id,
        role=None,
        scopes=frozenset({"tickets:read", "tickets:write"}),
        label=f"customer:{source}",
    )
