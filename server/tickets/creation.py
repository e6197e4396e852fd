"""Creating a work order: one set of rules, written two ways.

The rules, whichever way the rows are written:
- the customer, and the site, asset and earlier work order (``repeat_of_id``) it names, are
  the caller's organisation's and fit together (``refs_verdict``: 422 naming the field);
  a work order for an asset without a site is at the asset's site;
- the SLA deadlines come from the customer's own policy for the priority, else the
  organisation's, counted on the policy's business calendar (server/tickets/sla.py), and
  the SLA state follows from them;
- the number is the organisation's next one (``ticket_counters``; gap-free, because the
  counter row changes in the request's transaction, which keeps it locked until the commit:
  so it is taken last, when every check has passed);
- ``search_text`` is the number, the title and the description, lower-cased;
- ``service_site_id`` is the nearest active service site to the work order's site
  (``customers.nearest_service_site``: one rule, read in the same statement as the
  references on both paths);
- one ``created`` event and its outbox twin (server/tickets/audit.py); a new work order has
  no assignee, so it is in nobody's sync change feed (server/sync/entities.py writes no row
  for it).

``create_now`` is the hot path (ADR 7; a back office creates work orders all day): one
statement reads what the rules need (the references, the SLA policy and its calendar), the
same Python functions decide, and one more statement takes the number and writes the work
order, its event and its outbox row, both straight through asyncpg on the request's
transaction (server/db.py ``driver``). The counter row is thus locked for one round trip
and the commit. ``create_orm`` is the reference path on the ORM; the hot path answers None
and leaves the work to it whenever a new work order would not be the plain case above (one
with an assignee, which the feed would have to hear of), and always when the fast paths are
off (it is ``tickets.create`` in server/fastpaths.py). tests/server/tickets/
test_creation.py compares what the two write, column by column.

Both return the work order as a persistent object of the session, so callers may go on
changing it through the ORM. One difference remains, in a case no caller has: if a
savepoint around the creation is rolled back, the ORM path's object is expunged (it was
new in the savepoint) while the hot path's is expired like any loaded object, and reading
it then fails because its row is gone.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from server import fastpaths
from server.auth import Actor
from server.customers import Asset, Customer, Site, nearest_service_site, nearest_service_site_sql
from server.db import driver, fetchrow
from server.errors import Unprocessable
from server.events import service as events
from server.tickets import audit, sla
from server.tickets.models import BusinessCalendar, SlaPolicy, SlaState, Ticket, TicketCounter
from server.tickets.schemas import TicketCreate
from shared.ids import uuid7
from shared.lifecycle import Status

CREATED = "created"  # the event's kind (and the outbox topic's suffix)


# --- the rules -----------------------------------------------------------------------------


def refs_verdict(
    found: Sequence[Any],
    *,
    customer_id: uuid.UUID,
    site_id: uuid.UUID | None,
    asset_id: uuid.UUID | None,
    repeat_of_id: uuid.UUID | None,
) -> None:
    """Refuse references that are not the caller's or do not fit together. ``found`` is what
    the look-up read in the caller's organisation: the customer's id, the site's customer,
    the asset's customer and site, the earlier work order's id (None where not found)."""
    found_customer, site_customer, asset_customer, asset_site, repeat = found[:5]
    if found_customer is None:
        raise Unprocessable(f"customer {customer_id} not found", field="customer_id")
    if site_id is not None:
        if site_customer is None:
            raise Unprocessable(f"site {site_id} not found", field="site_id")
        if site_customer != customer_id:
            raise Unprocessable("the site belongs to another customer", field="site_id")
    if asset_id is not None:
        if asset_customer is None:
            raise Unprocessable(f"asset {asset_id} not found", field="asset_id")
        if asset_customer != customer_id or (site_id is not None and asset_site != site_id):
            raise Unprocessable("the asset is not at this customer's site", field="asset_id")
    if repeat_of_id is not None and repeat is None:
        raise Unprocessable(f"work order {repeat_of_id} not found", field="repeat_of_id")


async def check_refs(
    session: AsyncSession,
    actor: Actor,
    *,
    customer_id: uuid.UUID,
    site_id: uuid.UUID | None,
    asset_id: uuid.UUID | None,
    repeat_of_id: uuid.UUID | None,
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """``refs_verdict`` on the ORM, every look-up in one round trip; the asset's site and
    the service site nearest to the work order's site (the one named, else the asset's)."""
    org = actor.org_id

    def scalar(column: Any, *where: Any) -> Any:
        return select(column).where(*where).limit(1).scalar_subquery()

    asset_site = scalar(Asset.site_id, Asset.id == asset_id, Asset.org_id == org)
    where = asset_site if site_id is None else literal(site_id, Site.id.type)
    row = (
        await session.execute(
            select(
                scalar(Customer.id, Customer.id == customer_id, Customer.org_id == org),
                scalar(Site.customer_id, Site.id == site_id, Site.org_id == org),
                scalar(Asset.customer_id, Asset.id == asset_id, Asset.org_id == org),
                asset_site,
                scalar(Ticket.id, Ticket.id == repeat_of_id, Ticket.org_id == org),
                nearest_service_site(where, org),
            )
        )
    ).one()
    refs_verdict(
        row,
        customer_id=customer_id,
        site_id=site_id,
        asset_id=asset_id,
        repeat_of_id=repeat_of_id,
    )
    return row[3], row[5]


def _site_of(data: TicketCreate, asset_site: uuid.UUID | None) -> uuid.UUID | None:
    """The site named, else the asset's (a work order for an asset is where the asset is)."""
    return asset_site if data.asset_id is not None and data.site_id is None else data.site_id


def search_tail(title: str, description: str) -> str:
    """``search_text`` after the number (lower-cased in Python on both paths: PostgreSQL's
    lower() depends on the database's locale)."""
    return f" {title} {description}".lower()


def search_text(ticket: Ticket) -> str:
    tail = search_tail(ticket.title, ticket.description)
    return audit.format_number(ticket.number).lower() + tail


def _new_ticket(
    actor: Actor,
    data: TicketCreate,
    *,
    site_id: uuid.UUID | None,
    service_site_id: uuid.UUID | None,
    now: dt.datetime,
) -> Ticket:
    """The work order before its SLA and number."""
    return Ticket(
        id=uuid7(),
        org_id=actor.org_id,
        status=Status.NEW.value,
        created_by=actor.label,
        created_at=now,
        updated_at=now,
        paused_seconds=0,
        open_for_claim=False,
        pinned=False,
        sla_state=SlaState.NONE.value,
        response_breached=False,
        resolution_breached=False,
        service_site_id=service_site_id,
        version=1,
        **{**data.model_dump(), "site_id": site_id},
    )


def _created_changes(data: TicketCreate) -> dict[str, Any]:
    return {"priority": data.priority.value, "customer_id": str(data.customer_id)}


def _with_sla(
    ticket: Ticket,
    found: tuple[SlaPolicy, BusinessCalendar | None] | None,
    *,
    now: dt.datetime,
    fraction: float,
) -> None:
    sla.set_deadlines(ticket, found)
    sla.refresh_state(ticket, now, fraction)


# --- the ORM path --------------------------------------------------------------------------


async def next_number(session: AsyncSession, org_id: uuid.UUID) -> int:
    stmt = (
        insert(TicketCounter)
        .values(org_id=org_id, last_number=1)
        .on_conflict_do_update(
            index_elements=[TicketCounter.org_id],
            set_={"last_number": TicketCounter.last_number + 1},
        )
        .returning(TicketCounter.last_number)
    )
    number: int = (await session.execute(stmt)).scalar_one()
    return number


async def create_orm(
    session: AsyncSession,
    actor: Actor,
    data: TicketCreate,
    *,
    now: dt.datetime,
    fraction: float,
) -> Ticket:
    asset_site, service_site = await check_refs(
        session,
        actor,
        customer_id=data.customer_id,
        site_id=data.site_id,
        asset_id=data.asset_id,
        repeat_of_id=data.repeat_of_id,
    )
    site_id = _site_of(data, asset_site)
    ticket = _new_ticket(actor, data, site_id=site_id, service_site_id=service_site, now=now)
    found = await sla.find_policy(
        session, org_id=actor.org_id, customer_id=data.customer_id, priority=ticket.priority
    )
    _with_sla(ticket, found, now=now, fraction=fraction)
    # Taken last: the per-organisation counter row stays locked until commit.
    ticket.number = await next_number(session, actor.org_id)
    ticket.search_text = search_text(ticket)
    session.add(ticket)
    audit.record(
        session,
        ticket,
        kind=CREATED,
        actor=actor.label,
        to_status=Status.NEW.value,
        changes=_created_changes(data),
    )
    return ticket


# --- the hot path --------------------------------------------------------------------------

_COLUMNS = tuple(attr.key for attr in sa_inspect(Ticket).column_attrs)
assert all(attr.key == attr.columns[0].name for attr in sa_inspect(Ticket).column_attrs), (
    "the hot path writes columns by attribute name"
)
# Written by the statement itself from the number it takes.
_FROM_NUMBER = ("number", "search_text")
_GIVEN = tuple(key for key in _COLUMNS if key not in _FROM_NUMBER)
# The references (what refs_verdict reads, in its order), the asset's site, the nearest
# service site, and the SLA policy find_policy would choose with its calendar.
# $1 customer, $2 site, $3 asset, $4 earlier work order, $5 priority, $6 organisation.
_READ = f"""
    SELECT (SELECT c.id FROM customers c WHERE c.id = $1 AND c.org_id = $6 LIMIT 1),
           (SELECT s.customer_id FROM sites s WHERE s.id = $2 AND s.org_id = $6 LIMIT 1),
           a.customer_id, a.site_id,
           (SELECT t.id FROM tickets t WHERE t.id = $4 AND t.org_id = $6 LIMIT 1),
           {nearest_service_site_sql("coalesce($2::uuid, a.site_id)", "$6")}
               AS service_site_id,
           p.id AS policy_id, p.org_id AS policy_org_id, p.customer_id AS policy_customer_id,
           p.calendar_id, p.priority, p.response_minutes, p.resolution_minutes,
           k.org_id AS calendar_org_id, k.name AS calendar_name, k.timezone, k.hours,
           k.holidays
      FROM (SELECT 1) AS one
      LEFT JOIN assets a ON a.id = $3 AND a.org_id = $6
      LEFT JOIN LATERAL (
            SELECT * FROM sla_policies p
             WHERE p.org_id = $6 AND p.priority = $5
               AND (p.customer_id = $1 OR p.customer_id IS NULL)
             ORDER BY p.customer_id IS NULL
             LIMIT 1
      ) p ON true
      LEFT JOIN business_calendars k ON k.id = p.calendar_id
"""  # noqa: S608 (our own SQL text)


def _write_sql() -> str:
    """The number, the work order, its event and its outbox row in one statement. The
    number's label (``format_number``) goes into ``search_text`` and the outbox payload.
    Parameters: the _GIVEN columns in order, then the search tail, the event's id, kind,
    status, changes and actor, the outbox row's id, topic and payload (without the number)."""
    n = len(_GIVEN)
    at = {key: f"${i}" for i, key in enumerate(_GIVEN, start=1)}
    tail, event_id, kind, status, changes, actor, outbox_id, topic, body = (
        f"${i}" for i in range(n + 1, n + 10)
    )
    label = audit.format_number_sql("c.last_number")
    return f"""
        WITH n AS (
            INSERT INTO ticket_counters AS c (org_id, last_number) VALUES ({at["org_id"]}, 1)
            ON CONFLICT (org_id) DO UPDATE SET last_number = c.last_number + 1
            RETURNING c.last_number AS number, {label} AS label
        ), t AS (
            INSERT INTO tickets (number, search_text, {", ".join(_GIVEN)})
            VALUES ((SELECT number FROM n), lower((SELECT label FROM n)) || {tail},
                    {", ".join(at.values())})
        ), e AS (
            INSERT INTO ticket_events (id, org_id, ticket_id, kind, to_status, changes, actor)
            VALUES ({event_id}, {at["org_id"]}, {at["id"]}, {kind}, {status},
                    {changes}::jsonb, {actor})
        ), o AS (
            INSERT INTO outbox_events (id, org_id, topic, aggregate_id, payload, attempts)
            VALUES ({outbox_id}, {at["org_id"]}, {topic}, {at["id"]},
                    {body}::jsonb || jsonb_build_object('number', (SELECT label FROM n)), 0)
        )
        SELECT number FROM n
    """  # noqa: S608 (the mapper's column names)


_WRITE = _write_sql()


def _policy_of(row: Any) -> tuple[SlaPolicy, BusinessCalendar | None] | None:
    """What find_policy would answer, from _READ's row (transient copies)."""
    if row["policy_id"] is None:
        return None
    policy = SlaPolicy(
        id=row["policy_id"],
        org_id=row["policy_org_id"],
        customer_id=row["policy_customer_id"],
        calendar_id=row["calendar_id"],
        priority=row["priority"],
        response_minutes=row["response_minutes"],
        resolution_minutes=row["resolution_minutes"],
    )
    if row["calendar_id"] is None:
        return policy, None
    calendar = BusinessCalendar(
        id=row["calendar_id"],
        org_id=row["calendar_org_id"],
        name=row["calendar_name"],
        timezone=row["timezone"],
        hours=row["hours"],
        holidays=row["holidays"],
    )
    return policy, calendar


def _give_every_column(ticket: Ticket) -> None:
    """Every column given: the statement writes them all, and the persistent copy the hot
    path hands back must have none left to load."""
    given = sa_inspect(ticket).dict
    for key in _COLUMNS:
        if key not in given:
            setattr(ticket, key, None)


async def create_now(
    session: AsyncSession,
    actor: Actor,
    data: TicketCreate,
    *,
    now: dt.datetime,
    fraction: float,
) -> Ticket | None:
    """``create_orm`` in two statements; None (nothing written) when the ORM path must
    write it (see the module docstring). The fast path ``tickets.create``
    (server/fastpaths.py)."""
    if not fastpaths.enabled("tickets.create"):
        return None
    conn = await driver(session)
    row = await fetchrow(
        conn,
        _READ,
        data.customer_id,
        data.site_id,
        data.asset_id,
        data.repeat_of_id,
        data.priority.value,
        actor.org_id,
    )
    assert row is not None
    refs_verdict(
        row,
        customer_id=data.customer_id,
        site_id=data.site_id,
        asset_id=data.asset_id,
        repeat_of_id=data.repeat_of_id,
    )
    ticket = _new_ticket(
        actor,
        data,
        site_id=_site_of(data, row[3]),
        service_site_id=row["service_site_id"],
        now=now,
    )
    if ticket.assignee_id is not None:
        return None
    _give_every_column(ticket)
    _with_sla(ticket, _policy_of(row), now=now, fraction=fraction)
    changes = _created_changes(data)
    ticket.number = 0  # the statement takes the number; the payload gets its label there
    body = audit.payload(ticket, actor=actor.label, to_status=Status.NEW.value, changes=changes)
    written = await fetchrow(
        conn,
        _WRITE,
        *(getattr(ticket, key) for key in _GIVEN),
        search_tail(ticket.title, ticket.description),
        uuid7(),
        CREATED,
        Status.NEW.value,
        json.dumps(changes),
        actor.label,
        uuid7(),
        f"ticket.{CREATED}",
        json.dumps(body),
    )
    assert written is not None
    ticket.number = written["number"]
    ticket.search_text = search_text(ticket)
    events.deliver_soon(session)
    # Written: the session holds it as if it had loaded it (no SQL), like the ORM path's.
    make_transient_to_detached(ticket)
    session.add(ticket)
    return ticket
