"""The refresh's statements (server/reports/refresh.py), sent through asyncpg.

Each loader takes the organisation (``$1``) and a batch of work order ids (``$2``) and
returns one row per raw record, the work order's id first, in the order of the matching
``server.reports.facts`` tuple. Every statement names the organisation, so a refresh of one
never reads or writes another's rows.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric, SmallInteger, String, Uuid

from server.reports.models import WorkOrderFact

TICKETS = """
SELECT t.id, t.org_id, t.number, t.status, t.priority, t.channel, t.type, t.customer_id,
       t.site_id, t.asset_id, t.fault_code, t.assignee_id, t.repeat_of_id, t.sla_policy_id,
       t.created_at, t.first_response_at, t.resolved_at, t.closed_at, t.response_due_at,
       t.resolution_due_at, t.response_breached, t.resolution_breached,
       a.product_model, s.territory,
       (SELECT min(r.created_at) FROM tickets r
         WHERE r.org_id = t.org_id AND r.repeat_of_id = t.id AND r.id <> t.id),
       (SELECT min(n.created_at) FROM tickets n
         WHERE n.org_id = t.org_id AND n.asset_id = t.asset_id AND n.fault_code = t.fault_code
           AND n.created_at > t.resolved_at AND n.status <> 'cancelled'
           AND t.status IN ('resolved', 'closed')),
       (SELECT min(n.created_at) FROM tickets n
         WHERE n.org_id = t.org_id AND n.asset_id = t.asset_id
           AND n.created_at > t.resolved_at AND n.status <> 'cancelled'
           AND n.type IN ('repair', 'complaint') AND t.status IN ('resolved', 'closed'))
  FROM tickets t
  LEFT JOIN assets a ON a.id = t.asset_id
  LEFT JOIN service_sites s ON s.id = t.service_site_id
 WHERE t.org_id = $1 AND t.id = ANY($2::uuid[])
"""

# The transitions a fact reads (accept and start_travel change nothing counted).
EVENTS = """
SELECT ticket_id, created_at, action, from_status, changes->>'hold_kind',
       CASE WHEN action = 'assign' THEN (changes->'assignee_id'->>1)::uuid END
  FROM ticket_events
 WHERE ticket_id = ANY($2::uuid[]) AND org_id = $1 AND kind = 'transition'
   AND action IN ('assign', 'unassign', 'reject', 'arrive', 'hold', 'resume', 'resolve',
                  'reopen', 'cancel')
 ORDER BY ticket_id, created_at, id
"""

CHECK_INS = """
SELECT v.ticket_id, c.device_time, c.clock_offset_s, c.clock_skew
  FROM visits v JOIN visit_checks c ON c.visit_id = v.id AND c.kind = 'in'
 WHERE v.ticket_id = ANY($2::uuid[]) AND v.org_id = $1
"""

_LABOUR_COLUMNS = """
       e.engineer_id, e.kind, e.started_at, e.ended_at,
       EXISTS (SELECT 1 FROM labour_voids v WHERE v.entry_id = e.id),
       EXISTS (SELECT 1 FROM labour_entries r WHERE r.replaces_id = e.id)
"""

LABOUR = f"""
SELECT e.ticket_id, {_LABOUR_COLUMNS}
  FROM labour_entries e
 WHERE e.ticket_id = ANY($2::uuid[]) AND e.org_id = $1 AND e.kind IN ('work', 'travel')
"""  # noqa: S608 (module constants only)

MOVEMENTS = """
SELECT ticket_id, kind, quantity, unit_cost, condition
  FROM stock_movements
 WHERE ticket_id = ANY($2::uuid[]) AND org_id = $1 AND kind IN ('consume', 'return')
"""

# One invitation per work order, one answer per invitation: the first answer is the one.
SURVEYS = """
SELECT DISTINCT ON (r.ticket_id) r.ticket_id, r.csat, r.nps, r.ces, r.submitted_at
  FROM survey_responses r
 WHERE r.ticket_id = ANY($2::uuid[]) AND r.org_id = $1
 ORDER BY r.ticket_id, r.submitted_at, r.id
"""

ENGINEERS = "SELECT id, team, territory, hourly_cost FROM engineers WHERE org_id = $1"

CALENDARS = """
SELECT p.id AS policy_id, c.id AS calendar_id, c.timezone, c.hours, c.holidays
  FROM sla_policies p LEFT JOIN business_calendars c ON c.id = p.calendar_id
 WHERE p.org_id = $1
"""

NEIGHBOURS = """
SELECT n.id FROM tickets n
 WHERE n.org_id = $1
   AND n.asset_id IN (SELECT t.asset_id FROM tickets t
                       WHERE t.org_id = $1 AND t.id = ANY($2::uuid[]) AND t.asset_id IS NOT NULL)
UNION
SELECT t.repeat_of_id FROM tickets t
 WHERE t.org_id = $1 AND t.id = ANY($2::uuid[]) AND t.repeat_of_id IS NOT NULL
"""

ALL_TICKETS = "SELECT id FROM tickets WHERE org_id = $1 ORDER BY id"
UNBUILT = """
SELECT t.id FROM tickets t
 WHERE t.org_id = $1 AND NOT EXISTS (SELECT 1 FROM kpi_work_orders k WHERE k.ticket_id = t.id)
 ORDER BY t.id LIMIT $2
"""
EARLIEST_FACT = "SELECT min(refreshed_at) FROM kpi_work_orders WHERE org_id = $1"

# What may have changed a fact since $2 (the mark less the overlap): the work order itself
# (every transition and edit moves updated_at), its check-ins, labour and voids, parts and
# survey answer; and open work orders whose SLA target passed since the last look.
CHANGED = """
SELECT id FROM tickets WHERE org_id = $1 AND updated_at >= $2
UNION
SELECT v.ticket_id FROM visit_checks c JOIN visits v ON v.id = c.visit_id
 WHERE c.org_id = $1 AND c.received_at >= $2
UNION
SELECT ticket_id FROM labour_entries WHERE org_id = $1 AND received_at >= $2
UNION
SELECT ticket_id FROM labour_voids WHERE org_id = $1 AND received_at >= $2
UNION
SELECT ticket_id FROM stock_movements
 WHERE org_id = $1 AND created_at >= $2 AND ticket_id IS NOT NULL
UNION
SELECT ticket_id FROM survey_responses WHERE org_id = $1 AND submitted_at >= $2
UNION
SELECT k.ticket_id FROM kpi_work_orders k JOIN tickets t ON t.id = k.ticket_id
 WHERE k.org_id = $1 AND k.ended_at IS NULL
   AND ((k.response_met IS NULL AND t.response_due_at <= $3)
        OR (k.resolution_met IS NULL AND t.resolution_due_at <= $3))
"""

MARK = """
SELECT facts_through, days_through, zone, rollup_layout FROM kpi_refresh_marks WHERE org_id = $1
"""
SET_MARK = """
INSERT INTO kpi_refresh_marks (org_id, facts_through, days_through, zone, rollup_layout)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (org_id) DO UPDATE
   SET facts_through = EXCLUDED.facts_through, days_through = EXCLUDED.days_through,
       zone = EXCLUDED.zone, rollup_layout = EXCLUDED.rollup_layout
"""
# When the ledger lines of work orders were recorded (their roll-ups carry the work
# order's engineer, team and territory).
MOVEMENT_TIMES = """
SELECT created_at FROM stock_movements
 WHERE org_id = $1 AND ticket_id = ANY($2::uuid[]) AND kind IN ('consume', 'return')
"""
# Ledger lines recorded since $2, with a work order or without.
RECENT_MOVEMENTS = """
SELECT created_at FROM stock_movements
 WHERE org_id = $1 AND kind IN ('consume', 'return') AND created_at >= $2
"""
# The organisation's time zone changed: every local date is wrong; build again.
FORGET = (
    "DELETE FROM kpi_work_orders WHERE org_id = $1",
    "DELETE FROM kpi_engineer_days WHERE org_id = $1",
    "DELETE FROM kpi_rollups WHERE org_id = $1",
    "DELETE FROM kpi_refresh_marks WHERE org_id = $1",
)

# --- engineer days -----------------------------------------------------------------------------

ENGINEER_DAYS_PEOPLE = """
SELECT id, working_hours, team, territory FROM engineers WHERE org_id = $1 AND id = ANY($2)
"""
TIME_OFF = """
SELECT engineer_id, kind, starts_at, ends_at FROM engineer_time_off
 WHERE org_id = $1 AND engineer_id = ANY($2::uuid[]) AND ends_at > $3 AND starts_at < $4
"""
# Entries are short: the two days' margin lets the (engineer, started_at) index bound it.
DAY_LABOUR = f"""
SELECT e.engineer_id, {_LABOUR_COLUMNS}
  FROM labour_entries e
 WHERE e.org_id = $1 AND e.engineer_id = ANY($2::uuid[]) AND e.kind IN ('work', 'travel')
   AND e.started_at < $4::timestamptz AND e.started_at >= $3::timestamptz - interval '2 days'
   AND e.ended_at > $3::timestamptz
"""  # noqa: S608 (module constants only)

# The local dates (zone $2 or $3) each labour entry, void or time off touches, first and
# last: every labour entry for a rebuild; what was recorded since $2 otherwise (each branch
# on an index of its own).
_SPAN = """(({0}.{1}) AT TIME ZONE {2})::date,
       (({0}.{3} - interval '1 microsecond') AT TIME ZONE {2})::date"""
DAY_SPANS_ALL = f"""
SELECT DISTINCT e.engineer_id, {_SPAN.format("e", "started_at", "$2", "ended_at")}
  FROM labour_entries e
 WHERE e.org_id = $1 AND e.kind IN ('work', 'travel')
"""  # noqa: S608 (module constants only)
DAY_SPANS_SINCE = f"""
SELECT e.engineer_id, {_SPAN.format("e", "started_at", "$3", "ended_at")}
  FROM labour_entries e
 WHERE e.org_id = $1 AND e.kind IN ('work', 'travel') AND e.received_at >= $2
UNION
SELECT e.engineer_id, {_SPAN.format("e", "started_at", "$3", "ended_at")}
  FROM labour_voids v JOIN labour_entries e ON e.id = v.entry_id
 WHERE v.org_id = $1 AND v.received_at >= $2
UNION
SELECT o.engineer_id, {_SPAN.format("o", "starts_at", "$3", "ends_at")}
  FROM engineer_time_off o
 WHERE o.org_id = $1 AND o.updated_at >= $2
"""  # noqa: S608 (module constants only)

ACTIVE_ENGINEERS = "SELECT id, created_at FROM engineers WHERE org_id = $1 AND active"

DELETE_DAYS = """
DELETE FROM kpi_engineer_days k
 USING unnest($2::uuid[], $3::date[]) AS gone(engineer_id, day)
 WHERE k.org_id = $1 AND k.engineer_id = gone.engineer_id AND k.day = gone.day
"""
UPSERT_DAYS = """
INSERT INTO kpi_engineer_days
       (engineer_id, day, org_id, team, territory, scheduled_s, work_s, travel_s)
SELECT * FROM unnest($1::uuid[], $2::date[], $3::uuid[], $4::text[], $5::text[], $6::int[],
                     $7::int[], $8::int[])
ON CONFLICT (engineer_id, day) DO UPDATE
   SET team = EXCLUDED.team, territory = EXCLUDED.territory,
       scheduled_s = EXCLUDED.scheduled_s, work_s = EXCLUDED.work_s,
       travel_s = EXCLUDED.travel_s
"""

# --- writing the work order facts --------------------------------------------------------------


def _pg_type(column: object) -> str:
    kind = getattr(column, "type", None)
    for sa_type, name in (
        (DateTime, "timestamptz"),
        (Date, "date"),
        (Boolean, "boolean"),
        (SmallInteger, "smallint"),
        (Integer, "integer"),
        (Numeric, "numeric"),
        (String, "text"),
        (Uuid, "uuid"),
    ):
        if isinstance(kind, sa_type):
            return name
    raise TypeError(f"no array type for {column}")


_TABLE = WorkOrderFact.__table__
FACT_COLUMNS: tuple[str, ...] = tuple(c.name for c in _TABLE.columns)
_ARRAYS = ", ".join(f"${n}::{_pg_type(c)}[]" for n, c in enumerate(_TABLE.columns, start=1))
_UPDATES = ", ".join(f"{name} = EXCLUDED.{name}" for name in FACT_COLUMNS if name != "ticket_id")
UPSERT_FACTS = f"""
INSERT INTO kpi_work_orders ({", ".join(FACT_COLUMNS)})
SELECT * FROM unnest({_ARRAYS})
ON CONFLICT (ticket_id) DO UPDATE SET {_UPDATES}
"""  # noqa: S608 (the model's column names)
# The facts about to be rewritten, as they are (the roll-ups of those that change, on
# their old dates and their new ones, are summed again).
FACTS_BEFORE = f"""
SELECT {", ".join(FACT_COLUMNS)} FROM kpi_work_orders WHERE org_id = $1 AND ticket_id = ANY($2)
"""  # noqa: S608 (the model's column names)
