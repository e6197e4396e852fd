"""Candidates for one work order (``GET /tickets/{id}/candidates``) and auto-assign."""
