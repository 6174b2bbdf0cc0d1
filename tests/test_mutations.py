"""Mutation check of the autograder tests, through the real autograder.

For every exercise, each plausible bug in tests/mutants/lesson_*.py must lose that exercise's
points, and each correct answer written differently must keep full marks on the autograded cells
(a lesson's written answers are graded by hand; a mutant leaves them blank).  One `seqlab grade`
run per lesson grades all of its mutants as a class, packed several to a submission where that
cannot blur which exercise lost points (tests/mutants/plan.py says how).  A results table per
exercise is written to _build/mutations/ for the release notes.
"""

from __future__ import annotations

import importlib
import pkgutil

import nbformat
import pytest

import tests.mutants
from seqlab.tools.submissions import reference_answers
from tests.mutants.plan import CONTROL, PlannedSubmission, dependencies, keep_graded_cells, plan
from tests.support import (
    REPO,
    autograded_max,
    grade_class,
    grade_columns,
    read_grades,
    solution_notebook,
    submission,
)


def _catalogues():
    for info in pkgutil.iter_modules(tests.mutants.__path__):
        if info.name.startswith("lesson_"):
            yield importlib.import_module(f"tests.mutants.{info.name}")


CATALOGUES = {module.LESSON: module.MUTANTS for module in _catalogues()}


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


def _exercise_of(test_id: str, exercises: set[str]) -> str:
    """The exercise a test cell belongs to: ``X-tests``, or ``X-<part>-tests`` when an exercise has several."""
    owners = [
        g for g in exercises if test_id == f"{g}-tests" or (test_id.startswith(f"{g}-") and test_id.endswith("-tests"))
    ]
    return max(owners, key=len) if owners else test_id.removesuffix("-tests")


def _exercise_cells(lesson: str) -> tuple[dict[str, str], dict[str, str]]:
    """grade id -> reference answer, and grade id -> its test cells' source (joined, if there are several)."""
    solution = solution_notebook(lesson)
    reference = reference_answers(solution)
    tests: dict[str, str] = {}
    for cell in solution.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            exercise = _exercise_of(meta["grade_id"], set(reference))
            tests[exercise] = f"{tests[exercise]}\n{cell.source}" if exercise in tests else cell.source
    return reference, tests


def _lesson_plan(lesson: str) -> list[PlannedSubmission]:
    return plan(*_exercise_cells(lesson), CATALOGUES[lesson])


@pytest.mark.parametrize("lesson", sorted(CATALOGUES))
def test_plan_places_every_mutant_once_and_keeps_dependent_bugs_apart(lesson):
    planned = _lesson_plan(lesson)
    placed = [mutant for planned_submission in planned for mutant in planned_submission.mutants]
    assert sorted(map(id, placed)) == sorted(map(id, CATALOGUES[lesson]))
    depends = dependencies(*_exercise_cells(lesson), CATALOGUES[lesson])
    for planned_submission in planned:
        ids = [m.grade_id for m in planned_submission.mutants]
        assert len(ids) == len(set(ids)), f"{planned_submission.name}: two mutants of one exercise"
        assert {m.kind for m in planned_submission.mutants} <= {planned_submission.kind}
        if planned_submission.kind == "bug":
            together = [(a, b) for a in ids for b in depends[a] if b in ids]
            assert not together, f"{planned_submission.name}: dependent exercises together {together}"
    bugs = [m for m in CATALOGUES[lesson] if m.kind == "bug"]
    if len({m.grade_id for m in bugs}) > 1:  # packing saves submissions only when there are several exercises
        assert sum(s.kind == "bug" for s in planned) < len(bugs)


@pytest.mark.slow
@pytest.mark.parametrize("lesson", sorted(CATALOGUES))
def test_mutants_through_the_autograder(tmp_path, lesson):
    planned = _lesson_plan(lesson)
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for planned_submission in planned:
        nb = submission(lesson, planned_submission.answers)
        if planned_submission.only_graded_cells:
            nb = keep_graded_cells(nb)
        nbformat.write(nb, submissions / f"{planned_submission.name}.ipynb")
    workspace = tmp_path / "workspace"

    done = grade_class(submissions, lesson, workspace, "--timeout", "30")
    assert done.returncode == 0, done.stdout + done.stderr

    rows = read_grades(workspace / lesson / "grades.csv")
    columns = grade_columns(lesson)
    exercises = {m.grade_id for m in CATALOGUES[lesson]}
    test_ids = {grade_id: [t for t in columns if _exercise_of(t, exercises) == grade_id] for grade_id in exercises}
    max_total = autograded_max(lesson)  # the written answers (graded by hand) are left blank by every mutant
    control = rows[CONTROL]
    assert float(control["score"]) == max_total, (
        f"the reference answers without the demonstration cells score {control['score']}/{max_total:g}: "
        f"a test cell depends on a demonstration, so bug submissions must keep every cell ({control['notes']})"
    )
    reports: dict[str, list[str]] = {}
    failures = []
    for planned_submission in planned[1:]:
        row = rows[planned_submission.name]
        total = float(row["score"])
        for mutant in planned_submission.mutants:
            # an exercise's points: its test cell, or the sum of its test cells when it has several
            exercise_columns = [columns[t] for t in test_ids[mutant.grade_id]]
            assert columns[mutant.tests_id] in exercise_columns
            max_points = sum(float(column.rsplit("(", 1)[1].rstrip(")")) for column in exercise_columns)
            if mutant.kind == "bug":
                points = sum(float(row[column]) for column in exercise_columns)
                ok = points < max_points
                outcome = f"loses {max_points - points:g} of {max_points:g}" if ok else "KEEPS FULL MARKS"
            else:
                ok = total == max_total
                outcome = (
                    f"{total:g}/{max_total:g}"
                    if ok
                    else f"ONLY {total:g}/{max_total:g} (with {planned_submission.name})"
                )
            reports.setdefault(mutant.grade_id, []).append(
                f"| {mutant.grade_id} | {mutant.kind} | {mutant.name} | {outcome} | {planned_submission.name} |"
            )
            if not ok:
                failures.append(
                    f"{mutant.kind} {mutant.name!r} in {planned_submission.name}: {outcome} ({row['notes']})"
                )
    out = REPO / "_build" / "mutations"
    out.mkdir(parents=True, exist_ok=True)
    for grade_id, report in reports.items():
        (out / f"{grade_id}.md").write_text("\n".join(report) + "\n", encoding="utf-8")
    assert not failures, "\n".join(failures)
