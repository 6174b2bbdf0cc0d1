"""`make lab` starts JupyterLab on notebooks/ with nbgrader's extensions (started, queried, stopped)."""

from __future__ import annotations

import urllib.request

import pytest

from tests.lab_server import running_lab

pytestmark = pytest.mark.slow


def test_make_lab_serves_the_course(tmp_path):
    token = "seqlab-test-token"
    with running_lab(tmp_path / "jupyter-home", token, tmp_path / "jupyter-server.log") as base:
        with urllib.request.urlopen(f"{base}/api/contents/01_rnn?token={token}", timeout=10) as response:
            assert b"01_rnn.ipynb" in response.read(), "JupyterLab should serve notebooks/"
        with urllib.request.urlopen(f"{base}/lab?token={token}", timeout=10) as response:
            page = response.read().decode()
        assert "@jupyter/nbgrader" in page, "nbgrader's JupyterLab extension (validate, assignments) is missing"
        assert "@jupyter-widgets/jupyterlab-manager" in page, "ipywidgets' extension (progress bars) is missing"
