"""The phone's protocol (docs/sync.md). Its face: the hooks higher domains fill."""

from server.sync.hooks import ClaimPool, claim_pool

__all__ = ["ClaimPool", "claim_pool"]
