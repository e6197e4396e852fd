"""The API process's garbage collector: pauses measured, the start-up heap frozen."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import REGISTRY

from server import runtime


def _full_collections() -> float:
    value = REGISTRY.get_sample_value("fixflow_gc_pause_seconds_count", {"generation": "2"})
    return value or 0.0


@pytest.fixture
def restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.set_threshold(*threshold)
    gc.freeze()  # as the app's start-up left the test process


def test_every_collection_pause_is_observed_by_generation() -> None:
    runtime.measure_pauses()
    runtime.measure_pauses()  # once per process, however often called
    before = _full_collections()
    gc.collect()
    assert _full_collections() == before + 1


def test_after_startup_freezes_the_heap_and_sets_the_threshold(restore_gc: None) -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    runtime.after_startup(freeze=True, threshold=3000)
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == 3000


def test_freezing_can_be_turned_off(restore_gc: None) -> None:
    gc.unfreeze()
    runtime.after_startup(freeze=False, threshold=0)
    assert gc.get_freeze_count() == 0


async def test_freeze_after_the_warm_up_freezes_what_the_first_requests_built(
    restore_gc: None,
) -> None:
    gc.unfreeze()
    built_later = [object() for _ in range(1000)]  # noqa: F841 (kept alive on purpose)
    await runtime.freeze_after(0)
    assert gc.get_freeze_count() >= 1000


async def test_metrics_show_the_gc_pauses(client: httpx.AsyncClient) -> None:
    gc.collect()
    text = (await client.get("/metrics")).text
    assert 'fixflow_gc_pause_seconds_count{generation="2"}' in text
