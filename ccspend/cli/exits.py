"""How every front end ends: one line on stderr for an error, and its exit code.

The typer program, the fast front ends and the typer-free review path all end
through ``say``, so a failure reads and exits the same whichever way it came in.
"""

from ccspend.core.errors import CcspendError, ExitCode


def say(exc: BaseException) -> int:
    """Write the one line a ccspend command ends with for ``exc``; return its exit code.

    Every entry point (the typer CLI, the typer-free report and review paths)
    ends the same way: a ccspend error, an interrupt or a file the user named
    as one line on stderr, anything else as an internal error (re-raised, with
    its traceback, when ``CCSPEND_DEBUG`` is set).
    """
    import os
    import sys

    if isinstance(exc, CcspendError):
        msg, code = f"error: {exc}", int(exc.exit_code)
    elif isinstance(exc, KeyboardInterrupt):
        msg, code = "interrupted", int(ExitCode.INTERRUPTED)
    elif isinstance(exc, OSError):  # a file or folder the user named: say which, and why
        where = f" {exc.filename}:" if getattr(exc, "filename", None) else ""
        msg, code = f"error:{where} {exc.strerror or exc}", int(ExitCode.ERROR)
    else:
        if os.environ.get("CCSPEND_DEBUG"):
            raise exc
        msg = (f"internal error: {type(exc).__name__}: {exc} "
               "(set CCSPEND_DEBUG=1 for a traceback)")  # fmt: skip
        code = int(ExitCode.ERROR)
    from ccspend.core.text import inert

    # one line, and inert: a message may quote a value from a log or the command line
    sys.stderr.write(f"ccspend: {inert(msg)}\n")
    return code
