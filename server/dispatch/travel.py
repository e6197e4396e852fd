"""Travel times and distances between points, for the day plan and the recommendation.

A ``TravelProvider`` turns a list of (lat, lon) points into a square ``Matrix`` of integer
seconds and metres between every pair, diagonal 0. Three of them, and a factory:

- ``Haversine(road_factor=1.3, speed_kmh=40.0)``: the great-circle distance times a road
  factor (roads are longer than the crow flies), at an average speed. No network, numpy,
  a 1,000-point matrix in a few tens of milliseconds. The default.
- ``Osrm(base_url, profile="driving")``: an OSRM server's Table service, one request
  ``GET {base}/table/v1/{profile}/{lon},{lat};...?annotations=duration,distance``
  (OSRM wants **longitude first**). Any failure (connection, timeout, HTTP status, a body
  over ``max_bytes``, ``code`` other than "Ok", a wrong shape, a null cell for a pair with
  no route) raises ``TravelUnavailable`` naming what to fix; nothing is filled in silently.
  OSRM refuses tables over its ``--max-table-size`` (100 by default) with "TooBig": start
  ``osrm-routed`` with a larger one for day plans of more points.
- ``Cached(provider)``: memoises the matrix per *set* of points (order and repeats do not
  matter) for as long as it lives; the plan job makes one per plan, so a plan's re-solves
  and recommendations ask the routing server once.
- ``provider_from_settings(url, road_factor=, speed_kmh=)`` reads the setting
  **FIXFLOW_ROUTING_URL** (and FIXFLOW_ROAD_FACTOR, FIXFLOW_AVERAGE_SPEED_KMH for the
  haversine figures): unset or empty -> ``Haversine(road_factor, speed_kmh)``;
  ``haversine://?road_factor=1.4&speed_kmh=30`` -> ``Haversine`` with those figures;
  an OSRM base URL, ``http://host:5000`` or ``https://...`` (optionally spelled
  ``osrm+http://host:5000`` to say what it is; an optional path prefix; ``?profile=car``
  for another profile than "driving") -> ``Osrm`` at ``http://host:5000``.

Points are validated before anything is computed or sent: each is a pair of finite
numbers, latitude in [-90, 90], longitude in [-180, 180]; a ValueError names the first bad
point by its index.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx
import numpy as np
import numpy.typing as npt

from server.outbound import tls_context

Point = tuple[float, float]  # (latitude, longitude), degrees
IntArray = npt.NDArray[np.int64]

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)


class TravelUnavailable(Exception):
    """The travel provider could not give a matrix; the message says what to fix."""


@dataclass(frozen=True)
class Matrix:
    """``seconds[i][j]`` and ``metres[i][j]``: from point i to point j (integers)."""

    seconds: tuple[tuple[int, ...], ...]
    metres: tuple[tuple[int, ...], ...]

    def __len__(self) -> int:
        return len(self.seconds)


class TravelProvider(Protocol):
    async def matrix(self, points: Sequence[Point]) -> Matrix: ...


def validate(points: Sequence[Point]) -> npt.NDArray[np.float64]:
    """The points as an (n, 2) float array, or a ValueError naming the first bad one."""
    for index, point in enumerate(points):
        try:
            lat, lon = (float(v) for v in point)
        except (TypeError, ValueError):
            raise ValueError(f"point {index} {point!r}: expected (latitude, longitude)") from None
        if not (math.isfinite(lat) and math.isfinite(lon)):
            raise ValueError(f"point {index} {point!r}: coordinates must be finite numbers")
        if not -90 <= lat <= 90:
            raise ValueError(f"point {index} {point!r}: latitude {lat} is not in [-90, 90]")
        if not -180 <= lon <= 180:
            raise ValueError(f"point {index} {point!r}: longitude {lon} is not in [-180, 180]")
    return np.array([(float(a), float(b)) for a, b in points], dtype=np.float64).reshape(-1, 2)


def _matrix(seconds: IntArray, metres: IntArray) -> Matrix:
    return Matrix(
        seconds=tuple(tuple(row) for row in seconds.tolist()),
        metres=tuple(tuple(row) for row in metres.tolist()),
    )


FloatArray = npt.NDArray[np.float64]


def great_circle_m(
    from_lat: FloatArray, from_lon: FloatArray, to_lat: FloatArray, to_lon: FloatArray
) -> FloatArray:
    """Haversine distances in metres, elementwise (the arrays broadcast together; degrees):
    the one great-circle formula of dispatch (the plan's matrix, the recommendation)."""
    lat1, lon1, lat2, lon2 = map(np.radians, (from_lat, from_lon, to_lat, to_lon))
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    distance: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    return distance


def pairwise_m(coords: FloatArray) -> FloatArray:
    """``great_circle_m`` between every pair of (lat, lon) rows."""
    lat, lon = coords[:, 0], coords[:, 1]
    return great_circle_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])


class Haversine:
    """Great-circle distance x ``road_factor``, driven at ``speed_kmh``."""

    def __init__(self, road_factor: float = 1.3, speed_kmh: float = 40.0) -> None:
        if not (math.isfinite(road_factor) and road_factor >= 1.0):
            raise ValueError(f"road_factor {road_factor} must be a finite number >= 1")
        if not (math.isfinite(speed_kmh) and speed_kmh > 0):
            raise ValueError(f"speed_kmh {speed_kmh} must be a finite number > 0")
        self.road_factor = road_factor
        self.speed_kmh = speed_kmh

    def arrays(self, points: Sequence[Point]) -> tuple[IntArray, IntArray]:
        """(seconds, metres) as integer arrays, rounded to the nearest unit."""
        road = pairwise_m(validate(points)) * self.road_factor
        seconds = road / (self.speed_kmh / 3.6)
        return np.rint(seconds).astype(np.int64), np.rint(road).astype(np.int64)

    async def matrix(self, points: Sequence[Point]) -> Matrix:
        return _matrix(*self.arrays(points))


class Osrm:
    """The Table service of an OSRM server (``osrm-routed``), one request per matrix."""

    def __init__(
        self,
        base_url: str,
        profile: str = "driving",
        *,
        timeout: float = 10.0,
        max_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.timeout = timeout
        self.max_bytes = max_bytes

    def url(self, points: Sequence[Point]) -> str:
        coords = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in validate(points).tolist())
        return f"{self.base_url}/table/v1/{self.profile}/{coords}"

    async def matrix(self, points: Sequence[Point]) -> Matrix:
        if len(points) < 2:
            validate(points)
            zero = np.zeros((len(points), len(points)), dtype=np.int64)
            return _matrix(zero, zero)
        body = await self._get(self.url(points))
        seconds = self._cells(body, "durations", len(points))
        metres = self._cells(body, "distances", len(points))
        return _matrix(seconds, metres)

    async def _get(self, url: str) -> dict[str, Any]:
        params = {"annotations": "duration,distance"}
        where = f"OSRM at {self.base_url}"
        try:
            async with (
                httpx.AsyncClient(
                    timeout=self.timeout, follow_redirects=False, verify=tls_context()
                ) as client,
                client.stream("GET", url, params=params) as response,
            ):
                raw = bytearray()
                async for chunk in response.aiter_bytes():
                    raw += chunk
                    if len(raw) > self.max_bytes:
                        raise TravelUnavailable(
                            f"{where}: the answer exceeds {self.max_bytes} bytes; "
                            "ask for fewer points or raise max_bytes"
                        )
        except httpx.TimeoutException:
            raise TravelUnavailable(
                f"{where}: no answer within {self.timeout} s; check the server or raise timeout"
            ) from None
        except httpx.HTTPError as exc:
            raise TravelUnavailable(
                f"{where}: {exc.__class__.__name__}: {exc}; check FIXFLOW_ROUTING_URL"
            ) from None
        try:
            body = json.loads(bytes(raw))
        except ValueError:  # JSONDecodeError and UnicodeDecodeError both are
            body = None
        if not isinstance(body, dict):
            raise TravelUnavailable(
                f"{where}: HTTP {response.status_code} without an OSRM JSON body; "
                "check that FIXFLOW_ROUTING_URL points at osrm-routed"
            )
        if body.get("code") != "Ok":
            raise TravelUnavailable(
                f"{where}: HTTP {response.status_code}, code {body.get('code')!r}: "
                f"{body.get('message', '')} (TooBig: start osrm-routed with a larger "
                "--max-table-size; InvalidQuery/NoTable: check the profile and the data)"
            )
        return body

    def _cells(self, body: dict[str, Any], key: str, n: int) -> IntArray:
        rows = body.get(key)
        where = f"OSRM at {self.base_url}"
        if (
            not isinstance(rows, list)
            or len(rows) != n
            or any(not isinstance(r, list) or len(r) != n for r in rows)
        ):
            raise TravelUnavailable(
                f"{where}: '{key}' is not a {n} x {n} table; is the server an OSRM "
                "5.x osrm-routed with the Table service?"
            )
        for i, row in enumerate(rows):
            for j, cell in enumerate(row):
                if cell is None:
                    raise TravelUnavailable(
                        f"{where}: no route from point {i} to point {j}; move the point onto "
                        "the road network or extend the map data"
                    )
                if not isinstance(cell, int | float) or not math.isfinite(cell) or cell < 0:
                    raise TravelUnavailable(f"{where}: '{key}'[{i}][{j}] = {cell!r} is invalid")
        cells = np.rint(np.array(rows, dtype=np.float64)).astype(np.int64)
        np.fill_diagonal(cells, 0)  # a point to itself, even if OSRM snapped it twice
        return cells


class Cached:
    """One provider's matrices, memoised per set of points for the life of this object."""

    def __init__(self, provider: TravelProvider) -> None:
        self.provider = provider
        self.hits = 0
        self.misses = 0
        self._known: dict[tuple[Point, ...], tuple[IntArray, IntArray]] = {}
        self._lock = asyncio.Lock()  # concurrent askers of one set wait for one request

    async def matrix(self, points: Sequence[Point]) -> Matrix:
        validate(points)
        wanted = [(float(lat), float(lon)) for lat, lon in points]
        key = tuple(sorted(set(wanted)))
        async with self._lock:
            known = self._known.get(key)
            if known is None:
                self.misses += 1
                found = await self.provider.matrix(key)
                known = (
                    np.array(found.seconds, dtype=np.int64).reshape(len(key), len(key)),
                    np.array(found.metres, dtype=np.int64).reshape(len(key), len(key)),
                )
                self._known[key] = known
            else:
                self.hits += 1
        index = {p: i for i, p in enumerate(key)}
        order = np.array([index[p] for p in wanted], dtype=np.int64)
        pick = np.ix_(order, order)
        return _matrix(known[0][pick], known[1][pick])


def provider_from_settings(
    url: str | None, *, road_factor: float = 1.3, speed_kmh: float = 40.0
) -> TravelProvider:
    """The provider FIXFLOW_ROUTING_URL names (see the module docstring); ``road_factor``
    and ``speed_kmh`` (FIXFLOW_ROAD_FACTOR, FIXFLOW_AVERAGE_SPEED_KMH) shape the haversine
    one when the URL does not."""
    if url is None or not url.strip():
        return Haversine(road_factor, speed_kmh)
    parts = urlsplit(url.strip())
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.scheme == "haversine":
        try:
            figures = {"road_factor": road_factor, "speed_kmh": speed_kmh}
            figures |= {k: float(query[k]) for k in figures if k in query}
        except ValueError:
            raise ValueError(f"FIXFLOW_ROUTING_URL {url!r}: figures must be numbers") from None
        return Haversine(**figures)
    if not parts.scheme:
        raise ValueError(
            f"FIXFLOW_ROUTING_URL {url!r}: no scheme; an OSRM server is http://host:5000"
        )
    scheme = parts.scheme.removeprefix("osrm+")
    if scheme in ("http", "https"):
        if not parts.hostname:
            raise ValueError(f"FIXFLOW_ROUTING_URL {url!r}: no host (http://host:5000)")
        base = urlunsplit((scheme, parts.netloc, parts.path, "", ""))
        return Osrm(base, query.get("profile", "driving"))
    raise ValueError(
        f"FIXFLOW_ROUTING_URL {url!r}: unknown scheme {parts.scheme!r}; leave it unset for "
        "haversine, or use an OSRM base URL (http://host:5000, osrm+http://host:5000) or "
        "haversine://?road_factor=1.3&speed_kmh=40"
    )
