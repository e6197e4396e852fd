"""``Fleet``: the engineers' days as arrays, ranked for one request after another."""

from __future__ import annotations

from server.dispatch.recommend.fleet import Tours
from server.dispatch.recommend.insertion import rank
from server.dispatch.recommend.model import Recommendation, Request, Weights


class Fleet(Tours):
    """Build once per version of the days (``Fleet(days, travel)``), then ``recommend`` for
    each request; ``Fleet.for_request`` builds only what one request needs."""

    def recommend(
        self, request: Request, *, weights: Weights | None = None, limit: int | None = 20
    ) -> Recommendation:
        """Rank this fleet's engineers for ``request`` (server.dispatch.recommend)."""
        return rank(self, request, weights or Weights(), limit)
