"""A minimal phone for the sync tests: registers, numbers its mutations, pushes them, and
applies pulled pages to a dict the way the protocol says (reset replaces, put writes,
delete and remove drop, ack records the result). The real client is mobile/sync; this one
keeps the server tests independent of it.

Tests on the rolled-back ``client`` fixture write and pull inside one open transaction T.
A pull serves a transaction's rows only once every transaction numbered below them has
ended, and PostgreSQL counts T's successors as possibly running until one of them
completes; so before each pull the phone commits one empty transaction on another
connection (``engine``), as any other activity on a real server would. Tests about the
watermark itself use real commits (``committing_client``) and no such help."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.sync.models import SyncMutation
from server.tickets.models import Ticket
from shared.ids import uuid7
from tests.fixtures.factories import Tenant, make_ticket

SYNC = "/api/v1/sync"


async def assigned(db: AsyncSession, t: Tenant, engineer: int = 1, **kw: Any) -> Ticket:
    """A work order of tenant ``t``'s customer, site and asset, assigned to its engineer
    number ``engineer`` (1-based)."""
    assert t.customer and t.site and t.asset
    ticket = await make_ticket(
        db,
        t.actor("dispatcher"),
        t.customer,
        t.site,
        t.asset,
        assign_to=t.engineers[engineer - 1],
        **kw,
    )
    await db.flush()
    return ticket


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


@dataclass
class Phone:
    http: httpx.AsyncClient
    headers: dict[str, str]
    client_id: str = field(default_factory=lambda: str(uuid7()))
    seq: int = 0
    cursor: str | None = None
    rows: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    acks: dict[int, dict[str, Any]] = field(default_factory=dict)
    pages: list[dict[str, Any]] = field(default_factory=list)
    last_bytes: int = 0
    engine: AsyncEngine | None = None

    async def register(self) -> httpx.Response:
        response = await self.http.post(
            f"{SYNC}/clients",
            json={"client_id": self.client_id, "device": "test phone"},
            headers=self.headers,
        )
        assert response.status_code in (200, 201), response.text
        return response

    def mutation(self, name: str, **args: Any) -> dict[str, Any]:
        self.seq += 1
        return {
            "seq": self.seq,
            "id": str(uuid7()),
            "name": name,
            "args": {k: v for k, v in args.items() if v is not None},
            "device_time": now_iso(),
        }

    async def push(self, *mutations: dict[str, Any], **headers: str) -> httpx.Response:
        return await self.http.post(
            f"{SYNC}/push",
            json={"client_id": self.client_id, "mutations": list(mutations)},
            headers={**self.headers, **headers},
        )

    async def pull_once(self, limit: int | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"client_id": self.client_id}
        if self.cursor:
            params["cursor"] = self.cursor
        if limit:
            params["limit"] = limit
        if self.engine is not None:
            async with self.engine.begin() as other:
                await other.execute(text("SELECT pg_current_xact_id()"))
        response = await self.http.get(f"{SYNC}/pull", params=params, headers=self.headers)
        assert response.status_code == 200, response.text
        self.last_bytes = len(response.content)
        page: dict[str, Any] = response.json()
        self.apply(page)
        return page

    def apply(self, page: dict[str, Any]) -> None:
        self.pages.append(page)
        if page["reset"]:
            self.rows.clear()
        for change in page["changes"]:
            key = (change["entity"], change["id"])
            if change["op"] == "put":
                self.rows[key] = change["data"]
            elif change["op"] in ("delete", "remove"):
                self.rows.pop(key, None)
            elif change["op"] == "ack":
                self.acks[int(change["id"])] = change["data"]
        self.cursor = page["cursor"]

    async def sync(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Pull until has_more is false; the pages pulled."""
        pages = []
        for _ in range(200):
            pages.append(await self.pull_once(limit))
            if not pages[-1]["has_more"]:
                return pages
        raise AssertionError("the feed never ended")

    def get(self, entity: str, row_id: Any) -> dict[str, Any] | None:
        return self.rows.get((entity, str(row_id)))

    def ids(self, entity: str) -> set[str]:
        return {row_id for (name, row_id) in self.rows if name == entity}


async def registered_phone(
    http: httpx.AsyncClient, t: Tenant, who: str = "engineer1", engine: AsyncEngine | None = None
) -> Phone:
    """A phone of ``who`` (an engineer of ``t``), registered with the server."""
    phone = Phone(http, t.headers(who), engine=engine)
    await phone.register()
    return phone


def changes_of(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [change for page in pages for change in page["changes"]]


def new_id() -> str:
    return str(uuid.UUID(str(uuid7())))


async def stored_mutations(db: AsyncSession, phone: Phone) -> list[SyncMutation]:
    """The server's log rows of the phone's mutations, by seq, read afresh."""
    rows = await db.scalars(
        select(SyncMutation)
        .where(SyncMutation.client_id == uuid.UUID(phone.client_id))
        .order_by(SyncMutation.seq)
        .execution_options(populate_existing=True)
    )
    return list(rows)
