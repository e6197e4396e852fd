"""The KPI benchmark's baseline: the same numbers as the KPI service, by hand-written SQL
over the operational tables (tickets, ticket_events, visits and checks, labour entries
and voids, stock movements, survey responses), never the facts.

Every statement takes $1 the organisation, $2 its time zone, $3/$4 the range [start, end)
as instants, $5 the window in days, and returns rows (key, name, numerator, denominator)
for rates, (key, name, value, count) for means, or (key, name, value) for counts, where
the key is the month (local) or the engineer. ``{key}`` is filled with the grouping
expression of the anchor's instant. The work order's engineer is its assignee (the
generated history never reassigns after a resolution, so this is the facts' rule)."""

from __future__ import annotations

MONTH = "date_trunc('month', {at} AT TIME ZONE $2)::date::text"
# (The time zone, $2, is named in every statement so that its type is known.)
ENGINEER = "t.assignee_id::text || left($2::text, 0)"

# Per work order, what the quality and cost numbers need (resolved in the range).
_RESOLVED = """
WITH w AS (
  SELECT t.id, t.assignee_id, t.created_at, t.resolved_at, t.repeat_of_id,
         t.resolution_due_at, t.resolution_breached, {key} AS key,
         (SELECT count(*) FROM visits v JOIN visit_checks c ON c.visit_id = v.id AND c.kind = 'in'
           WHERE v.ticket_id = t.id) AS visits,
         (SELECT count(*) FROM ticket_events e WHERE e.ticket_id = t.id AND e.action = 'reopen')
           AS reopened,
         (SELECT min(n.created_at) FROM tickets n
           WHERE n.org_id = $1 AND n.asset_id = t.asset_id AND n.created_at > t.resolved_at
             AND n.type IN ('repair', 'complaint') AND n.status <> 'cancelled') AS next_at,
         (SELECT min(n.created_at) FROM tickets n
           WHERE n.org_id = $1 AND n.asset_id = t.asset_id AND n.fault_code = t.fault_code
             AND n.created_at > t.resolved_at AND n.status <> 'cancelled') AS same_fault_at,
         EXISTS (SELECT 1 FROM tickets r WHERE r.org_id = $1 AND r.repeat_of_id = t.id)
           AS marked,
         (SELECT coalesce(sum(extract(epoch FROM l.ended_at - l.started_at)), 0)
            FROM labour_entries l
           WHERE l.ticket_id = t.id AND l.kind IN ('work', 'travel')
             AND NOT EXISTS (SELECT 1 FROM labour_voids x WHERE x.entry_id = l.id)
             AND NOT EXISTS (SELECT 1 FROM labour_entries r WHERE r.replaces_id = l.id))
           AS labour_s,
         (SELECT coalesce(sum(extract(epoch FROM l.ended_at - l.started_at)), 0)
            FROM labour_entries l
           WHERE l.ticket_id = t.id AND l.kind = 'work'
             AND NOT EXISTS (SELECT 1 FROM labour_voids x WHERE x.entry_id = l.id)
             AND NOT EXISTS (SELECT 1 FROM labour_entries r WHERE r.replaces_id = l.id))
           AS work_s,
         (SELECT round(coalesce(sum(extract(epoch FROM l.ended_at - l.started_at)
                                    * g.hourly_cost / 3600), 0), 2)
            FROM labour_entries l JOIN engineers g ON g.id = l.engineer_id
           WHERE l.ticket_id = t.id AND l.kind IN ('work', 'travel')
             AND NOT EXISTS (SELECT 1 FROM labour_voids x WHERE x.entry_id = l.id)
             AND NOT EXISTS (SELECT 1 FROM labour_entries r WHERE r.replaces_id = l.id))
           AS labour_cost,
         (SELECT coalesce(sum(CASE m.kind WHEN 'consume' THEN 1 ELSE -1 END
                              * m.quantity * m.unit_cost), 0)
            FROM stock_movements m
           WHERE m.ticket_id = t.id
             AND (m.kind = 'consume' OR (m.kind = 'return' AND m.condition = 'good')))
           AS parts_cost
    FROM tickets t
   WHERE t.org_id = $1 AND t.status IN ('resolved', 'closed')
     AND t.resolved_at >= $3 AND t.resolved_at < $4
)
"""

QUALITY = (
    _RESOLVED
    + """
SELECT key, 'first_time_fix', count(*) FILTER (WHERE visits = 1 AND reopened = 0
         AND (next_at IS NULL OR next_at > resolved_at + make_interval(days => $5))),
       count(*) FILTER (WHERE visits >= 1)
  FROM w GROUP BY key
UNION ALL
SELECT key, 'repeat_rate', count(*) FILTER (WHERE marked
         OR same_fault_at <= resolved_at + make_interval(days => $5)), count(*)
  FROM w GROUP BY key
UNION ALL
SELECT key, 'first_contact_resolution',
       count(*) FILTER (WHERE visits = 0 AND labour_s = 0 AND reopened = 0),
       count(*)
  FROM w GROUP BY key
"""
)

COSTS = (
    _RESOLVED
    + """
SELECT key, 'labour_cost_per_wo', avg(labour_cost), count(*) FROM w GROUP BY key
UNION ALL
SELECT key, 'parts_cost_per_wo', avg(parts_cost), count(*) FROM w GROUP BY key
UNION ALL
SELECT key, 'work_hours_per_wo', avg(work_s) / 3600, count(*) FROM w GROUP BY key
"""
)

VOLUME = """
SELECT {created_key} AS key, 'work_orders', count(*), NULL::bigint FROM tickets t
 WHERE t.org_id = $1 AND t.created_at >= $3 AND t.created_at < $4 GROUP BY 1
UNION ALL
SELECT {created_key}, 'complaints', count(*) FILTER (WHERE t.type = 'complaint'), NULL
  FROM tickets t WHERE t.org_id = $1 AND t.created_at >= $3 AND t.created_at < $4 GROUP BY 1
UNION ALL
SELECT {resolved_key}, 'resolved', count(*), NULL FROM tickets t
 WHERE t.org_id = $1 AND t.status IN ('resolved', 'closed')
   AND t.resolved_at >= $3 AND t.resolved_at < $4 GROUP BY 1
"""

TIMES = """
SELECT {resolved_key} AS key, 'resolve_hours',
       avg(extract(epoch FROM t.resolved_at - t.created_at)) / 3600, count(*)
  FROM tickets t WHERE t.org_id = $1 AND t.status IN ('resolved', 'closed')
   AND t.resolved_at >= $3 AND t.resolved_at < $4 GROUP BY 1
UNION ALL
SELECT {resolved_key}, 'resolve_hours_median',
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.resolved_at - t.created_at))
       / 3600, count(*)
  FROM tickets t WHERE t.org_id = $1 AND t.status IN ('resolved', 'closed')
   AND t.resolved_at >= $3 AND t.resolved_at < $4 GROUP BY 1
UNION ALL
SELECT {created_key}, 'schedule_hours', avg(extract(epoch FROM a.at - t.created_at)) / 3600,
       count(a.at)
  FROM tickets t
  CROSS JOIN LATERAL (SELECT min(e.created_at) AS at FROM ticket_events e
                       WHERE e.ticket_id = t.id AND e.action = 'assign') a
 WHERE t.org_id = $1 AND t.created_at >= $3 AND t.created_at < $4 GROUP BY 1
UNION ALL
SELECT {created_key}, 'arrive_hours', avg(extract(epoch FROM coalesce(c.at, a.at) - t.created_at))
       / 3600, count(coalesce(c.at, a.at))
  FROM tickets t
  CROSS JOIN LATERAL (SELECT min(k.device_time) AS at FROM visits v
                        JOIN visit_checks k ON k.visit_id = v.id AND k.kind = 'in'
                       WHERE v.ticket_id = t.id) c
  CROSS JOIN LATERAL (SELECT min(e.created_at) AS at FROM ticket_events e
                       WHERE e.ticket_id = t.id AND e.action = 'arrive') a
 WHERE t.org_id = $1 AND t.created_at >= $3 AND t.created_at < $4 GROUP BY 1
"""

SLA = """
SELECT {resolved_key} AS key, 'resolution_sla', count(*) FILTER (WHERE NOT t.resolution_breached),
       count(*)
  FROM tickets t WHERE t.org_id = $1 AND t.status IN ('resolved', 'closed')
   AND t.resolution_due_at IS NOT NULL AND t.resolved_at >= $3 AND t.resolved_at < $4
 GROUP BY 1
UNION ALL
SELECT {created_key}, 'response_sla',
       count(*) FILTER (WHERE t.first_response_at IS NOT NULL AND NOT t.response_breached),
       count(*) FILTER (WHERE t.first_response_at IS NOT NULL OR t.response_due_at < coalesce(
         (SELECT min(e.created_at) FROM ticket_events e
           WHERE e.ticket_id = t.id AND e.action = 'cancel'), now()))
  FROM tickets t WHERE t.org_id = $1 AND t.response_due_at IS NOT NULL
   AND t.created_at >= $3 AND t.created_at < $4
 GROUP BY 1
"""

SATISFACTION = """
SELECT {surveyed_key} AS key, 'csat', avg(r.csat), count(r.csat)
  FROM survey_responses r JOIN tickets t ON t.id = r.ticket_id
 WHERE r.org_id = $1 AND r.submitted_at >= $3 AND r.submitted_at < $4 GROUP BY 1
UNION ALL
SELECT {surveyed_key}, 'csat_satisfied', count(*) FILTER (WHERE r.csat >= 4), count(r.csat)
  FROM survey_responses r JOIN tickets t ON t.id = r.ticket_id
 WHERE r.org_id = $1 AND r.submitted_at >= $3 AND r.submitted_at < $4 GROUP BY 1
UNION ALL
SELECT {surveyed_key}, 'nps', count(*) FILTER (WHERE r.nps >= 9)
         - count(*) FILTER (WHERE r.nps <= 6), count(r.nps)
  FROM survey_responses r JOIN tickets t ON t.id = r.ticket_id
 WHERE r.org_id = $1 AND r.submitted_at >= $3 AND r.submitted_at < $4 GROUP BY 1
UNION ALL
SELECT {surveyed_key}, 'responses', count(*), NULL
  FROM survey_responses r JOIN tickets t ON t.id = r.ticket_id
 WHERE r.org_id = $1 AND r.submitted_at >= $3 AND r.submitted_at < $4 GROUP BY 1
"""

# Travel share from the effective labour, by the local day it started on (entries that
# cross local midnight are rare in the generated history and split by the facts).
ENGINEERS = """
SELECT {labour_key} AS key, 'travel_share',
       sum(extract(epoch FROM l.ended_at - l.started_at)) FILTER (WHERE l.kind = 'travel') / 3600,
       sum(extract(epoch FROM l.ended_at - l.started_at)) / 3600
  FROM labour_entries l
 WHERE l.org_id = $1 AND l.kind IN ('work', 'travel')
   AND l.started_at >= $3 AND l.started_at < $4
   AND NOT EXISTS (SELECT 1 FROM labour_voids x WHERE x.entry_id = l.id)
   AND NOT EXISTS (SELECT 1 FROM labour_entries r WHERE r.replaces_id = l.id)
 GROUP BY 1
"""

BACKLOG = """
SELECT {open_key} AS key, 'backlog', count(*), NULL
  FROM tickets t WHERE t.org_id = $1 AND $2::text IS NOT NULL
   AND t.status IN ('new', 'assigned', 'accepted', 'travelling', 'on_site', 'on_hold')
 GROUP BY 1
"""

FAULTS = """
SELECT a.product_model || '/' || coalesce(t.fault_code, '-') AS key, 'repairs', count(*), NULL
  FROM tickets t JOIN assets a ON a.id = t.asset_id
 WHERE t.org_id = $1 AND $2::text IS NOT NULL AND t.type = 'repair'
   AND t.status <> 'cancelled' AND t.created_at >= $3 AND t.created_at < $4
 GROUP BY 1
"""

PARTS = """
SELECT date_trunc('month', m.created_at AT TIME ZONE $2)::date::text AS key,
       'parts_consumed_cost',
       sum(CASE m.kind WHEN 'consume' THEN 1 ELSE -1 END * m.quantity * m.unit_cost), NULL
  FROM stock_movements m
 WHERE m.org_id = $1 AND m.created_at >= $3 AND m.created_at < $4
   AND (m.kind = 'consume' OR (m.kind = 'return' AND m.condition = 'good'))
 GROUP BY 1
"""


def arguments(sql: str) -> int:
    """How many of the arguments ($1..$5) the statement takes (it uses them in order)."""
    import re

    return max(int(n) for n in re.findall(r"\$(\d)", sql))


def keyed(sql: str, grouping: str) -> str:
    """``sql`` with its anchors' keys for ``grouping`` (month or engineer)."""
    if grouping == "engineer":
        keys = dict.fromkeys(
            ("key", "created_key", "resolved_key", "surveyed_key", "open_key"), ENGINEER
        )
        keys["labour_key"] = "l.engineer_id::text || left($2::text, 0)"
    else:
        keys = {
            "key": MONTH.format(at="t.resolved_at"),
            "created_key": MONTH.format(at="t.created_at"),
            "resolved_key": MONTH.format(at="t.resolved_at"),
            "surveyed_key": MONTH.format(at="r.submitted_at"),
            "labour_key": MONTH.format(at="l.started_at"),
            "open_key": "'now'",
        }
    return sql.format(**keys)
