"""Start a command inside the grading sandbox: ``python sandbox_launch.py SPEC_JSON -- COMMAND ...``.

The autograder starts every student kernel through this file (run by path, standard library only,
so it starts in milliseconds and imports nothing of the course).  In this order it

0. as root on Linux, with SPEC's ``cgroup``, moves into that memory cgroup (made here with a limit of
   ``cgroup_memory`` bytes): it counts memory of every kind, the pages of ``/dev/shm``, ``/tmp`` and
   ``memfd`` files too, which the address-space limit of step 2 does not see; the kernel's processes
   stay in it, and a kernel that goes over is killed by the system's out-of-memory killer;
1. on Linux, moves into new network and mount namespaces (as root directly, otherwise through a
   user namespace when the system allows it), leaving the kernel without any network interface
   but a loopback that is down, and mounts an empty read-only tmpfs over every ``hide`` path
   (the course's solutions, the grading workspace, the submissions folder), and private,
   size-capped tmpfs over ``/dev/shm`` (``shm_size``) and ``/tmp`` (``tmp_size``; the ``keep``
   folders under it, the kernel's work folder, are bound back at their paths, with the tmpfs of its disk
   quota that the grader mounted there, :func:`mount_quota`; ``/var/tmp`` and ``/run/lock`` show the same
   ``/tmp``), and, with
   ``hide_processes``, a ``/proc`` showing each user its own processes only;
2. caps resources with ``setrlimit``: address space (``memory``), CPU seconds (``cpu``), processes
   and threads of the kernel's user (``processes``), size of any file written (``file_size``), no
   core dumps;
3. when running as root, hands the connection file and the work folder to the sandbox user id
   and drops to it (no supplementary groups), so the kernel can write only there (and in
   world-writable folders such as /tmp);
4. asks the kernel to be killed when its parent (the grading worker) dies, moves into the work
   folder, keeps only the environment variables a kernel needs (``ENV_KEEP``: nothing of the
   instructor's tokens or keys can end up in a student's feedback) plus SPEC's ``env`` (HOME and
   TMPDIR in the work folder), and replaces itself with COMMAND.

With SPEC's ``server``, steps 0 to 4 happen instead in a child that the kernel server forks from a parent
with the kernel's imports already done (:mod:`seqlab.tools.grading.kernel_server`, :func:`enter` is
shared), and this process stands in for that kernel (:func:`through_server`).

Anything it cannot enforce that SPEC asks for is an error (exit status 71), never a silent
downgrade: the grading run probes first (:func:`seqlab.tools.grading.limits.probe`) and only asks for what
works on this machine.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys

__all__ = [
    "FORWARDED",
    "enter",
    "environment_for",
    "through_server",
    "CLONE_NEWNS",
    "CLONE_NEWUSER",
    "CLONE_NEWNET",
    "MS_RDONLY",
    "MS_NOSUID",
    "MS_NODEV",
    "MS_NOEXEC",
    "MS_BIND",
    "MS_MOVE",
    "MS_REC",
    "MS_PRIVATE",
    "MNT_DETACH",
    "PR_SET_PDEATHSIG",
    "PR_SET_NO_NEW_PRIVS",
    "EXIT_CANNOT_ENFORCE",
    "SCRATCH_FOLDERS",
    "ENV_KEEP",
    "CannotEnforce",
    "expose",
    "mount_quota",
    "unmount_quota",
    "is_mount_point",
    "private_tmp",
    "memory_cgroup",
    "private_proc",
    "isolate",
    "limit",
    "drop_capabilities",
    "drop_privileges",
    "main",
]

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
EXIT_CANNOT_ENFORCE = 71
#: World-writable folders on the machine's disk besides ``/tmp``: with a private ``/tmp`` they show that tmpfs too,
#: so a kernel running under its own user id has no folder left where it can write without a cap.
SCRATCH_FOLDERS = ("/var/tmp", "/run/lock")
#: Environment variables the kernel keeps when SPEC says ``"clean_env": true``.
ENV_KEEP = (
    "PATH",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "JPY_PARENT_PID",
    "NBGRADER_EXECUTION",
    "SEQLAB_PROGRESS",
    "SEQLAB_THREADS",
    "PYTHONHASHSEED",
    "PYDEVD_DISABLE_FILE_VALIDATION",
)


class CannotEnforce(Exception):
    """A limit or isolation that SPEC asks for is not available here."""


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise CannotEnforce(f"{what}: {os.strerror(errno)}")


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as handle:
        handle.write(text)


def _mount(source: str, target: str, fstype: str | None, flags: int, options: str | None, what: str) -> None:
    encode = lambda text: None if text is None else text.encode()  # noqa: E731
    _check(_libc().mount(encode(source), encode(target), encode(fstype), flags, encode(options)), what)


def expose(paths: list[str], staging: str) -> None:
    """Make each of ``paths`` reachable by any user, in this mount namespace only.

    An ancestor that others cannot list (say ``/root``, mode 0700 or 0711, holding the Python
    interpreter) is covered by a tmpfs that holds nothing but the way down to the path, bound
    back from the real one.  Everything else in that ancestor becomes invisible.  A mode that only
    lets others pass through (0711) is covered too: it may be taken back while the kernel runs (the
    hub test opens ``/root`` to its accounts for a few minutes), and the cover does not depend on it.
    """
    import stat

    for path in paths:
        parts = os.path.realpath(path).split(os.sep)[1:]
        for depth in range(1, len(parts)):
            ancestor = os.sep + os.path.join(*parts[:depth])
            mode = os.stat(ancestor).st_mode
            if mode & stat.S_IXOTH and mode & stat.S_IROTH:
                continue
            child = os.path.join(ancestor, parts[depth])
            os.makedirs(staging, exist_ok=True)
            _mount(child, staging, None, MS_BIND | MS_REC, None, f"bind {child}")
            _mount("tmpfs", ancestor, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755", f"cover {ancestor}")
            os.mkdir(child)
            _mount(staging, child, None, MS_MOVE, None, f"move {child}")


def mount_quota(path: str, size: int, mode: int = 0o700) -> None:
    """A tmpfs of ``size`` bytes over the folder ``path``, in the caller's mount namespace (root only).

    The grader puts it over a kernel's work folder before the kernel starts: the kernel's own mount namespace,
    made later, holds the same tmpfs, so the kernel's Unix sockets in it are reachable from both sides and
    whatever the kernel writes there stops at ``size`` bytes (ENOSPC).  :func:`unmount_quota` takes it off.
    """
    options = f"size={int(size)},mode={mode:o}"
    _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, options, f"disk quota on {path}")


def unmount_quota(path: str) -> bool:
    """Take the tmpfs of :func:`mount_quota` (or any mount) off ``path``, at once (``MNT_DETACH``: a process still
    inside does not keep it mounted here; its pages go with the last one).  False if nothing was mounted there."""
    return _libc().umount2(os.fsencode(path), MNT_DETACH) == 0


def is_mount_point(path: str) -> bool:
    """Whether a file system is mounted on ``path`` (in this mount namespace)."""
    target = os.path.realpath(path)
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as handle:
            return any(_unescape(line.split()[4]) == target for line in handle)
    except OSError:
        return os.path.ismount(path)


def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def private_tmp(size: int, keep: list[str]) -> None:
    """A tmpfs of ``size`` bytes over ``/tmp``, this mount namespace's own, with each ``keep`` folder under
    ``/tmp`` (the kernel's work folder) bound back at its path; the :data:`SCRATCH_FOLDERS` show it too.

    Other kernels' folders and files are out of sight, what the student leaves there is gone with the kernel,
    and what it writes there is capped.  Each kept folder is opened before ``/tmp`` is covered and bound from
    that handle (``/proc/self/fd/N``), the only way to reach it once covered.
    """
    tmp = os.path.realpath("/tmp")
    kept = [os.path.realpath(path) for path in keep if os.path.realpath(path).startswith(tmp + os.sep)]
    handles = [os.open(path, os.O_PATH | os.O_DIRECTORY) for path in kept]
    options = f"size={int(size)},mode=1777"
    _mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, options, "private /tmp")
    for folder in SCRATCH_FOLDERS:  # the same capped tmpfs, not the disk
        if os.path.isdir(folder) and not os.path.realpath(folder).startswith(tmp + os.sep):
            _mount(tmp, folder, None, MS_BIND, None, f"private {folder}")
    for path, handle in zip(kept, handles, strict=True):
        os.makedirs(path, mode=0o755, exist_ok=True)
        _mount(f"/proc/self/fd/{handle}", path, None, MS_BIND | MS_REC, None, f"keep {path}")
        os.close(handle)


def memory_cgroup(path: str, limit: int) -> None:
    """Move this process into the memory cgroup ``path`` (made if missing) with a limit of ``limit`` bytes.

    cgroup v1's memory controller (``memory.limit_in_bytes``, and ``memory.memsw.limit_in_bytes`` where swap is
    accounted, so that swap does not extend it) or cgroup v2 (``memory.max``, ``memory.swap.max`` 0).  The caller
    removes the folder once every process in it has ended.
    """
    os.makedirs(path, exist_ok=True)
    if os.path.exists(os.path.join(path, "memory.max")):  # cgroup v2
        _write(os.path.join(path, "memory.max"), str(limit))
        if os.path.exists(os.path.join(path, "memory.swap.max")):
            _write(os.path.join(path, "memory.swap.max"), "0")
    else:
        _write(os.path.join(path, "memory.limit_in_bytes"), str(limit))
        if os.path.exists(os.path.join(path, "memory.memsw.limit_in_bytes")):
            _write(os.path.join(path, "memory.memsw.limit_in_bytes"), str(limit))
    _write(os.path.join(path, "cgroup.procs"), str(os.getpid()))


def private_proc() -> None:
    """A ``/proc`` of this mount namespace that shows a process only to its own user (``hidepid=invisible``).

    Without a PID namespace every process is in ``/proc``: other kernels, and the grading workers whose command
    lines name their student and the instructor's folders.  Each kernel runs under a user id of its own, so it
    then sees its own processes only.  Needs root and Linux 5.8 (per-mount options; older kernels would apply
    ``hidepid`` to the machine's ``/proc`` too, so this never falls back to them).
    """
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible", "private /proc")


def isolate(
    network: bool,
    hide: list[str],
    reachable: list[str],
    staging: str,
    shm_size: int | None = None,
    tmp_size: int | None = None,
    keep: list[str] | None = None,
    hide_processes: bool = False,
) -> None:
    """New network namespace (if ``network`` is False); tmpfs over each path in ``hide``; ``reachable``
    paths exposed to other users (see :func:`expose`); a private ``/dev/shm`` of ``shm_size`` bytes and
    a private ``/tmp`` of ``tmp_size`` bytes keeping the ``keep`` folders (see :func:`private_tmp`); with
    ``hide_processes``, a ``/proc`` that hides other users' processes (see :func:`private_proc`)."""
    if network and not hide and not reachable:
        return
    if not sys.platform.startswith("linux"):
        raise CannotEnforce("namespaces need Linux")
    libc = _libc()
    flags = (0 if network else CLONE_NEWNET) | (CLONE_NEWNS if hide or reachable else 0)
    if os.geteuid() != 0:
        uid, gid = os.geteuid(), os.getegid()
        _check(libc.unshare(CLONE_NEWUSER | flags), "unshare(user namespace)")
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
    else:
        _check(libc.unshare(flags), "unshare")
    if hide or reachable:
        _mount("none", "/", None, MS_REC | MS_PRIVATE, None, "mount --make-rprivate /")
        for path in hide:
            if os.path.isdir(path):
                flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC
                _mount("tmpfs", path, "tmpfs", flags, "size=4k,mode=0555", f"hide {path}")
        if shm_size and os.path.isdir("/dev/shm"):
            # this kernel's own /dev/shm: other kernels' files unseen, its size capped, gone with the kernel
            options = f"size={int(shm_size)},mode=1777"
            _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options, "private /dev/shm")
        if tmp_size:
            private_tmp(tmp_size, [*(keep or []), *reachable])
        if hide_processes:
            private_proc()
        expose(reachable, staging)


def limit(spec: dict) -> None:
    """Apply the resource limits of ``spec`` (values of None are left alone)."""
    if not any(spec.get(key) is not None for key in ("memory", "cpu", "file_size", "processes")):
        return
    import resource

    def cap(which: int, value: int | None) -> None:
        if value is None:
            return
        _, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))

    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_AS, spec.get("memory"))
    if spec.get("cpu") is not None:  # SIGXCPU at the limit (a recognisable death), SIGKILL 5 s later
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        seconds = spec["cpu"]
        if hard == resource.RLIM_INFINITY or hard >= seconds + 5:
            resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 5))
    cap(resource.RLIMIT_FSIZE, spec.get("file_size"))
    if hasattr(resource, "RLIMIT_NPROC"):
        cap(resource.RLIMIT_NPROC, spec.get("processes"))


def drop_capabilities() -> None:
    """Give up every capability (those a user namespace grants included) and the right to regain any."""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    libc = _libc()
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(no_new_privs)")
    _check(libc.capset(ctypes.byref(Header(_LINUX_CAPABILITY_VERSION_3, 0)), (Data * 2)()), "capset")


def drop_privileges(uid: int | None, owned: list[str]) -> None:
    """As root: give ``owned`` paths to ``uid`` and become that user, with no groups.

    Without ``uid`` (not root), only the capabilities a user namespace gave are dropped.
    """
    if uid is None:
        if sys.platform.startswith("linux") and os.geteuid() != 0:
            drop_capabilities()
        return
    if os.geteuid() != 0:
        raise CannotEnforce("switching to the sandbox user needs root")
    for path in owned:
        os.chown(path, uid, uid)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise CannotEnforce("could not drop privileges")


def environment_for(spec: dict, current: dict[str, str]) -> dict[str, str]:
    """The kernel's environment: ``current``'s variables a kernel needs (all of them without ``clean_env``) and
    ``spec``'s ``env``."""
    if spec.get("clean_env"):
        environment = {name: current[name] for name in ENV_KEEP if name in current}
    else:
        environment = dict(current)
    environment.update(spec.get("env", {}))
    return environment


def enter(spec: dict) -> None:
    """Steps 0 to 4 for this process, but for the environment (:func:`environment_for`): the sandbox of ``spec``.

    Raises:
        CannotEnforce, OSError: something ``spec`` asks for cannot be enforced here.
    """
    if spec.get("cgroup"):
        if os.geteuid() != 0:
            raise CannotEnforce("a memory cgroup needs root")
        memory_cgroup(spec["cgroup"], int(spec["cgroup_memory"]))
    isolate(
        spec.get("network", True),
        spec.get("hide", []),
        spec.get("reachable", []),
        spec.get("staging", ""),
        spec.get("shm_size"),
        spec.get("tmp_size"),
        spec.get("keep"),
        spec.get("hide_processes", False),
    )
    limit(spec)
    drop_privileges(spec.get("uid"), spec.get("owned", []))
    if sys.platform.startswith("linux"):
        _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after setuid, which clears it
    workdir = spec.get("workdir")
    if workdir:
        os.chdir(workdir)


#: Signals the kernel manager sends that a forked kernel must receive (interrupt, terminate ...).
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def through_server(spec: dict, command: list[str]) -> int:
    """Have the kernel server (:mod:`seqlab.tools.grading.kernel_server`) fork the kernel, and stand in for it.

    This process is the one the kernel manager started and watches: it hands the server its standard streams
    and the request, writes the kernel's pid to ``spec["pid_file"]`` (the grader reaps around that pid),
    forwards the manager's signals to the kernel, and ends as the kernel ended (same exit status or signal).
    If this process is killed, the server kills the kernel.
    """
    import socket

    if sys.platform.startswith("linux"):
        _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # with the grading worker
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.connect(spec["server"])
    request = {"spec": spec, "command": command, "environment": environment_for(spec, dict(os.environ))}
    socket.send_fds(server, [json.dumps(request).encode("utf-8") + b"\n"], [0, 1, 2])
    replies = server.makefile("rb")
    reply = json.loads(replies.readline() or b'{"error": "the kernel server closed the connection"}')
    if "error" in reply:
        print(f"seqlab sandbox: {reply['error']}", file=sys.stderr)
        return EXIT_CANNOT_ENFORCE
    kernel = int(reply["pid"])
    _write(spec["pid_file"], str(kernel))

    def forward(received: int, _frame: object) -> None:
        with contextlib.suppress(OSError):  # it has just ended: its status is on the way
            os.kill(kernel, received)

    for number in FORWARDED:
        signal.signal(number, forward)
    line = replies.readline()
    if not line:
        return 70  # the server is gone, and the kernel with it
    status = int(json.loads(line)["status"])
    if os.WIFSIGNALED(status):  # die of the same signal, so the grader names the same cause
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        number = os.WTERMSIG(status)
        if number not in (signal.SIGKILL, signal.SIGSTOP):  # which have no handler to reset
            signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    return os.waitstatus_to_exitcode(status)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: sandbox_launch.py SPEC_JSON -- COMMAND ...", file=sys.stderr)
        return 64
    spec = json.loads(argv[0])
    command = argv[2:]
    if spec.get("server"):
        return through_server(spec, command)
    environment = environment_for(spec, dict(os.environ))
    try:
        enter(spec)
    except (CannotEnforce, OSError) as error:
        print(f"seqlab sandbox: cannot enforce the requested limits: {error}", file=sys.stderr)
        return EXIT_CANNOT_ENFORCE
    os.execve(command[0], command, environment)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
