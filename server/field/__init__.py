"""Field work on a work order: visits (check-in/out), labour, checklists, parts used, notes
and the resolution (docs/field.md)."""

from server.field import service
from server.field.checklists import service as checklists
from server.field.labour import review as labour_review
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
from server.field.visits import service as visits

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
