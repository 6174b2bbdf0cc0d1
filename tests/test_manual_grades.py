"""Scores given by hand in the formgrader reach grades.csv and the feedback on the next `seqlab grade` run.

The formgrader writes a written answer's score into the class gradebook.  Running the same `seqlab grade` command
again grades nobody again, copies the score into the student's row and writes their feedback again with it; a run
after that changes nothing.  (tests/test_hub.py does the same through the formgrader's page on a real hub.)
"""

from __future__ import annotations

import re

import nbformat
import pytest
from bs4 import BeautifulSoup

from seqlab.tools.course import COURSE_ID
from tests.support import grade_class, read_grades, submission, written_answers

pytestmark = pytest.mark.slow
LESSON = "05_birnn"


def _score_in(feedback) -> float:
    text = " ".join(BeautifulSoup(feedback.read_text(encoding="utf-8"), "html.parser").get_text(" ").split())
    return float(re.search(r"Score:\s*([\d.]+)", text)[1])


def test_scores_given_by_hand_reach_grades_and_feedback(tmp_path):
    from nbgrader.api import Gradebook

    (written,) = written_answers(LESSON)
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    nbformat.write(
        submission(LESSON, {written: "Its backward half reads the token it must predict."}), submissions / "ana.ipynb"
    )
    workspace = tmp_path / "workspace"
    done = grade_class(submissions, LESSON, workspace)
    assert done.returncode == 0, done.stdout + done.stderr
    before = read_grades(workspace / LESSON / "grades.csv")["ana"]
    column = next(name for name in before if name.startswith(f"{written} ("))
    assert float(before[column]) == 0 and f"{written} needs manual grading (written answer)" in before["notes"]
    feedback = workspace / "feedback" / "ana" / LESSON / f"{LESSON}.html"
    autograded = float(before["score"])
    assert _score_in(feedback) == autograded

    # A grader gives the answer 1.5 points and a comment in the formgrader (which writes into the class gradebook).
    with Gradebook(f"sqlite:///{workspace / 'gradebook.db'}", course_id=COURSE_ID) as gradebook:
        grade = gradebook.find_grade(written, LESSON, LESSON, "ana")
        grade.manual_score = 1.5
        comment = gradebook.find_comment(written, LESSON, LESSON, "ana")
        comment.manual_comment = "Right idea; say which state sees the future."
        gradebook.db.commit()

    done = grade_class(submissions, LESSON, workspace)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 unchanged since the last run, kept" in done.stdout, done.stdout
    after = read_grades(workspace / LESSON / "grades.csv")["ana"]
    assert float(after[column]) == 1.5 and float(after["score"]) == autograded + 1.5, after
    assert f"{written} graded by hand" in after["notes"] and "needs manual grading" not in after["notes"], after
    assert _score_in(feedback) == autograded + 1.5
    assert "say which state sees the future" in feedback.read_text(encoding="utf-8")
    assert feedback.stat().st_mode & 0o777 == 0o644, "students must be able to read the feedback they fetch"

    # Nothing changed by hand since: the next run writes no feedback (the class folder gets the same bytes again).
    own = workspace / "students" / LESSON / "ana" / "feedback" / "ana" / LESSON / f"{LESSON}.html"
    written_at, content = own.stat().st_mtime_ns, feedback.read_bytes()
    done = grade_class(submissions, LESSON, workspace)
    assert done.returncode == 0, done.stdout + done.stderr
    assert own.stat().st_mtime_ns == written_at and feedback.read_bytes() == content
    assert read_grades(workspace / LESSON / "grades.csv")["ana"] == after
