"""`make lab` starts JupyterLab on notebooks/ with nbgrader's extensions (started, queried, stopped)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from tests.support import REPO

pytestmark = pytest.mark.slow


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_make_lab_serves_the_course(tmp_path):
    port, token = _free_port(), "seqlab-test-token"
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} --IdentityProvider.token={token}"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    server = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        status = None
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as response:
                    status = response.status
                break
            except OSError:
                time.sleep(0.5)
        assert status == 200, "JupyterLab did not answer within 60 s"
        with urllib.request.urlopen(f"{base}/api/contents/01_rnn?token={token}", timeout=10) as response:
            assert b"01_rnn.ipynb" in response.read(), "JupyterLab should serve notebooks/"
        with urllib.request.urlopen(f"{base}/lab?token={token}", timeout=10) as response:
            page = response.read().decode()
        assert "@jupyter/nbgrader" in page, "nbgrader's JupyterLab extension (validate, assignments) is missing"
        assert "@jupyter-widgets/jupyterlab-manager" in page, "ipywidgets' extension (progress bars) is missing"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
