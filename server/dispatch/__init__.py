"""Dispatch (issue 12): the day-plan solver core, ``server.dispatch.vrp``, and the
single-work-order recommendation engine, ``server.dispatch.recommend``."""

from server.dispatch import recommend, vrp

__all__ = ["recommend", "vrp"]
