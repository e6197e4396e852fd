"""Kivy for the UI tests: headless, quiet, with its own home, and one offscreen window.

The environment must be set before anything imports kivy (it reads it at import), hence at
module level, above every other import."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_HOME = tempfile.mkdtemp(prefix="fixflow-kivy-")
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
os.environ["KIVY_NO_ARGS"] = "1"  # pytest's arguments are not Kivy's
os.environ["KIVY_NO_CONSOLELOG"] = "1"
os.environ["KIVY_NO_FILELOG"] = "1"
os.environ["KIVY_HOME"] = _HOME  # not ~/.kivy

from collections.abc import Iterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def window() -> Iterator[Any]:
    """Kivy's window: the GL context textures are made in (SDL2 renders offscreen here)."""
    from kivy.core.window import Window

    yield Window
