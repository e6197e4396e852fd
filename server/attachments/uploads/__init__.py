"""Resumable uploads (tus): bytes arriving in pieces, then stored as a blob."""
