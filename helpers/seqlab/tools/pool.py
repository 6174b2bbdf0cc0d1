"""Run commands (grading workers) a few at a time, each with an overall time limit.

Each command runs in a session of its own, its output goes to temporary files (never a pipe
that could fill up), and on Linux it is killed if this process dies, so an interrupted grading
run leaves no worker behind to race with the next one.  A command over its time limit is
killed with its whole process group; ``on_done`` then hears ``timed_out=True``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Job:
    """A command to run; ``key`` identifies it to the caller."""

    key: str
    command: list[str]
    cwd: str
    timeout: float


@dataclass(frozen=True)
class Outcome:
    """How a job ended."""

    pid: int
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    import ctypes

    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _read(handle) -> str:
    handle.seek(0)
    return handle.read().decode("utf-8", errors="replace")


def run_pool(jobs: Iterable[Job], workers: int, on_done: Callable[[Job, Outcome], None]) -> None:
    """Run ``jobs`` with at most ``workers`` at once; call ``on_done`` in this thread as each ends."""
    pending = list(jobs)
    pending.reverse()
    running: dict[int, tuple[Job, subprocess.Popen, float, object, object]] = {}
    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    try:
        while pending or running:
            while pending and len(running) < max(1, workers):
                job = pending.pop()
                out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115 (closed when it ends)
                process = subprocess.Popen(
                    job.command, cwd=job.cwd, stdout=out, stderr=err, start_new_session=True, preexec_fn=preexec
                )
                running[process.pid] = (job, process, time.monotonic(), out, err)
            finished = []
            for pid, (job, process, started, out, err) in running.items():
                elapsed = time.monotonic() - started
                timed_out = process.poll() is None and elapsed > job.timeout
                if timed_out:
                    _kill_group(process)
                if process.poll() is not None:
                    outcome = Outcome(pid, process.returncode, _read(out), _read(err), timed_out, elapsed)
                    out.close()
                    err.close()
                    finished.append(pid)
                    on_done(job, outcome)
            for pid in finished:
                del running[pid]
            if running and not finished:
                time.sleep(0.1)
    finally:
        for _, process, _, out, err in running.values():
            _kill_group(process)
            out.close()
            err.close()


def _kill_group(process: subprocess.Popen) -> None:
    killpg = getattr(os, "killpg", None)  # not on Windows
    try:
        if killpg is None:
            raise OSError
        killpg(process.pid, signal.SIGKILL)
    except OSError:
        process.kill()
    process.wait()
