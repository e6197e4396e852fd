"""What the generated history is made of: the product models and their faults, the
territories, the calendar of a year of demand (weekdays, seasons, public holidays) and the
three bad actors planted in it (docs/history.md).

Pure data and pure functions: the generator (``orders``) draws from them with its own
seeded random stream, so a seed gives the same history every time."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Model:
    """A product model in the installed base: its category (which sets its seasonality),
    how often one unit fails (relative), its faults (the first is the most common), the
    skill a repair needs and how many units there are (relative)."""

    code: str
    label: str
    category: str
    failure_rate: float
    faults: tuple[str, ...]
    skill: str
    installed: float = 1.0  # share of the installed base (relative)


# The bad product model (fails about five times as often as its peers, mostly one fault).
BAD_MODEL = "VRF-8"
BAD_FAULT = "E-COMP-TRIP"
MODELS: tuple[Model, ...] = (
    Model(
        "CH-200",
        "Chiller",
        "hvac",
        1.0,
        ("E-REFRIG-LEAK", "E-HIGH-PRESS", "E-FAN-MOTOR", "E-SENSOR"),
        "hvac",
    ),
    Model(
        "AHU-45",
        "Air handler",
        "hvac",
        0.9,
        ("E-FAN-MOTOR", "E-FILTER", "E-BELT", "E-SENSOR"),
        "hvac",
    ),
    Model(
        "SPLIT-12",
        "Split air conditioner",
        "hvac",
        1.1,
        ("E-REFRIG-LEAK", "E-PCB", "E-DRAIN", "E-SENSOR"),
        "hvac",
    ),
    Model(
        BAD_MODEL,
        "VRF outdoor unit",
        "hvac",
        5.5,
        (BAD_FAULT, "E-REFRIG-LEAK", "E-PCB"),
        "hvac",
        installed=0.3,
    ),
    Model(
        "RF-9",
        "Refrigerated cabinet",
        "refrigeration",
        1.0,
        ("E-DOOR-SEAL", "E-DEFROST", "E-THERMOSTAT"),
        "refrigeration",
    ),
    Model(
        "ICE-3",
        "Ice machine",
        "refrigeration",
        0.8,
        ("E-WATER-VALVE", "E-DEFROST", "E-PCB"),
        "refrigeration",
    ),
    Model(
        "GEN-30",
        "Backup generator",
        "power",
        0.7,
        ("E-BATTERY", "E-FUEL", "E-ALTERNATOR"),
        "generators",
    ),
    Model(
        "UPS-10", "UPS 10 kVA", "power", 0.6, ("E-BATTERY", "E-PCB", "E-FAN-MOTOR"), "electrical"
    ),
    Model(
        "LIFT-X1",
        "Passenger lift",
        "lifts",
        0.9,
        ("E-DOOR-SENSOR", "E-LEVELLING", "E-BRAKE"),
        "lifts",
    ),
    Model("ESC-2", "Escalator", "lifts", 0.6, ("E-HANDRAIL", "E-STEP-CHAIN", "E-BRAKE"), "lifts"),
)
MODEL_BY_CODE = {m.code: m for m in MODELS}

# The organisation's territories, one service site each; the last one breaches its SLA
# (short-staffed, far out: everything takes about three times as long).
BAD_TERRITORY = "Baoshan"
TERRITORIES: tuple[tuple[str, float, float, float], ...] = (
    # name, latitude, longitude, share of the installed base
    ("Pudong", 31.2290, 121.5260, 0.24),
    ("Puxi", 31.2240, 121.4450, 0.22),
    ("Minhang", 31.1120, 121.3820, 0.16),
    ("Jiading", 31.3830, 121.2500, 0.13),
    ("Songjiang", 31.0320, 121.2280, 0.12),
    (BAD_TERRITORY, 31.4050, 121.4890, 0.13),
)
# The bad territory keeps about half the engineers its installed base would need.
BAD_TERRITORY_STAFFING = 0.5
# The engineer with many repeat repairs: the first engineer of this territory.
BAD_ENGINEER_TERRITORY = "Puxi"
REPEAT_CHANCE = 0.04  # a repair that comes back (same asset, same fault) within weeks
BAD_ENGINEER_REPEAT_CHANCE = 0.45

# Demand by weekday (Monday first): Monday carries the weekend's faults.
WEEKDAY = (1.2, 1.05, 1.0, 1.0, 0.95, 0.35, 0.2)
# HVAC by month: the summer peak; refrigeration follows it more mildly; power peaks in
# winter storms; lifts are flat.
SEASON = {
    "hvac": (0.55, 0.55, 0.65, 0.85, 1.15, 1.7, 2.1, 2.0, 1.3, 0.8, 0.6, 0.6),
    "refrigeration": (0.8, 0.8, 0.85, 0.95, 1.1, 1.3, 1.45, 1.4, 1.1, 0.9, 0.85, 0.8),
    "power": (1.3, 1.2, 1.0, 0.9, 0.9, 1.0, 1.1, 1.1, 0.9, 0.9, 1.0, 1.2),
    "lifts": (1.0,) * 12,
}
CATEGORIES = tuple(SEASON)


def holidays(timezone: str, first: dt.date, last: dt.date) -> dict[dt.date, float]:
    """Public holidays between ``first`` and ``last`` with the share of normal demand left
    on them: Chinese New Year week, Labour Day and Golden Week for an organisation in China;
    Christmas to New Year elsewhere."""
    out: dict[dt.date, float] = {}
    if timezone in ("Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "Asia/Urumqi"):
        spans = [(d, 7, 0.25) for d in _SPRING_FESTIVAL]
        for year in range(first.year, last.year + 1):
            spans += [(dt.date(year, 5, 1), 5, 0.45), (dt.date(year, 10, 1), 7, 0.4)]
            spans.append((dt.date(year, 1, 1), 1, 0.5))
    else:
        spans = [(dt.date(y, 12, 24), 9, 0.4) for y in range(first.year - 1, last.year + 1)]
    for start, days, factor in spans:
        for i in range(days):
            day = start + dt.timedelta(days=i)
            if first <= day <= last:
                out[day] = factor
    return out


# The first day of the Spring Festival holiday (New Year's Eve).
_SPRING_FESTIVAL = (
    dt.date(2024, 2, 9),
    dt.date(2025, 1, 28),
    dt.date(2026, 2, 16),
    dt.date(2027, 2, 5),
    dt.date(2028, 1, 25),
    dt.date(2029, 2, 12),
    dt.date(2030, 2, 2),
)


def day_weight(day: dt.date, category: str, holiday: dict[dt.date, float]) -> float:
    """How much demand a day carries for one category of equipment (relative)."""
    season = SEASON[category][day.month - 1]
    return WEEKDAY[day.weekday()] * season * holiday.get(day, 1.0)


def hour_weights() -> tuple[float, ...]:
    """When in the local day faults are reported: office hours, a morning peak, a quiet
    night (24 weights)."""
    return tuple(
        0.15 + (2.2 * math.exp(-((h - 9.5) ** 2) / 6) + 1.4 * math.exp(-((h - 14.5) ** 2) / 8))
        if 6 <= h <= 21
        else 0.12
        for h in range(24)
    )


TYPES = (
    ("repair", 0.64),
    ("maintenance", 0.17),
    ("inspection", 0.07),
    ("installation", 0.04),
    ("complaint", 0.08),
)
PRIORITIES = (("P1", 0.06), ("P2", 0.22), ("P3", 0.5), ("P4", 0.22))
CHANNELS = (
    ("phone", 0.34),
    ("web", 0.18),
    ("email", 0.08),
    ("im", 0.16),
    ("qr", 0.12),
    ("iot", 0.12),
)
# Hours from creation to the first visit a dispatcher books, by priority (mean).
BOOKING_HOURS = {"P1": 1.5, "P2": 10.0, "P3": 30.0, "P4": 70.0}
# The organisation's SLA targets (response, resolution) in minutes of the calendar: P1
# around the clock, the others in office hours (as the demo data's).
SLA_TARGETS = {
    "P1": (60, 8 * 60),
    "P2": (4 * 60, 2 * 9 * 60),
    "P3": (9 * 60, 5 * 9 * 60),
    "P4": (2 * 9 * 60, 10 * 9 * 60),
}
OFFICE_HOURS = {d: [["08:30", "17:30"]] for d in ("mon", "tue", "wed", "thu", "fri")}

TITLES = {
    "repair": (
        "Unit not working",
        "Fault alarm on panel",
        "Unit trips repeatedly",
        "Abnormal noise",
        "Leak under unit",
    ),
    "maintenance": ("Quarterly maintenance", "Annual service", "Filter and belt change"),
    "inspection": ("Safety inspection", "Annual statutory inspection"),
    "installation": ("Install new unit", "Commissioning after installation"),
    "complaint": (
        "Customer complaint: slow repair",
        "Complaint: engineer late",
        "Complaint: fault came back",
    ),
}
RESOLUTIONS = ("REPLACED_PART", "ADJUSTED", "CLEANED", "REPAIRED", "NO_FAULT_FOUND")
ROOT_CAUSES = (
    "Wear after years of service",
    "Installation defect",
    "Power supply fault",
    "Dirt and blockage",
    "Component failure",
)
SURVEY_COMMENTS = (
    "Quick and friendly.",
    "Fixed first time, thank you.",
    "Engineer was late.",
    "Still not working properly.",
    "很满意",
    "工程师很专业",
)
