"""The sync chaos run: real phones (mobile.store + mobile.sync) against the real server
(uvicorn and the arq worker as subprocesses, their own PostgreSQL database) through a
fault-injecting TCP proxy, with server restarts and phones killed between their local
commit and the server's acknowledgement. ``run`` returns what happened; ``verify``
compares every phone's outbox with the server's records.

One phone per engineer, each with its own SQLite file and work orders. Each engineer works
their work orders one after the other the way the app would (accept, travel, check in,
then notes, labour, voids, adjustments, checklist answers, parts used and returned, holds, visits,
photos; at the end of a work order the missing required answers, the customer's
signature and resolve), while the phone's ``SyncEngine.run`` syncs on its own
timer with backoff. Every action is one mutation, so a phone makes exactly its share.

Phone deaths: the engine task is cancelled, the HTTP client and the SQLite connection
closed and the objects dropped, then the store is opened again from its file and a new
engine started: (a) ``after_local_commit``: right after an action was written locally,
before anything was pushed; (b) ``push_answer`` / ``pull_answer``: from the proxy, once
the server has answered (and committed) and before the phone has read the answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
from PIL import Image

from mobile.store import Store, rows
from mobile.sync import Backoff, SyncEngine, SyncError, Transient
from shared.ids import uuid7
from tests.chaos.proxy import ChaosProxy, Odds

ROOT = Path(__file__).resolve().parents[2]
GPS = {"lat": 31.2301, "lon": 121.4701, "accuracy_m": 6.0}
TZ = dt.timezone(dt.timedelta(hours=8))
ITEMS: list[dict[str, Any]] = [
    {"kind": "yes_no", "label": "Power isolated?", "required": True},
    {"kind": "number", "label": "Pressure", "unit": "bar", "min_value": 0, "max_value": 40},
    {"kind": "text", "label": "Findings", "required": True},
    {"kind": "choice", "label": "Filter", "options": ["clean", "replaced"], "required": True},
]
VAN_STOCK = 100_000
DONE = ("resolved", "closed", "cancelled")


@dataclass
class Plan:
    clients: int = 5
    mutations: int = 300  # in total, split evenly between the phones
    work_orders: int = 2  # per engineer
    restarts: int = 1
    seed: int = 1
    odds: Odds = field(default_factory=Odds)
    kill_after_action: float = 0.01  # per action
    kill_push_answer: float = 0.04  # per push answered by the server
    kill_pull_answer: float = 0.01  # per pull answered by the server
    gap: float = 0.004  # mean seconds between an engineer's actions
    token_minutes: int = 15  # access tokens: short ones make the phones refresh mid-run
    deadline: float = 120.0  # seconds for the phones' work (the catch-up has its own)


@dataclass
class Seeded:
    org_id: uuid.UUID
    dispatcher: str  # e-mail
    engineers: list[tuple[str, uuid.UUID, list[str]]]  # (email, engineer id, work orders)
    vans: dict[uuid.UUID, uuid.UUID]  # engineer id -> van location id
    parts: list[str]
    items: list[dict[str, Any]]


# --- the server ------------------------------------------------------------------------------


class ServerProcess:
    """``fixflow api`` (uvicorn) and ``fixflow worker`` on their own database and port."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.api: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None

    def _spawn(self, *args: str) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as out:  # the child keeps its own descriptor
            return subprocess.Popen(
                [sys.executable, "-m", "server.cli", *args],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def start(self) -> None:
        self.api = self._spawn("api", "--host", "127.0.0.1", "--port", str(self.port))
        await self._ready()

    def start_worker(self) -> None:
        self.worker = self._spawn("worker")

    async def _ready(self) -> None:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                assert self.api is not None
                if self.api.poll() is not None:
                    raise RuntimeError(f"the API exited: {self.log.read_text()[-3000:]}")
                try:
                    if (await http.get(f"http://127.0.0.1:{self.port}/ready")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"the API never became ready: {self.log.read_text()[-3000:]}")

    async def restart(self, how: signal.Signals, downtime: float) -> None:
        """Kill the API (SIGKILL: a crash, mid-transaction; SIGTERM: a deploy) and start
        it again on the same port."""
        await self._stop(self.api, how)
        await asyncio.sleep(downtime)
        await self.start()

    @staticmethod
    async def _stop(proc: subprocess.Popen[bytes] | None, how: signal.Signals) -> None:
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, how)
        try:
            await asyncio.to_thread(proc.wait, 20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            await asyncio.to_thread(proc.wait, 20)

    async def stop(self) -> None:
        await self._stop(self.api, signal.SIGTERM)
        await self._stop(self.worker, signal.SIGTERM)


def server_env(
    database_url: str, redis_url: str, var_dir: Path, token_minutes: int = 15
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("FIXFLOW_")
    }
    env.update(
        FIXFLOW_DATABASE_URL=database_url,
        FIXFLOW_REDIS_URL=redis_url,
        FIXFLOW_ENV="test",
        FIXFLOW_VAR_DIR=str(var_dir),
        FIXFLOW_BLOB_DIR=str(var_dir / "blobs"),
        FIXFLOW_LOG_LEVEL="WARNING",
        FIXFLOW_DB_POOL_SIZE="10",
        # Re-logins after a lost refresh answer all come from 127.0.0.1.
        FIXFLOW_LOGIN_ATTEMPTS_PER_MINUTE="1000",
        FIXFLOW_ACCESS_TOKEN_MINUTES=str(token_minutes),
        PYTHONUNBUFFERED="1",
    )
    return env


# --- the data --------------------------------------------------------------------------------


async def seed(database_url: str, plan: Plan) -> Seeded:
    """An organisation, ``plan.clients`` engineers each with a customer, site, asset,
    ``plan.work_orders`` assigned work orders and a stocked van, two parts and a checklist
    that applies to every work order. Committed (the server is another process)."""
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from server.auth.models import Role
    from server.db import async_url
    from server.field.checklists import service as checklists
    from server.field.schemas import TemplateCreate
    from server.parts import service as parts
    from server.sync import entities
    from tests.fixtures import factories as f

    entities.install()
    engine = create_async_engine(async_url(database_url))
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            org = await f.make_org(db, "Chaos")
            admin = f.actor_for(await f.make_user(db, org, Role.ADMIN))
            office = await f.make_user(db, org, Role.DISPATCHER)
            dispatcher = f.actor_for(office)
            part_ids = [str((await f.make_part(db, admin)).id) for _ in range(2)]
            template = await checklists.create_template(
                db, admin, data=TemplateCreate.model_validate({"name": "Chaos", "items": ITEMS})
            )
            engineers, vans = [], {}
            for _ in range(plan.clients):
                user, engineer = await f.make_engineer(db, org)
                customer, site, asset = await f.make_customer(db, org)
                wos = [
                    await f.make_ticket(db, dispatcher, customer, site, asset, assign_to=engineer)
                    for _ in range(plan.work_orders)
                ]
                van = await parts.ensure_van(db, engineer)
                for part in part_ids:
                    await f.move(
                        db,
                        admin,
                        kind="receive",
                        part_id=uuid.UUID(part),
                        quantity=VAN_STOCK,
                        to_location_id=van.id,
                    )
                engineers.append((user.email, engineer.id, [str(w.id) for w in wos]))
                vans[engineer.id] = van.id
            items = [
                {
                    "id": str(i.id),
                    "kind": i.kind,
                    "required": i.required,
                    "options": list(i.options),
                    "min": i.min_value,
                    "max": i.max_value,
                }
                for i in template.items
            ]
            await db.commit()
        return Seeded(org.id, office.email, engineers, vans, part_ids, items)
    finally:
        await engine.dispose()


# --- a phone ---------------------------------------------------------------------------------


class Phone:
    """One engineer's phone: the real Store and SyncEngine, and the engineer using it."""

    def __init__(
        self, n: int, email: str, work_orders: list[str], seeded: Seeded, home: Path, plan: Plan
    ) -> None:
        self.n, self.email, self.work_orders = n, email, work_orders
        self.seeded, self.plan = seeded, plan
        self.rng = random.Random(plan.seed * 1000 + n)
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.path = home / "fixflow.sqlite3"
        self.target = plan.mutations // plan.clients
        self.created = 0
        self.kills: Counter[str] = Counter()
        self.relogins = 0
        self.dead = False
        self.store: Store
        self.engine: SyncEngine
        self.runner: asyncio.Task[None] | None = None
        self.stop = asyncio.Event()
        self.clock = dt.datetime(2026, 11, 24, 8, 0, tzinfo=TZ)

    @property
    def client_id(self) -> str:
        return self.store.client_id

    # --- life and death ---------------------------------------------------------------

    def _open(self, base_url: str | None = None) -> None:
        self.store = Store(self.path)
        self.engine = SyncEngine(
            self.store,
            base_url=base_url,
            device=f"chaos phone {self.n}",
            interval=0.25,
            backoff=Backoff(base=0.05, cap=1.0, rng=random.Random(self.rng.random())),
            chunk_size=16 * 1024,
            timeout=15,
        )

    def _run(self) -> None:
        self.stop = asyncio.Event()
        self.runner = asyncio.create_task(self.engine.run(self.stop), name=f"phone {self.n}")
        self.dead = False

    async def boot(self, base_url: str, password: str) -> None:
        self._open(base_url)
        self.password = password
        await self.login()
        self._run()

    async def login(self) -> None:
        for _ in range(200):
            try:
                await self.engine.login(self.email, self.password)
                return
            except Transient:
                await asyncio.sleep(0.1)
        raise AssertionError(f"phone {self.n} could not log in")

    def crash(self, why: str) -> None:
        """The phone dies now: whatever its engine was awaiting never completes."""
        if self.dead:
            return
        self.dead = True
        self.kills[why] += 1
        if self.runner is not None:
            self.runner.cancel()

    async def revive(self) -> None:
        if self.runner is not None:
            self.runner.cancel()
            await asyncio.gather(self.runner, return_exceptions=True)
        await self.engine.aclose()
        self.store.close()
        del self.engine, self.store  # nothing of the dead process survives but the file
        await asyncio.sleep(self.rng.uniform(0, 0.1))
        self._open()
        self.created = len(self.store.outbox())
        self._run()

    async def halt(self) -> None:
        self.stop.set()
        if self.runner is not None:
            await asyncio.gather(self.runner, return_exceptions=True)

    async def close(self) -> None:
        await self.halt()
        await self.engine.aclose()
        self.store.close()

    async def tend(self) -> None:
        """What keeps a phone usable: revive it when it died, log in again when asked."""
        if self.dead:
            await self.revive()
        if self.engine.status.auth_required:
            self.relogins += 1
            await self.login()
            self.engine.wake()

    # --- the engineer -----------------------------------------------------------------

    async def work(self) -> None:
        while not all(self.store.get(rows.WORK_ORDER, w) for w in self.work_orders):
            await self.tend()
            await asyncio.sleep(0.05)  # the first pull brings the day's work
        while self.created < self.target:
            await self.tend()
            self.act()
            self.created += 1
            if self.rng.random() < self.plan.kill_after_action:
                self.crash("after_local_commit")
                continue
            if self.rng.random() < 0.2:
                self.engine.wake()
            await asyncio.sleep(self.rng.expovariate(1 / self.plan.gap))

    def _times(self) -> tuple[str, str]:
        self.clock += dt.timedelta(minutes=self.rng.randint(1, 30))
        start = self.clock
        end = start + dt.timedelta(minutes=self.rng.randint(5, 90))
        return start.isoformat(), end.isoformat()

    def _status(self, wo: str) -> str:
        row = self.store.get(rows.WORK_ORDER, wo)
        assert row is not None
        return str(row["status"])

    def act(self) -> None:
        """One action (one mutation) on the current work order, as the UI would call it."""
        s, rng = self.store, self.rng
        index, wo = next(
            (i, w) for i, w in enumerate(self.work_orders) if self._status(w) not in DONE
        )
        status = self._status(wo)
        visits = s.children(rows.VISIT, wo)
        visit = next((v["id"] for v in visits if not v.get("check_out_device_at")), None)
        if status == "assigned":
            s.accept(wo)
        elif status == "accepted":
            s.start_travel(wo)
        elif status == "travelling" or visit is None:
            s.check_in(wo, GPS)  # arrives, or resumes a work order on hold
        elif status == "on_hold":
            if rng.random() < 0.5:
                s.resume(wo)
            else:
                s.check_out(visit, GPS)  # and check in again later
        else:
            self._on_site(index, wo, visit)

    def _on_site(self, index: int, wo: str, visit: str) -> None:
        s, rng, status = self.store, self.rng, self._status(wo)
        assert status == "on_site" and visit is not None, status
        last = index == len(self.work_orders) - 1
        per_wo = self.target // len(self.work_orders)
        if not last and self.created >= (index + 1) * per_wo:
            self._finish(wo, visit)
            return
        choice = rng.choices(
            [
                "note",
                "labour",
                "void",
                "adjust",
                "answer",
                "use",
                "return",
                "hold",
                "visit",
                "photo",
            ],
            weights=[38, 25, 5, 3, 12, 6, 2, 3, 3, 1.5],
        )[0]
        # Entries still counted: neither voided nor replaced by an adjustment.
        live = [
            e
            for e in s.children(rows.LABOUR, wo)
            if not e.get("voided_by") and not e.get("replaced_by")
        ]
        if choice == "labour":
            start, end = self._times()
            kind = rng.choice(["work", "work", "travel", "break"])
            s.add_labour(wo, kind=kind, started_at=start, ended_at=end, visit_id=visit)
        elif choice == "void" and live:
            s.void_labour(rng.choice(live)["id"], reason="entered twice")
        elif choice == "adjust" and live:
            start, end = self._times()
            s.adjust_labour(rng.choice(live)["id"], started_at=start, ended_at=end, reason="late")
        elif choice == "answer":
            item = rng.choice(self.seeded.items)
            s.answer_checklist(wo, visit_id=visit, item_id=item["id"], value=self._value(item))
        elif choice == "use":
            part = rng.choice(self.seeded.parts)
            s.use_part(wo, part_id=part, quantity=str(rng.randint(1, 3)), visit_id=visit)
        elif choice == "return":
            part = rng.choice(self.seeded.parts)
            condition = rng.choice(["good", "defective"])
            s.return_part(wo, part_id=part, quantity="1", condition=condition, visit_id=visit)
        elif choice == "hold":
            waiting = rng.choice(["parts", "customer"])
            s.hold(wo, waiting_for=waiting, reason=f"waiting for {waiting}")
        elif choice == "visit":
            s.check_out(visit, GPS)
        elif choice == "photo":
            s.register_photo(wo, self._photo(), visit_id=visit, caption="before")
        else:
            text = f"note {self.created} from phone {self.n}: {rng.random():.6f}"
            s.add_note(wo, text, visit_id=visit)

    def _finish(self, wo: str, visit: str) -> None:
        s = self.store
        answered = {a.get("item_id") for a in s.children(rows.CHECKLIST_ANSWER, wo)}
        for item in self.seeded.items:
            if item["required"] and item["id"] not in answered:
                s.answer_checklist(wo, visit_id=visit, item_id=item["id"], value=self._value(item))
                return
        if not s.children(rows.SIGNATURE, wo):
            png = _png(self.rng)
            strokes = [[[self.rng.randint(0, 300), self.rng.randint(0, 100)] for _ in range(8)]]
            s.capture_signature(wo, png=png, strokes=strokes, signer_name="Ms Li", visit_id=visit)
            return
        s.resolve(wo, resolution_code="fixed", summary="replaced the fan bearing")

    def _value(self, item: dict[str, Any]) -> Any:
        kind = item["kind"]
        if kind == "yes_no":
            return self.rng.random() < 0.8
        if kind == "number":
            return round(self.rng.uniform(item["min"] or 0, item["max"] or 100), 1)
        if kind == "choice":
            return self.rng.choice(item["options"])
        return f"reading {self.rng.randint(0, 999)}"

    def _photo(self) -> Path:
        path = self.home / "photos" / f"{uuid.uuid4().hex}.jpg"
        path.parent.mkdir(exist_ok=True)
        img = Image.effect_noise((240, 180), 48).convert("RGB")
        img.save(path, "JPEG", quality=85)
        return path


def _png(rng: random.Random) -> bytes:
    out = io.BytesIO()
    colour = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
    Image.new("RGB", (300, 100), colour).save(out, "PNG")
    return out.getvalue()


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Report:
    plan: Plan
    seconds: float = 0.0
    mutations: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    kills: Counter[str] = field(default_factory=Counter)
    restarts: list[str] = field(default_factory=list)
    relogins: int = 0
    office: Counter[str] = field(default_factory=Counter)
    office_notes: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    checks: dict[str, Any] = field(default_factory=dict)
    stuck: list[str] = field(default_factory=list)  # phones that did not catch up

    def summary(self) -> str:
        total = sum(self.mutations.values())
        lines = [
            f"sync chaos (seed {self.plan.seed}): {total} mutations from {self.plan.clients} "
            f"phones in {self.seconds:.1f} s",
            f"  mix: {dict(self.mutations.most_common())}",
            f"  requests: {dict(self.requests.most_common())}",
            f"  answers: {dict(sorted(self.statuses.items()))}",
            f"  server errors: {dict(self.errors.most_common())}",
            f"  faults injected: {dict(self.faults.most_common())}",
            f"  server restarts: {self.restarts}",
            f"  phone kills: {dict(self.kills.most_common())}, re-logins: {self.relogins}",
            f"  office (REST, meanwhile): {dict(self.office.most_common())}",
            f"  checks: {self.checks}",
        ]
        return "\n".join(lines)


async def run(
    plan: Plan, *, database_url: str, redis_url: str, workdir: Path, password: str
) -> tuple[Report, Seeded, list[Phone], ServerProcess]:
    """Seed, start the server and the worker, drive the phones through the proxy with the
    restarts, then calm the network and let every phone catch up. The caller verifies
    and stops the server."""
    report = Report(plan)
    seeded = await seed(database_url, plan)
    port = _free_port()
    env = server_env(database_url, redis_url, workdir / "var", plan.token_minutes)
    server = ServerProcess(env, port, workdir / "server.log")
    rng = random.Random(plan.seed)
    proxy = ChaosProxy(port, random.Random(rng.random()), plan.odds)
    phones = [
        Phone(n, email, wos, seeded, workdir / f"phone-{n}", plan)
        for n, (email, _, wos) in enumerate(seeded.engineers, start=1)
    ]
    background: list[asyncio.Task[None]] = []
    started = time.monotonic()
    try:
        await server.start()
        server.start_worker()
        base_url = f"http://127.0.0.1:{await proxy.start()}"
        async with asyncio.timeout(plan.deadline):
            for phone in phones:
                await phone.boot(base_url, password)
            by_client = {p.client_id: p for p in phones}
            proxy.on_answer = _killer(by_client, rng, plan)
            quiet = asyncio.Event()
            background.append(asyncio.create_task(_restarts(server, phones, plan, rng, report)))
            background += [
                asyncio.create_task(_office(server, seeded, password, rng, quiet, report))
                for _ in range(2)
            ]
            await asyncio.gather(*(p.work() for p in phones))
            await background[0]  # the last restart is over
            quiet.set()
            await asyncio.gather(*background)
        proxy.calm()
        await _catch_up(phones, report)
        for phone in phones:
            await phone.halt()
            try:
                await phone.engine.sync_once()
            except SyncError as exc:
                report.stuck.append(f"phone {phone.n}: the last sync failed: {exc!r}")
    except BaseException:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        for phone in phones:
            if hasattr(phone, "store"):
                await phone.close()
        await server.stop()
        raise
    finally:
        report.seconds = time.monotonic() - started
        report.faults, report.requests = proxy.faults, proxy.requests
        report.statuses, report.errors = proxy.statuses, proxy.errors
        for phone in phones:
            report.kills.update(phone.kills)
            report.relogins += phone.relogins
        await proxy.close()
    return report, seeded, phones, server


def _killer(by_client: dict[str, Phone], rng: random.Random, plan: Plan) -> Any:
    async def on_answer(method: str, path: str, body: bytes) -> bool:
        if path.endswith("/sync/push"):
            odds, why = plan.kill_push_answer, "push_answer"
            client = json.loads(body).get("client_id")
        elif "/sync/pull" in path:
            odds, why = plan.kill_pull_answer, "pull_answer"
            client = parse_qs(urlsplit(path).query).get("client_id", [None])[0]
        else:
            return False
        phone = by_client.get(str(client))
        if phone is None or phone.dead:
            return False
        # Odd phones die on their first answered push for sure; then at random.
        first = why == "push_answer" and phone.n % 2 == 1 and not phone.kills[why]
        if not first and rng.random() >= odds:
            return False
        phone.crash(why)
        return True

    return on_answer


async def _restarts(
    server: ServerProcess, phones: list[Phone], plan: Plan, rng: random.Random, report: Report
) -> None:
    total = sum(p.target for p in phones)
    for k in range(plan.restarts):
        at = (k + 1) / (plan.restarts + 1)
        while sum(p.created for p in phones) < at * total:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        how = signal.SIGTERM if k % 3 == 1 else signal.SIGKILL
        t0 = time.monotonic()
        await server.restart(how, rng.uniform(0.2, 1.0))
        report.restarts.append(f"{how.name} at {at:.0%}, {time.monotonic() - t0:.1f} s down")


async def _office(
    server: ServerProcess,
    seeded: Seeded,
    password: str,
    rng: random.Random,
    quiet: asyncio.Event,
    report: Report,
) -> None:
    """A dispatcher at the same time, over REST (a good network, but the same restarts):
    internal notes on the engineers' work orders, and edits of their description (the
    work order row the phones' transitions lock too). Each request is retried until it
    answers: the note with the same id, the edit after reading the version again."""
    base = f"http://127.0.0.1:{server.port}/api/v1"
    work_orders = [w for _, _, wos in seeded.engineers for w in wos]
    async with httpx.AsyncClient(base_url=base, timeout=15) as http:
        auth: dict[str, str] = {}

        async def send(method: str, url: str, **kw: Any) -> httpx.Response:
            while True:
                try:
                    answer = await http.request(method, url, **kw)
                except httpx.TransportError:
                    report.office["network error"] += 1
                else:
                    if answer.status_code == 401 and auth:
                        report.office["log in again"] += 1
                        await log_in()
                        kw["headers"] = {**kw["headers"], **auth}
                        continue
                    if answer.status_code < 500:
                        return answer
                    report.office[f"HTTP {answer.status_code}"] += 1
                await asyncio.sleep(0.2)

        async def log_in() -> None:
            login = {"username": seeded.dispatcher, "password": password}
            answer = await send("POST", "/auth/token", data=login)
            auth["Authorization"] = f"Bearer {answer.json()['access_token']}"

        await log_in()
        while not quiet.is_set():
            wo = rng.choice(work_orders)
            if rng.random() < 0.7:
                note = str(uuid7())
                body = {"note_id": note, "text": f"office: customer called ({note[-6:]})"}
                answer = await send("POST", f"/tickets/{wo}/notes", json=body, headers=auth)
                assert answer.status_code in (200, 201), answer.text
                report.office_notes[wo].add(note)
                report.office["note"] += 1
            else:
                for _ in range(20):
                    read = await send("GET", f"/tickets/{wo}", headers=auth)
                    edit = {"description": f"gate code {rng.randint(1000, 9999)}"}
                    tag = {**auth, "If-Match": read.headers["ETag"]}
                    answer = await send("PATCH", f"/tickets/{wo}", json=edit, headers=tag)
                    if answer.status_code != 412:
                        break
                    report.office["edit 412, read again"] += 1
                assert answer.status_code == 200, answer.text
                report.office["edit"] += 1
            await asyncio.sleep(rng.uniform(0, 0.05))


async def _catch_up(phones: list[Phone], report: Report) -> None:
    """Quiet network: wait until every phone has every mutation acknowledged."""

    def behind(phone: Phone) -> int:
        unacked = sum(not e.acked for e in phone.store.outbox())
        return unacked + len(phone.store.pending_uploads())

    try:
        async with asyncio.timeout(120):
            while any(behind(p) for p in phones):
                for phone in phones:
                    await phone.tend()
                await asyncio.sleep(0.2)
    except TimeoutError:
        for phone in phones:
            if left := behind(phone):
                status = phone.engine.status
                report.stuck.append(
                    f"phone {phone.n}: {left} mutations/uploads never acknowledged on a quiet "
                    f"network (last error: {status.last_error})"
                )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the checks ------------------------------------------------------------------------------

# mutation -> (table, id argument) of the record it creates
CREATES = {
    "note.add": ("ticket_notes", "note_id"),
    "labour.add": ("labour_entries", "entry_id"),
    "labour.void": ("labour_voids", "void_id"),
    "labour.adjust": ("labour_entries", "adjustment_id"),
    "visit.check_in": ("visits", "visit_id"),
    "checklist.answer": ("checklist_answers", "answer_id"),
    "part.use": ("field_part_lines", "line_id"),
    "part.return": ("field_part_lines", "line_id"),
    "attachment.register": ("attachments", "attachment_id"),
    "signature.capture": ("signatures", "signature_id"),
}
# tables with the server's receipt time of each record (for the order check)
RECEIVED = {
    "ticket_notes": "received_at",
    "labour_entries": "received_at",
    "labour_voids": "received_at",
    "visits": "received_at",
    "checklist_answers": "received_at",
    "field_part_lines": "received_at",
}
ARRIVE = {"accepted": "arrive", "travelling": "arrive", "on_hold": "resume"}
TRANSITIONS = {
    "work_order.accept": "accept",
    "work_order.start_travel": "start_travel",
    "work_order.hold": "hold",
    "work_order.resume": "resume",
    "work_order.resolve": "resolve",
}


def expected_events(entries: list[Any]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Replay a phone's outbox through the lifecycle: the transitions each work order must
    show on the server, in order, and its final status."""
    status: dict[str, str] = defaultdict(lambda: "assigned")
    events: dict[str, list[str]] = defaultdict(list)
    after = {
        "accept": "accepted",
        "start_travel": "travelling",
        "arrive": "on_site",
        "hold": "on_hold",
        "resume": "on_site",
        "resolve": "resolved",
    }
    for e in entries:
        wo = e.args.get("work_order_id")
        action = TRANSITIONS.get(e.name)
        if e.name == "visit.check_in":
            action = ARRIVE.get(status[wo])
        if action is not None:
            events[wo].append(action)
            status[wo] = after[action]
    return events, dict(status)


async def verify(
    database_url: str, server_url: str, seeded: Seeded, phones: list[Phone], report: Report
) -> list[str]:
    """Every problem found (empty: 0 lost, 0 duplicated, order kept, phones converged)."""
    problems: list[str] = list(report.stuck)
    con = await asyncpg.connect(database_url)
    try:
        for phone, (_, engineer_id, wos) in zip(phones, seeded.engineers, strict=True):
            problems += await _verify_phone(con, phone, engineer_id, wos, seeded, report)
            held, fresh = entity_rows(phone.path), await fresh_snapshot(phone, server_url)
            if held != fresh:
                keys = held.keys() | fresh.keys()
                differ = sorted(k for k in keys if held.get(k) != fresh.get(k))
                problems.append(
                    f"phone {phone.n}: {len(differ)} rows differ from a fresh pull: {differ[:5]}"
                )
            report.checks["rows converged"] = report.checks.get("rows converged", 0) + len(held)
        await _wait_derived(con, seeded.org_id, problems)
    finally:
        await con.close()
    return problems


async def _verify_phone(
    con: asyncpg.Connection,
    phone: Phone,
    engineer_id: uuid.UUID,
    wos: list[str],
    seeded: Seeded,
    report: Report,
) -> list[str]:
    out: list[str] = []
    who = f"phone {phone.n}"
    entries = phone.store.outbox()
    n = len(entries)
    report.mutations.update(e.name for e in entries)
    cid = uuid.UUID(phone.client_id)
    if n != phone.target or [e.seq for e in entries] != list(range(1, n + 1)):
        out.append(f"{who}: outbox has {n} entries, seqs not 1..{phone.target}")
    if unacked := [e.seq for e in entries if e.state != "applied" or not e.acked]:
        out.append(f"{who}: not applied and acknowledged: {unacked[:10]} ({len(unacked)})")

    # The mutation log: exactly seq 1..N, the same mutations, all applied.
    log = await con.fetch(
        "SELECT seq, mutation_id, name, outcome, result FROM sync_mutations"
        " WHERE client_id = $1 ORDER BY seq",
        cid,
    )
    if [r["seq"] for r in log] != list(range(1, n + 1)):
        out.append(f"{who}: server log seqs {len(log)} rows, not 1..{n}")
    if [(str(r["mutation_id"]), r["name"]) for r in log] != [(e.id, e.name) for e in entries]:
        out.append(f"{who}: server log differs from the outbox")
    if rejected := [(r["seq"], r["name"], r["result"]) for r in log if r["outcome"] != "applied"]:
        out.append(f"{who}: rejected on the server: {rejected[:5]}")
    last_seq = await con.fetchval("SELECT last_seq FROM sync_clients WHERE id = $1", cid)
    if last_seq != n:
        out.append(f"{who}: server last_seq {last_seq} != {n}")
    # Applied order: each acknowledgement is written after its effects, in the
    # transaction that applied it; the feed's ids are handed out in that order.
    acks = await con.fetch(
        "SELECT entity_id FROM sync_changes WHERE scope = $1 AND op = 'ack' ORDER BY id",
        f"client:{cid}",
    )
    if [r["entity_id"] for r in acks] != [str(s) for s in range(1, n + 1)]:
        out.append(f"{who}: acknowledgements not exactly 1..{n} in order")

    # Every record exactly once, and nothing the phone did not do.
    by_table: dict[str, dict[str, int]] = defaultdict(dict)
    for e in entries:
        if e.name in CREATES:
            table, key = CREATES[e.name]
            by_table[table][e.args[key]] = e.seq
        if e.name == "signature.capture":  # its image is an attachment too
            by_table["attachments"][e.args["attachment_id"]] = e.seq
    office = {n for w in wos for n in report.office_notes.get(w, ())}
    wo_ids = [uuid.UUID(w) for w in wos]
    column = {"attachments": "work_order_id", "signatures": "work_order_id"}
    for table in sorted(set(t for t, _ in CREATES.values())):
        where = column.get(table, "ticket_id")
        when = RECEIVED.get(table)
        found = await con.fetch(
            f"SELECT id{', ' + when if when else ''} FROM {table} WHERE {where} = ANY($1::uuid[])",
            wo_ids,
        )
        report.checks[table] = report.checks.get(table, 0) + len(found)
        server_ids = Counter(str(r["id"]) for r in found)
        mine = by_table.get(table, {})
        expected = set(mine) | (office if table == "ticket_notes" else set())
        if set(server_ids) != expected or any(c > 1 for c in server_ids.values()):
            lost = len(expected - set(server_ids))
            extra = len(set(server_ids) - expected)
            out.append(f"{who}: {table}: {lost} lost, {extra} unexpected")
        if when is not None:
            order = sorted((mine[str(r["id"])], r[when]) for r in found if str(r["id"]) in mine)
            late = [a for a, b in itertools.pairwise(order) if b[1] < a[1]]
            if late:
                out.append(f"{who}: {table} applied out of order: {late[:3]}")
    pending = await con.fetchval(
        "SELECT count(*) FROM attachments WHERE work_order_id = ANY($1::uuid[])"
        " AND status <> 'available'",
        wo_ids,
    )
    if pending:
        out.append(f"{who}: {pending} attachments not available (their bytes never arrived)")
    checks = await con.fetch(
        "SELECT visit_id, kind FROM visit_checks WHERE visit_id = ANY($1::uuid[])",
        [uuid.UUID(v) for v in by_table["visits"]],
    )
    outs = Counter(str(r["visit_id"]) for r in checks if r["kind"] == "out")
    want = Counter(e.args["visit_id"] for e in entries if e.name == "visit.check_out")
    if outs != want:
        out.append(f"{who}: check-outs: server {sum(outs.values())}, phone {sum(want.values())}")

    # Stock: each use and each good return moved the van once (a defective return goes
    # to quarantine).
    van = seeded.vans[engineer_id]
    for part in seeded.parts:
        moved = sum(
            (-1 if e.name == "part.use" else 1) * int(e.args["quantity"])
            for e in entries
            if e.args.get("part_id") == part
            and (e.name == "part.use" or e.args.get("condition") == "good")
        )
        on_hand = await con.fetchval(
            "SELECT on_hand FROM stock_balances WHERE location_id = $1 AND part_id = $2",
            van,
            uuid.UUID(part),
        )
        if on_hand != VAN_STOCK + moved:
            out.append(f"{who}: van stock of {part} is {on_hand}, expected {VAN_STOCK + moved}")

    # Status changes: each exactly once, in the phone's order; the same final status.
    events, status = expected_events(entries)
    for wo in wos:
        found = await con.fetch(
            "SELECT action FROM ticket_events WHERE ticket_id = $1 AND action IS NOT NULL"
            " AND action <> 'assign' ORDER BY created_at, id",
            uuid.UUID(wo),
        )
        if [r["action"] for r in found] != events.get(wo, []):
            actions = [r["action"] for r in found]
            out.append(f"{who}: {wo} transitions {actions} != {events.get(wo)}")
        server_status = await con.fetchval(
            "SELECT status FROM tickets WHERE id = $1", uuid.UUID(wo)
        )
        local = phone.store.get(rows.WORK_ORDER, wo)
        if not (server_status == status.get(wo, "assigned") == (local or {}).get("status")):
            held = (local or {}).get("status")
            out.append(f"{who}: {wo} status: server {server_status}, phone {held}")

    # Convergence: nothing local left; the phone holds what a fresh installation pulls.
    if left := _local_rows(phone.path):
        out.append(f"{who}: {len(left)} rows still carry unacknowledged effects: {left[:3]}")
    return out


def _local_rows(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as con:
        return [tuple(r) for r in con.execute("SELECT entity, id FROM entities WHERE local = 1")]


def entity_rows(path: Path) -> dict[tuple[str, str], Any]:
    with sqlite3.connect(path) as con:
        return {
            (entity, id): json.loads(data)
            for entity, id, data in con.execute("SELECT entity, id, data FROM entities")
        }


async def fresh_snapshot(phone: Phone, base_url: str) -> dict[tuple[str, str], Any]:
    """What a new installation of the same engineer pulls (no faults)."""
    path = phone.home / "fresh.sqlite3"
    store = Store(path)
    engine = SyncEngine(store, base_url=base_url, device="fresh")
    try:
        await engine.login(phone.email, phone.password)
        await engine.sync_once()
    finally:
        await engine.aclose()
        store.close()
    return entity_rows(path)


async def _wait_derived(con: asyncpg.Connection, org_id: uuid.UUID, out: list[str]) -> None:
    """The worker made the thumbnails of every photo and signature that arrived: by its job,
    or, for a job lost when the server was killed between commit and enqueue, by the
    attachments sweep (every minute, for bytes over a minute old)."""
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        missing = await con.fetchval(
            "SELECT count(*) FROM blobs WHERE org_id = $1 AND derived_at IS NULL", org_id
        )
        if missing == 0:
            return
        await asyncio.sleep(0.5)
    out.append(f"{missing} blobs never derived by the worker")
