"""Kernels forked from a warm parent: ``python -m seqlab.tools.grading.kernel_server SOCKET``.

A new kernel costs seconds before a student's first line runs: a new Python, then ipykernel and torch imported.
``seqlab grade`` (as root on Linux, where each kernel gets its own user id) starts this server once per run,
with the kernels' environment; it imports those once and then forks one child per kernel.  The child enters
the sandbox exactly as the launcher does for a new process (:func:`~seqlab.tools.grading.sandbox_launch.enter`:
memory cgroup, namespaces, limits, its own user id, the kernel's environment and folder), reseeds the random
number generators, and runs ipykernel.  The server never runs student code, so every kernel starts from the
same clean state, and nothing of one submission's kernel is visible to the next.

The kernel manager's process is the launcher (``sandbox_launch.py`` with ``spec["server"]``, see
:func:`~seqlab.tools.grading.sandbox_launch.through_server`): one connection per kernel, over which it sends
its standard streams and the request, and hears the kernel's pid and then its wait status.  When that
connection closes first (the launcher was killed), the kernel is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

from seqlab.tools.grading.pool import die_with_parent

__all__ = ["KernelServer", "MAX_REQUEST", "serve"]

#: Bytes a request may have (the sandbox's settings and the kernel's command line).
MAX_REQUEST = 1 << 20


def _read_request(connection: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _, _ = socket.recv_fds(connection, MAX_REQUEST, 3)
    while not data.endswith(b"\n") and len(data) < MAX_REQUEST:
        more = connection.recv(MAX_REQUEST)
        if not more:
            break
        data += more
    return json.loads(data), fds


def _run_kernel(request: dict, fds: list[int], keep_out: list[int]) -> None:  # pragma: no cover - the child
    """In the forked child: enter the sandbox, then be ipykernel (never returns)."""
    code = 1
    try:
        for fd in keep_out:
            with contextlib.suppress(OSError):
                os.close(fd)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        from seqlab.tools.grading import sandbox_launch

        try:
            sandbox_launch.enter(request["spec"])
        except (sandbox_launch.CannotEnforce, OSError) as error:
            print(f"seqlab sandbox: cannot enforce the requested limits: {error}", file=sys.stderr)
            os._exit(sandbox_launch.EXIT_CANNOT_ENFORCE)
        os.environ.clear()
        os.environ.update(request["environment"])
        command = request["command"]  # [python, "-m", "ipykernel_launcher", "-f", CONNECTION_FILE]
        # ipykernel read JPY_PARENT_PID when the server imported it: name the grading worker, as a new kernel would
        parent = f"--IPKernelApp.parent_handle={int(os.environ.get('JPY_PARENT_PID') or 0)}"
        sys.argv = [command[2], *command[3:], parent]
        sys.path[0] = os.getcwd()  # as for ``python -m``: the work folder
        tempfile.tempdir = None
        _reseed()
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 71
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _reseed() -> None:  # pragma: no cover - the child
    """Fresh random states, as a new process would have (the parent's were copied by the fork)."""
    import random

    import numpy
    import torch

    random.seed()
    numpy.random.seed()
    torch.seed()


def serve(path: str) -> None:
    """Accept kernel requests on the Unix socket ``path`` until killed (see the module docstring)."""
    # What every kernel imports before a student's first line: ipykernel, and for the grader's guard torch (with
    # what its deterministic switch loads) and matplotlib with its inline backend, which ipykernel names in
    # MPLBACKEND before anything imports matplotlib (each kernel's environment is set anew after the fork, and
    # ipykernel names it again).
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ["MPLCONFIGDIR"] = str(Path(path).with_name("matplotlib"))  # its font cache, read by the kernels
    os.mkdir(os.environ["MPLCONFIGDIR"], 0o755)
    import ipykernel.kernelapp  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import matplotlib_inline.backend_inline  # noqa: F401
    import numpy  # noqa: F401
    import torch  # noqa: F401
    import torch._inductor  # noqa: F401  (what the guard's torch.use_deterministic_algorithms loads: 2 s)

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(64)
    kernels: dict[int, socket.socket] = {}  # kernel pid -> its launcher's connection
    print("ready", flush=True)
    while True:
        ready, _, _ = select.select([listener, *kernels.values()], [], [], 0.2)
        for connection in ready:
            if connection is listener:
                client, _ = listener.accept()
                try:
                    request, fds = _read_request(client)
                except (OSError, ValueError) as error:
                    with contextlib.suppress(OSError):
                        client.sendall(json.dumps({"error": f"bad request: {error}"}).encode() + b"\n")
                    client.close()
                    continue
                others = [listener.fileno(), client.fileno(), *(c.fileno() for c in kernels.values())]
                pid = os.fork()
                if pid == 0:  # pragma: no cover - the child
                    _run_kernel(request, fds, others)
                for fd in fds:
                    os.close(fd)
                kernels[pid] = client
                with contextlib.suppress(OSError):
                    client.sendall(json.dumps({"pid": pid}).encode() + b"\n")
            else:  # a launcher's connection: readable only when it closed (it sends nothing more)
                for pid, client in list(kernels.items()):
                    if client is connection:
                        with contextlib.suppress(OSError):
                            os.kill(pid, signal.SIGKILL)
        while True:  # reap, and tell each launcher how its kernel ended
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if not pid:
                break
            client = kernels.pop(pid, None)
            if client is not None:
                with contextlib.suppress(OSError):
                    client.sendall(json.dumps({"status": status}).encode() + b"\n")
                client.close()


class KernelServer:
    """A kernel server started with ``environment``, importing while the caller prepares the rest; a context
    manager that stops it (and any kernel still running) on exit.  :meth:`wait` gives its socket's path."""

    def __init__(self, environment: dict[str, str]) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="seqlab-warm-kernels-"))  # not a work folder: no SANDBOX_PREFIX
        os.chmod(self.folder, 0o711)  # the socket stays the grader's (0600); the font cache can be read
        self.path = str(self.folder / "socket")
        self.ready = False
        self.process = subprocess.Popen(
            [sys.executable, "-m", "seqlab.tools.grading.kernel_server", self.path],
            env=environment,
            stdout=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def wait(self) -> str:
        """Wait until it has done its imports and listens (at once if it has said so before); its socket's path."""
        if not self.ready:
            if self.process.stdout.readline().strip() != b"ready":
                raise RuntimeError(f"the kernel server did not start (exit status {self.process.poll()})")
            self.ready = True
        return self.path

    def __enter__(self) -> KernelServer:
        return self

    def __exit__(self, *_: object) -> None:
        with contextlib.suppress(OSError):
            os.killpg(self.process.pid, signal.SIGKILL)  # the kernels are in its process group
        self.process.wait()
        self.process.stdout.close()
        shutil.rmtree(self.folder, ignore_errors=True)


if __name__ == "__main__":
    serve(sys.argv[1])
