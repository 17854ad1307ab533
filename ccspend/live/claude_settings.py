"""Claude Code's settings.json: add or remove ccspend's status line and cap hooks,
keeping everything else, and check that what is installed runs.

Nothing of the user's is lost:

- every change first copies the file to a backup of its own (``settings.json.bak-<time>``,
  ``-2``, ``-3``... within one second: an earlier backup is never overwritten), owner-only,
  because settings may hold tokens;
- the file is rewritten in its own style (key order, indent, separators, unicode or
  ``\\u`` escapes, line ends, final newline), atomically, with its mode kept; a settings
  file that is a symlink is edited through the link: its target is replaced in the
  target's folder and the link stays a link;
- a small record beside it (``settings.json.ccspend``, owner-only) remembers what install
  found: the file's bytes before ccspend first changed it (or that there was no file),
  the status line it replaced, the hook lists it created. Uninstall puts the replaced
  status line back and removes only the containers install created; once nothing of
  ccspend's is left and the settings say what they said before, the original bytes are
  written back (or the file is removed, if install created it), and the record goes.

The commands installed name this ccspend by its absolute path (``ccspend_program``), so
they run whatever PATH Claude Code gives them; ``probe`` runs an installed command the
way Claude Code does, with a harmless input, and says whether ccspend answered.

The fast front ends import this module only for ``PROBE_EVENT`` and ``probe_reply``:
everything heavier is imported where it is used.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ccspend.core.errors import CcspendError
from ccspend.core.files import write_atomic

STATUS_ARGS = ("statusline",)
HOOK_ARGS = ("cap", "hook")
HOOK_EVENTS = {"PreToolUse": "*", "UserPromptSubmit": None}  # event -> matcher
PROBE_EVENT = "ccspend-probe"  # an event Claude Code never sends: the front ends answer it
RECORD_SUFFIX = ".ccspend"


def settings_path() -> Path:
    """``$CLAUDE_CONFIG_DIR/settings.json`` (its first dir), else ``~/.claude/settings.json``."""
    env = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if env:
        return Path(env.split(",")[0].strip()).expanduser() / "settings.json"
    return Path.home() / ".claude" / "settings.json"


# -- the command: this ccspend, by its path ------------------------------------------------


def ccspend_program() -> str:
    """The shell words that start this very ccspend, whatever the PATH.

    The console script beside this Python (a venv's, pipx's or uv's ``bin``), else this
    Python with ``-m ccspend``; absolute, and quoted for the shell.
    """
    import shlex

    exe = os.path.abspath(sys.executable) if sys.executable else ""
    if not exe:  # an embedded interpreter: the PATH's ccspend is the best there is
        import shutil

        found = shutil.which("ccspend")
        return shlex.quote(os.path.abspath(found)) if found else "ccspend"
    folder = os.path.dirname(exe)
    for name in ("ccspend", "ccspend.exe"):
        script = os.path.join(folder, name)
        if os.path.isfile(script) and os.access(script, os.X_OK):
            return shlex.quote(script)
    return f"{shlex.quote(exe)} -m ccspend"


def _ccspend_args(command: object) -> list[str] | None:
    """The arguments a command gives ccspend, or None if it does not start ccspend."""
    import shlex

    if not isinstance(command, str):
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words:
        return None
    name = os.path.basename(words[0])
    if name in ("ccspend", "ccspend.exe"):
        return words[1:]
    if name.startswith("python") and words[1:3] == ["-m", "ccspend"]:
        return words[3:]
    return None


def _runs(command: object, args: tuple[str, ...]) -> bool:
    rest = _ccspend_args(command)
    return rest is not None and tuple(rest[: len(args)]) == args


def status_command() -> str:
    return f"{ccspend_program()} statusline"


def hook_command() -> str:
    return f"{ccspend_program()} cap hook"


# -- the probe -------------------------------------------------------------------------------


def probe_reply() -> str:
    """What a front end prints for ``PROBE_EVENT``: its version, and nothing else done."""
    from ccspend import __version__

    return json.dumps({"probe": "ok", "ccspend": __version__})


def probe(command: str, timeout: float = 10.0) -> tuple[bool, str]:
    """Run an installed ``command`` as Claude Code does (the shell, this environment, the
    probe event on stdin): (True, its version) if ccspend answered, else (False, why)."""
    import subprocess

    try:
        r = subprocess.run(command, shell=True, input=json.dumps({"hook_event_name": PROBE_EVENT}),
                           capture_output=True, text=True, timeout=timeout)  # fmt: skip
    except subprocess.TimeoutExpired:
        return False, f"no answer within {timeout:g} s"
    except OSError as exc:
        return False, exc.strerror or str(exc)
    for line in r.stdout.splitlines():
        try:
            answer = json.loads(line)
        except ValueError:
            continue
        if isinstance(answer, dict) and answer.get("probe") == "ok":
            return True, str(answer.get("ccspend", ""))
    said = (r.stderr.strip().splitlines() or [""])[-1].strip()[:200]
    if r.returncode == 0:
        return False, "it ran but did not answer as ccspend does (another program, or an " \
                      "older ccspend)"  # fmt: skip
    return False, f"exit status {r.returncode}" + (f": {said}" if said else "")


# -- the file, as found: its bytes, its data, its style --------------------------------------


class _Style:
    """How a settings file is written: ``dump`` gives back its very bytes for the data read."""

    def __init__(self, indent: int | str | None = 2, separators=(",", ": "),
                 ensure_ascii: bool = False, newline: str = "\n", lead: str = "",
                 tail: str = "\n") -> None:  # fmt: skip
        self.indent, self.separators, self.ensure_ascii = indent, separators, ensure_ascii
        self.newline, self.lead, self.tail = newline, lead, tail

    def dump(self, data: dict) -> str:
        body = json.dumps(data, indent=self.indent, separators=self.separators,
                          ensure_ascii=self.ensure_ascii)  # fmt: skip
        if self.newline != "\n":  # a newline inside a string is escaped: these are the layout's
            body = body.replace("\n", self.newline)
        return self.lead + body + self.tail


def _style_of(text: str, data: dict) -> _Style:
    """The style that writes ``data`` back as ``text``, or the nearest guess."""
    if not text.strip():
        return _Style()
    bom = "\ufeff" if text.startswith("\ufeff") else ""  # an editor's byte order mark stays
    text = text[len(bom):]
    body = text.strip()
    lead = bom + text[: len(text) - len(text.lstrip())]
    tail = text[len(text.rstrip()):]
    newline = "\r\n" if "\r\n" in body else "\n"
    flat = body.replace("\r\n", "\n")
    layouts = [(i, (",", ": ")) for i in (2, 4, "\t", 1, 3, 8)]
    layouts += [(None, (", ", ": ")), (None, (",", ":")), (None, (",", ": ")), (None, (", ", ":"))]
    for ensure_ascii in (False, True):
        for indent, separators in layouts:
            if json.dumps(data, indent=indent, separators=separators,
                          ensure_ascii=ensure_ascii) == flat:  # fmt: skip
                return _Style(indent, separators, ensure_ascii, newline, lead, tail)
    # not a layout json writes exactly (hand-edited, inline lists): the nearest one
    import re

    indent: int | str | None = None
    if "\n" in flat:
        m = re.search(r"\n([ \t]+)\S", flat)
        ws = m.group(1) if m else "  "
        indent = len(ws) if set(ws) == {" "} else ws
    separators = (",", ": ") if indent is not None or ": " in flat else (",", ":")
    if indent is None and ", " in flat:
        separators = (", ", separators[1])
    ensure_ascii = "\\u" in flat and not any(ord(c) > 127 for c in flat)
    return _Style(indent, separators, ensure_ascii, newline, lead, tail)


class _Settings:
    """The settings file as found: ``path`` as named, ``target`` the file to write (a
    symlink's target), ``raw`` its bytes (None: no file), its ``data`` and ``style``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.target = Path(os.path.realpath(path)) if path.is_symlink() else path
        try:
            self.raw: bytes | None = self.target.read_bytes()
        except FileNotFoundError:
            self.raw = None
        except OSError as exc:
            raise CcspendError(f"cannot read {path}: {exc.strerror}") from None
        self.data: dict = {}
        self.style = _Style()
        if self.raw is None:
            return
        try:
            text = self.raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CcspendError(f"{path} is not UTF-8 text",
                               hint="fix it by hand; ccspend changed nothing") from None
        try:
            data = json.loads(text.lstrip("\ufeff").replace("\r\n", "\n") or "{}")
        except ValueError:
            raise CcspendError(
                f"{path} is not valid JSON", hint="fix it by hand; ccspend changed nothing"
            ) from None
        if not isinstance(data, dict):
            raise CcspendError(f"{path} does not hold a JSON object; ccspend changed nothing")
        self.data = data
        self.style = _style_of(text, data)


def _load(path: Path) -> dict:
    return _Settings(path).data


def check_readable(path: Path) -> None:
    """A CcspendError now if the settings file cannot be read or is not a JSON object:
    a command that also writes elsewhere checks before it writes anything."""
    _Settings(path)


def _same(a: object, b: object) -> bool:
    """The same settings, keys in the same order."""
    return json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False)


def _backup(s: _Settings) -> Path | None:
    """A copy of the file as found, under a name no earlier backup has; owner-only."""
    if s.raw is None:
        return None
    import time

    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 10_000):
        backup = s.path.with_name(f"{s.path.name}.bak-{stamp}" + (f"-{n}" if n > 1 else ""))
        try:
            fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(s.raw)
        except BaseException:
            backup.unlink(missing_ok=True)
            raise
        return backup
    raise CcspendError(f"no free backup name beside {s.path}; ccspend changed nothing")


def _replace(target: Path, data: bytes, mode: int) -> None:
    """Write ``target`` atomically in its own folder with exactly ``mode``.

    ``core.files.write_atomic`` would do but for the mode (it is less the umask, and a
    settings file may be owner-only on purpose): the temporary file is made owner-only
    and given the old file's mode before it is renamed over it.
    """
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:  # noqa: SIM105 - as core.files does
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _save(s: _Settings, data: dict, text: str | None = None) -> Path | None:
    """Back the file up, then write ``data`` in its style (or ``text``, the bytes found
    before install); ``text`` None and no data with no file before: remove it."""
    backup = _backup(s)
    mode = 0o600 if s.raw is None else s.target.stat().st_mode & 0o7777  # a new file: owner's
    _replace(s.target, (s.style.dump(data) if text is None else text).encode("utf-8"), mode)
    return backup


# -- the record of what install found -----------------------------------------------------------


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + RECORD_SUFFIX)


def _read_record(path: Path) -> dict:
    try:
        rec = json.loads(_record_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return rec if isinstance(rec, dict) else {}


def _write_record(path: Path, rec: dict) -> None:
    if not any(k in rec for k in ("statusLine", "hooks")):
        _record_path(path).unlink(missing_ok=True)
        return
    write_atomic(_record_path(path), json.dumps(rec, indent=2, ensure_ascii=False) + "\n",
                 mode=0o600)  # fmt: skip


def _begin(path: Path, s: _Settings) -> dict:
    """The record, started with the file's bytes if nothing of ccspend's is recorded."""
    rec = _read_record(path)
    if not any(k in rec for k in ("statusLine", "hooks")):
        rec = {"original": None if s.raw is None else s.raw.decode("utf-8")}
    return rec


def _finish(path: Path, s: _Settings, data: dict, rec: dict) -> tuple[Path | None, str]:
    """Write the settings after an uninstall: the bytes from before install once nothing
    of ccspend's is left and nothing else changed, else ``data`` in the file's style."""
    how = ""
    if any(k in rec for k in ("statusLine", "hooks")) or "original" not in rec:
        backup = _save(s, data)
    else:
        original = rec.get("original")
        try:
            before = {} if original is None else json.loads(
                original.lstrip("\ufeff").replace("\r\n", "\n") or "{}")
        except (AttributeError, ValueError):
            before = None
        if original is None and data == {} and before == {}:
            backup = _backup(s)
            s.target.unlink(missing_ok=True)
            how = "; it did not exist before ccspend, so it is removed"
        elif before is not None and _same(before, data):
            backup = _save(s, data, original)
        else:
            backup = _save(s, data)
    _write_record(path, rec)
    return backup, how


def _done(what: str, path: Path, backup: Path | None, note: str = "") -> str:
    saved = f"; backup: {backup}" if backup else ""
    return f"{what} {path}{note}{saved}"


# -- the status line -------------------------------------------------------------------------


def install(path: Path) -> str:
    s = _Settings(path)
    data = s.data
    command = status_command()
    ours = {"type": "command", "command": command}
    previous = data.get("statusLine")
    mine = isinstance(previous, dict) and _runs(previous.get("command"), STATUS_ARGS)
    if previous == ours or (mine and previous.get("command") == command):
        return f"ccspend's status line is already in {path}"
    rec = _begin(path, s)
    if mine:  # an older install's (a bare ``ccspend statusline``): brought up to date
        previous["command"] = command  # what it replaced is in the record, if it was made
        backup = _save(s, data)
        _write_record(path, rec)
        return _done("updated ccspend's status line to name this ccspend in", path, backup)
    rec["statusLine"] = {"replaced": previous} if "statusLine" in data else {}
    data["statusLine"] = ours
    backup = _save(s, data)
    _write_record(path, rec)
    note = (f" (it replaces {json.dumps(previous)}; uninstall puts that back)"
            if previous is not None else "")  # fmt: skip
    return _done("added ccspend's status line to", path, backup, note)


def uninstall(path: Path) -> str:
    s = _Settings(path)
    data = s.data
    line = data.get("statusLine")
    rec = _read_record(path)
    if not (isinstance(line, dict) and _runs(line.get("command"), STATUS_ARGS)):
        if rec.pop("statusLine", None) is not None:  # removed by hand: forget it
            _write_record(path, rec)
        return f"no ccspend status line in {path}; nothing changed"
    part = rec.pop("statusLine", None) or {}
    note = ""
    if "replaced" in part:
        data["statusLine"] = part["replaced"]  # in place: the key keeps its position
        note = f" (put back the status line it replaced: {json.dumps(part['replaced'])})"
    else:
        del data["statusLine"]
    backup, how = _finish(path, s, data, rec)
    return _done("removed ccspend's status line from", path, backup, note + how)


def status_line_command(path: Path) -> str | None:
    """The installed status line's command, if it is ccspend's."""
    try:
        line = _load(path).get("statusLine")
    except CcspendError:
        return None
    if isinstance(line, dict) and _runs(line.get("command"), STATUS_ARGS):
        return line["command"]
    return None


# -- the cap hooks ---------------------------------------------------------------------------


def _is_ours(hook: object) -> bool:
    return isinstance(hook, dict) and _runs(hook.get("command"), HOOK_ARGS)


def _our_hooks(hooks: dict, event: str) -> list[dict]:
    groups = hooks.get(event)
    if not isinstance(groups, list):
        return []
    return [h for g in groups if isinstance(g, dict) and isinstance(g.get("hooks"), list)
            for h in g["hooks"] if _is_ours(h)]  # fmt: skip


def install_hooks(path: Path) -> str:
    """Add the cap hooks (PreToolUse for every tool, UserPromptSubmit), once each; an
    older install's hooks are brought up to date in place."""
    s = _Settings(path)
    data = s.data
    command = hook_command()
    created = []
    if "hooks" not in data:
        created.append("hooks")
    hooks = data.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise CcspendError(f"{path}: \"hooks\" is not an object; ccspend changed nothing")
    added, updated = [], False
    for event, matcher in HOOK_EVENTS.items():
        if event not in hooks:
            created.append(event)
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise CcspendError(f"{path}: hooks.{event} is not a list; ccspend changed nothing")
        mine = _our_hooks(hooks, event)
        if mine:
            for h in mine:
                if h.get("command") != command:
                    h["command"] = command
                    updated = True
            continue
        group: dict = {"hooks": [{"type": "command", "command": command, "timeout": 5}]}
        if matcher is not None:
            group = {"matcher": matcher, **group}
        groups.append(group)
        added.append(event)
    if not added and not updated:
        return f"ccspend's cap hooks are already in {path}"
    rec = _begin(path, s)
    if added:  # only brought up to date, an older install's hooks stay unrecorded as they were
        part = rec.get("hooks") or {}
        part["created"] = sorted(set(part.get("created", [])) | set(created))
        rec["hooks"] = part
    backup = _save(s, data)
    _write_record(path, rec)
    if not added:
        return _done("updated ccspend's cap hooks to name this ccspend in", path, backup)
    return _done(f"added ccspend's cap hooks ({', '.join(added)}) to", path, backup)


def uninstall_hooks(path: Path) -> str:
    """Remove ccspend's hooks, and the containers they leave empty that install created."""
    s = _Settings(path)
    data = s.data
    rec = _read_record(path)
    part = rec.get("hooks")
    # an install without a record (an older version's) created whatever it leaves empty
    created = None if not isinstance(part, dict) else set(part.get("created", []))
    hooks = data.get("hooks")
    if not isinstance(hooks, dict):
        return f"no ccspend cap hooks in {path}; nothing changed"
    removed = False
    for event in HOOK_EVENTS:
        groups = hooks.get(event)
        if not isinstance(groups, list):
            continue
        kept = []
        for g in groups:
            if isinstance(g, dict) and isinstance(g.get("hooks"), list):
                inner = [h for h in g["hooks"] if not _is_ours(h)]
                if len(inner) != len(g["hooks"]):
                    removed = True
                    if not inner:
                        continue
                    g = {**g, "hooks": inner}
            kept.append(g)
        if kept or (created is not None and event not in created):
            hooks[event] = kept
        else:
            del hooks[event]
    if not removed:
        if rec.pop("hooks", None) is not None:  # removed by hand: forget it
            _write_record(path, rec)
        return f"no ccspend cap hooks in {path}; nothing changed"
    if not hooks and (created is None or "hooks" in created):
        del data["hooks"]
    rec.pop("hooks", None)
    backup, how = _finish(path, s, data, rec)
    return _done("removed ccspend's cap hooks from", path, backup, how)


def installed_hook_commands(path: Path) -> list[str]:
    """The distinct commands of ccspend's hooks in the settings, in order."""
    try:
        hooks = _load(path).get("hooks")
    except CcspendError:
        return []
    if not isinstance(hooks, dict):
        return []
    seen: list[str] = []
    for event in HOOK_EVENTS:
        for h in _our_hooks(hooks, event):
            if h["command"] not in seen:
                seen.append(h["command"])
    return seen


def hooks_installed(path: Path) -> bool:
    try:
        hooks = _load(path).get("hooks")
    except CcspendError:
        return False
    return isinstance(hooks, dict) and all(_our_hooks(hooks, e) for e in HOOK_EVENTS)
