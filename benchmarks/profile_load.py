"""Where the API's CPU goes per request: ``python -m benchmarks.profile_load [SCENARIO ...]``.

A diagnostic, not a benchmark. Seeds the ``bench_load`` organisation (BENCH_LOAD_ENGINEERS,
default here 200), starts the real API (one worker, so one process holds all the work)
and, per scenario, sends one kind of request from 4 connections in a closed loop for
PROFILE_SECONDS (default 15): the API's CPU per request, and with PROFILE_SPY=1 a py-spy
profile of the worker (``pip install py-spy``; collapsed stacks written to
var/bench/profile-<scenario>.txt) summed by function and by package.

Scenarios: ``pull`` (an idle pull), ``push`` (a push of two notes), ``board`` (the
dispatcher's list of 50), ``read`` (one work order), ``health`` (no database, no auth).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import time
import urllib.parse
from typing import Any

os.environ.setdefault("BENCH_LOAD_ENGINEERS", "200")
os.environ.setdefault("BENCH_LOAD_STEPS", "200")

import asyncpg

from benchmarks import bench_load
from benchmarks.common import (
    LOOPBACK,
    VAR_BENCH,
    ApiServer,
    CpuMeter,
    _children,
    fresh_database,
    plain_url,
    postgres_server,
    redis_server,
)
from benchmarks.load_actors import Phone
from benchmarks.loopback import Connection
from shared.ids import uuid7
from shared.sync import Mutation, check_args

SECONDS = float(os.environ.get("PROFILE_SECONDS", "15"))
SPY = os.environ.get("PROFILE_SPY") == "1"
SCENARIOS = ("health", "pull", "push", "board", "read")


def _note(phone: Phone) -> Mutation:
    phone.seq += 1
    args = {"work_order_id": str(phone.work_orders[0].id), "note_id": str(uuid7())}
    args["text"] = "Customer asked for a follow-up call."
    return Mutation(
        phone.seq,
        str(uuid7()),
        "note.add",
        check_args("note.add", args),
        "2026-01-01T08:00:00+08:00",
    )


def requests(scenario: str, phones: list[Phone], board: dict[str, str], tickets: list[Any]):
    """An endless iterator of (method, path, headers, body) for the scenario."""
    rng = random.Random(1)
    auth = {"Authorization": f"Bearer {board['token']}"}
    for n in itertools.count():
        if scenario == "health":
            yield "GET", "/health", {}, b""
        elif scenario == "pull":
            phone = phones[n % len(phones)]
            query = urllib.parse.urlencode({"client_id": phone.client_id, "cursor": phone.cursor})
            yield (
                phone,
                "GET",
                f"/api/v1/sync/pull?{query}",
                {"Authorization": f"Bearer {phone.token}"},
                b"",
            )
        elif scenario == "push":
            phone = phones[n % len(phones)]
            body = {
                "client_id": str(phone.client_id),
                "mutations": [_note(phone).to_json(), _note(phone).to_json()],
            }
            headers = {"Authorization": f"Bearer {phone.token}", "Content-Type": "application/json"}
            yield "POST", "/api/v1/sync/push", headers, json.dumps(body).encode()
        elif scenario == "board":
            yield (
                "GET",
                "/api/v1/tickets?status=new&status=assigned&status=accepted&limit=50",
                auth,
                b"",
            )
        elif scenario == "read":
            yield "GET", f"/api/v1/tickets/{rng.choice(tickets)}", auth, b""


async def drive(
    api: ApiServer, scenario: str, phones: list[Phone], board: dict[str, str], tickets: list[Any]
) -> int:
    """4 connections in a closed loop for SECONDS; returns the number of requests."""
    source = requests(scenario, phones, board, tickets)
    stop = time.monotonic() + SECONDS
    count = [0]

    async def loop() -> None:
        conn = Connection(LOOPBACK, api.port)
        while time.monotonic() < stop:
            item = next(source)
            phone = None
            if not isinstance(item[0], str):
                phone, item = item[0], item[1:]
            answer = await conn.request(*item)
            if answer.status >= 400:
                raise RuntimeError(f"{scenario}: {answer.status} {answer.body[:300]!r}")
            if phone is not None:
                phone.cursor = json.loads(answer.body)["cursor"]
            count[0] += 1
        await conn.close()

    await asyncio.gather(*(loop() for _ in range(4)))
    return count[0]


IDLE = ("Condition.wait", "Runner.run")  # worker threads waiting, the loop in epoll


def summarise(path: str, top: int = 30) -> list[str]:
    """Collapsed stacks -> busy samples' self time by function and inclusive time by
    function. SQLAlchemy's greenlet frames come as stacks of their own (no request above
    them), so a request's statements show in both."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    with open(path) as fh:
        for line in fh:
            stack, _, count = line.rstrip().rpartition(" ")
            frames = [f.split(" (")[0] for f in stack.split(";")]
            if frames[-1] in IDLE:
                continue
            n = int(count)
            total += n
            own[frames[-1]] += n
            for name in set(frames):
                inclusive[name] += n
    out = [f"  busy samples: {total}", "  inclusive by function:"]
    out += [f"    {100 * n / total:5.1f}%  {k}" for k, n in inclusive.most_common(top * 2)]
    out.append("  self by function:")
    out += [f"    {100 * n / total:5.1f}%  {k}" for k, n in own.most_common(top)]
    return out


async def main(wanted: list[str]) -> None:
    async with postgres_server() as pg_server, redis_server() as redis_url:
        db_url = await fresh_database(pg_server.url, "fixflow_bench_profile")
        conn = await asyncpg.connect(plain_url(db_url))
        try:
            seeded = await bench_load.seed(conn)
            async with ApiServer(database_url=db_url, redis_url=redis_url, workers=1) as api:
                phones = await bench_load.phones(conn, seeded, api, random.Random(1))
                user_id, role = seeded.office[0]
                board = {
                    "token": bench_load._token(
                        api.secret_key, user_id, seeded.org.tenant.org_id, role
                    )
                }
                tickets = seeded.org_data.ticket_ids
                for scenario in wanted:
                    await drive(api, scenario, phones, board, tickets)  # warm-up
                    spy = None
                    out = VAR_BENCH / f"profile-{scenario}.txt"
                    spy_exe = shutil.which(
                        "py-spy",
                        path=f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}",
                    )
                    if SPY and spy_exe:
                        VAR_BENCH.mkdir(parents=True, exist_ok=True)
                        pid = ([p for p in _children(api.pid)] or [api.pid])[0]
                        spy = subprocess.Popen(  # noqa: ASYNC220 (started once, not awaited)
                            [
                                spy_exe,
                                "record",
                                "-p",
                                str(pid),
                                "-o",
                                str(out),
                                "-f",
                                "raw",
                                "-r",
                                "200",
                                "-d",
                                str(int(SECONDS)),
                            ],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                        )
                        await asyncio.sleep(1)
                    with CpuMeter(api_pid=api.pid, pg_pid=pg_server.pid) as cpu:
                        started = time.perf_counter()
                        n = await drive(api, scenario, phones, board, tickets)
                        wall = time.perf_counter() - started
                    per = cpu.result["api_cores"] * wall / n * 1000
                    print(
                        f"{scenario}: {n / wall:.1f} req/s, API CPU {per:.2f} ms/request, "
                        f"{cpu.result}",
                        flush=True,
                    )
                    if spy is not None:
                        await asyncio.to_thread(spy.wait)
                        print("\n".join(summarise(str(out))), flush=True)
        finally:
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:] or list(SCENARIOS)))
