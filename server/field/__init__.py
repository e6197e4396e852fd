"""Field work on a work order: visits (check-in/out), labour, checklists, parts used, notes
and the resolution (docs/field.md)."""

from server.field import checklists, labour_review, service, visits
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

__all__ = [
    "ChecklistAnswer",
    "ChecklistItem",
    "ChecklistTemplate",
    "FieldPartLine",
    "LabourApproval",
    "LabourEntry",
    "LabourVoid",
    "TicketNote",
    "Visit",
    "VisitCheck",
    "checklists",
    "labour_review",
    "service",
    "visits",
]
