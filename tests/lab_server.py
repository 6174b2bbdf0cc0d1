"""`make lab` started as a student starts it, for the tests that talk to JupyterLab (test_lab, test_browser)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.support import REPO


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_server(runtime: Path, server: subprocess.Popen, token: str, log_path: Path, timeout: float) -> str:
    """The base URL of the server once it answers with our token.

    The port it listens on is read from the server's own info file: if the free port picked for it was taken
    meanwhile (a kernel started by another test binds random ports too), Jupyter moves to the next one.
    """
    deadline = time.monotonic() + timeout
    while True:
        assert server.poll() is None, f"`make lab` exited; see {log_path}"
        assert time.monotonic() < deadline, f"JupyterLab did not answer within {timeout:.0f} s; see {log_path}"
        for info_file in runtime.glob("jpserver-*.json"):
            try:
                info = json.loads(info_file.read_text())
                base = f"http://127.0.0.1:{info['port']}"
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as response:
                    if response.status == 200:
                        return base
            except (OSError, ValueError, KeyError, http.client.HTTPException):
                pass  # not written completely yet, or not answering yet
        time.sleep(0.5)


@contextlib.contextmanager
def running_lab(
    home: Path, token: str, log_path: Path, notebooks: Path | None = None, timeout: float = 120
) -> Iterator[str]:
    """Run `make lab` from the repository root and yield its base URL; stop it (and its kernels) after.

    Args:
        home: an empty folder for the server's Jupyter config, data, runtime, settings and workspaces, so that
            nothing of the developer's own Jupyter set-up (or an earlier run) leaks in. Settings written under
            ``home / "settings"`` beforehand are used.
        token: the server's token.
        log_path: where the server's output goes.
        notebooks: the folder it opens (``make lab NOTEBOOKS=…``); default the course's ``notebooks/``.
    """
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    env.pop("MPLBACKEND", None)
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={_free_port()} --IdentityProvider.token={token}"
    command = ["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"]
    if notebooks is not None:
        command.append(f"NOTEBOOKS={notebooks}")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        server = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield _wait_for_server(home / "runtime", server, token, log_path, timeout)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
