"""What the data says: reports and blocks, budgets and their alerts, reconcile,
exports, and the cached answer of a repeated report, computed from the store
and priced on the rate card.
"""
