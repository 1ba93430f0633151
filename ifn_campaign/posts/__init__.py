"""Posts from plan to ledger: composing, the lifecycle, withdrawals and the features ledger."""
