"""`make run` on its own: the real command in a subprocess, on a free port, with its own var/."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(var_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "FIXFLOW_DATABASE_URL", "FIXFLOW_REDIS_URL")
    }
    env.update(FIXFLOW_VAR_DIR=str(var_dir), FIXFLOW_PORT=str(port), FIXFLOW_ENV="development")
    return subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"make run exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"make run never became ready:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> int:
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    try:
        return proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise


def _login(base: str) -> dict[str, str]:
    response = httpx.post(
        f"{base}/api/v1/auth/token",
        data={"username": "dispatcher@demo.fixflow", "password": "fixflow-demo"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _dispatch_through_the_worker(base: str, headers: dict[str, str]) -> None:
    """The demo's next working day: its booked work has candidates, the worker solves a
    plan of it, and engineer 1 sees the two jobs open for claiming."""
    booked = httpx.get(
        f"{base}/api/v1/tickets",
        params={"status": "new", "q": "Booked for tomorrow", "limit": 50},
        headers=headers,
        timeout=10,
    ).json()["items"]
    assert len(booked) == 12
    window = dt.datetime.fromisoformat(booked[0]["window_start"])
    day = window.astimezone(dt.timezone(dt.timedelta(hours=8))).date()  # Asia/Shanghai
    ranked = httpx.get(
        f"{base}/api/v1/tickets/{booked[0]['id']}/candidates", headers=headers, timeout=10
    )
    assert ranked.status_code == 200 and ranked.json()["mode"] == "scheduled", ranked.text
    plan = httpx.post(
        f"{base}/api/v1/dispatch/plans",
        json={"date": day.isoformat(), "seconds": 2},
        headers=headers,
        timeout=10,
    )
    assert plan.status_code == 201, plan.text
    deadline = time.monotonic() + 90
    body = plan.json()
    while body["status"] in ("queued", "solving") and time.monotonic() < deadline:
        time.sleep(1)
        body = httpx.get(
            f"{base}/api/v1/dispatch/plans/{body['id']}", headers=headers, timeout=10
        ).json()
    assert body["status"] == "ready", body
    routed = sum(len(route["stops"]) for route in body["result"]["routes"])
    assert routed >= 6, body["result"]
    engineer = httpx.post(
        f"{base}/api/v1/auth/token",
        data={"username": "engineer1@demo.fixflow", "password": "fixflow-demo"},
        timeout=10,
    ).json()["access_token"]
    pool = httpx.get(
        f"{base}/api/v1/claims", headers={"Authorization": f"Bearer {engineer}"}, timeout=10
    )
    assert pool.status_code == 200 and len(pool.json()) == 2, pool.text


@pytest.mark.slow
def test_make_run_serves_demo_and_keeps_data_across_restart(tmp_path: Path) -> None:
    var_dir, log = tmp_path / "var", tmp_path / "make-run.log"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"

    proc = _start(var_dir, port, log)
    try:
        _wait_ready(base, proc, log)
        headers = _login(base)
        customers = httpx.get(f"{base}/api/v1/customers", headers=headers, timeout=10).json()
        assert len(customers["items"]) >= 20
        created = httpx.post(
            f"{base}/api/v1/tickets",
            json={
                "customer_id": customers["items"][0]["id"],
                "title": "Smoke test",
                "priority": "P2",
            },
            headers=headers,
            timeout=10,
        )
        assert created.status_code == 201, created.text
        ticket_id = created.json()["id"]
        read = httpx.get(f"{base}/api/v1/tickets/{ticket_id}", headers=headers, timeout=10)
        assert read.json()["title"] == "Smoke test"
        # The demo's finished work has its field work, and a service report to show.
        done = httpx.get(
            f"{base}/api/v1/tickets", params={"status": "resolved"}, headers=headers, timeout=10
        ).json()["items"][0]["id"]
        visits = httpx.get(f"{base}/api/v1/tickets/{done}/visits", headers=headers, timeout=10)
        assert len(visits.json()) == 1 and visits.json()[0]["check_out"] is not None
        report = httpx.get(f"{base}/api/v1/tickets/{done}/report.pdf", headers=headers, timeout=30)
        assert report.status_code == 200 and report.content.startswith(b"%PDF")
        _dispatch_through_the_worker(base, headers)
    finally:
        code = _stop(proc)
    # make reports Ctrl-C by dying of SIGINT itself; fixflow dev below it exits 0.
    assert code in (0, -signal.SIGINT), log.read_text()[-3000:]
    output = log.read_text()
    assert "Traceback" not in output, output[-3000:]
    assert f"{base}/docs" in output and "dispatcher@demo.fixflow" in output
    # Nothing is left behind: the API no longer answers and PostgreSQL was stopped.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/health", timeout=2)
    assert not (var_dir / "postgres" / "postmaster.pid").exists()

    proc = _start(var_dir, port, log)
    try:
        _wait_ready(base, proc, log)
        headers = _login(base)
        again = httpx.get(f"{base}/api/v1/tickets/{ticket_id}", headers=headers, timeout=10)
        assert again.status_code == 200
        assert again.json()["title"] == "Smoke test"
    finally:
        assert _stop(proc) in (0, -signal.SIGINT)
    assert "existing data kept" in log.read_text()
    assert "Traceback" not in log.read_text()
