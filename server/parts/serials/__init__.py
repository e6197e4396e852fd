"""Serial-numbered units: where each one is, what happened to it."""
