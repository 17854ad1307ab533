"""What is happening now: session costs read straight from the logs, the status
line's summary file, spend caps for interactive sessions, the watch snapshot.

``sessions`` and ``caps`` run on every status-line update and tool call, so they
import the standard library only.
"""
