"""Dispatch (issue 12): the day-plan solver core, ``server.dispatch.vrp``, the
single-work-order recommendation engine, ``server.dispatch.recommend``, and the ETA a
customer is shown, ``eta``."""

from server.dispatch import recommend, vrp
from server.dispatch.eta import Eta, eta

__all__ = ["Eta", "eta", "recommend", "vrp"]
