"""``seqlab grade SUBMISSIONS --lesson L``: autograde a whole class with nbgrader, safely and in parallel.

SUBMISSIONS is a folder or a zip of notebooks, one per student, named by student id (``alice.ipynb``), or
what ``nbgrader collect`` leaves.  :func:`grade` takes one :class:`GradingRun` and returns one
:class:`ClassGrades`; under a lock on the workspace (one run at a time) it takes five steps, one call each:

1. **collect** the submissions (:mod:`~seqlab.tools.grading.collect`): a bad file is a row of its own;
2. **prepare** the lesson once: probe which limits this machine enforces (:mod:`~seqlab.tools.grading.limits`),
   a template gradebook holding the assignment with its hidden tests, and the class gradebook the formgrader
   uses (:mod:`~seqlab.tools.grading.gradebooks`);
3. **triage** each student in this process: a file that is not this lesson's notebook is ``invalid`` at once; a
   file and settings unchanged since a complete earlier result (``result.json``, matched by SHA-256) are not
   graded again; every other student gets a :class:`~seqlab.tools.grading.job.GradingJob`;
4. **grade** the jobs with ``--workers N`` worker processes (:mod:`~seqlab.tools.grading.worker`), each in the
   student's own folder with a copy of the template gradebook (workers share no database, so results do not
   depend on how many run at once); as each ends, its ``result.json`` is read, its scores go into the class
   gradebook and its autograded notebook and feedback are published (serially, atomically);
5. **report**: scores graders gave by hand in the formgrader are brought into each student's feedback and row,
   and ``grades.csv`` is written atomically (:mod:`~seqlab.tools.grading.report`): one row per student, one
   column per graded cell, a status (``graded``, ``flagged``, ``invalid``, ``error``) and notes naming the
   notebook and cell.

The originals are never modified: workers grade copies.  Killing a run loses only the students being graded at
that moment; running the same command again finishes the class.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from seqlab.tools.course import Course, ToolError
from seqlab.tools.grading.collect import collect_submissions, why_not_gradable
from seqlab.tools.grading.gradebooks import (
    Column,
    apply_manual_grades,
    lesson_columns,
    manual_grades,
    prepare_gradebook,
)
from seqlab.tools.grading.job import GradingJob
from seqlab.tools.grading.kernel_server import KernelServer
from seqlab.tools.grading.limits import Capabilities, Limits, describe, notebook_time_limit, probe
from seqlab.tools.grading.pool import Job, Outcome, run_pool
from seqlab.tools.grading.records import (
    StudentResult,
    discard,
    last_line,
    load,
    load_current,
    merge_into_gradebook,
    publish,
    sha256_of,
)
from seqlab.tools.grading.report import write_csv
from seqlab.tools.grading.sandbox import clean_up_after, clean_up_stale, hidden_folders, warm_kernel_server
from seqlab.tools.grading.workspace import Workspace, gradebook_lock

__all__ = [
    "ClassGrades",
    "GradingRun",
    "grade",
    "grade_one",
    "submission_time_limit",
    "Prepared",
    "prepare",
    "triage",
    "grade_students",
    "report",
]


@dataclass(frozen=True)
class GradingRun:
    """What one ``seqlab grade`` run grades, where and how.

    Attributes:
        course: the course repository.
        submissions: a folder or zip of notebooks, one per student.
        lesson: the lesson's name, e.g. ``"01_rnn"``.
        workspace: where grading folders, feedback, the gradebook (unless elsewhere) and ``grades.csv`` go.
        limits: what each student's kernel may use.
        workers: how many students are graded at once.
        log: where progress lines go.
        warm_kernels: fork each kernel from a kernel server that has done the imports
            (:mod:`~seqlab.tools.grading.kernel_server`; as root on Linux) instead of starting it cold.
    """

    course: Course
    submissions: Path
    lesson: str
    workspace: Workspace
    limits: Limits = field(default_factory=Limits)
    workers: int = 1
    log: Callable[[str], None] = print
    warm_kernels: bool = True


@dataclass
class ClassGrades:
    """What a run produced: ``grades.csv``, the lesson's graded cells, and one result per student (by id)."""

    csv: Path
    columns: list[Column]
    results: list[StudentResult]

    @property
    def max_total(self) -> float:
        return sum(c.points for c in self.columns)


@dataclass(frozen=True)
class Prepared:
    """The lesson as step 2 leaves it: what every student's grading shares."""

    columns: list[Column]
    settings: dict  # what a result depends on besides the file: a change regrades
    capabilities: Capabilities
    hide: tuple[str, ...]  # folders a student's kernel must not see
    kernel_server: str = ""  # the socket of the run's kernel server ("": kernels start cold)
    server: KernelServer | None = None  # that server, still importing until step 4 waits for it


def grade(run: GradingRun) -> ClassGrades:
    """Autograde every submission; write grades.csv and feedback (see the module docstring)."""
    run.course.resolve_lessons([run.lesson])
    with (
        _locked(run.workspace),
        tempfile.TemporaryDirectory(prefix="seqlab-submissions-") as scratch,
        contextlib.ExitStack() as until_done,
    ):
        submissions, refused = collect_submissions(run.submissions, Path(scratch), run.lesson)  # 1. collect
        prepared = prepare(run, until_done)  # 2. prepare
        results, jobs = triage(run, prepared, submissions, refused)  # 3. triage
        grade_students(run, prepared, jobs, results)  # 4. grade
        return report(run, prepared, results)  # 5. report


def prepare(run: GradingRun, until_done: contextlib.ExitStack) -> Prepared:
    """Step 2: probe the machine's limits, put the lesson into the template and class gradebooks, start the kernel
    server (stopped by ``until_done``)."""
    capabilities = probe()
    run.log(describe(run.limits, capabilities))
    server = until_done.enter_context(warm_kernel_server(capabilities)) if run.warm_kernels else None  # importing
    clean_up_stale()  # work folders left by a run that was killed
    workspace, lesson, timeout = run.workspace, run.lesson, run.limits.timeout
    template = workspace.template(lesson)
    prepare_gradebook(run.course, lesson, template, timeout)
    if workspace.db_is_local and not (workspace.root / "gradebook.db").exists():
        shutil.copyfile(template.root / "gradebook.db", workspace.root / "gradebook.db")  # a new class: the template
    else:
        with gradebook_lock(workspace.db_url):  # update the lesson, keep the students
            prepare_gradebook(run.course, lesson, workspace, timeout)
    run.log(f"Kernels: {'forked from a kernel server with the imports done' if server else 'started cold'}")
    return Prepared(
        columns=lesson_columns(template, lesson),
        settings=_settings(run.course, lesson, run.limits),
        capabilities=capabilities,
        hide=tuple(hidden_folders(run.course, workspace.root, _folder_of(run.submissions))),
        kernel_server=server.path if server else "",
        server=server,
    )


def triage(
    run: GradingRun, prepared: Prepared, submissions: list[tuple[str, Path]], refused: list[tuple[str, str]]
) -> tuple[dict[str, StudentResult], list[Job]]:
    """Step 3: a result for every student (refused, invalid, or kept from an earlier run) or a job to grade them."""
    workspace, lesson = run.workspace, run.lesson
    grade_ids = {column.name for column in prepared.columns}
    results: dict[str, StudentResult] = {}
    jobs: list[Job] = []
    kept = 0
    for student, path in submissions:
        result = StudentResult(student, path.name, sha256=sha256_of(path), settings=prepared.settings)
        own = workspace.own(student, lesson)
        previous = load_current(own.root, result.sha256, prepared.settings)
        if previous is not None and previous.status != "error":  # a failed attempt is tried again
            results[student] = previous
            kept += 1
            merge_into_gradebook(own, workspace, lesson, student)  # idempotent: a run killed right after
            publish(own, workspace, student, lesson)
            continue
        results[student] = result
        problem = why_not_gradable(path, lesson, grade_ids)
        if problem:
            result.fail("invalid", problem)
            publish(own, workspace, student, lesson)  # nothing: removes stale published files
            continue
        jobs.append(_worker_job(run.course, workspace, lesson, result, path, prepared))
    for name, reason in refused:
        results[name] = StudentResult(name, name, status="invalid", notes=[reason])
    run.log(
        f"Grading {len(jobs)} submission(s) of {lesson} with {run.workers} worker(s) in {workspace.root}"
        + (f"; {kept} unchanged since the last run, kept" if kept else "")
    )
    return results, jobs


def grade_students(run: GradingRun, prepared: Prepared, jobs: list[Job], results: dict[str, StudentResult]) -> None:
    """Step 4: the workers, once the kernel server has done its imports (steps 2 and 3 ran meanwhile); as each ends,
    its result replaces the student's and reaches the class's folders."""
    workspace, lesson = run.workspace, run.lesson
    done = 0

    def on_done(job: Job, outcome: Outcome) -> None:
        nonlocal done
        done += 1
        own = workspace.own(job.key, lesson)
        result = results[job.key] = _finish(results[job.key], outcome, job.timeout, own.root)
        if result.status != "error":
            try:
                merge_into_gradebook(own, workspace, lesson, job.key)
                publish(own, workspace, job.key, lesson)
            except Exception as error:  # the grades stand; the class gradebook is a copy for the formgrader
                result.flag(f"could not copy into the class gradebook: {error}")
        run.log(f"  [{done}/{len(jobs)}] {job.key} {result.status} {result.total:g} ({outcome.seconds:.0f} s)")

    if jobs:
        from seqlab.tools.grading import worker  # nbgrader takes half a second to import: after the server started

        worker.preload()
        if prepared.server:
            prepared.server.wait()
    run_pool(jobs, run.workers, on_done)


def report(run: GradingRun, prepared: Prepared, results: dict[str, StudentResult]) -> ClassGrades:
    """Step 5: grades by hand from the formgrader into feedback and rows, then ``grades.csv``."""
    by_hand = manual_grades(run.workspace, run.lesson)
    for result in results.values():
        if result.status in ("graded", "flagged"):
            manual = by_hand.get(result.student, {})
            apply_manual_grades(run.course, run.workspace, run.lesson, result, manual, run.limits.timeout)
    ordered = sorted(results.values(), key=lambda r: r.student)
    for result in ordered:
        result.scores = {c.name: result.scores.get(c.name, 0.0) for c in prepared.columns}
    grades = ClassGrades(run.workspace.grades_csv(run.lesson), prepared.columns, ordered)
    write_csv(grades.csv, run.lesson, grades.columns, ordered, grades.max_total)
    for r in ordered:
        notes = f"  ({'; '.join(r.notes)})" if r.notes else ""
        run.log(f"  {r.student:<20} {r.status:<8} {r.total:g}/{grades.max_total:g}{notes}")
    run.log(f"Grades: {grades.csv}\nFeedback: {run.workspace.feedback('<student>', run.lesson)}")
    return grades


def grade_one(
    course: Course, lesson: str, workspace: Workspace, student: str, path: Path, limits: Limits | None = None
) -> StudentResult:
    """Grade one student in a worker, as ``grade`` does, without the class steps (for the benchmark).

    The template gradebook must be prepared (:func:`prepare_gradebook` on ``workspace.template(lesson)``).
    """
    limits = limits or Limits()
    settings = _settings(course, lesson, limits)
    hide = tuple(hidden_folders(course, workspace.root, path.parent))
    prepared = Prepared(lesson_columns(workspace.template(lesson), lesson), settings, probe(), hide)
    result = StudentResult(student, path.name, sha256=sha256_of(path), settings=settings)
    from seqlab.tools.grading import worker

    worker.preload()
    outcomes: list[Outcome] = []
    job = _worker_job(course, workspace, lesson, result, path, prepared)
    run_pool([job], 1, lambda _, outcome: outcomes.append(outcome))
    return _finish(result, outcomes[0], job.timeout, workspace.own(student, lesson).root)


@contextlib.contextmanager
def _locked(workspace: Workspace) -> Iterator[None]:
    """One grading run per workspace at a time (the lock dies with the process that holds it)."""
    workspace.root.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield
        return
    with open(workspace.lock, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ToolError(f"another seqlab grade is running in {workspace.root}; wait for it to finish") from None
        yield


def _folder_of(submissions: Path) -> Path:
    """The folder holding the class's files (a zip's folder: other classes' zips may sit beside it)."""
    return submissions if submissions.is_dir() else submissions.parent


def _locked_setup_cells(nb: nbformat.NotebookNode) -> int:
    """The instructor's locked code cells that award no points (set-up cells: they get a longer limit)."""
    count = 0
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("locked") and not meta.get("grade") and not meta.get("solution"):
            count += 1
    return count


def submission_time_limit(path: Path, release: Path, limits: Limits) -> int:
    """Seconds the grading of the notebook at ``path`` may take in all (``limits.notebook_time_limit``), from
    its code cells (a student may add some) and the released notebook's locked set-up cells."""
    code_cells = sum(1 for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")
    return notebook_time_limit(limits, code_cells, _locked_setup_cells(nbformat.read(release, as_version=4)))


def _settings(course: Course, lesson: str, limits: Limits) -> dict:
    """Everything a result depends on besides the submitted file: regrade when any changes."""
    return {"lesson": lesson, "source": sha256_of(course.solution(lesson)), "limits": limits.settings()}


def _worker_job(
    course: Course, workspace: Workspace, lesson: str, result: StudentResult, path: Path, prepared: Prepared
) -> Job:
    """The student's :class:`GradingJob`, written where the worker reads it, and the pool's job that runs it."""
    own = workspace.own(result.student, lesson)
    template = workspace.template(lesson).root / "gradebook.db"
    grading = GradingJob(
        course=course.root,
        lesson=lesson,
        student=result.student,
        submission=path,
        source=result.source,
        sha256=result.sha256,
        folder=own.root,
        template=template,
        settings=prepared.settings,
        capabilities=prepared.capabilities,
        hide=prepared.hide,
        kernel_server=prepared.kernel_server,
    )
    job_file = workspace.job(result.student, lesson)
    grading.write(job_file)
    discard(own.root)  # the result read back is this attempt's or none
    time_limit = submission_time_limit(path, grading.release, grading.limits)
    command = [sys.executable, "-m", "seqlab.tools.grading.worker", str(job_file)]
    entry = functools.partial(_run_worker, str(job_file))  # forked after worker.preload(): nbgrader is imported
    return Job(result.student, command, str(course.root), time_limit, entry=entry)


def _run_worker(job_file: str) -> int:
    """A forked worker's entry point: :func:`seqlab.tools.grading.worker.main` on ``job_file``."""
    from seqlab.tools.grading import worker

    return worker.main([job_file])


def _finish(result: StudentResult, outcome: Outcome, time_limit: float, folder: Path) -> StudentResult:
    """The worker's result (its ``result.json``), or an ``error`` result saying why there is none."""
    if outcome.timed_out:
        clean_up_after(outcome.pid)
        result.fail("error", f"grading took longer than {time_limit:g} s and was stopped")
        return result
    saved = load(folder)
    if saved is None or saved.sha256 != result.sha256:
        clean_up_after(outcome.pid)
        why = last_line(outcome.stderr)
        result.fail("error", f"the grading process failed (exit {outcome.returncode}): {why}")
        return result
    return saved
