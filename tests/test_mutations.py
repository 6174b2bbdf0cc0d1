"""Mutation check of the autograder tests, through the real autograder; and, in the same grading run, the
definition of done's item 4 (the solution notebook itself scores full marks, the blank student notebook 0).

For every exercise, each plausible bug in tests/mutants/lesson_*.py must lose that exercise's
points, and each correct answer written differently must keep full marks on the autograded cells
(a lesson's written answers are graded by hand; a mutant leaves them blank).  One `seqlab grade`
run per lesson grades all of its mutants as a class, packed several to a submission where that
cannot blur which exercise lost points (tests/mutants/plan.py says how).  A results table per
exercise is written to _build/mutations/ for the release notes.

The same run proves that hidden tests stay hidden: every student's whole feedback folder (what
`nbgrader release_feedback` hands out) is searched for the lesson's hidden-test lines and names
(tests/leaks.py); none may be there, while each failing test cell's message must be, including a
test cell that failed in a hidden test after its visible tests passed.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import shutil
from pathlib import Path

import nbformat
import pytest

import tests.mutants
from seqlab.tools.submissions import reference_answers
from tests.leaks import find_leaks, hidden_ranges, lesson_secrets, notebook_text, received
from tests.mutants.plan import CONTROL, PlannedSubmission, dependencies, keep_graded_cells, plan
from tests.support import (
    COURSE,
    REPO,
    autograded_max,
    carried_over,
    grade_class,
    grade_columns,
    read_grades,
    solution_notebook,
    student_notebook,
    submission,
    written_answers,
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
        if c.metadata.get("nbgrader", {}).get("solution")
        and c.cell_type == "code"
        and not carried_over(c.metadata["nbgrader"]["grade_id"])
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
    shutil.copyfile(COURSE.solution(lesson), submissions / f"{SOLUTION_ITSELF}.ipynb")
    nbformat.write(student_notebook(lesson), submissions / f"{BLANK}.ipynb")
    workspace = tmp_path / "workspace"

    done = grade_class(submissions, lesson, workspace, "--timeout", "30")
    assert done.returncode == 0, done.stdout + done.stderr

    rows = read_grades(workspace / lesson / "grades.csv")
    _check_solution_and_blank(lesson, rows)
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
    leaks, hidden_failures = _feedback_problems(lesson, workspace, submissions)
    assert not failures, "\n".join(failures)
    assert not leaks, "what students receive shows hidden tests or misses a message:\n" + "\n".join(leaks[:50])
    assert hidden_failures, "no submission failed a hidden test after passing the visible ones: none proves the point"


#: Two more students of every lesson's grading run (definition of done, item 4).
SOLUTION_ITSELF, BLANK = "solution_itself", "blank"


def _check_solution_and_blank(lesson: str, rows: dict[str, dict[str, str]]) -> None:
    """The solution notebook itself scores full marks on every autograded test cell and the blank student notebook
    0 on each; written answers are left to the instructor (the solution's model answer waits in the formgrader, the
    blank one scores 0 with nothing to grade)."""
    columns = {}
    for cell in solution_notebook(lesson).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            columns[f"{meta['grade_id']} ({meta['points']:g})"] = float(meta["points"])
    assert len(columns) >= 2
    assert {c: float(rows[SOLUTION_ITSELF][c]) for c in columns} == columns, f"{lesson}: the solution notebook"
    assert {c: float(rows[BLANK][c]) for c in columns} == dict.fromkeys(columns, 0.0), f"{lesson}: the blank notebook"
    assert rows[SOLUTION_ITSELF]["status"] == "graded" and rows[BLANK]["status"] == "graded"
    for grade_id in written_answers(lesson):
        assert f"{grade_id} needs manual grading" in rows[SOLUTION_ITSELF]["notes"]
        assert grade_id not in rows[BLANK]["notes"]
        assert float(next(v for k, v in rows[BLANK].items() if k.startswith(f"{grade_id} ("))) == 0.0


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
FIRST_FRAME = re.compile(r"^Cell In ?\[\d*\], line (\d+)", re.MULTILINE)


def _feedback_problems(lesson: str, workspace: Path, submissions: Path) -> tuple[list[str], list[str]]:
    """Hidden lines or names found in each student's feedback folder, and failure messages missing from it;
    and the test cells that failed in a hidden test (their visible tests passed), as "student grade-id: message".

    The messages come from the autograded notebooks (the instructor's copy, which keeps everything).
    """
    secrets = lesson_secrets(lesson, solution_notebook(lesson), student_notebook(lesson))
    problems, hidden_failures, report = [], [], []
    folders = sorted(p for p in (workspace / "feedback").iterdir() if p.is_dir())
    assert {p.name for p in folders} == {p.stem for p in submissions.glob("*.ipynb")}, "a student has no feedback"
    for folder in folders:
        student = folder.name
        mine = secrets.without(notebook_text(nbformat.read(submissions / f"{student}.ipynb", as_version=4)))
        autograded = nbformat.read(workspace / "autograded" / student / lesson / f"{lesson}.ipynb", as_version=4)
        page = received(folder / lesson / f"{lesson}.html").shown[0]
        expected = []
        for cell in autograded.cells:
            meta = cell.metadata.get("nbgrader", {})
            error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
            if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution") or error is None:
                continue
            lines = ANSI.sub("", error.get("evalue", "")).strip().splitlines()
            message = lines[0][:200] if lines else ""
            expected += [error.ename, message]
            if message not in page:
                problems.append(f"{student}: the message of {meta['grade_id']} is not in the feedback: {message!r}")
            frame = FIRST_FRAME.search(ANSI.sub("", "\n".join(error.get("traceback", []))))
            if frame and any(first <= int(frame[1]) <= last for first, last in hidden_ranges(cell.source)):
                hidden_failures.append(f"{student} {meta['grade_id']}: {error.ename}: {message}")
        found = find_leaks(folder, mine, expected)
        problems += [f"{student}: {leak}" for leak in found]
        report.append(f"| {student} | {len(mine.lines)} | {len(mine.names)} | {len(found)} |")
    out = REPO / "_build" / "feedback"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"graded-{lesson}.md").write_text(
        "| student | hidden lines searched | hidden names searched | found |\n| --- | --- | --- | --- |\n"
        + "\n".join(report)
        + "\n\nFailed in a hidden test (visible tests passed), message shown:\n\n"
        + "".join(f"- {failure}\n" for failure in hidden_failures),
        encoding="utf-8",
    )
    return problems, hidden_failures
