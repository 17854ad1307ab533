"""The base every layer may use: errors and exit codes, paths, time zones, the
user's config file, atomic writes and token estimates.

Nothing here imports another ccspend layer, and nothing imports more than the
standard library at import time: the fast front ends (``ccspend.cli.fast``)
load these modules on every start.
"""
