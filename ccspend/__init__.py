"""ccspend: what your coding agents cost, from their own logs, offline.

The package is a library first: ``ccspend.ingest.claude`` reads logs into the store,
``ccspend.pricing`` holds the rate card, ``ccspend.reports.build`` turns the store into
rows. ``ccspend.cli`` is a thin layer over them.
"""

__version__ = "0.3.0"
