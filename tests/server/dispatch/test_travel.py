from __future__ import annotations

import itertools
import json
import math
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from server.dispatch.travel import (
    Cached,
    Haversine,
    Matrix,
    Osrm,
    Point,
    TravelUnavailable,
    provider_from_settings,
)

PEOPLES_SQUARE = (31.2304, 121.4737)
PUDONG_AIRPORT = (31.1443, 121.8083)
HONGQIAO_STATION = (31.1942, 121.3203)
ONE_DEGREE_M = math.pi * 6_371_008.8 / 180  # along a meridian


# --------------------------------------------------------------------------- haversine


async def test_peoples_square_to_pudong_airport_is_about_33_km_as_the_crow_flies() -> None:
    crow = await Haversine(road_factor=1.0).matrix([PEOPLES_SQUARE, PUDONG_AIRPORT])

    assert 30_000 <= crow.metres[0][1] <= 35_000


async def test_one_degree_of_latitude_is_a_ninth_of_the_quarter_meridian() -> None:
    crow = await Haversine(road_factor=1.0).matrix([(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)])

    assert crow.metres[0][1] == round(ONE_DEGREE_M)
    assert crow.metres[0][2] == round(ONE_DEGREE_M)  # on the equator, a degree either way


async def test_road_factor_lengthens_the_distance_and_speed_turns_it_into_seconds() -> None:
    points = [PEOPLES_SQUARE, PUDONG_AIRPORT]
    crow = await Haversine(road_factor=1.0).matrix(points)

    road = await Haversine(road_factor=1.5, speed_kmh=36.0).matrix(points)  # 36 km/h = 10 m/s

    assert abs(road.metres[0][1] - 1.5 * crow.metres[0][1]) <= 1
    assert abs(road.seconds[0][1] - road.metres[0][1] / 10) <= 1
    default = await Haversine().matrix(points)
    assert abs(default.seconds[0][1] - 1.3 * crow.metres[0][1] / (40 / 3.6)) <= 1


async def test_the_matrix_is_square_symmetric_with_a_zero_diagonal() -> None:
    points = [PEOPLES_SQUARE, PUDONG_AIRPORT, HONGQIAO_STATION, PEOPLES_SQUARE]

    found = await Haversine().matrix(points)

    assert len(found) == 4
    for table in (found.seconds, found.metres):
        assert all(len(row) == 4 for row in table)
        assert all(table[i][i] == 0 for i in range(4))
        assert all(table[i][j] == table[j][i] for i in range(4) for j in range(4))
    assert found.metres[0][3] == 0  # the same place twice
    assert found.metres[1][2] > found.metres[0][1] > 0  # airport-station crosses the city


async def test_distances_keep_the_triangle_inequality() -> None:
    rng = random.Random(7)
    points = [(rng.uniform(-60, 60), rng.uniform(-179, 179)) for _ in range(30)]

    metres = (await Haversine(road_factor=1.0).matrix(points)).metres

    for a, b, c in itertools.permutations(range(30), 3):
        assert metres[a][c] <= metres[a][b] + metres[b][c] + 1  # one metre of rounding


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ((91.0, 0.0), "latitude 91.0 is not in"),
        ((-90.5, 0.0), "latitude -90.5 is not in"),
        ((0.0, 180.5), "longitude 180.5 is not in"),
        ((math.nan, 0.0), "finite"),
        ((0.0, math.inf), "finite"),
        ((1.0,), "expected \\(latitude, longitude\\)"),
        ("ab", "expected \\(latitude, longitude\\)"),
    ],
)
async def test_a_bad_point_is_refused_by_its_index(bad: object, says: str) -> None:
    points: list[object] = [PEOPLES_SQUARE, PUDONG_AIRPORT, bad]

    with pytest.raises(ValueError, match=f"^point 2 .*{says}"):
        await Haversine().matrix(points)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "says"),
    [({"road_factor": 0.9}, "road_factor"), ({"speed_kmh": 0.0}, "speed_kmh")],
)
def test_a_road_factor_below_one_or_a_speed_of_zero_is_refused(
    fields: dict[str, float], says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        Haversine(**fields)


# --------------------------------------------------------------------------- OSRM


@dataclass
class FakeOsrm:
    """A real HTTP server on 127.0.0.1 answering like osrm-routed's Table service (no
    routing server is reachable here): durations are 100 s and distances 1,000 m per unit
    of |i - j|, unless ``answer`` is replaced."""

    seen: list[str] = field(default_factory=list)
    answer: Callable[[list[tuple[float, float]]], tuple[int, bytes]] | None = None
    delay: float = 0.0
    port: int = 0

    def reply(self, path: str) -> tuple[int, bytes]:
        self.seen.append(path)
        if self.delay:
            time.sleep(self.delay)
        coords = urlsplit(path).path.rsplit("/", 1)[1]
        lonlat = [tuple(float(v) for v in pair.split(",")) for pair in coords.split(";")]
        pairs: list[tuple[float, float]] = [(a, b) for a, b in lonlat]
        if self.answer is not None:
            return self.answer(pairs)
        n = len(pairs)
        body = {
            "code": "Ok",
            "durations": [[100.4 * abs(i - j) for j in range(n)] for i in range(n)],
            "distances": [[1000.6 * abs(i - j) for j in range(n)] for i in range(n)],
        }
        return 200, json.dumps(body).encode()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up (the timeout and size tests) leaves a broken pipe behind.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@pytest.fixture
def osrm() -> Iterator[FakeOsrm]:
    fake = FakeOsrm()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = fake.reply(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


def _client(fake: FakeOsrm, **options: float) -> Osrm:
    return Osrm(f"http://127.0.0.1:{fake.port}", **options)  # type: ignore[arg-type]


async def test_osrm_is_asked_for_lon_lat_pairs_with_both_annotations(osrm: FakeOsrm) -> None:
    await _client(osrm).matrix([PEOPLES_SQUARE, PUDONG_AIRPORT])

    (path,) = osrm.seen
    url = urlsplit(path)
    assert url.path == "/table/v1/driving/121.473700,31.230400;121.808300,31.144300"
    assert parse_qs(url.query) == {"annotations": ["duration,distance"]}


async def test_osrm_answer_becomes_whole_seconds_and_metres(osrm: FakeOsrm) -> None:
    found = await _client(osrm).matrix([PEOPLES_SQUARE, PUDONG_AIRPORT, HONGQIAO_STATION])

    assert found == Matrix(
        seconds=((0, 100, 201), (100, 0, 100), (201, 100, 0)),
        metres=((0, 1001, 2001), (1001, 0, 1001), (2001, 1001, 0)),
    )


async def test_osrm_is_not_asked_about_a_single_point(osrm: FakeOsrm) -> None:
    found = await _client(osrm).matrix([PEOPLES_SQUARE])

    assert found == Matrix(seconds=((0,),), metres=((0,),))
    assert osrm.seen == []


def _json(status: int, body: object) -> Callable[[list[tuple[float, float]]], tuple[int, bytes]]:
    return lambda _pairs: (status, json.dumps(body).encode())


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (lambda _p: (502, b"<html>bad gateway</html>"), "HTTP 502 without an OSRM JSON body"),
        (_json(400, {"code": "TooBig", "message": "Too many"}), "code 'TooBig'.*max-table-size"),
        (_json(200, {"code": "Ok", "durations": [[0, 1], [1, 0]]}), "'distances' is not a 2 x 2"),
        (
            _json(200, {"code": "Ok", "durations": [[0, 1]], "distances": [[0, 1]]}),
            "'durations' is not a 2 x 2",
        ),
        (
            _json(200, {"code": "Ok", "durations": [[0, None], [1, 0]], "distances": [[0, 1]] * 2}),
            "no route from point 0 to point 1",
        ),
        (
            _json(200, {"code": "Ok", "durations": [[0, -5], [1, 0]], "distances": [[0, 1]] * 2}),
            "'durations'\\[0\\]\\[1\\] = -5 is invalid",
        ),
    ],
)
async def test_osrm_failures_are_travel_unavailable_with_what_to_fix(
    osrm: FakeOsrm, answer: Callable[[list[tuple[float, float]]], tuple[int, bytes]], says: str
) -> None:
    osrm.answer = answer

    with pytest.raises(TravelUnavailable, match=says):
        await _client(osrm).matrix([PEOPLES_SQUARE, PUDONG_AIRPORT])


async def test_osrm_that_does_not_answer_in_time_is_unavailable(osrm: FakeOsrm) -> None:
    osrm.delay = 1.0

    with pytest.raises(TravelUnavailable, match=r"no answer within 0\.2 s"):
        await _client(osrm, timeout=0.2).matrix([PEOPLES_SQUARE, PUDONG_AIRPORT])


async def test_an_osrm_answer_over_the_size_bound_is_refused(osrm: FakeOsrm) -> None:
    with pytest.raises(TravelUnavailable, match="exceeds 50 bytes"):
        await _client(osrm, max_bytes=50).matrix([PEOPLES_SQUARE, PUDONG_AIRPORT])


async def test_an_unreachable_osrm_server_is_unavailable() -> None:
    closed = Osrm("http://127.0.0.1:9", timeout=2.0)  # discard port: nothing listens

    with pytest.raises(TravelUnavailable, match=r"ConnectError.*FIXFLOW_ROUTING_URL"):
        await closed.matrix([PEOPLES_SQUARE, PUDONG_AIRPORT])


async def test_bad_points_are_refused_before_osrm_is_asked(osrm: FakeOsrm) -> None:
    with pytest.raises(ValueError, match="point 1"):
        await _client(osrm).matrix([PEOPLES_SQUARE, (0.0, 200.0)])

    assert osrm.seen == []


# --------------------------------------------------------------------------- cache


@dataclass
class Counting:
    inner: Haversine = field(default_factory=Haversine)
    asked: list[tuple[Point, ...]] = field(default_factory=list)

    async def matrix(self, points: Sequence[Point]) -> Matrix:
        self.asked.append(tuple(points))
        return await self.inner.matrix(points)


async def test_the_cache_asks_once_per_set_of_points_whatever_their_order() -> None:
    counting = Counting()
    cached = Cached(counting)
    points = [PEOPLES_SQUARE, PUDONG_AIRPORT, HONGQIAO_STATION]
    shuffled = [HONGQIAO_STATION, PEOPLES_SQUARE, PUDONG_AIRPORT, HONGQIAO_STATION]

    first = await cached.matrix(points)
    again = await cached.matrix(shuffled)

    assert len(counting.asked) == 1
    assert (cached.misses, cached.hits) == (1, 1)
    assert first == await Haversine().matrix(points)
    assert again == await Haversine().matrix(shuffled)


async def test_the_cache_asks_again_for_a_different_set() -> None:
    counting = Counting()
    cached = Cached(counting)

    await cached.matrix([PEOPLES_SQUARE, PUDONG_AIRPORT])
    await cached.matrix([PEOPLES_SQUARE, HONGQIAO_STATION])

    assert len(counting.asked) == 2
    assert (cached.misses, cached.hits) == (2, 0)


async def test_a_cached_osrm_plan_sends_one_request(osrm: FakeOsrm) -> None:
    cached = Cached(_client(osrm))
    points = [PEOPLES_SQUARE, PUDONG_AIRPORT, HONGQIAO_STATION]

    for _ in range(3):
        await cached.matrix(points)

    assert len(osrm.seen) == 1


# --------------------------------------------------------------------------- settings


def test_no_routing_url_means_haversine_with_the_defaults() -> None:
    for url in (None, "", "  "):
        provider = provider_from_settings(url)
        assert isinstance(provider, Haversine)
        assert (provider.road_factor, provider.speed_kmh) == (1.3, 40.0)


def test_without_a_routing_url_the_road_factor_and_speed_settings_shape_haversine() -> None:
    provider = provider_from_settings(None, road_factor=1.5, speed_kmh=25.0)

    assert isinstance(provider, Haversine)
    assert (provider.road_factor, provider.speed_kmh) == (1.5, 25.0)


def test_a_haversine_url_sets_its_figures() -> None:
    provider = provider_from_settings("haversine://?road_factor=1.4&speed_kmh=30")

    assert isinstance(provider, Haversine)
    assert (provider.road_factor, provider.speed_kmh) == (1.4, 30.0)


def test_an_osrm_url_names_the_server_its_path_and_profile() -> None:
    provider = provider_from_settings("osrm+https://maps.example:5000/osrm?profile=car")

    assert isinstance(provider, Osrm)
    assert provider.base_url == "https://maps.example:5000/osrm"
    assert provider.profile == "car"
    for url in ("osrm+http://127.0.0.1:5000", "http://127.0.0.1:5000/"):
        plain = provider_from_settings(url)
        assert isinstance(plain, Osrm)
        assert (plain.base_url, plain.profile) == ("http://127.0.0.1:5000", "driving")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://127.0.0.1:5000", "unknown scheme 'ftp'"),
        ("127.0.0.1:5000", "no scheme; an OSRM server is http://host:5000"),
        ("localhost", "no scheme"),
        ("osrm+http://", "no host"),
        ("http://:5000", "no host"),
        ("haversine://?speed_kmh=fast", "must be numbers"),
    ],
)
def test_a_routing_url_we_cannot_use_is_refused_plainly(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=f"FIXFLOW_ROUTING_URL.*{says}"):
        provider_from_settings(url)
