"""Bringing the store up to date: each agent's logs, read incrementally and idempotently."""
