"""The console script's old address, kept so that an install made before 0.2 still runs.

A ``ccspend`` script written by an older install (an editable install after a
``git pull``, say) imports ``ccspend.entry``. Claude Code runs that script for
the status line and the cap hook on every update and tool call: without this
module both would fail, and the caps would silently stop holding. The entry
point itself is ``ccspend.cli.fast.entry``.
"""

from ccspend.cli.fast.entry import main

__all__ = ["main"]
