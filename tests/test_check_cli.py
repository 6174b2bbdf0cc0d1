"""`seqlab check`: the student's pre-submission run. Exit 0 only when every visible test passes."""

from __future__ import annotations

import nbformat
import pytest

from tests.leaks import lesson_secrets, search
from tests.support import seqlab, solution_notebook, student_notebook, submission

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
    # A student's notebook has no hidden tests, so what check prints cannot show one (tests/leaks.py's rules; the
    # failure summaries, which a student must see, may use a word a hidden test also uses).
    secrets = lesson_secrets(LESSON, solution_notebook(LESSON), student_notebook(LESSON)).without(RELU_CELL)
    failures = [line.split("FAIL", 1)[1].strip() for line in done.stdout.splitlines() if "  FAIL  " in line]
    assert search("seqlab check", done.stdout + done.stderr, secrets, failures) == []


def test_check_reports_a_missing_file(tmp_path):
    done = seqlab("check", str(tmp_path / "nope.ipynb"))
    assert done.returncode == 2 and "no such notebook" in done.stderr


def test_validate_and_check_allow_for_a_busy_machine():
    """Validate (nbgrader_config.py here and on the hub) and `seqlab check` use the same generous limits."""
    from seqlab.tools.course import KERNEL_STARTUP_TIMEOUT, VALIDATE_CELL_TIMEOUT
    from tests.support import REPO

    assert VALIDATE_CELL_TIMEOUT >= 120 and KERNEL_STARTUP_TIMEOUT >= 180
    for config in (REPO / "nbgrader_config.py", REPO / "deploy" / "jupyter" / "nbgrader_config.py"):
        text = config.read_text()
        assert f"c.Execute.timeout = {VALIDATE_CELL_TIMEOUT}" in text, config
        assert f"c.Execute.startup_timeout = {KERNEL_STARTUP_TIMEOUT}" in text, config


NOISY_COUNT = """
import logging
import os
import sys
import warnings


def count_rnn_parameters(input_size, hidden_size, output_size):
    for done in range(0, 101, 25):  # a progress bar, as tqdm draws it on stderr
        print(f"\\r{done:3d}%|{'#' * (done // 10):<10}|", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    warnings.warn("counting parameters", UserWarning, stacklevel=1)  # shown on stderr, as PyTorch's are
    logging.getLogger("student").warning("counted")  # logging's default handler writes to stderr
    os.write(2, b"from C: done\\n")  # a library writing to file descriptor 2 directly
    D, H, O = input_size, hidden_size, output_size
    return D * H + H * H + H + H * O + O
"""


def test_check_and_the_grader_agree_on_stderr_in_a_test_cell(tmp_path):
    """Issue 21, kind 6: nbgrader scores a test cell that wrote to stderr 0, `seqlab check` by its errors only.
    A correct answer whose function writes to stderr when a test cell calls it keeps full marks in both."""
    from tests.support import grade_class, read_grades

    nb = submission(LESSON, {"01-count-rnn-parameters": NOISY_COUNT})
    checked = _check(tmp_path, nb)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "20 / 20 points" in checked.stdout
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    nbformat.write(nb, submissions / "noisy_nia.ipynb")

    graded = grade_class(submissions, LESSON, tmp_path / "workspace")

    assert graded.returncode == 0, graded.stdout + graded.stderr
    row = read_grades(tmp_path / "workspace" / LESSON / "grades.csv")["noisy_nia"]
    assert (row["status"], row["score"]) == ("graded", "20"), row
