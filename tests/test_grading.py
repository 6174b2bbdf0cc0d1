"""`seqlab grade` on a small class: the reference, a blank notebook, a syntax error, an infinite
loop, a deleted test cell and a file that is not a notebook.  Every student gets the expected row in grades.csv,
feedback exists for every graded student, and the submissions are never modified."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from seqlab.tools.submissions import reference_answers
from tests.support import COURSE, grade_columns, read_grades, seqlab, solution_notebook, student_notebook, submission

pytestmark = pytest.mark.slow
LESSON = "01_rnn"

SYNTAX_ERROR = "def rnn_cell(x, h, W_xh, W_hh, b_h)\n    return torch.tanh(x @ W_xh + h @ W_hh + b_h)\n"
INFINITE_LOOP = """
def rnn_forward(X, h0, W_xh, W_hh, b_h):
    h, states, t = h0, [], 0
    while t < X.shape[1]:  # forgot t += 1
        h = rnn_cell(X[:, t], h, W_xh, W_hh, b_h)
    return torch.stack(states, dim=1), h
"""


STUBBORN_LOOP = """
def count_rnn_parameters(input_size, hidden_size, output_size):
    return hidden_size * (input_size + hidden_size + 1) + output_size * (hidden_size + 1)

while True:  # swallows the grader's interrupt
    try:
        while True:
            pass
    except KeyboardInterrupt:
        pass
"""


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_grade_a_small_class(tmp_path):
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    nbformat.write(submission(LESSON), submissions / "ref_student.ipynb")
    shutil.copyfile(COURSE.solution(LESSON), submissions / "solution_itself.ipynb")
    nbformat.write(student_notebook(LESSON), submissions / "blank_student.ipynb")
    nbformat.write(submission(LESSON, {"01-rnn-cell": SYNTAX_ERROR}), submissions / "syntax_student.ipynb")
    nbformat.write(submission(LESSON, {"01-count-rnn-parameters": INFINITE_LOOP}), submissions / "loop_student.ipynb")
    deleted = submission(LESSON)
    deleted.cells = [
        c for c in deleted.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "01-rnn-forward-tests"
    ]
    nbformat.write(deleted, submissions / "deleted_student.ipynb")
    nbformat.write(submission(LESSON, {"01-count-rnn-parameters": STUBBORN_LOOP}), submissions / "stubborn.ipynb")
    (submissions / "garbage_student.ipynb").write_text("{this is not json", encoding="utf-8")
    before = _digests(submissions)
    workspace = tmp_path / "workspace"

    done = seqlab("grade", str(submissions), "--lesson", LESSON, "--workspace", str(workspace), "--timeout", "10")

    assert done.returncode == 1, done.stdout + done.stderr  # the invalid file and the stubborn loop need attention
    assert "need attention: garbage_student, stubborn" in done.stdout
    assert _digests(submissions) == before, "submissions must never be modified"

    rows = read_grades(workspace / LESSON / "grades.csv")
    assert sorted(rows) == [
        "blank_student",
        "deleted_student",
        "garbage_student",
        "loop_student",
        "ref_student",
        "solution_itself",
        "stubborn",
        "syntax_student",
    ]
    columns = grade_columns(LESSON)
    expected = {  # points per test cell, in notebook order
        "ref_student": [2, 3, 2, 3, 2],
        "solution_itself": [2, 3, 2, 3, 2],  # the instructor's notebook, markers and hidden tests included
        "blank_student": [0, 0, 0, 0, 0],
        "syntax_student": [0, 0, 2, 3, 2],  # rnn_cell undefined, so rnn_forward (which calls it) fails too
        "loop_student": [2, 3, 2, 3, 0],  # its two cells that call the function time out
        "garbage_student": [0, 0, 0, 0, 0],
        "deleted_student": [2, 0, 2, 3, 2],  # a deleted test cell scores 0 and is flagged for the instructor
        "stubborn": [0, 0, 0, 0, 0],  # nbgrader gives up on a notebook whose cell cannot be interrupted
    }
    for student, points in expected.items():
        row = rows[student]
        assert [float(row[c]) for c in columns.values()] == points, (student, row)
        assert float(row["score"]) == sum(points)
        assert row["max_score"] == "12"
    assert rows["garbage_student"]["status"] == "invalid"
    assert all(rows[s]["status"] == "graded" for s in expected if s not in ("garbage_student", "stubborn"))
    assert rows["stubborn"]["status"] == "error"
    assert "a cell ran past its time limit and could not be interrupted" in rows["stubborn"]["notes"]
    assert "timed out" in rows["loop_student"]["notes"]
    assert "01-rnn-forward-tests needs manual grading" in rows["deleted_student"]["notes"]
    for student in (
        "ref_student",
        "solution_itself",
        "blank_student",
        "syntax_student",
        "loop_student",
        "deleted_student",
    ):
        feedback = workspace / "feedback" / student / LESSON / f"{LESSON}.html"
        assert feedback.is_file() and feedback.stat().st_size > 10_000, student


def _processes_inside(folder):
    """Processes whose working directory is inside ``folder`` (kernels run in the autograded folder)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and os.readlink(proc / "cwd").startswith(str(folder)):
                found.append(proc.name)
        except OSError:
            continue
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find leftover processes")
def test_a_submission_over_the_overall_limit_is_stopped_with_its_kernel(tmp_path):
    answer = reference_answers(solution_notebook(LESSON))["01-count-rnn-parameters"]
    nb = submission(
        LESSON, {"01-count-rnn-parameters": answer + "\n\nimport time\n\ntime.sleep(600)  # the kernel stays busy\n"}
    )
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    nbformat.write(nb, submissions / "slow_student.ipynb")
    workspace = tmp_path / "workspace"

    done = seqlab(
        "grade",
        str(submissions),
        "--lesson",
        LESSON,
        "--workspace",
        str(workspace),
        "--timeout",
        "600",
        env={"SEQLAB_SUBMISSION_TIMEOUT": "30"},
    )

    assert done.returncode == 1
    row = read_grades(workspace / LESSON / "grades.csv")["slow_student"]
    assert row["status"] == "error" and "took longer than 30 s and was stopped" in row["notes"]
    time.sleep(1)
    assert _processes_inside(workspace) == [], "the stopped worker's kernel must not live on"


def test_grade_a_zip_with_a_stray_file(tmp_path):
    archive = tmp_path / "lms-export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("export/s001.ipynb", nbformat.writes(submission(LESSON)))
        zipped.writestr("export/readme.txt", "not a submission")
    workspace = tmp_path / "workspace"

    done = seqlab("grade", str(archive), "--lesson", LESSON, "--workspace", str(workspace))

    assert done.returncode == 0, done.stdout + done.stderr
    rows = read_grades(workspace / LESSON / "grades.csv")
    assert list(rows) == ["s001"] and rows["s001"]["score"] == "12"


def test_grade_refuses_bad_input(tmp_path):
    missing = seqlab("grade", str(tmp_path / "nothing-here"), "--lesson", LESSON, "--workspace", str(tmp_path))
    assert missing.returncode == 2 and "no such folder" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = seqlab("grade", str(tmp_path / "empty"), "--lesson", LESSON, "--workspace", str(tmp_path))
    assert empty.returncode == 2 and "no .ipynb submissions" in empty.stderr
    unknown = seqlab("grade", str(tmp_path / "empty"), "--lesson", "99_nope", "--workspace", str(tmp_path))
    assert unknown.returncode == 2 and "unknown lesson" in unknown.stderr
