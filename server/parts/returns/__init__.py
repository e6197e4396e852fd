"""Returns of parts to vendors and repair centres (RMA) and quarantine."""
