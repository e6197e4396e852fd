"""Auto-assign rules: per organisation and priority, whether a new work order goes to the
best candidate at once, and whether it opens for claiming when nobody qualifies."""
