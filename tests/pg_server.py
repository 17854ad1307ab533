"""A throwaway PostgreSQL server for the tests that need one (export, team reports).

Started by the fixture ``pg`` (initdb + pg_ctl, a unix socket in a temp folder,
password authentication), run as the ``postgres`` user when the tests run as root
(initdb refuses root). Without PostgreSQL's server binaries the tests that use it
skip, saying why. A test module imports ``pg`` to get one server for its tests.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

PASSWORD = "s3cret-Pa55"


# -- a throwaway PostgreSQL server --------------------------------------------------------


def _server_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, bindir: Path, folder: Path, port: int, run_as: str | None):
        self.bindir, self.folder, self.port, self.run_as = bindir, folder, port, run_as

    def run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    def url(self, password: str | None = PASSWORD, db: str = "postgres") -> str:
        auth = f"ccspend:{password}" if password is not None else "ccspend"
        return f"postgresql://{auth}@/{db}?host={self.folder}&port={self.port}"

    def query(self, sql: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url()) as conn:
            return conn.execute(sql).fetchall()

    def execute(self, sql: str) -> None:
        """Run ``sql`` (several statements allowed) outside a transaction."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)


def start(settings: str = "-c fsync=off -c shared_buffers=16MB") -> Server | str:
    """A new server in a temp folder, or why none could start. ``settings``: more
    ``-c`` options (the benchmark gives it a production-like memory)."""
    bindir = _server_bin()
    if bindir is None:
        return "PostgreSQL server binaries not found (Debian: apt-get install postgresql)"
    run_as = None
    if os.geteuid() == 0:  # initdb refuses root: run the server as an unprivileged user
        for name in ("postgres", "nobody"):
            try:
                pwd.getpwnam(name)
            except KeyError:
                continue
            run_as = name
            break
        if run_as is None or shutil.which("runuser") is None:
            return "running as root with no postgres/nobody user or no runuser: initdb refuses root"
    folder = Path(tempfile.mkdtemp(prefix="ccspend-pg-"))
    if run_as:
        u = pwd.getpwnam(run_as)
        os.chown(folder, u.pw_uid, u.pw_gid)
    (folder / "pw").write_text(PASSWORD + "\n")
    os.chmod(folder / "pw", 0o644)
    server = Server(bindir, folder, free_port(), run_as)
    init = server.run("initdb", "-D", str(folder / "data"), "-U", "ccspend", "--pwfile",
                      str(folder / "pw"), "--auth", "scram-sha-256", "-E", "UTF8",
                      "--no-instructions")
    if init.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        return f"initdb failed: {init.stderr.strip().splitlines()[-1:]}"
    opts = (f"-c listen_addresses='' -c unix_socket_directories='{folder}' -p {server.port} "
            f"-c max_connections=20 {settings}")
    started = server.run("pg_ctl", "-D", str(folder / "data"), "-l", str(folder / "log"),
                         "-o", opts, "-w", "-t", "60", "start")
    if started.returncode != 0:
        log = (folder / "log").read_text() if (folder / "log").exists() else started.stderr
        shutil.rmtree(folder, ignore_errors=True)
        return f"PostgreSQL did not start: {log.strip().splitlines()[-1:]}"
    return server


def stop(server: Server) -> None:
    server.run("pg_ctl", "-D", str(server.folder / "data"), "-m", "fast", "-w", "stop")
    shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def pg():
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")
    server = start()
    if isinstance(server, str):
        pytest.skip(server)
    try:
        yield server
    finally:
        stop(server)
