"""The Actor: who is calling. Every service call takes one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from server.auth.models import Role
from server.errors import Forbidden
from server.text import fit

LABEL_LENGTH = 300

# Scopes an integration API key can hold. Users' roles map to the same scopes.
SCOPES: dict[str, str] = {
    "tickets:read": "Read work orders and their events",
    "tickets:write": "Create and update work orders, run transitions",
    "customers:read": "Read customers, sites and assets",
    "customers:write": "Create and update customers, sites and assets",
    "engineers:read": "Read engineers' profiles",
    "engineers:write": "Create and update engineers' profiles",
    "parts:read": "Read the parts catalogue, stock locations, balances and the ledger",
    "parts:write": "Manage the catalogue and locations, record stock movements",
    "surveys:read": "Read survey templates, responses and scores",
    "surveys:write": "Create and change survey templates",
    "kpis:read": "Read the KPIs, the work orders behind them, scorecards and reports",
}

_ALL = frozenset(SCOPES)
_READ = frozenset(s for s in SCOPES if s.endswith(":read"))
ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.ADMIN: _ALL,
    Role.DISPATCHER: _ALL,
    Role.AGENT: _READ | {"tickets:write", "customers:write"},
    Role.ENGINEER: frozenset(
        {
            "tickets:read",
            "tickets:write",
            "customers:read",
            "engineers:read",
            "parts:read",
            "parts:write",  # their own van's field movements only (server/parts/service.py)
            "surveys:read",  # the responses about their own work only (server/surveys)
            "kpis:read",  # the KPIs of their own work only (server/reports)
        }
    ),
    Role.VIEWER: _READ,
}


@dataclass(frozen=True)
class Actor:
    org_id: uuid.UUID
    role: Role | None  # None for an integration key
    scopes: frozenset[str]
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    engineer_id: uuid.UUID | None = None
    # Who did it, as the audit columns record it (created_by, recorded_by, actor...):
    # "user:<e-mail>", "key:<key name>", "system".
    label: str = field(default="")

    def __post_init__(self) -> None:
        # Every audit column is String(LABEL_LENGTH): a label longer than that is cut here,
        # once, rather than failing the insert of whatever the caller did.
        object.__setattr__(self, "label", fit(self.label, LABEL_LENGTH))

    @property
    def principal(self) -> str:
        """A stable id for the caller (idempotency keys are per principal)."""
        if self.user_id is not None:
            return f"user:{self.user_id}"
        return f"key:{self.api_key_id}"

    @property
    def is_engineer(self) -> bool:
        return self.role is Role.ENGINEER

    @property
    def work_scope(self) -> uuid.UUID | None:
        """The engineer whose work orders alone the caller sees; None: the organisation's.
        The hand-written statements of the hot paths filter on it (``$n IS NULL OR
        assignee_id = $n``), so they act only where it is known (``work_scope_known``)."""
        return self.engineer_id if self.is_engineer else None

    @property
    def work_scope_known(self) -> bool:
        """False for an engineer user without an engineer profile (None would mean "any
        work order" to the hot paths; the ORM path decides for them)."""
        return not self.is_engineer or self.engineer_id is not None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_agent(self) -> bool:
        return self.role is Role.AGENT

    @property
    def is_viewer(self) -> bool:
        return self.role is Role.VIEWER

    @property
    def is_key(self) -> bool:
        """An integration key: no role, its scopes alone decide."""
        return self.role is None

    # --- who may do what beyond the scopes: each rule written once, here ---------------------

    def manages(self, *, keys: bool = True) -> bool:
        """Admins and dispatchers, and (unless ``keys`` is False) integration keys, whose
        scopes then decide: who manages parts, stock, engineers and the field records."""
        return self.role in (Role.ADMIN, Role.DISPATCHER) or (keys and self.is_key)

    def require_manager(self, what: str, *, keys: bool = True) -> None:
        """403 "only admins and dispatchers <what>" unless the caller ``manages``."""
        if not self.manages(keys=keys):
            raise Forbidden(f"only admins and dispatchers {what}")

    def require_admin(self, what: str) -> None:
        """403 "only an admin can <what>" for everyone else (integration keys included)."""
        if not self.is_admin:
            raise Forbidden(f"only an admin can {what}")

    def require_office_writer(self, what: str) -> None:
        """403 "engineers and viewers cannot <what>": the back office's writes (admins,
        dispatchers, service desk agents, integration keys)."""
        if self.is_engineer or self.is_viewer:
            raise Forbidden(f"engineers and viewers cannot {what}")

    def require_field_writer(self, what: str, *, agents: bool = False) -> None:
        """403 "<role>s cannot <what>" for viewers, who write nothing, and for service desk
        agents unless ``agents`` (they write notes, not field work)."""
        if self.role is Role.VIEWER or (self.role is Role.AGENT and not agents):
            raise Forbidden(f"{self.role.value}s cannot {what}")

    def can(self, scope: str) -> bool:
        return scope in self.scopes

    def require(self, *scopes: str) -> None:
        """403 unless the caller holds every one of ``scopes``. An answer that carries
        several domains' data (a service report names the customer, the site, the parts
        and the engineers) needs the read scope of each: the union of what reading each
        piece directly needs (the table in docs/api.md)."""
        missing = [scope for scope in scopes if not self.can(scope)]
        if missing:
            needs = ", ".join(repr(s) for s in scopes)
            raise Forbidden(
                f"this operation needs the scope{'s' if len(scopes) > 1 else ''} {needs}; "
                f"missing {', '.join(repr(s) for s in missing)}",
                required_scope=missing[0],
                required_scopes=list(scopes),
                missing_scopes=missing,
            )

    @classmethod
    def system(cls, org_id: uuid.UUID) -> Actor:
        """The worker acting on its own (SLA cron, outbox delivery)."""
        return cls(org_id=org_id, role=Role.ADMIN, scopes=_ALL, label="system")
