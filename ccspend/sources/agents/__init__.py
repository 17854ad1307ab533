"""Readers of other coding agents' logs (issue #19): one module per agent."""
