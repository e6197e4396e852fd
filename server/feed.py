"""The change feed's row format: the one home of every statement that writes ``sync_changes``.

A feed row says "``entity`` ``entity_id`` changed (``op``) for ``scope``" (docs/sync.md).
The scopes are spelt here:

    engineer:<engineer id>   an engineer's work orders, their records and what they reference
    client:<client id>       an installation's acknowledgements of its pushed mutations
    catalogue                the organisation's parts and checklist templates, every engineer's

The ORM capture (server/sync/capture.py) and the hand-written statements of the hot paths
(server/fastpaths.py) build their feed SQL from this module: the columns, the scope
spellings, and how a scope is resolved through a work order (``for_assignee``; the capture's
routes in ``from_notes``). It is a core module so that the domains below sync (tickets,
field) write feed rows without importing ``server.sync``. Each helper returns SQL text, put
together once at import time, so a hot path's statement is the same one statement it was.
"""

from __future__ import annotations

import uuid

TABLE = "sync_changes"
COLUMNS = ("org_id", "scope", "entity", "entity_id", "op")
INSERT = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)})"

CATALOGUE = "catalogue"
_ENGINEER = "engineer:"
_CLIENT = "client:"

# What happened to the entity: put (changed or new), delete, scope (its membership may have
# changed: the pull sends its dependents too), ack (a pushed mutation was settled).
PUT, DELETE, SCOPE, ACK = "put", "delete", "scope", "ack"

# Work orders in these statuses are finished: they stay in scope for SYNC_RECENT_DAYS.
FINISHED = ("resolved", "closed", "cancelled")


def engineer_scope(engineer_id: uuid.UUID | str) -> str:
    return f"{_ENGINEER}{engineer_id}"


def client_scope(client_id: uuid.UUID | str) -> str:
    return f"{_CLIENT}{client_id}"


def engineer_scope_sql(engineer_id: str) -> str:
    """``engineer_scope`` in SQL, of an expression of the engineer's id."""
    return f"'{_ENGINEER}' || {engineer_id}"


def literal(value: str) -> str:
    """A constant (an entity name, an op) as an SQL string literal."""
    assert "'" not in value and "\\" not in value, value
    return f"'{value}'"


def insert_values(org: str, scope: str, entity: str, entity_id: str, op: str) -> str:
    """One feed row; each argument an SQL expression."""
    return f"{INSERT}\nVALUES ({org}, {scope}, {entity}, {entity_id}, {op})"


def insert_select(
    org: str,
    scope: str,
    entity: str,
    entity_id: str,
    op: str,
    *,
    source: str,
    where: str | None = None,
    distinct: bool = False,
) -> str:
    """A feed row per row of ``source`` (a FROM clause); each other argument an SQL
    expression over it."""
    select = "SELECT DISTINCT" if distinct else "SELECT"
    sql = f"{INSERT}\n{select} {org}, {scope}, {entity}, {entity_id}, {op}\n  FROM {source}"
    return sql if where is None else f"{sql}\n WHERE {where}"


def for_assignee(
    assignee_id: str,
    *,
    org: str,
    entity: str,
    entity_id: str,
    op: str = literal(PUT),
    source: str,
    where: str | None = None,
    distinct: bool = False,
) -> str:
    """A feed row per row of ``source`` for the engineer its work order is assigned to
    (``assignee_id``: an SQL expression of the work order's assignee), none while the work
    order has nobody: what the ORM capture writes for a work order and its records."""
    guard = f"{assignee_id} IS NOT NULL"
    return insert_select(
        org,
        engineer_scope_sql(assignee_id),
        entity,
        entity_id,
        op,
        source=source,
        where=guard if where is None else f"{guard}\n   AND ({where})",
        distinct=distinct,
    )


# --- the ORM capture's notes: any number of feed rows in one statement per route -----------
#
# A note names its scope directly (route ``scope``) or the row its scopes follow from:
#
#     via        scope(s)
#     scope      the scope named
#     ticket     engineer:<assignee> of that work order
#     visit      engineer:<assignee> of the visit's work order
#     customer   engineer:<assignee> of every work order in scope that references it
#     site       (same)
#     asset      (same)
#
# The notes are read from arrays (bound as :orgs, :keys, :entities, :ids, :ops) as
# n(org_id, key, entity, entity_id, op); the reference routes also take :recent_days.

VIAS = ("scope", "ticket", "visit", "customer", "site", "asset")
# The work order ``t`` whose assignee the scope is, from the note's row ``n.key``.
WORK_ORDER_OF = {
    "ticket": "JOIN tickets t ON t.id = n.key AND t.org_id = n.org_id",
    "visit": (
        "JOIN visits v ON v.id = n.key AND v.org_id = n.org_id\n"
        "  JOIN tickets t ON t.id = v.ticket_id"
    ),
}
# The work orders' column that references a customer, site or asset.
REFERENCE_COLUMN = {"customer": "customer_id", "site": "site_id", "asset": "asset_id"}
# Work in an engineer's scope: open, or finished within the recent window.
_IN_SCOPE = (
    f"t.status NOT IN ({', '.join(literal(s) for s in FINISHED)})\n"
    "        OR t.updated_at >= now() - make_interval(days => :recent_days)"
)


def _notes(key_type: str) -> str:
    return (
        f"unnest(CAST(:orgs AS uuid[]), CAST(:keys AS {key_type}[]), "
        "CAST(:entities AS text[]),\n"
        "              CAST(:ids AS text[]), CAST(:ops AS text[]))\n"
        "       AS n(org_id, key, entity, entity_id, op)"
    )


def from_notes(via: str) -> str:
    """The statement that writes the feed rows of the notes routed ``via``."""
    row = ("n.entity", "n.entity_id", "n.op")
    if via == "scope":
        return insert_select("n.org_id", "n.key", *row, source=_notes("text"))
    entity, entity_id, op = row
    if via in WORK_ORDER_OF:
        source = f"{_notes('uuid')}\n  {WORK_ORDER_OF[via]}"
    else:
        column = REFERENCE_COLUMN[via]
        source = f"{_notes('uuid')}\n  JOIN tickets t ON t.org_id = n.org_id AND t.{column} = n.key"
    return for_assignee(
        "t.assignee_id",
        org="n.org_id",
        entity=entity,
        entity_id=entity_id,
        op=op,
        source=source,
        where=None if via in WORK_ORDER_OF else _IN_SCOPE,
        distinct=via not in WORK_ORDER_OF,
    )
