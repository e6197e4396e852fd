"""The rows the history writes, table by table, in the column order of the COPY.

``Batch`` collects them in memory until the generator flushes a chunk; the order of
``TABLES`` is the order of the COPYs (a row's references are written before it)."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

TABLES: dict[str, tuple[str, ...]] = {
    "stock_locations": (
        "id", "org_id", "kind", "name", "engineer_id", "site_id", "active", "version",
        "created_at", "updated_at",
    ),
    "tickets": (
        "id", "org_id", "number", "customer_id", "site_id", "asset_id", "channel", "type",
        "priority", "status", "title", "description", "search_text", "fault_code",
        "resolution_code", "root_cause", "resolution_summary", "required_skills",
        "estimated_minutes", "assignee_id", "repeat_of_id", "created_by", "sla_policy_id",
        "response_due_at", "resolution_due_at", "first_response_at", "resolved_at",
        "closed_at", "on_hold_since", "paused_seconds", "sla_state", "sla_next_check_at",
        "response_breached", "resolution_breached", "service_site_id", "open_for_claim",
        "pinned", "version", "created_at", "updated_at",
    ),
    "ticket_events": (
        "id", "org_id", "ticket_id", "kind", "action", "from_status", "to_status", "reason",
        "changes", "actor", "created_at",
    ),
    "visits": ("id", "org_id", "ticket_id", "engineer_id", "number", "created_by", "received_at"),
    "visit_checks": (
        "visit_id", "kind", "org_id", "device_time", "received_at", "clock_offset_s",
        "clock_skew", "lat", "lon", "accuracy_m", "distance_m", "far_from_site", "recorded_by",
    ),
    "labour_entries": (
        "id", "org_id", "ticket_id", "engineer_id", "visit_id", "kind", "started_at",
        "ended_at", "recorded_by", "received_at",
    ),
    "stock_movements": (
        "id", "org_id", "kind", "part_id", "quantity", "from_location_id", "to_location_id",
        "ticket_id", "visit_id", "condition", "reason", "unit_cost", "unit_price",
        "from_field", "actor", "created_at",
    ),
    "field_part_lines": (
        "id", "org_id", "ticket_id", "visit_id", "action", "part_id", "quantity",
        "movement_id", "request", "recorded_by", "received_at",
    ),
    "survey_invitations": (
        "id", "org_id", "ticket_id", "template_id", "customer_id", "engineer_id",
        "product_model", "status", "resolved_at", "send_at", "expires_at", "sent_at",
        "created_at",
    ),
    "survey_responses": (
        "id", "org_id", "invitation_id", "ticket_id", "customer_id", "engineer_id",
        "product_model", "csat", "nps", "ces", "comment", "language", "detractor",
        "submitted_at",
    ),
}  # fmt: skip


# The cast's tables (``reference``), written once before the work orders.
REFERENCE: dict[str, tuple[str, ...]] = {
    "users": (
        "id", "org_id", "email", "full_name", "password_hash", "role", "locale", "duties",
        "is_active", "version", "created_at", "updated_at",
    ),
    "engineers": (
        "id", "org_id", "user_id", "display_name", "phone", "skills", "home_lat", "home_lon",
        "working_hours", "territory", "team", "hourly_cost", "max_jobs_per_day",
        "max_minutes_per_day", "rating", "start_site_id", "end_site_id", "day_sites", "active",
        "version", "created_at", "updated_at",
    ),
    "service_sites": (
        "id", "org_id", "name", "kind", "address", "lat", "lon", "territory",
        "stock_location_id", "active", "version", "created_at", "updated_at",
    ),
    "customers": (
        "id", "org_id", "name", "contact_name", "phone", "email", "notes", "version",
        "created_at", "updated_at",
    ),
    "sites": (
        "id", "org_id", "customer_id", "name", "address", "lat", "lon", "access_notes",
        "version", "created_at", "updated_at",
    ),
    "assets": (
        "id", "org_id", "site_id", "customer_id", "parent_id", "product_model", "serial_number",
        "name", "install_date", "warranty_end", "version", "created_at", "updated_at",
    ),
    "parts": (
        "id", "org_id", "sku", "name", "description", "unit", "cost", "price", "barcode",
        "serialised", "compatible_models", "active", "version", "created_at", "updated_at",
    ),
}  # fmt: skip
COLUMNS = {**REFERENCE, **TABLES}


class Batch:
    """Rows waiting for their COPY, per table."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in TABLES}

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.rows[table].append(row)

    def __len__(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

    def take(self) -> dict[str, list[tuple[Any, ...]]]:
        taken, self.rows = self.rows, {name: [] for name in TABLES}
        return taken


class Ids:
    """UUIDv7 ids whose time part is the row's own instant (as the phone's ids are) and
    whose random part comes from a stream seeded by the run: the same seed into another
    organisation gives other ids, never a collision with the first run's."""

    def __init__(self, seed: str) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - ids of generated data, not secrets

    def at(self, instant: dt.datetime) -> uuid.UUID:
        ms = int(instant.timestamp() * 1000) & ((1 << 48) - 1)
        bits = self._rng.getrandbits(74)
        value = (ms << 80) | (0x7 << 76) | ((bits >> 62) << 64) | (0b10 << 62)
        return uuid.UUID(int=value | (bits & ((1 << 62) - 1)))
