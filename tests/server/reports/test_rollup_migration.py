"""Migration 0018 on a database with facts: every fact's ``ended_day`` is filled in, in its
organisation's time zone, whether or not the organisation's first refresh has finished (no
mark yet); and the downgrade gives back 0017's tables and indexes."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid

import asyncpg

from server import embedded
from server.db import async_url
from server.migrate import alembic_config, upgrade

ENDED = dt.datetime(2026, 3, 31, 16, 30, tzinfo=dt.UTC)  # 1 April, 00:30 in Shanghai


async def _facts(url: str) -> tuple[uuid.UUID, uuid.UUID]:
    """An organisation in Shanghai with two facts (one ended, one open) and no refresh
    mark: its first build was under way. Written as rows only (no tickets behind them)."""
    conn = await asyncpg.connect(url)
    try:
        org, ended, open_ = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        await conn.execute("SET session_replication_role = replica")  # the rows alone
        await conn.execute(
            "INSERT INTO organisations (id, slug, name, timezone) "
            "VALUES ($1, 'mig-0018', 'Migration', 'Asia/Shanghai')",
            org,
        )
        for ticket, ended_at in ((ended, ENDED), (open_, None)):
            await conn.execute(
                "INSERT INTO kpi_work_orders (ticket_id, org_id, number, status, priority, "
                "channel, type, customer_id, created_at, ended_at, created_day, waiting_s, "
                "visits, reopened, work_s, travel_s, labour_cost, parts_cost) VALUES "
                "($1, $2, 1, 'resolved', 'P3', 'phone', 'repair', $3, $4, $5, $6, "
                "0, 0, 0, 0, 0, 0, 0)",
                ticket,
                org,
                uuid.uuid4(),
                ENDED - dt.timedelta(days=2),
                ended_at,
                (ENDED - dt.timedelta(days=2)).date(),
            )
        return ended, open_
    finally:
        await conn.close()


async def test_the_upgrade_fills_the_end_dates_and_the_downgrade_restores_0017(
    infra: dict[str, str],
) -> None:
    url = await embedded.ensure_database(
        infra["server_url"], f"fixflow_mig18_{os.getpid()}", fresh=True
    )
    await asyncio.to_thread(upgrade, async_url(url), "0017")
    ended, open_ = await _facts(url)
    await asyncio.to_thread(upgrade, async_url(url), "0018")
    conn = await asyncpg.connect(url)
    try:
        days = dict(await conn.fetch("SELECT ticket_id, ended_day FROM kpi_work_orders"))
        assert days == {ended: dt.date(2026, 4, 1), open_: None}
        from alembic import command

        await asyncio.to_thread(command.downgrade, alembic_config(async_url(url)), "0017")
        columns = {
            r[0]
            for r in await conn.fetch(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'kpi_work_orders'"
            )
        }
        assert "ended_day" not in columns and "resolved_day" in columns
        assert not await conn.fetchval("SELECT to_regclass('kpi_rollups') IS NOT NULL")
        definition = await conn.fetchval(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_kpi_wo_org_resolved'"
        )
        assert "INCLUDE" not in definition and "resolved_day IS NOT NULL" in definition
    finally:
        await conn.close()
