"""Every hand-written fast path is registered (server/fastpaths.py), runs only when the
registry says so, and has a twin test; with FIXFLOW_FAST_PATHS off, requests send no
hand-written statement at all."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import db as server_db
from server import fastpaths
from server.config import ROOT, Settings
from server.field.checklists import service as checklists
from server.field.schemas import TemplateCreate
from server.sync.models import SyncChange
from shared.ids import uuid7
from tests.fixtures.factories import make_location, make_part, make_tenant
from tests.fixtures.fast_paths import spy, switch
from tests.server.field.helpers import SITE, on_site
from tests.server.sync.helpers import assigned, new_id, registered_phone

SERVER = ROOT / "server"
PATHS = sorted(fastpaths.REGISTRY)
# Modules that hold hand-written SQL or call into asyncpg, and are no fast path's owner.
NOT_FAST_PATHS = {
    "server/feed.py": "the change feed's row format, which the fast paths and the capture use",
    "server/sync/retention.py": "the worker's daily feed pruning, text() through the session",
    "server/reports/refresh.py": "the KPI facts' batched rebuild (worker, CLI): derived rows",
    "server/reports/sql.py": "the statements of the KPI facts' rebuild (server/reports/refresh.py)",
    "server/reports/rollup.py": "the KPI roll-ups, summed again from the facts by the refresh",
    "server/reports/history/__init__.py": "the history generator's bulk load (COPY): demo data",
    "server/reports/history/reference.py": "the history generator's reference rows, once",
    "server/reports/history/stock.py": "the history generator's stock locations, in bulk",
}
# The helpers of server.db that reach asyncpg.
_ASYNCPG_HELPERS = frozenset({"driver", "fetch", "fetchrow", "execute"})
_INSERT = re.compile(r"\bINSERT\s+INTO\b", re.IGNORECASE)


def _module_path(module: str) -> Path:
    return ROOT / (module.replace(".", "/") + ".py")


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _sources() -> dict[str, str]:
    return {_relative(p): p.read_text() for p in sorted(SERVER.rglob("*.py"))}


@pytest.mark.parametrize("name", PATHS)
def test_every_fast_path_has_a_twin_test_naming_it(name: str) -> None:
    """The twin test exists and expects this fast path to run: it names it (as the fast
    paths it compares with their ORM twins) and switches the fast paths on and off."""
    path = fastpaths.REGISTRY[name]
    assert path.name == name and path.description and len(path.description) <= 100
    file, _, function = path.twin.partition("::")
    source_file = ROOT / file
    assert source_file.is_file(), f"{name}: no twin test file {file}"
    source = source_file.read_text()
    tree = ast.parse(source)
    found = [
        node
        for node in tree.body
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) and node.name == function
    ]
    assert found, f"{name}: its twin test {path.twin} does not exist"
    assert function.startswith("test_")
    named = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    assert name in named, f"{name}: {file} never names it among the fast paths it expects"
    assert "switch(" in source and "spy(" in source, (
        f"{file} does not use tests.fixtures.fast_paths"
    )


@pytest.mark.parametrize("name", PATHS)
def test_every_fast_path_runs_only_when_the_registry_says_so(name: str) -> None:
    """Its owner has the entry the twin tests watch and asks ``enabled`` for it."""
    path = fastpaths.REGISTRY[name]
    module = importlib.import_module(path.owner)
    assert callable(getattr(module, path.entry, None)), f"{path.owner} has no {path.entry}"
    source = _module_path(path.owner).read_text()
    assert f'fastpaths.enabled("{name}")' in source, f"{path.owner} never asks for {name}"


def test_every_fast_path_asked_for_is_registered() -> None:
    asked = {
        (file, name)
        for file, source in _sources().items()
        for name in re.findall(r'fastpaths\.enabled\("([\w.]+)"\)', source)
    }
    assert asked, "no fast path asks the registry"
    unknown = sorted((file, name) for file, name in asked if name not in fastpaths.REGISTRY)
    assert unknown == [], f"fast paths asked for but not registered: {unknown}"


def _docstrings(tree: ast.AST) -> set[int]:
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def _strings(tree: ast.AST) -> list[str]:
    """The string constants of a module's code (f-strings' constant parts included),
    docstrings and comments left out."""
    docstrings = _docstrings(tree)
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def _reaches_asyncpg(tree: ast.AST) -> bool:
    """The module imports server.db's asyncpg helpers or calls a ``driver``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "server.db":
            if any(alias.name in _ASYNCPG_HELPERS for alias in node.names):
                return True
        if isinstance(node, ast.Call):
            called = node.func
            name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
            if name == "driver":
                return True
    return False


def _signs(source: str) -> list[str]:
    """What makes a module look like a fast path's owner."""
    tree = ast.parse(source)
    signs = []
    if _reaches_asyncpg(tree):
        signs.append("reaches asyncpg (server.db's driver, fetch, fetchrow, execute)")
    if any(_INSERT.search(value) for value in _strings(tree)):
        signs.append("writes an INSERT INTO by hand")
    return signs


def test_no_hand_written_sql_outside_the_fast_paths_owners() -> None:
    """A module that reaches asyncpg or writes an INSERT by hand is a registered fast
    path's owner, or says here why it is none."""
    owners = {_relative(_module_path(p.owner)) for p in fastpaths.REGISTRY.values()}
    sources = _sources()
    strays = [
        f"{file} {sign}: register its fast path in server/fastpaths.py"
        for file, source in sources.items()
        if file not in owners and file not in NOT_FAST_PATHS
        for sign in _signs(source)
    ]
    assert strays == [], "\n".join(strays)
    for file in NOT_FAST_PATHS:
        assert file in sources and _signs(sources[file]), f"take {file} off NOT_FAST_PATHS"


# --- the switch ---------------------------------------------------------------------------


def test_the_switch_is_a_setting_on_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIXFLOW_FAST_PATHS", raising=False)
    assert Settings(_env_file=None).FAST_PATHS is True  # type: ignore[call-arg]
    for off in ("0", "false", "off"):
        monkeypatch.setenv("FIXFLOW_FAST_PATHS", off)
        assert Settings(_env_file=None).FAST_PATHS is False  # type: ignore[call-arg]


async def _scene(client: httpx.AsyncClient, db: AsyncSession) -> dict[str, Any]:
    t = await make_tenant(db)
    ticket, visit = await on_site(db, t)
    waiting = await assigned(db, t)
    template = await checklists.create_template(
        db,
        t.actor("admin"),
        data=TemplateCreate.model_validate(
            {"name": "Checks", "items": [{"kind": "number", "label": "Bar", "min_value": 0}]}
        ),
    )
    part = await make_part(db, t.actor("admin"))
    warehouse = await make_location(db, t.actor("admin"))
    phone = await registered_phone(client, t)
    await db.flush()
    return {
        "t": t,
        "ticket": ticket,
        "visit": visit,
        "waiting": waiting,
        "item": template.items[0],
        "part": part,
        "warehouse": warehouse,
        "phone": phone,
    }


async def _requests(client: httpx.AsyncClient, s: dict[str, Any]) -> dict[str, int]:
    """A day's requests that touch every fast path: a work order created, a stock movement,
    and a phone's push (accept, start travel, check-in with the arrival, labour, a note, a
    checklist answer, check-out); their status codes."""
    t, phone = s["t"], s["phone"]
    assert t.customer and t.site
    answers = {}
    created = await client.post(
        "/api/v1/tickets",
        json={"customer_id": str(t.customer.id), "site_id": str(t.site.id), "title": "Leak"},
        headers=t.headers("dispatcher"),
    )
    answers["create"] = created.status_code
    moved = await client.post(
        "/api/v1/stock-movements",
        json={
            "kind": "receive",
            "part_id": str(s["part"].id),
            "quantity": "3",
            "to_location_id": str(s["warehouse"].id),
        },
        headers=t.headers("admin"),
    )
    answers["movement"] = moved.status_code
    wo, other, visit_id = str(s["ticket"].id), str(s["waiting"].id), str(s["visit"].id)
    pushed = await phone.push(
        phone.mutation("work_order.accept", work_order_id=other),
        phone.mutation("work_order.start_travel", work_order_id=other),
        phone.mutation("visit.check_in", work_order_id=other, visit_id=new_id(), gps=SITE),
        phone.mutation(
            "labour.add",
            work_order_id=wo,
            entry_id=new_id(),
            kind="work",
            started_at="2026-11-24T09:00:00Z",
            ended_at="2026-11-24T10:00:00Z",
        ),
        phone.mutation("note.add", work_order_id=wo, note_id=str(uuid7()), text="done"),
        phone.mutation(
            "checklist.answer",
            work_order_id=wo,
            visit_id=visit_id,
            item_id=str(s["item"].id),
            answer_id=new_id(),
            value=3,
        ),
        phone.mutation("visit.check_out", visit_id=visit_id, gps=SITE),
    )
    answers["push"] = pushed.status_code
    outcomes = {r["outcome"] for r in pushed.json()["results"]}
    answers["applied"] = int(outcomes == {"applied"})
    return answers


@pytest.mark.parametrize("on", [True, False], ids=["fast", "orm"])
async def test_with_the_switch_off_requests_send_no_hand_written_statement(
    client: httpx.AsyncClient, db: AsyncSession, monkeypatch: pytest.MonkeyPatch, on: bool
) -> None:
    """Counted where every fast path reaches asyncpg (server.db.driver): with the fast
    paths on, these requests take every registered one; off, the same requests succeed
    on the ORM paths alone, and none reaches asyncpg."""
    reached: list[Any] = []
    real = server_db._pooled_connection

    def counting(session: Any) -> Any:
        reached.append(session)
        return real(session)

    scene = await _scene(client, db)
    taken: list[str] = []
    feed_before = await db.scalar(select(func.count()).select_from(SyncChange))
    with monkeypatch.context() as patch:
        switch(patch, on)
        spy(patch, taken)
        patch.setattr(server_db, "_pooled_connection", counting)
        answers = await _requests(client, scene)
    assert answers == {"create": 201, "movement": 201, "push": 200, "applied": 1}
    if on:
        assert reached and sorted(set(taken)) == PATHS
    else:
        assert reached == [] and taken == []
    feed_after = await db.scalar(select(func.count()).select_from(SyncChange))
    assert (feed_after or 0) > (feed_before or 0)  # the ORM capture wrote the feed rows
