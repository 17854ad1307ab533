"""The standard-library front ends: the console entry point, and the commands
that must start fast (reports, ``run``, ``route``, the status line, the cap hook).

They read argv with the option specs of ``ccspend.cli.options`` and call the
same library functions as the typer commands; typer and rich are never
imported on their way, except to draw a table.
"""
