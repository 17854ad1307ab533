"""Sample Claude Code logs shipped with the package, for ``ccspend daily --demo``."""

from pathlib import Path

LOGS = Path(__file__).parent / "logs"
