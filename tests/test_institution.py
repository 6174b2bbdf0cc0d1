"""Institution scale: a PostgreSQL class gradebook written by several graders at once.

A real PostgreSQL server (tests/postgres_server.py: Debian's package, loopback only, a new data directory,
stopped after) holds the class gradebook.  Two `seqlab grade` runs on two halves of a class write into it at the
same moment, and must leave exactly the grades a single serial run leaves in an SQLite gradebook; a run killed
midway and started again must neither lose nor duplicate a grade.  (The nbgrader exchange flow, students
fetching and submitting: tests/test_exchange.py.)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import nbformat
import pytest

from seqlab.tools.course import COURSE_ID
from tests.postgres_server import require_postgres, running_postgres
from tests.support import REPO, grade_class, read_grades, student_notebook, submission

# One module, one worker: the runs below share the serial baseline.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("postgres")]
LESSON = "01_rnn"
ZERO = "def count_rnn_parameters(input_size, hidden_size, output_size):\n    return 0\n"
RELU = "def rnn_cell(x, h, W_xh, W_hh, b_h):\n    return torch.relu(x @ W_xh + h @ W_hh + b_h)\n"
CLASS = {
    "ann": {},
    "bob": None,  # the blank notebook
    "cid": {"01-rnn-cell": RELU},
    "dee": {
        "01-count-rnn-parameters": "def count_rnn_parameters(input_size, hidden_size, output_size):\n    return 0\n"
    },
}


def _write_class(folder, students):
    folder.mkdir(parents=True)
    for student in students:
        answers = CLASS[student]
        nb = student_notebook(LESSON) if answers is None else submission(LESSON, answers)
        nbformat.write(nb, folder / f"{student}.ipynb")


@pytest.fixture
def postgres_installed():
    require_postgres()


def gradebook_contents(url):
    """Everything grading writes into a class gradebook, in a form two gradebooks can be compared by.

    Returns ``(grades, counts)``: ``grades`` maps (student, grade id) to (auto score, manual score, needs manual
    grade), ``counts`` how many rows of students, submissions and grades the gradebook holds (duplicates show).
    """
    from nbgrader.api import Grade, Gradebook, Student, SubmittedAssignment

    with Gradebook(url, course_id=COURSE_ID) as gradebook:
        grades = {}
        for assignment_submission in gradebook.assignment_submissions(LESSON):
            for notebook in assignment_submission.notebooks:
                for grade in notebook.grades:
                    key = (assignment_submission.student.id, grade.name)
                    grades[key] = (grade.auto_score, grade.manual_score, grade.needs_manual_grade)
        counts = {
            "students": gradebook.db.query(Student).count(),
            "submissions": gradebook.db.query(SubmittedAssignment).count(),
            "grades": gradebook.db.query(Grade).count(),
        }
    return grades, counts


@pytest.fixture(scope="module")
def serial_sqlite(tmp_path_factory):
    """One `seqlab grade --workers 1` of the whole class into the workspace's SQLite gradebook."""
    root = tmp_path_factory.mktemp("serial")
    _write_class(root / "class", CLASS)
    started = time.monotonic()
    done = grade_class(root / "class", LESSON, root / "workspace", "--workers", "1", "--timeout", "30")
    print(f"serial run into SQLite: {len(CLASS)} students in {time.monotonic() - started:.1f} s")
    assert done.returncode == 0, done.stdout + done.stderr
    grades = gradebook_contents(f"sqlite:///{root / 'workspace' / 'gradebook.db'}")
    assert grades[0][("ann", "01-rnn-cell-tests")][0] > 0 and grades[0][("bob", "01-rnn-cell-tests")][0] == 0
    assert grades[1] == {"students": 4, "submissions": 4, "grades": len(grades[0])}
    return grades, read_grades(root / "workspace" / LESSON / "grades.csv")


def _grade_command(folder, workspace, url, workers):
    return [
        sys.executable, "-m", "seqlab.tools.cli", "grade", str(folder), "--lesson", LESSON,
        "--workspace", str(workspace), "--gradebook", url, "--workers", str(workers), "--timeout", "30",
    ]  # fmt: skip


def test_two_graders_at_once_into_postgres_give_the_serial_sqlite_grades(postgres_installed, tmp_path, serial_sqlite):
    expected, expected_rows = serial_sqlite
    _write_class(tmp_path / "section-a", ["ann", "cid"])
    _write_class(tmp_path / "section-b", ["bob", "dee"])
    with running_postgres() as url:
        started = time.monotonic()
        graders = [
            subprocess.Popen(
                _grade_command(tmp_path / f"section-{name}", tmp_path / f"workspace-{name}", url, 1),
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for name in ("a", "b")
        ]
        outputs = [grader.communicate(timeout=900)[0] for grader in graders]
        print(f"two graders at once into PostgreSQL: {len(CLASS)} students in {time.monotonic() - started:.1f} s")
        assert [grader.returncode for grader in graders] == [0, 0], "\n".join(outputs)
        assert gradebook_contents(url) == expected
    for name, students in (("a", ["ann", "cid"]), ("b", ["bob", "dee"])):
        rows = read_grades(tmp_path / f"workspace-{name}" / LESSON / "grades.csv")
        assert rows == {student: expected_rows[student] for student in students}


def test_a_run_killed_midway_resumes_without_losing_or_duplicating_a_grade(postgres_installed, tmp_path, serial_sqlite):
    expected, _ = serial_sqlite
    _write_class(tmp_path / "class", CLASS)
    workspace = tmp_path / "workspace"
    with running_postgres() as url:
        first = subprocess.Popen(
            _grade_command(tmp_path / "class", workspace, url, 2),
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and first.poll() is None:
            if list((workspace / "students" / LESSON).glob("*/result.json")):
                break
            time.sleep(0.2)
        first.kill()  # SIGKILL: no clean-up of any kind, the database connection just drops
        first.wait()
        kept = len(list((workspace / "students" / LESSON).glob("*/result.json")))
        assert 1 <= kept < len(CLASS), "the run should have been killed midway"

        again = subprocess.run(
            _grade_command(tmp_path / "class", workspace, url, 2), cwd=REPO, capture_output=True, text=True
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert f"{kept} unchanged since the last run, kept" in again.stdout
        assert gradebook_contents(url) == expected
        # And a third run changes nothing: merging the same results again duplicates no row.
        third = subprocess.run(
            _grade_command(tmp_path / "class", workspace, url, 2), cwd=REPO, capture_output=True, text=True
        )
        assert f"{len(CLASS)} unchanged since the last run, kept" in third.stdout, third.stdout + third.stderr
        assert gradebook_contents(url) == expected


def test_grade_refuses_a_gradebook_it_cannot_use(tmp_path):
    from tests.support import seqlab

    (tmp_path / "class").mkdir()
    shutil.copyfile(REPO / "notebooks" / LESSON / f"{LESSON}.ipynb", tmp_path / "class" / "ann.ipynb")
    for url, message in (
        ("mysql://grader@db/seqmodels", "use a sqlite:/// or postgresql:// database, not mysql"),
        ("not a url", "is not a database URL"),
    ):
        done = seqlab("grade", str(tmp_path / "class"), "--lesson", LESSON, "--gradebook", url)
        assert done.returncode == 2 and message in done.stderr, done.stderr
