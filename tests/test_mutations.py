"""Mutation check of the autograder tests, through the real autograder.

For every exercise, each plausible bug in tests/mutants/lesson_*.py must lose that exercise's
points, and each correct answer written differently must keep full marks on the autograded cells
(a lesson's written answers are graded by hand; a mutant leaves them blank).  One `seqlab grade`
run per exercise grades all of its mutants as a class.  A results table is written to
_build/mutations/ for the release notes.
"""

from __future__ import annotations

import importlib
import pkgutil

import nbformat
import pytest

import tests.mutants
from tests.support import REPO, autograded_max, grade_class, grade_columns, read_grades, submission


def _catalogues():
    for info in pkgutil.iter_modules(tests.mutants.__path__):
        if info.name.startswith("lesson_"):
            yield importlib.import_module(f"tests.mutants.{info.name}")


CATALOGUES = {module.LESSON: module.MUTANTS for module in _catalogues()}
EXERCISES = sorted({(lesson, m.grade_id) for lesson, mutants in CATALOGUES.items() for m in mutants})


@pytest.mark.parametrize("lesson", sorted(CATALOGUES))
def test_catalogue_covers_every_exercise(lesson):
    solution_ids = {
        c.metadata["nbgrader"]["grade_id"]
        for c in nbformat.read(REPO / "solutions" / lesson / f"{lesson}.ipynb", as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"
    }
    mutants = CATALOGUES[lesson]
    for grade_id in solution_ids:
        bugs = [m for m in mutants if m.grade_id == grade_id and m.kind == "bug"]
        correct = [m for m in mutants if m.grade_id == grade_id and m.kind == "correct"]
        assert len(bugs) >= 3, f"{grade_id}: at least three plausible bugs"
        assert len(correct) >= 1, f"{grade_id}: at least one correct alternative"
    assert {m.grade_id for m in mutants} <= solution_ids


@pytest.mark.slow
@pytest.mark.parametrize(("lesson", "grade_id"), EXERCISES, ids=[g for _, g in EXERCISES])
def test_mutants_through_the_autograder(tmp_path, lesson, grade_id):
    mutants = [m for m in CATALOGUES[lesson] if m.grade_id == grade_id]
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for index, mutant in enumerate(mutants):
        nbformat.write(submission(lesson, {grade_id: mutant.source}), submissions / f"m{index:02d}.ipynb")
    workspace = tmp_path / "workspace"

    done = grade_class(submissions, lesson, workspace, "--timeout", "30")
    assert done.returncode == 0, done.stdout + done.stderr

    rows = read_grades(workspace / lesson / "grades.csv")
    column = grade_columns(lesson)[f"{grade_id}-tests"]
    max_points = float(column.rsplit("(", 1)[1].rstrip(")"))
    max_total = autograded_max(lesson)  # the written answers (graded by hand) are left blank by every mutant
    report, failures = [], []
    for index, mutant in enumerate(mutants):
        row = rows[f"m{index:02d}"]
        points, total = float(row[column]), float(row["score"])
        if mutant.kind == "bug":
            ok = points < max_points
            outcome = f"loses {max_points - points:g} of {max_points:g}" if ok else "KEEPS FULL MARKS"
        else:
            ok = total == max_total
            outcome = f"{total:g}/{max_total:g}" if ok else f"ONLY {total:g}/{max_total:g}"
        report.append(f"| {grade_id} | {mutant.kind} | {mutant.name} | {outcome} |")
        if not ok:
            failures.append(f"{mutant.kind} {mutant.name!r}: {outcome} ({row['notes']})")
    out = REPO / "_build" / "mutations"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{grade_id}.md").write_text("\n".join(report) + "\n", encoding="utf-8")
    assert not failures, "\n".join(failures)
