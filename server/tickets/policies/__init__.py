"""SLA policies and business calendars, and the business-hours arithmetic."""
