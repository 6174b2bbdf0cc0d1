"""`make test` runs with ``--dist loadgroup``: the tests of one ``xdist_group`` must share a worker, so that what
they share (the graded hostile catalogue, JupyterLab, PostgreSQL) is made once (the repository's conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support import REPO

GROUPED = """
import os, time, pytest

@pytest.fixture(scope="session")
def made_once():
    with open("made.log", "a") as log:
        log.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
    time.sleep(1)

@pytest.mark.xdist_group("shared")
def test_one(made_once):
    pass

@pytest.mark.xdist_group("shared")
def test_two(made_once):
    pass

def test_other():
    time.sleep(1)
"""


def test_the_tests_of_one_group_share_a_worker_and_its_fixtures(tmp_path):
    (tmp_path / "test_grouped.py").write_text(GROUPED, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "conftest", "-p", "no:cacheprovider", "-n", "2"]
        + ["--dist", "loadgroup", "test_grouped.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len((tmp_path / "made.log").read_text().split()) == 1, "the group's tests ran on two workers"
