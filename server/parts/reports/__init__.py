"""Stock reports: on hand, consumption, cost per work order, turnover."""
