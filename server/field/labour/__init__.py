"""Labour: entries, voids and corrections, approvals and totals."""
