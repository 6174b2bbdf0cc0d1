"""A sandboxed kernel for one student: its work folder, its user id, how it is started and stopped.

The grading worker (and ``seqlab check``) makes one :class:`KernelSandbox` per submission and hands it to
the notebook executor (:class:`~seqlab.tools.grading.executor.ResilientExecute`'s ``sandbox``), which
starts every kernel as a :class:`SandboxedKernelManager` of that sandbox: always the course's Python kernel
(whatever kernelspec the submitted notebook names), talking over Unix sockets inside the work folder (so it
needs no network), started through :mod:`seqlab.tools.grading.sandbox_launch` with the limits of
:mod:`seqlab.tools.grading.limits`.  :meth:`KernelSandbox.close` kills whatever the student's code left
running and deletes the work folder.  As root on Linux the work folder is a tmpfs of ``Limits.disk`` bytes,
mounted here (the grader's mount namespace, which the kernel's is copied from) so that both sides reach the
sockets in it; it is unmounted on close, or by :func:`clean_up_after` when the worker was killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager

from seqlab.numerics import PINNED_ENVIRONMENT
from seqlab.tools.course import Course
from seqlab.tools.grading.kernel_server import KernelServer
from seqlab.tools.grading.limits import (
    LAUNCHER,
    SANDBOX_UID_BASE,
    Capabilities,
    Limits,
    interpreter_paths,
    memory_cgroup_base,
)
from seqlab.tools.grading.sandbox_launch import is_mount_point, mount_quota, unmount_quota

__all__ = [
    "SANDBOX_PREFIX",
    "KERNEL_SETTINGS",
    "SHM_SIZE",
    "TMP_SIZE",
    "KernelSandbox",
    "clean_up_after",
    "clean_up_stale",
    "pid_alive",
    "SandboxedKernelManager",
    "PromptKernelClient",
    "hidden_folders",
    "kernel_server_environment",
    "warm_kernel_server",
]

SANDBOX_PREFIX = "seqlab-kernel-"
#: What every kernel's environment sets, whatever the grading machine's: one thread, and the numerics pinned (grades
#: never depend on the grading machine's processor).
KERNEL_SETTINGS = {"OMP_NUM_THREADS": "1", **PINNED_ENVIRONMENT}


#: Bytes of the private ``/dev/shm`` each kernel gets in its mount namespace (shared memory is not in RLIMIT_AS).
SHM_SIZE = 64 * 2**20
#: Bytes of the private ``/tmp`` each kernel gets in its mount namespace (its work folder, bound in, is not counted).
TMP_SIZE = 128 * 2**20


class KernelSandbox:
    """The work folder, user id and launch settings of one student's kernels.

    Args:
        limits: the instructor's limits.
        capabilities: what this machine enforces (:func:`seqlab.tools.grading.limits.probe`).
        hide: folders the kernel must not see (solutions, workspace, submissions).
        label: a few characters for the work folder's name (the student id), to recognise it.
        server: a kernel server's socket (:mod:`seqlab.tools.grading.kernel_server`): kernels are forked from
            it, already warm, instead of started cold ("": cold).
    """

    def __init__(
        self, limits: Limits, capabilities: Capabilities, hide: list[Path], label: str = "", server: str = ""
    ) -> None:
        self.limits = limits
        self.capabilities = capabilities
        self.server = server
        # short (Unix socket paths are limited) and named by the worker, which may be killed before close()
        tag = "".join(c for c in label[:16] if c.isalnum() or c in "_.-")
        self.root = Path(tempfile.mkdtemp(prefix=f"{SANDBOX_PREFIX}{os.getpid()}-{tag}-"))
        os.chmod(self.root, 0o711)
        self.home = self.root / "home"
        self.home.mkdir(mode=0o700)
        # a disk quota: everything the kernel keeps in its work folder (HOME, TMPDIR, cwd) stops at limits.disk
        self.quota = bool(capabilities.disk_quota and limits.disk)
        if self.quota:
            try:
                mount_quota(str(self.home), limits.disk, 0o700)
            except Exception:
                shutil.rmtree(self.root, ignore_errors=True)
                raise
        self.uid = SANDBOX_UID_BASE + os.getpid() if capabilities.separate_user else None
        # every kernel of this submission in one memory cgroup, named like the work folder (see clean_up_after)
        self.cgroup = f"{capabilities.memory_cgroup}/{self.root.name}" if capabilities.memory_cgroup else None
        reachable = interpreter_paths()
        self.hide = [
            str(path)
            for path in hide
            if path.is_dir() and not any(Path(r).is_relative_to(path) for r in [*reachable, str(self.root)])
        ]

    def __deepcopy__(self, memo: dict) -> KernelSandbox:
        """The same sandbox: it is a handle on a folder, mounts and processes (traitlets copies config values)."""
        return self

    def spec(self, connection_file: str) -> dict:
        """Settings for :mod:`seqlab.tools.grading.sandbox_launch`."""
        limits, caps = self.limits, self.capabilities
        home = str(self.home)
        spec: dict = {
            "workdir": home,
            "clean_env": True,
            "env": {
                "HOME": home,
                "TMPDIR": home,
                "MPLCONFIGDIR": home,
                "IPYTHONDIR": f"{home}/.ipython",
                "XDG_CACHE_HOME": f"{home}/.cache",
                **KERNEL_SETTINGS,
            },
        }
        if caps.rlimits:
            spec.update(cpu=limits.cpu_time, file_size=limits.file_size)
            if caps.platform == "linux":
                spec["memory"] = limits.memory
        if self.cgroup is not None and limits.memory is not None:
            spec.update(cgroup=self.cgroup, cgroup_memory=limits.memory)
            if limits.processes is not None:
                spec["processes"] = limits.processes + (0 if self.uid is not None else _processes_of_this_user())
        if caps.namespaces:
            spec.update(
                network=limits.network,
                hide=self.hide,
                reachable=interpreter_paths(),
                staging=str(self.root / "staging"),
                shm_size=SHM_SIZE,
                tmp_size=TMP_SIZE,
                keep=[str(self.root)],
            )
        if self.uid is not None:
            spec.update(uid=self.uid, owned=[home, connection_file], hide_processes=caps.private_proc)
        if self.server:
            spec.update(server=self.server, pid_file=str(self.pid_file))
        return spec

    @property
    def pid_file(self) -> Path:
        """Where the launcher writes the pid of a kernel forked by the kernel server."""
        return self.root / "kernel.pid"

    def crowded(self, kernel: int | None, limit: int) -> bool:
        """Whether the kernel's code has more than ``limit`` processes running."""
        return len([pid for pid in self._started(kernel) if pid != kernel]) > limit

    def kill_everything(self, kernel: int | None) -> None:
        """Kill the kernel and every process it started, at once (a fork bomb cannot outrun it).

        With a sandbox user: ``kill(-1)`` as that user, one system call for all its processes.
        Otherwise the kernel's process group and its descendants.
        """
        if self.uid is not None:
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child
                try:
                    os.setgroups([])
                    os.setgid(self.uid)
                    os.setuid(self.uid)
                    os.kill(-1, signal.SIGKILL)
                finally:
                    os._exit(0)
            os.waitpid(pid, 0)
            return
        if kernel is not None:
            victims = _descendants(kernel)
            with contextlib.suppress(OSError):
                os.killpg(os.getpgid(kernel), signal.SIGKILL)
            for pid in [kernel, *victims]:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)

    def wait_until_empty(self, seconds: float = 5.0) -> bool:
        """Wait until nothing runs under the sandbox user (after killing everything); True if so."""
        if self.uid is None:
            return True
        deadline = time.monotonic() + seconds
        while _processes_of(self.uid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def reap(self, keep: int | None) -> int:
        """Kill every process the student's code started, except the kernel ``keep``; return how many."""
        victims = [pid for pid in self._started(keep) if pid != keep]
        killed = 0
        for pid in victims:
            if pid != keep:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                except OSError:
                    pass
        return killed

    def _started(self, kernel: int | None) -> list[int]:
        return _processes_of(self.uid) if self.uid is not None else _descendants(kernel)

    def close(self) -> None:
        """Kill everything left running under the sandbox user, then unmount the work folder's quota, delete the
        work folder and the memory cgroup."""
        try:
            if self.uid is not None:
                self.reap(None)
                self.wait_until_empty()
        finally:
            if self.quota:
                _unmount(self.home)
            shutil.rmtree(self.root, ignore_errors=True)
            if self.cgroup is not None:
                _remove_cgroup(Path(self.cgroup))


def _git_folders(root: Path) -> list[Path]:
    """The repository's git folders (every solution and hidden test is in its history).

    In a worktree ``.git`` is a file naming the worktree's git folder, which names the shared one.
    """
    dot_git = root / ".git"
    if dot_git.is_dir():
        return [dot_git]
    try:
        text = dot_git.read_text(encoding="utf-8").strip()
    except OSError:
        return []
    if not text.startswith("gitdir:"):
        return []
    own = (root / text.split(":", 1)[1].strip()).resolve()
    folders = [own]
    with contextlib.suppress(OSError):
        folders.append((own / (own / "commondir").read_text(encoding="utf-8").strip()).resolve())
    return [folder for folder in folders if folder.is_dir()]


def hidden_folders(course: Course | None, *others: Path) -> list[str]:
    """What student code must not see: the course's solutions and git history (every solution and hidden test is in
    it), and ``others`` (the grading workspace, the submissions); absolute, each once."""
    folders = [course.solutions, *_git_folders(course.root)] if course is not None else []
    return list(dict.fromkeys(str(folder.resolve()) for folder in [*folders, *others]))


def warm_kernel_server(capabilities: Capabilities) -> contextlib.AbstractContextManager[KernelServer | None]:
    """A :class:`~seqlab.tools.grading.kernel_server.KernelServer` to fork kernels from where each kernel gets a user
    id of its own (as root on Linux: nothing a fork shares can carry one student's state to the next), else None."""
    if not capabilities.separate_user:
        return contextlib.nullcontext()
    return KernelServer(kernel_server_environment())


def kernel_server_environment() -> dict[str, str]:
    """The environment a kernel server imports in: what every kernel's starts with (see :meth:`KernelSandbox.spec`)."""
    from seqlab.tools.grading.sandbox_launch import ENV_KEEP

    environment = {name: os.environ[name] for name in ENV_KEEP if name in os.environ}
    return {**environment, **KERNEL_SETTINGS}


def clean_up_after(worker_pid: int) -> None:
    """After a worker was killed: kill what its kernels left running, delete its work folders."""
    uid = SANDBOX_UID_BASE + worker_pid
    for pid in _processes_of(uid):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    for folder in Path(tempfile.gettempdir()).glob(f"{SANDBOX_PREFIX}{worker_pid}-*"):
        _unmount(folder / "home")  # its disk quota (a tmpfs) first: rmtree cannot remove a mount point
        shutil.rmtree(folder, ignore_errors=True)
    cgroups, _ = memory_cgroup_base()
    if cgroups:
        for cgroup in Path(cgroups).glob(f"{SANDBOX_PREFIX}{worker_pid}-*"):
            _remove_cgroup(cgroup)


def _unmount(folder: Path) -> None:
    """Take a work folder's disk quota off (every tmpfs stacked there), if one is mounted."""
    for _ in range(8):
        if not is_mount_point(str(folder)) or not unmount_quota(str(folder)):
            return


def _remove_cgroup(cgroup: Path) -> None:
    """Remove an emptied memory cgroup (a cgroup folder goes with ``rmdir``; it fails while a process is in it)."""
    for _ in range(50):
        try:
            cgroup.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)  # its last process is still exiting


def clean_up_stale() -> int:
    """Clean up after workers that died without doing it (a killed run): their pid is gone.

    Work folders are named ``seqlab-kernel-<worker pid>-...``; a folder whose worker no longer
    exists is removed with anything still running under that worker's sandbox user.  Folders of
    live workers (another run on this machine) are left alone.  Returns how many were removed.
    """
    removed = 0
    for folder in Path(tempfile.gettempdir()).glob(f"{SANDBOX_PREFIX}*-*"):
        pid = folder.name[len(SANDBOX_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or pid_alive(int(pid)):
            continue
        clean_up_after(int(pid))
        removed += 1
    return removed


def pid_alive(pid: int) -> bool:
    """True while a process ``pid`` exists (also one of another user, which may not be signalled)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _proc_entries() -> list[tuple[int, int, int]]:
    """(pid, parent pid, real uid) of every live process, from /proc (empty where there is none).

    Zombies (dead, waiting to be reaped by their parent) are left out: they run nothing.
    """
    entries = []
    proc = Path("/proc")
    if not proc.is_dir():
        return entries
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("State", "").strip().startswith(("Z", "X")):
            continue
        try:
            entries.append((int(entry.name), int(fields["PPid"]), int(fields["Uid"].split()[0])))
        except (KeyError, ValueError):
            continue
    return entries


def _processes_of(uid: int) -> list[int]:
    """Live processes owned by ``uid``: the owner of /proc/<pid> is the process's user, one stat each."""
    found = []
    try:
        entries = list(os.scandir("/proc"))
    except OSError:
        return found
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat(follow_symlinks=False).st_uid != uid:
                continue
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in (b"Z", b"X"):
            found.append(int(entry.name))
    return found


def _processes_of_this_user() -> int:
    uid = os.getuid()
    count = 0
    for pid, _, owner in _proc_entries():
        if owner == uid:
            try:
                count += len(os.listdir(f"/proc/{pid}/task"))
            except OSError:
                count += 1
    return count


def _descendants(root: int | None) -> list[int]:
    if root is None:
        return []
    children: dict[int, list[int]] = {}
    for pid, parent, _ in _proc_entries():
        children.setdefault(parent, []).append(pid)
    found, stack = [], list(children.get(root, []))
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


class PromptKernelClient(AsyncKernelClient):
    """jupyter_client's kernel client, ready as soon as a new kernel has answered and IOPub is connected.

    jupyter_client's ``wait_for_ready`` then waits until IOPub has been silent for 0.2 s (a fifth of a second of
    every kernel's start); nbclient reads only the messages answering its own requests, so what is left of the
    ``kernel_info`` exchange on IOPub is skipped anyway.
    """

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                pass
            else:
                if reply["msg_type"] == "kernel_info_reply":
                    try:
                        await self.iopub_channel.get_msg(timeout=0.2)  # IOPub is connected when it brings anything
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(reply)
                        return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    wait_for_ready = _async_wait_for_ready  # AsyncKernelClient binds the name to its parent's method


class SandboxedKernelManager(AsyncKernelManager):
    """Always the course's Python kernel; with a ``sandbox``, over Unix sockets and started inside it; its clients
    are :class:`PromptKernelClient`."""

    def __init__(self, sandbox: KernelSandbox | None = None, **kwargs) -> None:
        kwargs["kernel_name"] = "python3"  # never a kernel the submitted notebook asks for
        super().__init__(**kwargs)
        self.client_factory = PromptKernelClient
        self.sandbox = sandbox
        if sandbox is not None and sys.platform != "win32":  # Unix sockets: no network needed, no port races
            self.transport = "ipc"
            self.ip = str(sandbox.home / "kernel")
            self.connection_file = str(sandbox.root / "connection.json")

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file, *(extra_arguments or [])]
        if self.sandbox is None or sys.platform == "win32":  # Windows: no launcher (os.execv is not exec there)
            return command
        self.sandbox.pid_file.unlink(missing_ok=True)  # the last kernel's
        spec = json.dumps(self.sandbox.spec(self.connection_file))
        return [sys.executable, "-I", "-S", str(LAUNCHER), spec, "--", *command]

    @property
    def kernel_pid(self) -> int | None:
        """The kernel's process: the one started, or the one the kernel server forked for it."""
        process = getattr(self.provisioner, "process", None)
        if process is None or self.sandbox is None or not self.sandbox.server:
            return None if process is None else process.pid
        try:
            return int(self.sandbox.pid_file.read_text())
        except (OSError, ValueError):
            return None

    def exit_status(self) -> int | None:
        """The dead kernel's exit status (negative: killed by that signal), if known."""
        process = getattr(self.provisioner, "process", None)
        if process is None:
            return None
        try:
            return process.wait(timeout=5)
        except Exception:
            return None
