"""Run commands (grading workers) a few at a time, each with an overall time limit.

Each command runs in a session of its own, its output goes to temporary files (never a pipe
that could fill up), and on Linux it is killed if this process dies, so an interrupted grading
run leaves no worker behind to race with the next one.  A command over its time limit is
killed with its whole process group; ``on_done`` then hears ``timed_out=True``.

On Linux a job that gives an ``entry`` (the command's work as a call in this process) is started by
forking this process instead of starting a new Python: the child already has nbgrader and its friends
imported (about 4 s of CPU per submission saved) and is otherwise the same one-process-per-submission
worker.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["Job", "Outcome", "run_pool", "die_with_parent", "PR_SET_PDEATHSIG", "POLL_SECONDS"]

PR_SET_PDEATHSIG = 1
#: How often the pool looks for finished jobs.
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Job:
    """A command to run; ``key`` identifies it to the caller."""

    key: str
    command: list[str]
    cwd: str
    timeout: float
    entry: Callable[[], int] | None = None  # the same work as ``command``, called in a forked child (Linux)


@dataclass(frozen=True)
class Outcome:
    """How a job ended."""

    pid: int
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float


def die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: this process is killed when its parent dies (a ``preexec_fn``, or called first thing in a fork)."""
    import ctypes

    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class _Forked:
    """The few ``Popen`` methods the pool needs, for a child made with ``os.fork``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)


def _fork(job: Job, out, err) -> _Forked:
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return _Forked(pid)
    code = 70  # pragma: no cover - the child
    try:
        os.setsid()
        die_with_parent()
        if os.getppid() != parent:
            os._exit(code)
        os.chdir(job.cwd)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True)
        code = job.entry()
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code or 0)


def _read(handle) -> str:
    handle.seek(0)
    return handle.read().decode("utf-8", errors="replace")


def run_pool(jobs: Iterable[Job], workers: int, on_done: Callable[[Job, Outcome], None]) -> None:
    """Run ``jobs`` with at most ``workers`` at once; call ``on_done`` in this thread as each ends.

    A finished job's place is filled before ``on_done`` is called, so that what the caller does with a result
    (copying scores into the class gradebook) overlaps the next job instead of delaying it.
    """
    pending = list(jobs)
    pending.reverse()
    running: dict[int, tuple[Job, subprocess.Popen | _Forked, float, object, object]] = {}

    def fill() -> None:
        while pending and len(running) < max(1, workers):
            job = pending.pop()
            process, out, err = _start(job)
            running[process.pid] = (job, process, time.monotonic(), out, err)

    try:
        while pending or running:
            fill()
            finished: list[tuple[Job, Outcome]] = []
            for pid, (job, process, started, out, err) in list(running.items()):
                elapsed = time.monotonic() - started
                timed_out = process.poll() is None and elapsed > job.timeout
                if timed_out:
                    _kill_group(process)
                if process.poll() is not None:
                    finished.append((job, Outcome(pid, process.returncode, _read(out), _read(err), timed_out, elapsed)))
                    out.close()
                    err.close()
                    del running[pid]
            fill()  # the next jobs start before this thread turns to the finished ones
            for job, outcome in finished:
                on_done(job, outcome)
            if running and not finished:
                time.sleep(POLL_SECONDS)
    finally:
        for _, process, _, out, err in running.values():
            _kill_group(process)
            out.close()
            err.close()


def _start(job: Job) -> tuple[subprocess.Popen | _Forked, object, object]:
    """Start ``job`` (forked when it has an ``entry`` on Linux), its output going to two temporary files."""
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115 (closed when it ends)
    if job.entry is not None and sys.platform.startswith("linux"):
        return _fork(job, out, err), out, err
    preexec = die_with_parent if sys.platform.startswith("linux") else None
    process = subprocess.Popen(
        job.command, cwd=job.cwd, stdout=out, stderr=err, start_new_session=True, preexec_fn=preexec
    )
    return process, out, err


def _kill_group(process: subprocess.Popen | _Forked) -> None:
    killpg = getattr(os, "killpg", None)  # not on Windows
    try:
        if killpg is None:
            raise OSError
        killpg(process.pid, signal.SIGKILL)
    except OSError:
        process.kill()
    process.wait()
