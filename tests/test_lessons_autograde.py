"""Definition of done, item 4, for every lesson: through the real autograder (`seqlab grade`), the
reference answers and the solution notebook itself score full marks on every autograded test cell, and
the blank student notebook scores 0 on each of them.  Written answers are left to the instructor: an
answered one is reported as needing manual grading (not as an error), an untouched one scores 0."""

from __future__ import annotations

import shutil

import nbformat
import pytest

from tests.support import (
    COURSE,
    autograded_max,
    grade_class,
    read_grades,
    solution_notebook,
    student_notebook,
    submission,
    written_answers,
)

pytestmark = pytest.mark.slow


def autograded_columns(lesson: str) -> dict[str, float]:
    """grades.csv header of each autograded test cell -> its points (written answers excluded)."""
    columns = {}
    for cell in solution_notebook(lesson).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            columns[f"{meta['grade_id']} ({meta['points']:g})"] = float(meta["points"])
    return columns


@pytest.mark.parametrize("lesson", COURSE.lessons())
def test_solution_scores_full_marks_and_blank_scores_zero(tmp_path, lesson):
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    nbformat.write(submission(lesson), submissions / "reference.ipynb")
    shutil.copyfile(COURSE.solution(lesson), submissions / "solution_itself.ipynb")
    nbformat.write(student_notebook(lesson), submissions / "blank.ipynb")
    workspace = tmp_path / "workspace"

    done = grade_class(submissions, lesson, workspace)

    assert done.returncode == 0, done.stdout + done.stderr
    rows = read_grades(workspace / lesson / "grades.csv")
    columns = autograded_columns(lesson)
    assert len(columns) >= 2
    for student in ("reference", "solution_itself"):
        got = {c: float(rows[student][c]) for c in columns}
        assert got == columns, f"{lesson}: {student} should score full marks on every test cell"
    blank = {c: float(rows["blank"][c]) for c in columns}
    assert blank == dict.fromkeys(columns, 0.0), f"{lesson}: the blank notebook should score 0 on every test cell"

    assert all(row["status"] == "graded" for row in rows.values()), rows
    assert float(rows["reference"]["score"]) == autograded_max(lesson)
    for grade_id in written_answers(lesson):
        # the solution notebook holds the model answer: it waits for the instructor in the formgrader
        assert f"{grade_id} needs manual grading" in rows["solution_itself"]["notes"]
        # the reference submission and the blank notebook leave the answer untouched: 0, nothing to grade
        for student in ("reference", "blank"):
            assert grade_id not in rows[student]["notes"]
            assert float(next(v for k, v in rows[student].items() if k.startswith(f"{grade_id} ("))) == 0.0
