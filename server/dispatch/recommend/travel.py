"""Travel seconds between points, vectorised: the recommendation's only source of travel.

``Travel`` is any callable taking four float arrays (from latitude, from longitude, to
latitude, to longitude, in degrees, broadcast together) and returning integer seconds of
the same shape. ``Haversine`` is the default: the great-circle distance times a road factor
at an average speed, rounded to the nearest second, the same figures as
``server.dispatch.travel.Haversine`` (road factor 1.3, 40 km/h). A routing server's table
can stand behind the same callable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from server.dispatch.travel import great_circle_m

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class Travel(Protocol):
    """Seconds from (from_lat, from_lon) to (to_lat, to_lon), elementwise. A travel object
    may also have ``symmetric = True`` (a to b takes as long as b to a): the engine then
    computes each pair once."""

    def __call__(
        self, from_lat: FloatArray, from_lon: FloatArray, to_lat: FloatArray, to_lon: FloatArray
    ) -> IntArray: ...


@dataclass(frozen=True)
class Haversine:
    road_factor: float = 1.3
    speed_kmh: float = 40.0
    symmetric: bool = True

    def __post_init__(self) -> None:
        if not (self.road_factor > 0 and self.speed_kmh > 0):
            raise ValueError("Haversine: road_factor and speed_kmh must be > 0")

    def __call__(
        self, from_lat: FloatArray, from_lon: FloatArray, to_lat: FloatArray, to_lon: FloatArray
    ) -> IntArray:
        metres = great_circle_m(from_lat, from_lon, to_lat, to_lon)
        seconds = metres * self.road_factor / (self.speed_kmh / 3.6)
        rounded: IntArray = np.rint(seconds).astype(np.int64)
        return rounded


def seconds(travel: Travel, a: tuple[float, float], b: tuple[float, float]) -> int:
    """One pair, through the same vectorised function (so scalar and array callers agree)."""
    return int(travel(np.array([a[0]]), np.array([a[1]]), np.array([b[0]]), np.array([b[1]]))[0])
