"""Dispatch (issue 12): so far the day-plan solver core, ``server.dispatch.vrp``."""

from server.dispatch import vrp

__all__ = ["vrp"]
