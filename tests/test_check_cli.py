"""`seqlab check`: the student's pre-submission run. Exit 0 only when every visible test passes."""

from __future__ import annotations

import nbformat
import pytest

from tests.support import seqlab, student_notebook, submission

pytestmark = pytest.mark.slow
LESSON = "01_rnn"
RELU_CELL = "def rnn_cell(x, h, W_xh, W_hh, b_h):\n    return torch.relu(x @ W_xh + h @ W_hh + b_h)\n"


def _check(tmp_path, nb):
    path = tmp_path / f"{LESSON}.ipynb"
    nbformat.write(nb, path)
    return seqlab("check", str(path))


def test_check_passes_a_correct_notebook(tmp_path):
    done = _check(tmp_path, submission(LESSON))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "20 / 20 points" in done.stdout and "FAIL" not in done.stdout


def test_check_fails_the_blank_notebook_and_says_why(tmp_path):
    done = _check(tmp_path, student_notebook(LESSON))
    assert done.returncode == 1
    assert "0 / 20 points" in done.stdout
    assert done.stdout.count("not implemented yet: replace `raise NotImplementedError()` with your code") == 12


def test_check_explains_a_wrong_nonlinearity(tmp_path):
    done = _check(tmp_path, submission(LESSON, {"01-rnn-cell": RELU_CELL}))
    assert done.returncode == 1
    row = next(line for line in done.stdout.splitlines() if line.startswith("01-rnn-cell-tests"))
    assert "FAIL" in row and "tanh" in row, row


def test_check_reports_a_missing_file(tmp_path):
    done = seqlab("check", str(tmp_path / "nope.ipynb"))
    assert done.returncode == 2 and "no such notebook" in done.stderr
