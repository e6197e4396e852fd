"""Kivy's environment for tests, set before the first ``import kivy``: no argv parsing, no
log files, a private home, no frame-rate sleep, a phone-sized window."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ.setdefault("KIVY_NO_FILELOG", "1")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="fixflow-kivy-"))
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")

from kivy.config import Config

Config.set("graphics", "maxfps", "0")
Config.set("graphics", "width", "420")
Config.set("graphics", "height", "820")
Config.set("input", "mouse", "mouse,disable_multitouch")
Config.remove_option("input", "%(name)s") if Config.has_option("input", "%(name)s") else None
