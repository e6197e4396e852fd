"""The parts catalogue as CSV: import (validate every row, then all or nothing) and export.

The file format, one part per line after a header line:

    sku,name,description,unit,cost,price,barcode,serialised,compatible_models,active

Only ``sku`` and ``name`` are required columns; any order; headers are case-insensitive.
``compatible_models`` holds the models separated by ``|``; booleans are true/false, yes/no or
1/0. Text must be UTF-8 (a byte-order mark is fine).

Import rules:

- Rows are matched to the catalogue by SKU: a new SKU creates a part, a known one updates it.
  An update sets the columns the file has (an empty cell means the column's default, as for a
  new part) and leaves the columns it does not have alone. Importing the same file twice
  changes nothing the second time: the import is idempotent by SKU, so it takes no
  Idempotency-Key.
- Every row is validated with the rules of ``PartCreate`` plus: an SKU may appear only once
  in a file, and it may not change the serialised flag of a part whose stock is held (the
  PATCH rule). Every problem is reported as ``{line, sku, field, message}`` with the 1-based
  line of the file (the header is line 1).
- If any row has a problem nothing is written. A dry run (the default) only reports.
- A file that cannot be read as a catalogue at all (not UTF-8, malformed CSV, a bad header,
  too many rows) is refused whether or not it is a dry run.

Spreadsheet safety: exported text cells that a spreadsheet would run as a formula (starting
with ``= + - @``, a tab or a carriage return) get a leading apostrophe; import removes it
again, so an export imports back unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.crud import patch
from server.errors import Conflict, PayloadTooLarge, Unprocessable
from server.parts.models import Part
from server.parts.schemas import PartCreate
from server.parts.service import refuse_serialised_change_with_stock, search_parts_query
from server.text import fit, quote, spreadsheet_restore, spreadsheet_safe

COLUMNS = (
    "sku",
    "name",
    "description",
    "unit",
    "cost",
    "price",
    "barcode",
    "serialised",
    "compatible_models",
    "active",
)
REQUIRED = ("sku", "name")
TEXT_COLUMNS = frozenset({"name", "description", "unit", "barcode", "compatible_models"})
MAX_ROWS = 20_000
MAX_REPORTED_ERRORS = 1_000
MODEL_SEPARATOR = "|"
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
_LOOKUP_CHUNK = 5_000


class RowError(BaseModel):
    line: int
    sku: str | None
    field: str | None
    message: str


class ImportReport(BaseModel):
    dry_run: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    errors: list[RowError]
    error_count: int
    errors_truncated: bool


class ImportRejected(Unprocessable):
    code, title = "import_rejected", "The file has errors: nothing was imported"


@dataclass
class _Row:
    line: int
    part: PartCreate
    active: bool
    columns: tuple[str, ...]  # the file's columns: an update sets only these

    @property
    def sku(self) -> str:
        return self.part.sku

    def changes(self) -> dict[str, Any]:
        values = {c: getattr(self.part, c) for c in self.columns if c not in ("sku", "active")}
        if "active" in self.columns:
            values["active"] = self.active
        return values


@dataclass
class _Parsed:
    columns: tuple[str, ...]
    rows: list[_Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    count: int = 0


def _manager(actor: Actor) -> None:
    actor.require_manager("import the parts catalogue")


def _rejected(errors: Sequence[RowError], *, rows: int = 0) -> ImportRejected:
    first = errors[0]
    where = f"line {first.line}" + (f", {first.field}" if first.field else "")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return ImportRejected(
        f"nothing was imported: {where}: {first.message}{more}",
        rows=rows,
        error_count=len(errors),
        errors=[e.model_dump() for e in errors[:MAX_REPORTED_ERRORS]],
        errors_truncated=len(errors) > MAX_REPORTED_ERRORS,
    )


def _file_error(message: str, *, line: int = 1, column: str | None = None) -> ImportRejected:
    return _rejected([RowError(line=line, sku=None, field=column, message=message)])


# --- spreadsheet-safe text -----------------------------------------------------------------


# --- parsing -------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _file_error(
            f"the file is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as 'CSV UTF-8'",
            line=line,
        ) from None


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line of the record, its cells), skipping blank lines."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _file_error(f"malformed CSV: {exc}", line=start) from None
        if any(cell.strip() for cell in cells):
            yield start, cells


def _header(cells: list[str]) -> tuple[str, ...]:
    columns = tuple(cell.strip().lower() for cell in cells)
    problems = []
    for name in sorted(set(columns) - set(COLUMNS)):
        problems.append(
            RowError(
                line=1,
                sku=None,
                field=fit(name, 64) or None,
                message=f"unknown column {quote(name)}; the columns are {', '.join(COLUMNS)}",
            )
        )
    for name in sorted({c for c in columns if columns.count(c) > 1}):
        problems.append(
            RowError(line=1, sku=None, field=fit(name, 64), message="the column is repeated")
        )
    for name in REQUIRED:
        if name not in columns:
            problems.append(
                RowError(line=1, sku=None, field=name, message="the column is required")
            )
    if problems:
        raise _rejected(problems)
    return columns


def _boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("must be true/false, yes/no or 1/0")


def _validate(line: int, cells: dict[str, str]) -> tuple[_Row | None, list[RowError]]:
    sku = cells.get("sku") or None
    errors: list[RowError] = []

    def problem(column: str | None, message: str) -> None:
        errors.append(RowError(line=line, sku=sku, field=column, message=message))

    fields: dict[str, Any] = {}
    active = True
    for column, raw in cells.items():
        value = spreadsheet_restore(raw) if column in TEXT_COLUMNS else raw
        if not value:
            if column in REQUIRED:
                problem(column, "required")
            continue
        if column in ("serialised", "active"):
            try:
                parsed = _boolean(value)
            except ValueError as exc:
                problem(column, f"{quote(value)} {exc}")
                continue
            if column == "active":
                active = parsed
            else:
                fields[column] = parsed
        elif column == "compatible_models":
            models = (m.strip() for m in value.split(MODEL_SEPARATOR))
            fields[column] = [m for m in models if m]
        else:
            fields[column] = value
    try:
        part = PartCreate.model_validate(fields)
    except ValidationError as exc:
        for err in exc.errors():
            loc = err.get("loc") or ()
            where = str(loc[0]) if loc else None
            if where in REQUIRED and not cells.get(where or ""):
                continue  # already reported as "required"
            problem(where, err["msg"].removeprefix("Value error, "))
        return None, errors
    if errors:
        return None, errors
    return _Row(line=line, part=part, active=active, columns=tuple(cells)), []


def parse(data: bytes) -> _Parsed:
    """Read and validate the whole file; file-level problems raise ImportRejected."""
    records = _records(_decode(data))
    first = next(records, None)
    if first is None:
        raise _file_error("the file is empty; the first line must name the columns")
    parsed = _Parsed(columns=_header(first[1]))
    seen: dict[str, int] = {}
    for line, cells in records:
        parsed.count += 1
        if parsed.count > MAX_ROWS:
            raise PayloadTooLarge(
                f"the file has more than {MAX_ROWS} rows; split it into several imports"
            )
        if len(cells) != len(parsed.columns):
            message = f"the row has {len(cells)} cells, the header {len(parsed.columns)} columns"
            first_cell = cells[0].strip() or None
            parsed.errors.append(RowError(line=line, sku=first_cell, field=None, message=message))
            continue
        named = dict(zip(parsed.columns, (c.strip() for c in cells), strict=True))
        row, errors = _validate(line, named)
        sku = named["sku"]
        if sku in seen:
            message = f"duplicate SKU: already on line {seen[sku]}"
            errors.append(RowError(line=line, sku=sku, field="sku", message=message))
        elif sku:
            seen[sku] = line
        parsed.errors.extend(errors)
        if row is not None and not errors:
            parsed.rows.append(row)
    return parsed


# --- import --------------------------------------------------------------------------------


async def _existing(
    session: AsyncSession, actor: Actor, skus: list[str], *, lock: bool
) -> dict[str, Part]:
    found: dict[str, Part] = {}
    for start in range(0, len(skus), _LOOKUP_CHUNK):
        chunk = skus[start : start + _LOOKUP_CHUNK]
        query = select(Part).where(Part.org_id == actor.org_id, Part.sku.in_(chunk))
        if lock:
            query = query.order_by(Part.sku).with_for_update()
        for part in await session.scalars(query):
            found[part.sku] = part
    return found


def _apply(part: Part, values: dict[str, Any]) -> bool:
    return bool(patch(part, values, expected_version=None))


async def _check_serialised_changes(
    session: AsyncSession, parsed: _Parsed, existing: dict[str, Part]
) -> None:
    """A row may not flip the serialised flag of a part whose stock is held (the same
    rule as PATCH): that is a row error, reported with the others."""
    for row in parsed.rows:
        part = existing.get(row.sku)
        wanted = row.changes().get("serialised")
        if part is None or wanted is None or wanted == part.serialised:
            continue
        try:
            await refuse_serialised_change_with_stock(session, part)
        except Conflict as refusal:
            parsed.errors.append(
                RowError(line=row.line, sku=row.sku, field="serialised", message=refusal.detail)
            )
    parsed.errors.sort(key=lambda error: error.line)


async def import_parts(
    session: AsyncSession, actor: Actor, *, data: bytes, dry_run: bool
) -> ImportReport:
    """Validate the whole file; unless it is a dry run, create and update every row in the
    caller's transaction. Any row error: nothing is written (ImportRejected when not a dry
    run)."""
    _manager(actor)
    # Validating a full file (about 10,000 rows under the body limit) takes a second of
    # pure Python: on a thread, the event loop keeps its turns and every other request of
    # the process goes on meanwhile.
    parsed = await to_thread.run_sync(parse, data)
    if parsed.errors and not dry_run:
        raise _rejected(parsed.errors, rows=parsed.count)
    skus = [row.sku for row in parsed.rows]
    existing = await _existing(session, actor, skus, lock=not dry_run)
    await _check_serialised_changes(session, parsed, existing)
    if parsed.errors and not dry_run:
        raise _rejected(parsed.errors, rows=parsed.count)
    created = updated = unchanged = 0
    for row in parsed.rows:
        part = existing.get(row.sku)
        if part is None:
            created += 1
            if not dry_run:
                values = row.part.model_dump()
                session.add(Part(org_id=actor.org_id, version=1, active=row.active, **values))
        elif dry_run:
            changed = any(getattr(part, k) != v for k, v in row.changes().items())
            updated, unchanged = updated + changed, unchanged + (not changed)
        elif _apply(part, row.changes()):
            updated += 1
        else:
            unchanged += 1
    if not dry_run:
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError as exc:
            raise Conflict(
                "another request added some of these SKUs meanwhile; run the import again"
            ) from exc
    return ImportReport(
        dry_run=dry_run,
        rows=parsed.count,
        created=created,
        updated=updated,
        unchanged=unchanged,
        errors=parsed.errors[:MAX_REPORTED_ERRORS],
        error_count=len(parsed.errors),
        errors_truncated=len(parsed.errors) > MAX_REPORTED_ERRORS,
    )


# --- export --------------------------------------------------------------------------------


def _cells(part: Part) -> list[str]:
    def text(value: str | None) -> str:
        return spreadsheet_safe(value or "")

    return [
        part.sku,
        text(part.name),
        text(part.description),
        text(part.unit),
        str(part.cost),
        str(part.price),
        text(part.barcode),
        "true" if part.serialised else "false",
        text(MODEL_SEPARATOR.join(part.compatible_models or [])),
        "true" if part.active else "false",
    ]


async def export_parts(
    session: AsyncSession,
    actor: Actor,
    *,
    q: str | None = None,
    model: str | None = None,
    active: bool | None = None,
) -> str:
    """The catalogue (filtered like the list) as CSV text, ordered by SKU."""
    query = search_parts_query(actor, q=q, model=model, active=active).order_by(Part.sku)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for part in await session.scalars(query):
        writer.writerow(_cells(part))
    return out.getvalue()
