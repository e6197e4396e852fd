"""Work orders: the lifecycle, SLA, audit events, numbering, search. ``lifecycle`` holds the
guards and listeners higher domains plug into a transition; ``BusinessHours``,
``business_time_between`` and ``add_business_time`` the SLA's business hours (the KPIs
count in them too; the history generator sets deadlines with them)."""

from server.tickets import audit, planning, service, status_links
from server.tickets import hooks as lifecycle
from server.tickets.audit import format_number
from server.tickets.models import Channel, Priority, Ticket, TicketEvent, TicketType
from server.tickets.policies.calendar import BusinessCalendar as BusinessHours
from server.tickets.policies.calendar import add_business_time, business_time_between
from server.tickets.schemas import TicketCreate, TicketRead, TicketUpdate, TransitionIn, to_read
from server.tickets.service import visible_ticket_ids, visible_tickets

__all__ = [
    "BusinessHours",
    "Channel",
    "Priority",
    "Ticket",
    "TicketCreate",
    "TicketEvent",
    "TicketRead",
    "TicketType",
    "TicketUpdate",
    "TransitionIn",
    "add_business_time",
    "audit",
    "business_time_between",
    "format_number",
    "lifecycle",
    "planning",
    "service",
    "status_links",
    "to_read",
    "visible_ticket_ids",
    "visible_tickets",
]
