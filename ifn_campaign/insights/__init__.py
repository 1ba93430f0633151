"""Insights: how far each published post reached, read back from its platform at marks after it
went live (`reader`), and what is made of the figures: the ledger's reach, the monthly report,
members' receipts, slot advice and fair-by-reach planning (each reads them through `figures`)."""
