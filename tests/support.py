"""Shared helpers for the pipeline tests: build submissions, run the seqlab command, read grades."""

from __future__ import annotations

import csv
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

from seqlab.tools.course import Course
from seqlab.tools.submissions import make_submission, reference_answers

REPO = Path(__file__).resolve().parent.parent
COURSE = Course(REPO)


def carried_over(grade_id: str) -> bool:
    """A solution cell that holds the student's answers of an earlier lesson (``09-from-lesson-08``), not an exercise:
    no test cell follows it, no points, no mutants; the lesson's demonstrations use it."""
    return re.fullmatch(r"\d\d-from-lesson-\d\d", grade_id) is not None


#: What PyTorch's libraries would choose on other processors, forced through their variables (tests/test_numerics.py
#: and the nbval runs of tests/test_notebooks.py): the pin of seqlab.numerics must neutralise each of them.
DISPATCHES: dict[str, dict[str, str]] = {
    "this machine": {},
    "AVX-512": {"MKL_CBWR": "AVX512", "ATEN_CPU_CAPABILITY": "avx512", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE"},
    "AVX2": {"MKL_CBWR": "AVX2", "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "plain": {"MKL_CBWR": "AUTO", "ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"},
}


def dispatch_environment(dispatch: str, native: bool = False) -> dict[str, str]:
    """This process's environment with the pin's variables replaced by ``DISPATCHES[dispatch]``.

    ``native=True`` also sets ``SEQLAB_NUMERICS=native``, so that importing seqlab keeps them: an unpinned path.
    """
    from seqlab.numerics import NUMERICS_ENV, PINNED_ENVIRONMENT

    env = {k: v for k, v in os.environ.items() if k not in PINNED_ENVIRONMENT and k != NUMERICS_ENV}
    env.update(DISPATCHES[dispatch])
    if native:
        env[NUMERICS_ENV] = "native"
    return env


def solution_notebook(lesson: str) -> nbformat.NotebookNode:
    return nbformat.read(COURSE.solution(lesson), as_version=4)


def student_notebook(lesson: str) -> nbformat.NotebookNode:
    return nbformat.read(COURSE.release(lesson), as_version=4)


def submission(lesson: str, replace: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The student notebook with the reference answers typed in, some replaced by ``replace``."""
    answers = reference_answers(solution_notebook(lesson))
    answers.update(replace or {})
    return make_submission(student_notebook(lesson), answers)


def seqlab(*args: str, timeout: float = 1800, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ``seqlab`` command from the course root, as an instructor or student would."""
    env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "seqlab.tools.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def grade_class(
    submissions: Path, lesson: str, workspace: Path, *options: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``seqlab grade SUBMISSIONS --lesson LESSON --workspace WORKSPACE [options]``, as an instructor runs it."""
    return seqlab("grade", str(submissions), "--lesson", lesson, "--workspace", str(workspace), *options, env=env)


def digests(folder: Path) -> dict[str, str]:
    """path -> SHA-256 of its bytes, for every file under ``folder`` (to prove grading left them untouched)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def read_grades(csv_path: Path) -> dict[str, dict[str, str]]:
    """student id -> row of grades.csv."""
    with csv_path.open(newline="", encoding="utf-8") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def autograded_max(lesson: str) -> float:
    """The points of a lesson's autograded test cells (written answers, graded by hand, excluded)."""
    return sum(
        float(cell.metadata["nbgrader"]["points"])
        for cell in solution_notebook(lesson).cells
        if cell.metadata.get("nbgrader", {}).get("grade") and not cell.metadata["nbgrader"].get("solution")
    )


def written_answers(lesson: str) -> list[str]:
    """Grade ids of a lesson's written answers (cells that are both a solution and graded: graded by hand)."""
    return [
        cell.metadata["nbgrader"]["grade_id"]
        for cell in solution_notebook(lesson).cells
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.metadata["nbgrader"].get("solution")
    ]


def grade_columns(lesson: str) -> dict[str, str]:
    """test cell grade id -> its grades.csv column header, from the solution notebook."""
    columns = {}
    for cell in solution_notebook(lesson).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            columns[meta["grade_id"]] = f"{meta['grade_id']} ({meta['points']:g})"
    return columns
