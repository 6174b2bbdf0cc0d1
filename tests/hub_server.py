"""The course's JupyterHub (deploy/jupyterhub_config.py) started for real, for tests/test_hub.py.

As root: Linux accounts with passwords (useradd, chpasswd) for the people of the test and for the course account
that runs the formgrader, a course folder laid out as docs/deployment.md says (owned by the course account, its
solutions and grading folders private), an exchange folder owned by root with mode 1777, and JupyterHub with its
proxy, configurable-http-proxy, listening on loopback only.  The hub reads deploy/jupyterhub_config.py as it is;
only ports, folders and the lists of users are given through its ``SEQLAB_HUB_*`` variables and command line.

Everything is undone however the test ends: the hub's process group is stopped (it stops the users' servers, the
service and the proxy), then any process still running under one of the test's accounts is killed by its pid,
the accounts are removed with their homes (userdel -r) and the folders deleted.  One hub test runs at a time on a
machine (a lock file in the temporary folder; the accounts have fixed names), and a run first clears what a killed
run left: its accounts (recognised by their comment), their processes, and its folders with the processes started
from them.
"""

from __future__ import annotations

import contextlib
import grp
import http.client
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from seqlab.tools.course import COURSE_ID
from tests.support import REPO

COURSE_ACCOUNT = f"grader-{COURSE_ID}"
#: The comment (GECOS field) of every account the test creates: an account left by a killed run is recognised by it
#: and removed before the next run; an account without it is never touched.
MARKER = "seqlab hub test account"
PROXY = REPO / ".venv" / "bin" / "configurable-http-proxy"
JUPYTERHUB = REPO / ".venv" / "bin" / "jupyterhub"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def missing_prerequisites() -> list[str]:
    """What this machine lacks to run the hub test, each with how to get it (empty: nothing)."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (the test creates Linux accounts and the hub runs each user's server as its user)")
    for tool in ("useradd", "userdel", "chpasswd", "runuser"):
        if shutil.which(tool) is None:
            missing.append(f"{tool} (Debian's passwd/util-linux packages)")
    if shutil.which("node") is None:
        missing.append("Node.js (`sudo apt-get install nodejs npm`)")
    if not PROXY.exists():
        missing.append("configurable-http-proxy in .venv (`make install` puts it there when npm is present)")
    return missing


@dataclass
class Account:
    name: str
    password: str
    uid: int = 0
    home: Path = Path()


def _account_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _kill_processes_of(uids: set[int]) -> None:
    """Kill, by pid, every process still running under one of the test's own accounts."""
    import psutil

    for _ in range(3):
        left = [p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real in uids]
        if not left:
            return
        for process in left:
            with contextlib.suppress(psutil.Error):
                process.kill()
        psutil.wait_procs(left, timeout=10)


def _kill_processes_under(root: Path) -> None:
    """Kill, by pid, every process started from the test's own folder (JupyterHub starts its proxy in a session of
    its own, so stopping the hub's process group does not reach it when the hub dies first)."""
    import psutil

    mine = []
    for process in psutil.process_iter(["cmdline"]):
        if any(str(root) in part for part in process.info["cmdline"] or []):
            with contextlib.suppress(psutil.Error):
                process.kill()
                mine.append(process)
    psutil.wait_procs(mine, timeout=10)


def remove_account(name: str) -> None:
    """Remove one of the test's accounts (its processes, then the account and its home); others are left alone."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return
    if entry.pw_gecos != MARKER:
        raise RuntimeError(f"the account {name} exists and was not created by the hub test: not touching it")
    _kill_processes_of({entry.pw_uid})
    subprocess.run(["userdel", "-r", name], capture_output=True, text=True, check=False)
    with contextlib.suppress(KeyError):
        grp.getgrnam(name)
        subprocess.run(["groupdel", name], capture_output=True, check=False)


def create_account(name: str) -> Account:
    """A Linux account with a home (Debian's default mode, 0755) and a random password."""
    if _account_exists(name):
        remove_account(name)  # left by a run that was killed (raises if it is not ours)
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", "--comment", MARKER, name], check=True)
    password = secrets.token_urlsafe(12)
    subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
    entry = pwd.getpwnam(name)
    return Account(name, password, entry.pw_uid, Path(entry.pw_dir))


@dataclass
class Hub:
    url: str
    root: Path  # course/, exchange/, state/
    course: Path
    exchange: Path
    log: Path
    process: subprocess.Popen
    accounts: dict[str, Account] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)

    def run_as(self, account: str, command: list[str], cwd: Path | None = None, timeout: float = 300):
        """Run a command as one of the accounts, with the environment the hub gives its servers."""
        entry = pwd.getpwnam(account)
        env = {
            "HOME": entry.pw_dir,
            "USER": account,
            "LOGNAME": account,
            "PATH": f"{self.course / '.venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            **self.environment,
        }
        return subprocess.run(
            ["runuser", "-u", account, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()], *command],
            cwd=cwd or entry.pw_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _blocked_ancestors(paths: list[Path]) -> list[Path]:
    """Folders on the way to ``paths`` that other users may not search (no o+x): they would not reach them."""
    blocked = []
    for path in paths:
        for folder in reversed(path.resolve().parents):
            if not folder.stat().st_mode & 0o001 and folder not in blocked:
                blocked.append(folder)
    return blocked


@contextlib.contextmanager
def reachable_environment() -> Iterator[list[Path]]:
    """Let the test's accounts reach the course's .venv and the Python it was made from, for the test's duration.

    On a hub the course environment is built from a system Python (docs/deployment.md).  A development machine's
    .venv may come from a Python under a private home (pyenv in /root): each folder in the way gets search
    permission for others (o+x, not read) until the test ends, and its mode back afterwards.
    """
    python = (REPO / ".venv" / "bin" / "python").resolve()
    blocked = _blocked_ancestors([REPO / ".venv" / "bin", python])
    modes = {folder: folder.stat().st_mode & 0o7777 for folder in blocked}
    try:
        for folder, mode in modes.items():
            folder.chmod(mode | 0o001)
        yield blocked
    finally:
        for folder, mode in modes.items():
            folder.chmod(mode)


def _lay_out_course(course: Path, owner: Account) -> None:
    """The course folder of docs/deployment.md: the repository's course files, owned by the course account.

    The environment is the repository's own .venv (linked, not copied); deploy/ is copied as it is.  The
    solutions and the grading folder are private to the course account.
    """
    course.mkdir()
    for name in ("solutions", "notebooks", "deploy"):
        shutil.copytree(REPO / name, course / name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    shutil.copy2(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    (course / ".venv").symlink_to(REPO / ".venv")
    (course / "_grading").mkdir()
    for path in [course, *course.rglob("*")]:
        os.lchown(path, owner.uid, owner.uid)
    course.chmod(0o755)
    (course / "solutions").chmod(0o700)
    (course / "_grading").chmod(0o700)


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, f"JupyterHub exited ({process.returncode}); see {log}"
        assert time.monotonic() < deadline, f"JupyterHub did not answer within {timeout:.0f} s; see {log}"
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                if response.status == 200:
                    return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.5)


def stop(process: subprocess.Popen, timeout: float = 60) -> None:
    """Stop the hub's process group: SIGTERM (JupyterHub stops the servers, the service, the proxy), then SIGKILL."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


#: One hub test at a time on a machine (the accounts have fixed names); held for the whole run.
LOCK = Path(tempfile.gettempdir()) / "seqlab-hub-test.lock"


@contextlib.contextmanager
def machine_lock(timeout: float) -> Iterator[None]:
    """Wait (bounded) until no other hub test runs on this machine, then hold the lock until the end."""
    import fcntl

    with LOCK.open("a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"another hub test held {LOCK} for {timeout:.0f} s") from None
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _clean_up_after_killed_runs() -> None:
    """Processes and folders a killed hub test left (only ever called with the machine lock held)."""
    for root in Path(tempfile.gettempdir()).glob("seqlab-hub-*"):
        if root.is_dir():
            _kill_processes_under(root)
            shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def running_hub(graders: list[str], students: list[str], log_dir: Path, timeout: float = 180) -> Iterator[Hub]:
    """Create the accounts and folders, start the hub, yield it; undo everything afterwards."""
    with machine_lock(timeout=300):
        _clean_up_after_killed_runs()
        with _running_hub(graders, students, log_dir, timeout) as hub:
            yield hub


@contextlib.contextmanager
def _running_hub(graders: list[str], students: list[str], log_dir: Path, timeout: float) -> Iterator[Hub]:
    root = Path(tempfile.mkdtemp(prefix="seqlab-hub-"))  # in /tmp: the users' servers must reach the course
    root.chmod(0o755)
    accounts: dict[str, Account] = {}
    process = None
    reachable = reachable_environment()
    try:
        opened = reachable.__enter__()
        if opened:
            print(f"hub test: search permission (o+x) for the test's duration on {', '.join(map(str, opened))}")
        for name in [COURSE_ACCOUNT, *graders, *students]:
            accounts[name] = create_account(name)
        course = root / "course"
        _lay_out_course(course, accounts[COURSE_ACCOUNT])
        exchange = root / "exchange"  # docs/deployment.md: created by root, mode 1777
        exchange.mkdir()
        exchange.chmod(0o1777)
        state = root / "state"
        state.mkdir(mode=0o700)
        port, hub_port, api_port = free_port(), free_port(), free_port()
        environment = {"SEQLAB_HUB_EXCHANGE": str(exchange)}
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "SEQLAB_"))},
            **environment,
            "SEQLAB_HUB_COURSE_ROOT": str(course),
            "SEQLAB_HUB_GRADERS": ",".join(graders),
            "SEQLAB_HUB_STUDENTS": ",".join(students),
            "SEQLAB_HUB_FORMGRADER_PORT": str(free_port()),
            "CONFIGPROXY_AUTH_TOKEN": secrets.token_hex(32),
        }
        log_dir.mkdir(parents=True, exist_ok=True)
        log = log_dir / "jupyterhub.log"
        command = [
            str(JUPYTERHUB),
            "-f",
            str(course / "deploy" / "jupyterhub_config.py"),
            f"--JupyterHub.bind_url=http://127.0.0.1:{port}",
            f"--JupyterHub.hub_bind_url=http://127.0.0.1:{hub_port}",
            f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{api_port}",
        ]
        with log.open("w") as out:
            process = subprocess.Popen(
                command, cwd=state, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{url}/hub/health", process, log, timeout)
        yield Hub(url, root, course, exchange, log, process, accounts, environment)
    finally:
        if process is not None:
            stop(process)
        _kill_processes_under(root)
        _kill_processes_of({a.uid for a in accounts.values()})
        for name in accounts:
            remove_account(name)
        shutil.rmtree(root, ignore_errors=True)
        reachable.__exit__(None, None, None)
