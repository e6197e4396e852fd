"""`fixflow dev`: embedded servers (unless DATABASE_URL / REDIS_URL), migrate, demo data,
then the API and the worker as child processes. Ctrl-C stops everything."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from typing import Any

from server import embedded
from server.config import Settings
from server.db import async_url


def _database_url(emb: embedded.Embedded, external: bool) -> str:
    if external:
        return emb.database_url
    return asyncio.run(embedded.ensure_database(emb.database_url, "fixflow"))


def run(settings: Settings, *, echo: Any) -> int:
    external_db = bool(settings.DATABASE_URL)
    emb = embedded.env_or_embedded(settings.VAR_DIR)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        db_url = _database_url(emb, external_db)
        env = dict(os.environ, FIXFLOW_DATABASE_URL=db_url, FIXFLOW_REDIS_URL=emb.redis_url)
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        echo("migrating the database ...")
        from server.migrate import upgrade

        upgrade(async_url(db_url))
        from server.demo import load_if_empty

        loaded = False
        if settings.is_production:
            echo(
                "FIXFLOW_ENV=production: no demo data; create an admin with `fixflow create-admin`"
            )
        else:
            loaded = asyncio.run(load_if_empty(db_url, echo=echo))
        exe = [sys.executable, "-m", "server.cli"]
        # Own sessions: Ctrl-C reaches only this process, which stops the children in order.
        for command in ("api", "worker"):
            procs.append(subprocess.Popen([*exe, command], env=env, start_new_session=True))  # noqa: S603
        _banner(settings, echo, loaded)
        if not settings.is_production:
            _customer_pages(settings, db_url, echo)
        echo("Press Ctrl-C to stop.")
        return _wait(procs)
    finally:
        _stop(procs)
        emb.stop()


def _banner(settings: Settings, echo: Any, loaded: bool) -> None:
    base = f"http://{settings.HOST}:{settings.PORT}"
    echo("")
    echo(f"Fixflow is starting on {base}")
    echo(f"  API docs:  {base}/docs")
    echo(f"  OpenAPI:   {base}/openapi.json")
    echo(f"  Ready:     {base}/ready")
    echo(f"  Dashboard: {base}/dashboard (KPIs for managers; log in as a Fixflow user)")
    if settings.is_production:
        return
    echo("  A year of history for the dashboard: .venv/bin/fixflow demo --history")
    echo("  Demo logins (password fixflow-demo): admin@demo.fixflow, dispatcher@demo.fixflow,")
    echo("    agent@demo.fixflow, engineer1@demo.fixflow .. engineer6@demo.fixflow")
    echo("    second organisation: admin@acme.fixflow")
    if not loaded:
        echo("  (existing data kept)")


def _customer_pages(settings: Settings, db_url: str, echo: Any) -> None:
    """Where the demo's customer pages are, and where its e-mail goes (docs/customer-pages.md,
    docs/notifications.md)."""
    from server.demo import customer_links

    found = asyncio.run(customer_links(db_url))
    names = {"status": "status page", "qr": "QR fault report", "survey": "survey"}
    if found:
        echo("  Customer pages of the demo (no log-in; add ?lang=zh_CN or en):")
        for key, url in found.items():
            echo(f"    {names[key]:<16} {url}")
    if not settings.SMTP_URL:
        echo(f"  E-mail is written to {settings.mail_dir} (set FIXFLOW_SMTP_URL to send it)")


def _wait(procs: list[subprocess.Popen[bytes]]) -> int:
    stop = {"now": False}

    def on_signal(signum: int, frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    # Ctrl-C too, explicitly: a shell that starts `make run` in the background without job
    # control leaves SIGINT ignored, and Python then raises no KeyboardInterrupt for it.
    signal.signal(signal.SIGINT, on_signal)
    try:
        while not stop["now"]:
            for proc in procs:
                code = proc.poll()
                if code is not None:
                    print(f"a child process exited with {code}; stopping", file=sys.stderr)
                    return code or 1
            time.sleep(0.3)
    except KeyboardInterrupt:
        pass
    return 0


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
