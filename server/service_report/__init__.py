"""The customer's service report: a PDF of one work order (``GET .../report.pdf``).

``gather`` collects what the customer may see into a ``ReportData`` tree (plain
dataclasses, no ORM objects), ``render`` turns that tree into PDF bytes. Rendering knows
nothing of the database, so it is tested with hand-built data; gathering is tested against
the real services.
"""

from server.service_report import fonts

__all__ = ["fonts"]
