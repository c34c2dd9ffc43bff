"""Charts and reports over the attempt ledger (matplotlib, Agg backend: no display needed)."""
