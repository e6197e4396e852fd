"""The stock ledger: every movement, balances that always equal its sum, reservations and
pick lists."""
