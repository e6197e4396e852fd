"""Replenishment: minimum and target levels per stock location, suggested top-ups."""
