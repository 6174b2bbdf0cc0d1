"""`seqlab grade` on a small class: the reference, a blank notebook, a syntax error, an infinite
loop, a deleted test cell, a cell that swallows the interrupt and a file that is not a notebook.  Every student
gets the expected row in grades.csv, feedback exists for every graded student, the submissions are never modified,
two workers give the same grades as one, and a run killed midway finishes with the same grades when started
again.  (Hostile submissions: tests/test_hostile.py.)"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from seqlab.tools.course import COURSE_ID
from seqlab.tools.submissions import reference_answers
from tests.support import (
    COURSE,
    REPO,
    digests,
    grade_class,
    grade_columns,
    read_grades,
    seqlab,
    solution_notebook,
    student_notebook,
    submission,
)

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
    before = digests(submissions)
    workspace = tmp_path / "workspace"

    done = grade_class(
        submissions,
        LESSON,
        workspace,
        "--timeout",
        "10",
        "--workers",
        "2",
    )

    assert done.returncode == 1, done.stdout + done.stderr  # the invalid file, the stubborn loop, the deleted cell
    assert "3 submission(s) need attention: deleted_student, garbage_student, stubborn" in done.stdout
    assert digests(submissions) == before, "submissions must never be modified"

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
    # points per test cell, in notebook order: each exercise's values, then its edge cases and shortcuts
    # (rnn_cell 3+1+1, rnn_forward 3+1+1, rnn_readout 2+1, jordan_cell 3+1+1, count_rnn_parameters 2)
    full = [3, 1, 1, 3, 1, 1, 2, 1, 3, 1, 1, 2]
    expected = {
        "ref_student": full,
        "solution_itself": full,  # the instructor's notebook, markers and hidden tests included
        "blank_student": [0] * 12,
        "syntax_student": [0] * 6 + full[6:],  # rnn_cell undefined, so rnn_forward (which calls it) fails too
        "loop_student": full[:-1] + [0],  # count_rnn_parameters is never defined; the demo calling rnn_forward loops
        "garbage_student": [0] * 12,
        "deleted_student": full[:3] + [0] + full[4:],  # a deleted test cell scores 0 and is flagged for the instructor
        "stubborn": full[:-1] + [0],  # the uninterruptible cell is lost, the cells before it are graded
    }
    for student, points in expected.items():
        row = rows[student]
        assert [float(row[c]) for c in columns.values()] == points, (student, row)
        assert float(row["score"]) == sum(points)
        assert row["max_score"] == "20"
    assert rows["garbage_student"]["status"] == "invalid"
    flagged = ("garbage_student", "stubborn", "deleted_student")
    assert all(rows[s]["status"] == "graded" for s in expected if s not in flagged)
    assert rows["stubborn"]["status"] == "flagged"
    assert (
        "01_rnn.ipynb kernel died in cell 35 [01-count-rnn-parameters]: the cell ran past its 10 s limit and ignored"
        " the interrupt" in rows["stubborn"]["notes"]
    )
    # its rnn_forward (defined in the last exercise's cell) loops in the deep-RNN demo that calls it
    assert "01_rnn.ipynb cell 40 ('torch.manual_seed(1)') timed out after 10 s" in rows["loop_student"]["notes"]
    assert rows["deleted_student"]["status"] == "flagged"
    assert "[01-rnn-forward-tests] needs manual grading" in rows["deleted_student"]["notes"]
    for student in (
        "ref_student",
        "solution_itself",
        "blank_student",
        "syntax_student",
        "loop_student",
        "deleted_student",
        "stubborn",
    ):
        feedback = workspace / "feedback" / student / LESSON / f"{LESSON}.html"
        assert feedback.is_file() and feedback.stat().st_size > 10_000, student


def _processes_mentioning(text):
    """Processes whose command line contains ``text`` (a kernel's names its sandbox folder, named by student)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and text in (proc / "cmdline").read_bytes().decode(errors="replace"):
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
    nbformat.write(nb, submissions / "slow_student_q7.ipynb")
    workspace = tmp_path / "workspace"

    done = grade_class(
        submissions,
        LESSON,
        workspace,
        "--timeout",
        "600",
        env={"SEQLAB_SUBMISSION_TIMEOUT": "15"},
    )

    assert done.returncode == 1
    row = read_grades(workspace / LESSON / "grades.csv")["slow_student_q7"]
    assert row["status"] == "error" and "took longer than 15 s and was stopped" in row["notes"]
    time.sleep(1)
    assert _processes_mentioning("-slow_student_q7-") == [], "the stopped worker's kernel must not live on"
    assert not list(Path(tempfile.gettempdir()).glob("seqlab-kernel-*-slow_student_q7-*")), "its folder is removed"


def test_grade_a_zip_with_a_stray_file(tmp_path):
    archive = tmp_path / "lms-export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("export/s001.ipynb", nbformat.writes(submission(LESSON)))
        zipped.writestr("export/readme.txt", "not a submission")
    workspace = tmp_path / "workspace"

    done = grade_class(archive, LESSON, workspace)

    assert done.returncode == 0, done.stdout + done.stderr
    rows = read_grades(workspace / LESSON / "grades.csv")
    assert list(rows) == ["s001"] and rows["s001"]["score"] == "20"


def test_grade_refuses_bad_input(tmp_path):
    missing = grade_class(tmp_path / "nothing-here", LESSON, tmp_path)
    assert missing.returncode == 2 and "no such folder" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = grade_class(tmp_path / "empty", LESSON, tmp_path)
    assert empty.returncode == 2 and "no .ipynb submissions" in empty.stderr
    unknown = seqlab("grade", str(tmp_path / "empty"), "--lesson", "99_nope", "--workspace", str(tmp_path))
    assert unknown.returncode == 2 and "unknown lesson" in unknown.stderr


def _small_class(folder):
    folder.mkdir()
    relu = "def rnn_cell(x, h, W_xh, W_hh, b_h):\n    return torch.relu(x @ W_xh + h @ W_hh + b_h)\n"
    nbformat.write(submission(LESSON), folder / "ann.ipynb")
    nbformat.write(student_notebook(LESSON), folder / "bob.ipynb")
    nbformat.write(submission(LESSON, {"01-rnn-cell": relu}), folder / "cid.ipynb")
    nbformat.write(submission(LESSON, {"01-count-rnn-parameters": INFINITE_LOOP}), folder / "dee.ipynb")
    nbformat.write(submission(LESSON), folder / "eve.ipynb")


def _results_written(workspace):
    return list((workspace / "students" / LESSON).glob("*/result.json"))


def test_parallel_and_resumed_runs_give_the_serial_grades(tmp_path):
    """--workers 2, killed after the first result and started again, ends with the grades.csv of --workers 1."""
    submissions = tmp_path / "submissions"
    _small_class(submissions)
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    common = ("grade", str(submissions), "--lesson", LESSON, "--timeout", "10")

    done = seqlab(*common, "--workspace", str(serial), "--workers", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    expected = (serial / LESSON / "grades.csv").read_text(encoding="utf-8")
    assert "ann,01_rnn,graded,20,20" in expected and "bob,01_rnn,graded,0,20" in expected

    command = [sys.executable, "-m", "seqlab.tools.cli", *common, "--workspace", str(parallel), "--workers", "2"]
    first = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 600
    while not _results_written(parallel) and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.2)
    first.kill()  # SIGKILL: no clean-up of any kind
    first.wait()
    kept = len(_results_written(parallel))
    assert 1 <= kept < 5, "the run should have been killed midway"
    assert not (parallel / LESSON / "grades.csv").exists()
    time.sleep(1)

    again = seqlab(*common, "--workspace", str(parallel), "--workers", "2")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{kept} unchanged since the last run, kept" in again.stdout
    assert (parallel / LESSON / "grades.csv").read_text(encoding="utf-8") == expected
    logs = "".join(p.read_text(encoding="utf-8") for p in parallel.glob("students/*/*/grading.log"))
    assert "database is locked" not in logs + again.stdout + again.stderr

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{parallel / 'gradebook.db'}", course_id=COURSE_ID) as gradebook:
        assert sorted(s.student.id for s in gradebook.find_assignment(LESSON).submissions) == [
            "ann",
            "bob",
            "cid",
            "dee",
            "eve",
        ]
        assert gradebook.find_submission(LESSON, "ann").score == 20
