"""nbgrader's multi-user flow on a local exchange, with `seqlab grade` in the middle.

The instructor releases lesson 01 into an exchange folder; two students, each with a home folder, a student id
and a Jupyter config of their own, fetch it, answer (one fully, one not at all) and submit; the instructor collects,
grades the collected folder with `seqlab grade` (which writes the feedback) and releases the feedback; each student
fetches their own feedback and finds their own score in it, and no hidden test (tests/leaks.py).  Feedback made by
`nbgrader generate_feedback` itself (what the formgrader's buttons run), from the course's nbgrader_config.py, hides
the hidden tests as well.  Everything runs with nbgrader's own commands, as on a shared JupyterHub; only the folders
are temporary.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from seqlab.tools.course import COURSE_ID
from tests.leaks import find_leaks, lesson_secrets, notebook_text
from tests.support import REPO, grade_class, read_grades, solution_notebook, student_notebook, submission

pytestmark = pytest.mark.slow
LESSON = "01_rnn"
NBGRADER = str(Path(sys.executable).parent / "nbgrader")


def _nbgrader(*args, cwd, env=None):
    done = subprocess.run([NBGRADER, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def _student_env(home: Path) -> dict[str, str]:
    """A student's session: their own home, Jupyter config and data folder (where nbgrader caches submissions)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"))
    env.update(JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"))
    return env


def test_release_fetch_submit_collect_grade_and_feedback(tmp_path):
    exchange = tmp_path / "exchange"
    exchange.mkdir(mode=0o777)
    exchange.chmod(0o777)
    grading = tmp_path / "grading"
    instructor = [
        f"--Exchange.root={exchange}",
        f"--CourseDirectory.course_id={COURSE_ID}",
        # The course's nbgrader_config.py, with everything the instructor writes moved out of the repository.
        f"--CourseDirectory.db_url=sqlite:///{grading / 'exchange-gradebook.db'}",
        f"--CourseDirectory.submitted_directory={grading / 'submitted'}",
        f"--CourseDirectory.feedback_directory={grading / 'workspace' / 'feedback'}",
    ]
    grading.mkdir()

    # The instructor releases the student notebook (notebooks/01_rnn) into the exchange.
    _nbgrader("release_assignment", LESSON, *instructor, cwd=REPO)
    assert (exchange / COURSE_ID / "outbound" / LESSON / f"{LESSON}.ipynb").is_file()

    # Two students fetch it into their homes, answer, and submit.
    answers = {"ana": submission(LESSON), "ben": None}  # ben submits the notebook as fetched
    students = {}
    for name, answered in answers.items():
        home = tmp_path / "home" / name
        home.mkdir(parents=True)
        env = _student_env(home)
        # On a hub each student is a user of their own and nbgrader takes the id from the account; here all run as
        # one account, so each gives their id as nbgrader's --student option.
        student = [f"--Exchange.root={exchange}", f"--course={COURSE_ID}", f"--student={name}"]
        _nbgrader("fetch_assignment", LESSON, *student, cwd=home, env=env)
        fetched = home / LESSON / f"{LESSON}.ipynb"
        assert fetched.is_file(), f"{name} did not receive the notebook"
        if answered is not None:
            nbformat.write(answered, fetched)
        _nbgrader("submit", LESSON, *student, cwd=home, env=env)
        students[name] = (home, env, student)
    assert len(list((exchange / COURSE_ID / "inbound").iterdir())) == 2

    # The instructor collects, then grades nbgrader's collected folder as it is.
    _nbgrader("collect", LESSON, *instructor, cwd=REPO)
    for name in answers:
        assert (grading / "submitted" / name / LESSON / "timestamp.txt").is_file()
    done = grade_class(grading / "submitted", LESSON, grading / "workspace")
    assert done.returncode == 0, done.stdout + done.stderr
    rows = read_grades(grading / "workspace" / LESSON / "grades.csv")
    assert sorted(rows) == ["ana", "ben"]
    assert (
        float(rows["ana"]["score"]) == 20 and float(rows["ben"]["score"]) == 0 and rows["ana"]["max_score"] == "20"
    ), rows

    # It releases the feedback `seqlab grade` wrote, and each student fetches their own: no hidden test in it.
    secrets = lesson_secrets(LESSON, solution_notebook(LESSON), student_notebook(LESSON))
    answered = {name: notebook_text(nb or student_notebook(LESSON)) for name, nb in answers.items()}
    released = _nbgrader("release_feedback", LESSON, *instructor, cwd=REPO)
    assert released.count("Releasing feedback for student") == 2, released
    for name, (home, env, student) in students.items():
        _nbgrader("fetch_feedback", LESSON, *student, cwd=home, env=env)
        feedback = list((home / LESSON / "feedback").glob(f"*/{LESSON}.html"))
        assert len(feedback) == 1, f"{name} should have received exactly one feedback file"
        html = feedback[0].read_text(encoding="utf-8")
        score = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", html)
        assert score, f"{name}'s feedback shows no score"
        assert float(score[1]) == float(rows[name]["score"]) and float(score[2]) == 20.0
        assert find_leaks(home / LESSON / "feedback", secrets.without(answered[name]), ["NotImplementedError"]) == []

    # The formgrader's way: nbgrader generate_feedback with the course's configuration, from the same grades.
    workspace = grading / "workspace"
    _nbgrader(
        "generate_feedback",
        LESSON,
        "--force",
        f"--CourseDirectory.autograded_directory={workspace / 'autograded'}",
        f"--CourseDirectory.feedback_directory={grading / 'nbgrader-feedback'}",
        f"--CourseDirectory.db_url=sqlite:///{workspace / 'gradebook.db'}",
        cwd=REPO,
    )
    for name in students:
        page = grading / "nbgrader-feedback" / name / LESSON / f"{LESSON}.html"
        assert page.is_file() and "Score:" in page.read_text(encoding="utf-8"), name
        assert find_leaks(page.parent, secrets.without(answered[name]), ["NotImplementedError"]) == []
