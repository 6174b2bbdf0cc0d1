"""A throw-away PostgreSQL server for the tests: Debian's ``postgresql`` package, loopback only, stopped after.

``.ci/run`` installs the package, so CI always has it; on a laptop without it the tests that need a server skip
with a message naming the package.  The server runs in a new data directory under /tmp, listens on 127.0.0.1
(a free port) and on a socket in that directory, trusts local connections (nothing else can reach it), and is
stopped (``pg_ctl stop -m fast``) and its directory removed when the block ends.  PostgreSQL refuses to run as
root, so as root it runs as the ``postgres`` user the package creates.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from seqlab.tools.course import COURSE_ID

MISSING = (
    "PostgreSQL is not installed: `sudo apt-get install postgresql` (Debian/Ubuntu); "
    "`.ci/run` installs it, so CI always runs these tests"
)


def require_postgres() -> None:
    """Skip the calling test without PostgreSQL; fail instead where `.ci/run` said it must run."""
    import pytest

    if postgres_bin() is None:
        if os.environ.get("SEQLAB_POSTGRES_TEST") == "required":
            pytest.fail(f"{MISSING} (SEQLAB_POSTGRES_TEST=required)")
        pytest.skip(MISSING)


def postgres_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (on PATH, or Debian's /usr/lib/postgresql/N/bin)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_postgres(database: str = COURSE_ID) -> Iterator[str]:
    """Start a server, create ``database``, yield its SQLAlchemy URL; stop the server after."""
    binaries = postgres_bin()
    if binaries is None:
        raise FileNotFoundError(MISSING)
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="seqlab-postgres-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(folder, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()

    def run(*command: str) -> None:
        done = subprocess.run([*as_user, *command], capture_output=True, text=True, timeout=120, cwd=folder)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")

    try:
        run(str(binaries / "initdb"), "-D", str(data), "-U", "seqlab", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off -c max_connections=50"
        run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "server.log"), "-w", "start")
        try:
            run(str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "seqlab", database)
            yield f"postgresql://seqlab@127.0.0.1:{port}/{database}"
        finally:
            run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
