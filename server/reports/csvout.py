"""A KPI result as CSV: one line per period x group, a column per metric's value.

UTF-8 without a byte-order mark unless asked for (``bom``: Excel then reads Chinese names
right), CRLF line ends (RFC 4180), a header line of the metric names. Text cells a
spreadsheet would run as a formula get a leading apostrophe (``server.text``); numbers are
written as numbers (a negative NPS stays a number), empty for a null value.
"""

from __future__ import annotations

import csv
import io

from server.reports.schemas import KpiResult
from server.text import spreadsheet_safe

BOM = "\ufeff"


def to_csv(result: KpiResult, *, bom: bool = False) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["period_start", "group", "label", *result.metrics])
    for row in result.rows:
        writer.writerow(
            [
                row.period_start.isoformat() if row.period_start else "",
                spreadsheet_safe(row.key or ""),
                spreadsheet_safe(row.label or ""),
                *(
                    "" if row.values[m].value is None else row.values[m].value
                    for m in result.metrics
                ),
            ]
        )
    return (BOM if bom else "") + out.getvalue()
