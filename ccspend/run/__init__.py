"""``ccspend run``: wrap an agent, follow what it spends, stop it at its cap, keep the ledger."""
