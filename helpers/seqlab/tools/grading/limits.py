"""What a student's kernel may use while it is graded, and what this machine can enforce.

:class:`Limits` holds the instructor's settings (``seqlab grade --timeout --memory --cpu-time --disk``);
:func:`probe` finds out once per run which of them the platform enforces, by starting a tiny
sandboxed Python through :mod:`seqlab.tools.grading.sandbox_launch`; :func:`describe` says it in one line
for the grading log.  What is enforced where:

========================  ===========================  ==================  =========
limit                     Linux                         macOS               Windows
========================  ===========================  ==================  =========
time per cell             yes (interrupt, then kill)    yes                 yes
memory (address space)    yes (RLIMIT_AS)               not enforced [1]_   no
memory of every kind      as root (memory cgroup) [4]_  no                  no
CPU seconds per kernel    yes (RLIMIT_CPU)              yes                 no
processes and threads     yes (RLIMIT_NPROC) [2]_       yes [2]_            no
size of a written file    yes (RLIMIT_FSIZE)            yes                 no
bytes in the work folder  as root (a tmpfs) [5]_        no                  no
output kept per cell      yes (grader side)             yes                 yes
no network                yes (network namespace) [3]_  no                  no
private files             yes (see below) [3]_          no                  no
========================  ===========================  ==================  =========

.. [1] macOS accepts RLIMIT_AS but does not apply it to ``mmap``; large allocations still succeed.
.. [2] Counted per user: exact when the kernel runs as its own user id (root on Linux), otherwise
   the kernel may start this many processes and threads on top of what the user already runs.
.. [3] As root: a network namespace with no interface up, the kernel running under a user id
   of its own (so it can write only its work folder and its own ``/tmp`` and ``/dev/shm``, small
   tmpfs of its mount namespace), and empty read-only folders mounted over the course's
   ``solutions/``, its git folders, the grading workspace and the submissions; a ``/proc`` showing
   it only its own processes (Linux 5.8 or newer).  As an ordinary
   user the same namespaces are used when the kernel allows unprivileged user namespaces (most
   distributions do), without the separate user id.
.. [4] A memory cgroup per submission (cgroup v1's memory controller, under the grading process's own
   cgroup) with the same limit as the address space: it also counts ``/dev/shm``, ``/tmp`` and ``memfd``
   pages, which RLIMIT_AS does not.  Needs root and a writable cgroup v1 memory hierarchy; on a
   cgroup v2 system controllers must be delegated first, which this does not do (the log says so).
.. [5] The grader mounts a tmpfs of ``disk`` bytes over each kernel's work folder (``HOME``, ``TMPDIR``, its
   working directory) in its own mount namespace before the kernel starts, so the kernel's Unix sockets in it
   stay reachable from both sides; it is taken off when the submission's sandbox closes, or by the stale clean-up
   after a killed worker.  With the private ``/tmp`` (which ``/var/tmp`` and ``/run/lock`` then show too) and
   ``/dev/shm``, a kernel can write at most ``disk`` + 128 MiB + 64 MiB.  Needs root (mounting).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

from seqlab.tools.course import KERNEL_STARTUP_TIMEOUT

__all__ = [
    "LAUNCHER",
    "SANDBOX_UID_BASE",
    "parse_size",
    "format_size",
    "Limits",
    "Capabilities",
    "interpreter_paths",
    "memory_cgroup_base",
    "disk_quota_works",
    "probe",
    "KERNEL_START_SECONDS",
    "LOCKED_CELL_SECONDS",
    "MAX_RESTARTS",
    "GRADING_OVERHEAD_SECONDS",
    "TIME_LIMIT_ENV",
    "notebook_time_limit",
    "describe",
]

LAUNCHER = Path(__file__).with_name("sandbox_launch.py")
#: Sandbox user ids are this plus the grading worker's process id: unique among running workers.
SANDBOX_UID_BASE = 1_000_000_000
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_size(text: str) -> int:
    """Bytes in ``"4G"``, ``"512M"``, ``"1.5g"``, ``"1000000"`` (binary units).

    Raises:
        ValueError: not a size.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", text.lower())
    if not match:
        raise ValueError(f"not a size: {text!r} (examples: 4G, 512M)")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def format_size(size: int) -> str:
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= factor:
            return f"{size / factor:g} {unit}"
    return f"{size} B"


@dataclass(frozen=True)
class Limits:
    """Per-submission limits.  ``None`` switches a limit off.

    Attributes:
        timeout: seconds each cell may run before it is interrupted.
        memory: bytes of address space for the kernel (torch alone maps about 1 GiB).
        cpu_time: CPU seconds for one kernel process over the whole notebook.
        processes: processes and threads the kernel may have (a fork bomb stops there).
        file_size: largest file the kernel may write, in bytes.
        disk: bytes the kernel may keep in its work folder (a tmpfs of that size, as root on Linux).
        output: bytes of output kept per cell; the rest is dropped with a note.
        network: allow network access (off by default where it can be switched off).
    """

    timeout: int = 60
    memory: int | None = 4 * 2**30
    cpu_time: int | None = 600
    processes: int | None = 256
    file_size: int | None = 256 * 2**20
    disk: int | None = 256 * 2**20
    output: int = 2 * 2**20
    network: bool = False

    def settings(self) -> dict:
        """The limits as plain data (recorded with each result, so a change regrades)."""
        return asdict(self)


@dataclass(frozen=True)
class Capabilities:
    """What this machine enforces for a sandboxed kernel (see the module docstring)."""

    platform: str
    rlimits: bool = False
    namespaces: bool = False
    separate_user: bool = False
    private_proc: bool = False
    memory_cgroup: str = ""  # the folder under which each submission gets its memory cgroup ("": none)
    disk_quota: bool = False  # a size-capped tmpfs over each work folder (root on Linux)
    problems: tuple[str, ...] = field(default_factory=tuple)


def _launch_probe(spec: dict) -> tuple[bool, str]:
    command = [sys.executable, "-I", "-S", str(LAUNCHER), json.dumps(spec), "--", sys.executable, "-c", "pass"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, str(error)
    return done.returncode == 0, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""


def interpreter_paths() -> list[str]:
    """Folders the kernel must be able to read: the interpreter, its environment, this package."""
    package = Path(__file__).resolve().parents[2]  # helpers/ (an editable install) or site-packages/
    paths = [os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), str(package)]
    return list(dict.fromkeys(paths))


def memory_cgroup_base() -> tuple[str, str]:
    """``(folder, "")`` where submissions' memory cgroups can be made (cgroup v1's memory hierarchy, under this
    process's own cgroup), or ``("", why not)``."""
    if os.geteuid() != 0:
        return "", "a memory cgroup needs root"
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError as error:
        return "", str(error)
    own = next((line.split(":", 2)[2] for line in lines if line.split(":")[1:2] == ["memory"]), None)
    hierarchy = Path("/sys/fs/cgroup/memory")
    if own is None or not (hierarchy / "memory.limit_in_bytes").exists():
        return "", "no cgroup v1 memory hierarchy (cgroup v2 needs delegated controllers)"
    return str(hierarchy / own.lstrip("/") / "seqlab"), ""


def disk_quota_works() -> tuple[bool, str]:
    """``(True, "")`` if a size-capped tmpfs can be mounted over a work folder here (and taken off), else why not."""
    from seqlab.tools.grading.sandbox_launch import CannotEnforce, is_mount_point, mount_quota, unmount_quota

    if not sys.platform.startswith("linux"):
        return False, "a disk quota needs Linux"
    if os.geteuid() != 0:
        return False, "a disk quota in the work folder needs root (a tmpfs mounted by the grader)"
    with tempfile.TemporaryDirectory(prefix="seqlab-probe-") as scratch:
        try:
            mount_quota(scratch, 2**20)
        except CannotEnforce as error:
            return False, str(error)
        try:
            with open(os.path.join(scratch, "full"), "wb") as handle:
                handle.write(b"x" * 2**21)
            capped = False
        except OSError:
            capped = True
        finally:
            unmount_quota(scratch)
        if is_mount_point(scratch):
            return False, f"could not unmount {scratch}"
    return capped, "" if capped else "a tmpfs of 1 MiB took 2 MiB"


@cache
def probe() -> Capabilities:
    """Find out, once per process, which limits and isolation work here."""
    if sys.platform == "win32":
        return Capabilities("windows", problems=("only the time limits are enforced on Windows",))
    platform = "linux" if sys.platform.startswith("linux") else sys.platform
    problems = []
    rlimits, reason = _launch_probe({"memory": 4 * 2**30, "cpu": 60, "file_size": 2**20})
    if not rlimits:
        problems.append(f"resource limits: {reason}")
    if platform != "linux":
        return Capabilities(platform, rlimits=rlimits, problems=tuple(problems))
    with tempfile.TemporaryDirectory(prefix="seqlab-probe-") as scratch:
        os.chmod(scratch, 0o711)
        home = Path(scratch) / "home"
        home.mkdir()
        spec = {
            "network": False,
            "hide": [],
            "reachable": interpreter_paths(),
            "staging": f"{scratch}/staging",
            "shm_size": 2**20,
            "tmp_size": 2**20,
            "keep": [scratch],
        }
        namespaces, reason = _launch_probe(spec)
        if not namespaces:
            problems.append(f"network and file isolation: {reason}")
        separate_user = False
        if namespaces and os.geteuid() == 0:
            uid = SANDBOX_UID_BASE + os.getpid()
            spec = {**spec, "uid": uid, "owned": [str(home)], "workdir": str(home)}
            separate_user, reason = _launch_probe(spec)
            if not separate_user:
                problems.append(f"separate user id: {reason}")
        private_proc = False
        if separate_user:
            private_proc, reason = _launch_probe({**spec, "hide_processes": True})
            if not private_proc:
                problems.append(f"other processes hidden in /proc: {reason}")
    cgroup_base, reason = memory_cgroup_base()
    if cgroup_base:
        trial = f"{cgroup_base}/probe-{os.getpid()}"
        works, reason = _launch_probe({"cgroup": trial, "cgroup_memory": 2**30})
        with contextlib.suppress(OSError):
            os.rmdir(trial)
        cgroup_base = cgroup_base if works else ""
    if not cgroup_base:
        problems.append(f"memory of every kind (shared memory, memfd): {reason}")
    disk_quota, reason = disk_quota_works()
    if not disk_quota:
        problems.append(f"disk quota in the work folder: {reason}")
    return Capabilities(
        platform, rlimits, namespaces, separate_user, private_proc, cgroup_base, disk_quota, tuple(problems)
    )


#: Seconds a kernel may take to start (the course's ``c.Execute.startup_timeout``; a busy machine is slow).
KERNEL_START_SECONDS = KERNEL_STARTUP_TIMEOUT
#: Seconds for the instructor's locked set-up cells (they import torch), whatever the per-cell limit.
LOCKED_CELL_SECONDS = 120
#: Kernel restarts per notebook after a cell kills its kernel (each new kernel re-runs the cells before it).
MAX_RESTARTS = 3
#: Seconds for what grading one student does besides running cells: nbgrader's set-up, the feedback.
GRADING_OVERHEAD_SECONDS = 120
#: An instructor's own cap on one student's whole grading, in seconds (unset: derived, see :func:`notebook_time_limit`).
TIME_LIMIT_ENV = "SEQLAB_SUBMISSION_TIMEOUT"


def notebook_time_limit(limits: Limits, code_cells: int, locked_cells: int = 0) -> int:
    """Seconds one student's whole grading may take: never less than its cells may use within their limits.

    Each kernel (the first and one per restart, :data:`MAX_RESTARTS`) runs every code cell at most once (a new
    kernel re-runs the cells before the one that killed the last kernel, then goes on after it), each within
    its limit: ``limits.timeout``, or :data:`LOCKED_CELL_SECONDS` for the ``locked_cells`` of the instructor;
    it may take :data:`KERNEL_START_SECONDS` to start and as long as a set-up cell for the grader's guard.
    :data:`GRADING_OVERHEAD_SECONDS` cover the rest.  So a notebook whose every cell stays under its limit is
    never cut by this total.  ``SEQLAB_SUBMISSION_TIMEOUT`` (seconds), when set, replaces it.
    """
    override = os.environ.get(TIME_LIMIT_ENV, "").strip()
    if override:
        return int(override)
    student_cells = max(code_cells - locked_cells, 0)
    cells = student_cells * limits.timeout + locked_cells * max(limits.timeout, LOCKED_CELL_SECONDS)
    per_kernel = KERNEL_START_SECONDS + max(limits.timeout, LOCKED_CELL_SECONDS) + cells
    return GRADING_OVERHEAD_SECONDS + (1 + MAX_RESTARTS) * per_kernel


def describe(limits: Limits, capabilities: Capabilities) -> str:
    """One line for the grading log: the limits and how they are enforced here."""
    parts = [f"{limits.timeout} s per cell"]
    if capabilities.rlimits:
        if limits.memory and capabilities.platform == "linux":
            kind = " (all kinds: a memory cgroup)" if capabilities.memory_cgroup else ""
            parts.append(f"memory {format_size(limits.memory)}{kind}")
        if limits.cpu_time:
            parts.append(f"CPU {limits.cpu_time} s")
        if limits.processes:
            parts.append(f"{limits.processes} processes")
        if limits.file_size:
            parts.append(f"files up to {format_size(limits.file_size)}")
    if limits.disk and capabilities.disk_quota:
        parts.append(f"{format_size(limits.disk)} of disk in the work folder")
    parts.append(f"output {format_size(limits.output)} per cell")
    if capabilities.namespaces:
        parts.append("network on" if limits.network else "no network")
        parts.append("solutions, workspace and submissions hidden")
    if capabilities.separate_user:
        parts.append("a user id of its own")
    if capabilities.private_proc:
        parts.append("other processes hidden")
    line = "Limits per submission: " + ", ".join(parts)
    if capabilities.problems:
        line += "\n  not enforced here: " + "; ".join(capabilities.problems)
    return line
