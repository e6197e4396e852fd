"""Visits: check-in and check-out on site."""
