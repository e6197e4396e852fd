"""Rendering a hand-built report: what a customer reads and sees on the page."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from server.service_report import labels, pictures
from server.service_report.data import (
    AssetInfo,
    ChecklistLine,
    ChecklistSection,
    CustomerInfo,
    LabourLine,
    PartLine,
    Photo,
    Picture,
    RemovedPart,
    ReportData,
    SignatureInfo,
    SiteInfo,
    Timeline,
    VisitLine,
    WorkDone,
)
from server.service_report.render import render
from tests.fixtures.attachments import noisy_jpeg
from tests.server.service_report.pdf import (
    find_text,
    images_of,
    ink,
    page_count,
    signature_png,
    text_of,
)

T0 = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
MAX_PIXELS = 50_000_000


def _picture(data: bytes, *, png: bool = False) -> Picture:
    longest = pictures.SIGNATURE_PX if png else pictures.PHOTO_PX
    made = pictures.prepare(data, longest=longest, png=png, max_pixels=MAX_PIXELS)
    assert made is not None
    return made


def _report(**changes: object) -> ReportData:
    h = dt.timedelta(hours=1)
    data = ReportData(
        org_name="Fixflow Service Co.",
        time_zone="Asia/Shanghai",
        number="WO-000123",
        status="resolved",
        type="repair",
        priority="P2",
        customer=CustomerInfo("上海申通电梯", "Li Na", "+86 21 5555 0101"),
        problem_title="Car 2 stops between floors",
        problem_description="Alarm E31 since this morning.",
        timeline=Timeline(T0, T0 + h / 5, T0 + h, T0 + 3 * h),
        generated_at=T0 + 4 * h,
        site=SiteInfo("Tower A", "1 Nanjing Road, Shanghai"),
        asset=AssetInfo("CH-200", "SN000042", "Car 2", None, dt.date(2027, 5, 1), True),
        engineer="Wang Wei",
        visits=[VisitLine(1, "Wang Wei", T0 + h, T0 + 3 * h, True, False)],
        work=WorkDone("FIXED", "E31", "Worn contacts", "Replaced the door relay", None),
        checklist=[
            ChecklistSection(
                "Safety",
                [
                    ChecklistLine("Power isolated", "yes_no", True, required=True),
                    ChecklistLine("Motor current", "number", 12.5, "A"),
                    ChecklistLine("Comments", "text", None),
                ],
            )
        ],
        parts=[
            PartLine(
                "RLY-220",
                "Door relay",
                "pcs",
                Decimal("2.000"),
                Decimal("85.50"),
                Decimal("171.00"),
                ["R-1", "R-2"],
            ),
            PartLine("CBL-1", "Cable", "m", Decimal("1.500"), Decimal("12.00"), Decimal("18.00")),
        ],
        removed_parts=[RemovedPart("RLY-220", "Door relay", Decimal("1.000"), ["OLD-9"])],
        labour=[
            LabourLine("travel", "Wang Wei", T0 + h / 4, T0 + h),
            LabourLine("work", "Wang Wei", T0 + h, T0 + 3 * h),
        ],
        photos=[Photo(_picture(noisy_jpeg(400, 300)), "Relay before", T0 + 2 * h)],
        signatures=[
            SignatureInfo("Li Na 李娜", "resolved", T0 + 3 * h, _picture(signature_png(), png=True))
        ],
    )
    return dataclasses.replace(data, **changes)  # type: ignore[arg-type]


def test_the_report_carries_what_the_customer_needs() -> None:
    data = _report()
    pdf = render(data, "en")
    assert pdf.startswith(b"%PDF-")
    assert render(data, "en") == pdf  # no timestamp or random id: same data, same bytes
    text = text_of(pdf)
    for expected in (
        "Fixflow Service Co.",
        "Service report",
        "WO-000123",
        "上海申通电梯",  # a Chinese customer name survives as text (searchable, copyable)
        "1 Nanjing Road, Shanghai",
        "SN000042",
        "Car 2 stops between floors",
        "Status: Resolved",
        "RLY-220",
        "Serial numbers: R-1, R-2",
        "85.50",
        "171.00",
        "1.5 m",
        "189.00",  # the parts total
        "OLD-9",
        "Replaced the door relay",
        "Power isolated *",
        "Yes",
        "12.5 A",
        "not answered",
        "at the site / away from the site",
        "Li Na 李娜",
        "Relay before",
    ):
        assert expected in text, expected
    # Times in the organisation's zone: 01:00 UTC is 09:00 in Shanghai.
    assert "Reported 2026-11-24 09:00" in text
    # Labour: 45 min travel and 2 h work, 2 h 45 min together.
    assert "0 h 45 min" in text and "2 h 00 min" in text and "2 h 45 min" in text


def test_chinese_labels() -> None:
    text = text_of(render(_report(), "zh_CN"))
    for expected in ("服务报告", "客户", "上海申通电梯", "备件", "合计", "客户签字", "已完成"):
        assert expected in text, expected
    assert "Service report" not in text


def test_both_languages_name_every_label() -> None:
    assert set(labels.EN) == set(labels.ZH_CN)
    assert labels.language("zh-CN") == "zh_CN" and labels.language("fr") is None


def test_the_signature_and_photo_are_drawn_not_only_named() -> None:
    pdf = render(_report(), "en")
    placed = images_of(pdf)
    assert [p.px for p in placed] == [(400, 300), (300, 120)]  # the photo, the signature
    photo, signature = placed
    assert ink(pdf, photo.page, photo.bounds) > 0.05  # noise: plenty of dark pixels
    # Black strokes on a white box: some ink, mostly paper.
    assert 0.01 < ink(pdf, signature.page, signature.bounds) < 0.5
    # The signature sits beside its signer's name.
    page, (_, bottom, _, top) = find_text(pdf, "Li Na 李娜")
    assert page == signature.page
    assert signature.bounds[1] <= top and bottom <= signature.bounds[3]


def test_a_signature_without_its_image_is_drawn_from_its_strokes() -> None:
    strokes = [[[0, 0], [60, 50], [120, 0]], [[130, 10, 5], [160, 40, 30]]]
    signed = SignatureInfo("Zhang Min", "on_site", None, None, strokes)
    pdf = render(_report(signatures=[signed], photos=[]), "en")
    assert images_of(pdf) == []
    page, (_, _, right, top) = find_text(pdf, "Zhang Min")
    # The box left of the signer's name holds the drawn strokes.
    region = (40.0, top - 95.0, right - 10.0, top + 5.0)
    assert ink(pdf, page, region) > 0.005
    assert "Work order status when signed On site" in text_of(pdf)


def test_an_empty_report_says_so() -> None:
    empty = _report(
        visits=[],
        checklist=[],
        parts=[],
        removed_parts=[],
        labour=[],
        photos=[],
        signatures=[],
        site=None,
        asset=None,
        work=WorkDone(),
    )
    text = text_of(render(empty, "en"))
    assert text.count("None recorded") == 5  # visits, work done, checklist, parts, labour
    assert "Customer signature" not in text


def test_long_and_hostile_text_flows_over_pages() -> None:
    long = "Replaced <b>relay</b> & cleaned\x00 the contacts. " * 400
    many = [
        PartLine(f"SKU-{i}", "Fuse " * 40, "pcs", Decimal(1), Decimal(1), Decimal(1))
        for i in range(150)
    ]
    pdf = render(_report(problem_description=long, parts=many), "en")
    assert page_count(pdf) > 3
    text = text_of(pdf)
    assert "Replaced <b>relay</b> & cleaned the contacts." in text  # printed, not parsed
    assert "SKU-149" in text and "150.00" in text


def test_no_photo_metadata_reaches_the_pdf() -> None:
    """reportlab embeds a JPEG file as it is: the report must carry re-encoded pixels, never
    the camera's EXIF with its GPS position."""
    original = noisy_jpeg(400, 300)
    assert b"FieldPhone 9" in original
    pdf = render(_report(), "en")
    assert b"FieldPhone 9" not in pdf and b"Exif" not in pdf
