"""What the data says: reports, what-if, break-even, reconcile, exports and
alerts, computed from the store and priced on the rate card.
"""
