"""The `fixflow` command."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import typer

from server.config import get_settings

app = typer.Typer(help="Fixflow field service management", no_args_is_help=True)


@app.callback()
def _settings_are_usable() -> None:
    """Every command starts here: unknown FIXFLOW_ENV values and production with the
    development secret key stop it with the reason, before it touches anything."""
    from pydantic import ValidationError

    try:
        get_settings().check_production()
    except ValidationError as exc:
        for error in exc.errors():
            typer.echo(f"configuration: {error['msg'].removeprefix('Value error, ')}", err=True)
        raise typer.Exit(2) from None
    except RuntimeError as exc:
        typer.echo(f"configuration: {exc}", err=True)
        raise typer.Exit(2) from None


def _db_url_or_embedded() -> tuple[str, object | None]:
    """DATABASE_URL when set; else the embedded server under var/ (started for this command)."""
    settings = get_settings()
    if settings.DATABASE_URL:
        return settings.DATABASE_URL, None
    from server import embedded

    server_url, handle = embedded.start_postgres(settings.VAR_DIR / "postgres")
    return asyncio.run(embedded.ensure_database(server_url, "fixflow")), handle


@app.command()
def dev() -> None:
    """Everything for development: embedded PostgreSQL and Redis (unless DATABASE_URL /
    REDIS_URL are set), migrations, demo data, the API and the worker."""
    from server.devserver import run

    raise typer.Exit(run(get_settings(), echo=typer.echo))


@app.command()
def api(
    host: str = typer.Option(None, help="Bind address (FIXFLOW_HOST)"),
    port: int = typer.Option(None, help="Port (FIXFLOW_PORT)"),
    workers: int = typer.Option(1, help="uvicorn worker processes"),
) -> None:
    """Serve the HTTP API (needs DATABASE_URL and REDIS_URL). Sizing --workers:
    docs/deployment.md."""
    import shutil
    import tempfile

    import uvicorn

    from server import logs

    settings = get_settings()
    logs.configure(settings.LOG_LEVEL)
    shared_metrics = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker process counts in files here, so /metrics (answered by any one
        # worker) reports all of them. Set before the workers start: they inherit it.
        shared_metrics = tempfile.mkdtemp(prefix="fixflow-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = shared_metrics
    try:
        uvicorn.run(
            "server.asgi:app",
            host=host or settings.HOST,
            port=port or settings.PORT,
            workers=workers,
            log_config=None,
            access_log=False,
            proxy_headers=True,
            forwarded_allow_ips=settings.FORWARDED_ALLOW_IPS,
        )
    finally:
        if shared_metrics is not None:
            shutil.rmtree(shared_metrics, ignore_errors=True)


@app.command()
def worker() -> None:
    """Run the arq worker: queued jobs and cron (SLA sweep, outbox delivery)."""
    from arq import run_worker

    from server.worker import WorkerSettings, redis_settings

    url = get_settings().REDIS_URL
    if not url:
        typer.echo("REDIS_URL is not set", err=True)
        raise typer.Exit(2)
    run_worker(WorkerSettings, redis_settings=redis_settings(url))  # type: ignore[arg-type]


@app.command()
def migrate(revision: str = typer.Argument("head")) -> None:
    """Apply database migrations (alembic upgrade)."""
    from server.db import async_url
    from server.migrate import upgrade

    url, handle = _db_url_or_embedded()
    try:
        upgrade(async_url(url), revision)
        typer.echo(f"database at {revision}")
    finally:
        if handle is not None:
            handle.cleanup()  # type: ignore[attr-defined]


@app.command()
def demo(
    force: bool = typer.Option(False, help="Load even if data exists"),
    history: bool = typer.Option(
        False, "--history", help="Also generate months of history for the KPIs (docs/history.md)"
    ),
    work_orders: int = typer.Option(60_000, "--work-orders", min=1, help="History: work orders"),
    engineers: int = typer.Option(300, "--engineers", min=1, help="History: engineers"),
    months: int = typer.Option(15, "--months", min=1, max=120, help="History: months to today"),
    seed: int = typer.Option(14, "--seed", help="History: random seed (same seed, same history)"),
    org: str = typer.Option("demo", "--org", help="History: organisation slug (made if missing)"),
) -> None:
    """Load the demo organisations (refused in production); with --history, also a
    realistic history of work orders in one of them, and its KPI facts."""
    from server.demo import load, load_if_empty

    if get_settings().is_production:
        typer.echo("demo data is refused when FIXFLOW_ENV=production", err=True)
        raise typer.Exit(2)
    url, handle = _db_url_or_embedded()
    try:
        if force:
            asyncio.run(load(url, echo=typer.echo))
        elif not history or org == "demo":  # a history elsewhere needs no demo data
            loaded = asyncio.run(load_if_empty(url, echo=typer.echo))
            if not loaded and not history:
                typer.echo("data exists; nothing loaded (use --force)")
        if history:
            options = (work_orders, engineers, months, seed, org)
            _history(url, *options)
    finally:
        if handle is not None:
            handle.cleanup()  # type: ignore[attr-defined]


def _history(url: str, work_orders: int, engineers: int, months: int, seed: int, org: str) -> None:
    from server.demo import DEMO_PASSWORD
    from server.reports import history

    options = history.Options(work_orders, engineers, months, seed, org)
    try:
        summary = asyncio.run(history.run(url, options, password=DEMO_PASSWORD))
    except history.HistoryExists as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    rows = sum(summary.rows.values())
    typer.echo(
        f"history: {summary.work_orders:,} work orders ({rows:,} rows) from "
        f"{summary.first_day} to {summary.last_day} in {org!r}, {summary.seconds:.0f} s"
    )


@app.command("create-admin")
def create_admin(
    email: str = typer.Option(..., help="The admin's e-mail (their login)"),
    org: str = typer.Option(..., help="Organisation name or slug (created if missing)"),
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, help="At least 10 characters"
    ),
    name: str = typer.Option("Administrator", help="Full name"),
) -> None:
    """Create an organisation's first admin."""
    from pydantic import ValidationError

    from server.demo import AdminIn
    from server.demo import create_admin as do_create
    from server.errors import AppError

    try:
        admin = AdminIn(email=email, org_name=org, name=name, password=password)
    except ValidationError as exc:
        for error in exc.errors():
            where = {"org_name": "--org"}.get(str(error["loc"][0]), f"--{error['loc'][0]}")
            typer.echo(f"{where}: {error['msg']}", err=True)
        raise typer.Exit(2) from None
    url, handle = _db_url_or_embedded()
    try:
        slug = asyncio.run(do_create(url, admin))
        where = f"{admin.org_name} (organisation {slug!r} at log-in)"
        typer.echo(f"admin {admin.email} created in {where}")
    except AppError as exc:  # the address is taken in that organisation, say
        typer.echo(exc.detail, err=True)
        raise typer.Exit(1) from None
    finally:
        if handle is not None:
            handle.cleanup()  # type: ignore[attr-defined]


@app.command("kpi-refresh")
def kpi_refresh(
    org: str | None = typer.Option(None, help="The organisation's slug (default: all)"),
    full: bool = typer.Option(False, help="Rebuild every fact, not only what changed"),
) -> None:
    """Bring the KPI facts up to date now (the worker does it every minute); --full
    rebuilds them from the operational tables (docs/kpis.md)."""
    from server import domains
    from server.db import make_engine, make_sessionmaker
    from server.reports.jobs import command

    async def run(url: str) -> int:
        domains.install()
        engine = make_engine(url, pool_size=2)
        try:
            return await command(make_sessionmaker(engine), slug=org, full=full, echo=typer.echo)
        finally:
            await engine.dispose()

    url, handle = _db_url_or_embedded()
    try:
        if asyncio.run(run(url)) == 0:
            typer.echo(f"no organisation {org!r}" if org else "no organisations", err=True)
            raise typer.Exit(1)
    finally:
        if handle is not None:
            handle.cleanup()  # type: ignore[attr-defined]


@app.command("solve-vrptw")
def solve_vrptw(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A Solomon-format file"),
    seconds: float = typer.Option(..., help="Time limit for the solver"),
    seed: int = typer.Option(0, help="Random seed (same seed, same limit: same plan)"),
    out: Path | None = typer.Option(None, help="Write the routes here as JSON"),
    best_known: Path | None = typer.Option(
        None, help="solomon_bks.csv (default: next to the instance's folder, when it exists)"
    ),
) -> None:
    """Solve a VRPTW instance in the Solomon text format (DIMACS distances), check the plan
    independently, print vehicles, distance and the gap to the best-known."""
    import json

    from server.dispatch import vrp

    problem = vrp.solomon.read(file)
    try:
        solution = vrp.solve(problem, seconds=seconds, seed=seed)
    except vrp.NoFeasiblePlan as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    violations = vrp.check(problem, solution)
    distance = solution.objective.travel / problem.scale
    typer.echo(f"{problem.name}: {solution.objective.vehicles} vehicles, distance {distance:.1f}")
    csv_path = best_known or file.resolve().parent.parent / "solomon_bks.csv"
    known = vrp.solomon.best_known(csv_path) if csv_path.is_file() else {}
    if problem.name in known:
        best = known[problem.name]
        gap = vrp.solomon.gap(distance, best)
        typer.echo(f"best-known (DIMACS) {best.vehicles} vehicles, {best.distance}: gap {gap:.2%}")
    if out is not None:
        out.write_text(json.dumps(vrp.solomon.as_dict(problem, solution), indent=1) + "\n")
        typer.echo(f"routes written to {out}")
    for violation in violations:
        typer.echo(f"INFEASIBLE {violation}", err=True)
    if violations:
        raise typer.Exit(1)


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app(prog_name="fixflow")


if __name__ == "__main__":
    main()
