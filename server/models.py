"""Imports every model so Base.metadata is complete (Alembic, tests)."""

from server.attachments.models import Attachment, Blob, Signature, Upload
from server.auth.models import ApiKey, RefreshToken, User
from server.customers.models import Asset, Customer, PreferredEngineer, ServiceSite, Site
from server.db import Base
from server.dispatch.models import AutoAssignRule, DayPlan, Decline
from server.engineers.models import Engineer, TimeOff
from server.escalation.models import EscalationPolicy, FollowupTask, TicketEscalation
from server.events.models import OutboxEvent
from server.field.models import (
    ChecklistAnswer,
    ChecklistItem,
    ChecklistTemplate,
    FieldPartLine,
    LabourApproval,
    LabourEntry,
    LabourVoid,
    TicketNote,
    Visit,
    VisitCheck,
)
from server.idempotency.models import IdempotencyRecord
from server.links.models import AccessLink
from server.notify.models import Notification, NotificationChannel, NotificationPreference
from server.orgs.models import Organisation
from server.parts.models import (
    Part,
    PartReturn,
    StockBalance,
    StockLevel,
    StockLocation,
    StockMovement,
    StockUnit,
)
from server.reports.models import EngineerDayFact, RefreshMark, Rollup, WorkOrderFact
from server.surveys.models import SurveyInvitation, SurveyResponse, SurveyTemplate
from server.sync.entities import install as install_sync_capture
from server.sync.models import SyncChange, SyncClient, SyncFlag, SyncHorizon, SyncMutation
from server.tickets.models import (
    BusinessCalendar,
    SlaPolicy,
    Ticket,
    TicketCounter,
    TicketEvent,
)
from server.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "AccessLink",
    "ApiKey",
    "Asset",
    "Attachment",
    "AutoAssignRule",
    "Base",
    "Blob",
    "BusinessCalendar",
    "ChecklistAnswer",
    "ChecklistItem",
    "ChecklistTemplate",
    "Customer",
    "DayPlan",
    "Decline",
    "Engineer",
    "EngineerDayFact",
    "EscalationPolicy",
    "FieldPartLine",
    "FollowupTask",
    "IdempotencyRecord",
    "LabourApproval",
    "LabourEntry",
    "LabourVoid",
    "Notification",
    "NotificationChannel",
    "NotificationPreference",
    "Organisation",
    "OutboxEvent",
    "Part",
    "PartReturn",
    "PreferredEngineer",
    "RefreshMark",
    "RefreshToken",
    "Rollup",
    "ServiceSite",
    "Signature",
    "Site",
    "SlaPolicy",
    "StockBalance",
    "StockLevel",
    "StockLocation",
    "StockMovement",
    "StockUnit",
    "SurveyInvitation",
    "SurveyResponse",
    "SurveyTemplate",
    "SyncChange",
    "SyncClient",
    "SyncFlag",
    "SyncHorizon",
    "SyncMutation",
    "Ticket",
    "TicketCounter",
    "TicketEscalation",
    "TicketEvent",
    "TicketNote",
    "TimeOff",
    "Upload",
    "User",
    "Visit",
    "VisitCheck",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WorkOrderFact",
]

install_sync_capture()  # the change feed's capture hook (server/sync/capture.py)
