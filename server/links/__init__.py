"""Links for people without an account: signed, scoped to one subject, expiring, revocable
(``/t/`` status, ``/q/`` QR fault report, ``/s/`` survey)."""

from server.links import service
from server.links.models import AccessLink
from server.links.service import LinkKind, LinkNotFound

__all__ = ["AccessLink", "LinkKind", "LinkNotFound", "service"]
