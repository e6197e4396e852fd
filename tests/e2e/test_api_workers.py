"""`fixflow api --workers 2`: two processes behind one port, and /metrics reports both."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _full_collections(text: str) -> float:
    match = re.search(r'^fixflow_gc_pause_seconds_count\{generation="2"\} (\S+)$', text, re.M)
    assert match, "no GC pause histogram on /metrics"
    return float(match.group(1))


@pytest.mark.slow
def test_metrics_of_every_worker_process(infra: dict[str, str], tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        FIXFLOW_DATABASE_URL=infra["database_url"],
        FIXFLOW_REDIS_URL=infra["redis_url"],
        FIXFLOW_GC_FREEZE_AFTER_SECONDS="0",
    )
    log = tmp_path / "api.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "api", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        scrapes: list[str] = []
        while time.monotonic() < deadline and len(scrapes) < 5:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                scrape = httpx.get(f"{base}/metrics", timeout=5)
            except httpx.HTTPError:
                time.sleep(0.5)
                continue
            if scrape.status_code == 200 and _full_collections(scrape.text) >= 2:
                scrapes.append(scrape.text)
            time.sleep(0.2)
        # Each process collects and freezes its heap once started (one full collection
        # each): a scrape, whichever process answers it, counts both.
        assert len(scrapes) == 5, log.read_text()[-3000:]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
