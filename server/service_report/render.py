"""ReportData -> PDF bytes (reportlab platypus, A4). Pure and synchronous: no database, no
I/O; the router runs it in a worker thread.

Sections, in order: header (organisation, work-order number, status), customer / site /
equipment, problem, timeline, visits, work done, checklist, parts (prices, totals,
serials), labour, photos, signatures. Empty sections say "None recorded" rather than
vanish, so a customer can tell "nothing was used" from "the page is missing".
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from server.service_report import fonts
from server.service_report.data import ChecklistLine, ReportData, SignatureInfo
from server.service_report.labels import Labels, Language
from server.service_report.layout import (
    LINE,
    MARGIN,
    MAX_SERIALS,
    PHOTO_BOX,
    PHOTO_COLUMNS,
    SIGNATURE_BOX,
    WIDTH,
    cell,
    grid,
    image,
    money,
    number,
    para,
    strokes_drawing,
)


class _Report:
    def __init__(self, data: ReportData, lang: Language) -> None:
        self.data = data
        self.t = Labels(lang)
        try:
            self.zone = ZoneInfo(data.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            self.zone = ZoneInfo("UTC")

    # --- formatting -------------------------------------------------------------------

    def time(self, value: dt.datetime | None) -> str:
        if value is None:
            return "–"
        try:
            return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")
        except OverflowError:  # a time stored at the calendar's edge (year 1 or 9999)
            return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")

    def date(self, value: dt.date | None) -> str:
        return value.isoformat() if value else "–"

    def heading(self, key: str) -> Paragraph:
        return para(self.t(key), "h2", bold=True)

    def none(self) -> Paragraph:
        return para(self.t("none"), "small")

    def pairs(self, rows: Sequence[tuple[str, str | None]], label_width: float) -> Table:
        body = [[cell(self.t(k), "small"), cell(v)] for k, v in rows if v]
        return grid(body, [label_width, WIDTH - label_width], header=False)

    def answer(self, line: ChecklistLine) -> str:
        value = line.value
        if value is None:
            return self.t("not_answered")
        if isinstance(value, bool):
            return self.t("yes" if value else "no")
        if isinstance(value, int | float):
            shown = str(int(value)) if float(value).is_integer() else f"{value:g}"
            return f"{shown} {line.unit}" if line.unit else shown
        if isinstance(value, list) and line.kind == "photo":
            return self.t("photos_n", n=len(value))
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(value)

    # --- sections ---------------------------------------------------------------------

    def header(self) -> list[Flowable]:
        d = self.data
        left = [para(d.org_name, "org", bold=True), para(self.t("title"), "title")]
        right = [
            para(d.number, "number", bold=True),
            para(f"{self.t('status')}: {self.t.code('status', d.status)}", "right"),
            para(f"{self.t('type')}: {self.t.code('type', d.type)}", "right"),
            para(f"{self.t('priority')}: {d.priority}", "right"),
            para(f"{self.t('generated')}: {self.time(d.generated_at)}", "right"),
        ]
        table = Table([[left, right]], colWidths=[WIDTH * 0.6, WIDTH * 0.4])
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -1), 1, colors.black),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ]
            )
        )
        return [table, Spacer(1, 4)]

    def parties(self) -> list[Flowable]:
        d, t = self.data, self.t
        customer = [para(t("customer"), "small"), para(d.customer.name, bold=True)]
        if d.customer.contact_name:
            customer.append(para(f"{t('contact')}: {d.customer.contact_name}"))
        if d.customer.phone:
            customer.append(para(f"{t('phone')}: {d.customer.phone}"))
        site: list[Flowable] = [para(t("site"), "small")]
        if d.site:
            site += [para(d.site.name, bold=True), para(d.site.address)]
        else:
            site.append(para("–"))
        return [
            Table(
                [[customer, site, self._asset()]],
                colWidths=[WIDTH / 3] * 3,
                style=[
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ],
            )
        ]

    def _asset(self) -> list[Flowable]:
        a, t = self.data.asset, self.t
        out: list[Flowable] = [para(t("asset"), "small")]
        if a is None:
            return [*out, para("–")]
        out.append(para(a.name or a.product_model, bold=True))
        out.append(para(f"{t('model')}: {a.product_model}"))
        out.append(para(f"{t('serial')}: {a.serial_number}"))
        if a.install_date:
            out.append(para(f"{t('installed')}: {self.date(a.install_date)}"))
        if a.warranty_end:
            state = t("in_warranty") if a.under_warranty else t("out_of_warranty")
            until = t("warranty_until", date=self.date(a.warranty_end))
            out.append(para(f"{t('warranty')}: {state} ({until})"))
        return out

    def problem(self) -> list[Flowable]:
        d = self.data
        out: list[Flowable] = [self.heading("problem"), para(d.problem_title, bold=True)]
        if d.problem_description:
            out.append(para(d.problem_description))
        if d.work.fault_code:
            out.append(para(f"{self.t('fault_code')}: {d.work.fault_code}"))
        if d.engineer:
            out.append(para(f"{self.t('engineer')}: {d.engineer}"))
        return out

    def timeline(self) -> list[Flowable]:
        tl = self.data.timeline
        rows = [
            (key, self.time(getattr(tl, key)))
            for key in ("created_at", "first_response_at", "arrived_at", "resolved_at")
        ]
        if tl.closed_at:
            rows.append(("closed_at", self.time(tl.closed_at)))
        return [self.heading("timeline"), self.pairs(rows, 45 * mm)]

    def visits(self) -> list[Flowable]:
        t = self.t
        out: list[Flowable] = [self.heading("visits")]
        if not self.data.visits:
            return [*out, self.none()]

        def where(flag: bool | None) -> str:
            return t("no_position") if flag is None else t("at_site" if flag else "away")

        rows: list[list[Any]] = [
            [cell(t(k), bold=True) for k in ("visit", "engineer", "check_in", "check_out")]
            + [cell(t("location"), bold=True)]
        ]
        for v in self.data.visits:
            place = where(v.in_at_site)
            if v.check_out is not None:
                place += f" / {where(v.out_at_site)}"
            out_time = self.time(v.check_out) if v.check_out else t("open")
            rows.append(
                [
                    cell(str(v.number)),
                    cell(v.engineer),
                    cell(self.time(v.check_in)),
                    cell(out_time),
                    cell(place),
                ]
            )
        widths = [14 * mm, 46 * mm, 32 * mm, 32 * mm, WIDTH - 124 * mm]
        return [*out, grid(rows, widths)]

    def work_done(self) -> list[Flowable]:
        w, t = self.data.work, self.t
        out: list[Flowable] = [self.heading("work_done")]
        if w.resolution_code:
            out.append(para(f"{t('resolution_code')}: {w.resolution_code}", bold=True))
        for key, text in (("summary", w.summary), ("root_cause", w.root_cause), ("notes", w.notes)):
            if text:
                out += [para(t(key), "small"), para(text)]
        return out if len(out) > 1 else [*out, self.none()]

    def checklist(self) -> list[Flowable]:
        out: list[Flowable] = [self.heading("checklist")]
        if not self.data.checklist:
            return [*out, self.none()]
        for section in self.data.checklist:
            rows: list[list[Any]] = [[cell(section.name, bold=True), cell(self.t("answer"))]]
            for line in section.lines:
                label = f"{line.label} *" if line.required else line.label
                style = "small" if line.value is None else "base"
                rows.append([cell(label), cell(self.answer(line), style)])
            out += [grid(rows, [WIDTH * 0.62, WIDTH * 0.38]), Spacer(1, 4)]
        return out

    def parts(self) -> list[Flowable]:
        d, t = self.data, self.t
        out: list[Flowable] = [self.heading("parts")]
        if not d.parts:
            out.append(self.none())
        else:
            rows: list[list[Any]] = [
                [cell(t("sku"), bold=True), cell(t("part"), bold=True)]
                + [cell(t(k), "right", bold=True) for k in ("qty", "unit_price", "line_total")]
            ]
            for p in d.parts:
                name: list[Flowable] = [cell(p.name)]
                if p.serial_numbers:
                    shown = p.serial_numbers[:MAX_SERIALS]
                    more = len(p.serial_numbers) - len(shown)
                    text = ", ".join(shown) + (f" (+{more})" if more else "")
                    name.append(cell(f"{t('serials')}: {text}", "small"))
                quantity = f"{number(p.quantity)} {p.unit}"
                rows.append(
                    [
                        cell(p.sku),
                        name,
                        cell(quantity, "right"),
                        cell(money(p.unit_price), "right"),
                        cell(money(p.total), "right"),
                    ]
                )
            total = cell(money(d.parts_total), "right", bold=True)
            rows.append([cell(""), cell(t("total"), bold=True), cell(""), cell(""), total])
            widths = [32 * mm, WIDTH - 122 * mm, 22 * mm, 32 * mm, 36 * mm]
            out.append(grid(rows, widths))
        return out + self._removed()

    def _removed(self) -> list[Flowable]:
        if not self.data.removed_parts:
            return []
        t = self.t
        rows: list[list[Any]] = [
            [
                cell(t("sku"), bold=True),
                cell(t("part"), bold=True),
                cell(t("qty"), "right", bold=True),
            ]
        ]
        for r in self.data.removed_parts:
            serials = ", ".join(r.serial_numbers[:MAX_SERIALS])
            name = f"{r.name} ({serials})" if serials else r.name
            rows.append([cell(r.sku), cell(name), cell(number(r.quantity), "right")])
        widths = [32 * mm, WIDTH - 54 * mm, 22 * mm]
        title = para(self.t("removed_parts"), "small")
        return [Spacer(1, 4), KeepTogether([title, grid(rows, widths)])]

    def labour(self) -> list[Flowable]:
        t = self.t
        out: list[Flowable] = [self.heading("labour")]
        if not self.data.labour:
            return [*out, self.none()]
        keys = ("kind", "engineer", "start", "end")
        rows: list[list[Any]] = [
            [*(cell(t(k), bold=True) for k in keys), cell(t("duration"), "right", bold=True)]
        ]
        for line in self.data.labour:
            rows.append(
                [
                    cell(t(line.kind)),
                    cell(line.engineer),
                    cell(self.time(line.started_at)),
                    cell(self.time(line.ended_at)),
                    cell(t.duration(line.seconds), "right"),
                ]
            )
        seconds = self.data.labour_seconds()
        blank = [cell(""), cell(""), cell("")]
        for kind in ("travel", "work", "break"):
            if seconds[kind]:
                label = cell(f"{t('total')} {t(kind)}", "small")
                rows.append([*blank, label, cell(t.duration(seconds[kind]), "right")])
        worked = seconds["travel"] + seconds["work"]
        rows.append(
            [*blank, cell(t("worked"), bold=True), cell(t.duration(worked), "right", bold=True)]
        )
        widths = [24 * mm, 50 * mm, 34 * mm, 34 * mm, WIDTH - 142 * mm]
        return [*out, grid(rows, widths)]

    def photos(self) -> list[Flowable]:
        d = self.data
        if not d.photos and not d.photos_not_shown:
            return []
        out: list[Flowable] = [self.heading("photos")]
        cells: list[list[Flowable]] = []
        for photo in d.photos:
            taken = self.time(photo.captured_at) if photo.captured_at else None
            under = " ".join(x for x in (photo.caption, taken) if x)
            cells.append([image(photo.picture, PHOTO_BOX), cell(under, "small")])
        if cells:
            rows: list[list[Any]] = [
                cells[i : i + PHOTO_COLUMNS] for i in range(0, len(cells), PHOTO_COLUMNS)
            ]
            rows[-1] += [[]] * (PHOTO_COLUMNS - len(rows[-1]))
            table = Table(rows, colWidths=[WIDTH / PHOTO_COLUMNS] * PHOTO_COLUMNS)
            table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
            out.append(table)
        if d.photos_not_shown:
            out.append(para(self.t("photos_more", n=d.photos_not_shown), "small"))
        return out

    def signatures(self) -> list[Flowable]:
        out: list[Flowable] = []
        for signature in self.data.signatures:
            out.append(KeepTogether([self.heading("signature"), self._signature(signature)]))
        return out

    def _signature(self, s: SignatureInfo) -> Table:
        t = self.t
        mark: Flowable = (
            image(s.picture, SIGNATURE_BOX)
            if s.picture is not None
            else strokes_drawing(s.strokes, SIGNATURE_BOX)
        )
        facts = [
            para(t("signer"), "small"),
            para(s.signer_name, bold=True),
            para(t("signed_at"), "small"),
            para(self.time(s.signed_at)),
            para(t("signed_status"), "small"),
            para(t.code("status", s.signed_status)),
        ]
        table = Table([[mark, facts]], colWidths=[SIGNATURE_BOX[0] + 6 * mm, None])
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BOX", (0, 0), (0, 0), 0.5, LINE),
                    ("LEFTPADDING", (1, 0), (1, 0), 8),
                ]
            )
        )
        return table

    # --- the document -----------------------------------------------------------------

    def story(self) -> list[Flowable]:
        return [
            *self.header(),
            *self.parties(),
            *self.problem(),
            *self.timeline(),
            *self.visits(),
            *self.work_done(),
            *self.checklist(),
            *self.parts(),
            *self.labour(),
            *self.photos(),
            *self.signatures(),
        ]

    def footer(self, canvas: Canvas, doc: Any) -> None:
        text = " · ".join(
            (
                self.data.number,
                self.t("times_in", zone=self.data.time_zone),
                self.t("page", n=canvas.getPageNumber()),
            )
        )
        footer = para(text, "small")
        _, height = footer.wrap(WIDTH, MARGIN)
        canvas.saveState()
        footer.drawOn(canvas, MARGIN, MARGIN / 2 - height / 2)
        canvas.restoreState()


def render(data: ReportData, language: Language) -> bytes:
    """The report as PDF bytes, its labels in ``language``."""
    fonts.register()
    report = _Report(data, language)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"{report.t('title')} {data.number}",
        author=data.org_name,
        subject=data.customer.name,
        creator="Fixflow",
        invariant=True,  # the same data renders the same bytes (no timestamp, fixed id)
    )
    doc.build(report.story(), onFirstPage=report.footer, onLaterPages=report.footer)
    return out.getvalue()
