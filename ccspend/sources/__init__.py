"""Readers, one per log or export format. Each turns bytes into plain records."""
