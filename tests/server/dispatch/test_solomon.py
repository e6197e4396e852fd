from __future__ import annotations

from pathlib import Path

import pytest

from server.dispatch.vrp import Window, solomon

DATA = Path(__file__).resolve().parents[2] / "fixtures" / "vrptw"


def test_reader_takes_c101_as_a_hundred_customers_and_25_vehicles_of_200() -> None:
    problem = solomon.read(DATA / "solomon" / "C101.txt")

    assert problem.name == "C101"
    assert problem.scale == 10
    assert len(problem.jobs) == 100
    assert len(problem.vehicles) == 25
    assert {v.capacity for v in problem.vehicles} == {200}
    assert {(v.start, v.end, v.shift) for v in problem.vehicles} == {(0, 0, Window(0, 12360))}


def test_reader_keeps_a_customers_window_service_and_demand_in_tenths() -> None:
    first = solomon.read(DATA / "solomon" / "C101.txt").jobs[0]

    assert (first.id, first.location) == ("1", 1)
    assert first.windows == (Window(9120, 9670),)
    assert first.service == 900
    assert first.demand == 10


def test_distances_are_truncated_to_one_decimal_as_dimacs_does() -> None:
    travel = solomon.read(DATA / "solomon" / "C101.txt").travel

    # depot (40, 50) to customer 1 (45, 68): sqrt(349) = 18.68... -> 18.6
    assert travel[0][1] == 186
    assert travel[1][0] == 186
    assert travel[0][0] == 0


def test_best_known_values_are_the_dimacs_columns() -> None:
    known = solomon.best_known(DATA / "solomon_bks.csv")

    assert len(known) == 56
    assert known["R101"] == solomon.BestKnown(vehicles=20, distance=1637.7)
    assert solomon.gap(1653.077, known["R101"]) == (1653.077 - 1637.7) / 1637.7


def test_parse_refuses_a_table_without_the_depot_first() -> None:
    text = "X\nVEHICLE\nNUMBER CAPACITY\n 2 10\nCUSTOMER\n 1 0 0 1 0 10 1\n"

    with pytest.raises(ValueError, match="depot"):
        solomon.parse(text)
