"""``seqlab grade SUBMISSIONS --lesson L``: autograde a whole class with nbgrader, safely and in parallel.

SUBMISSIONS is a folder or a zip of notebooks, one per student, named by student id
(``alice.ipynb``).  The run

1. takes a lock on the workspace (one run at a time), probes which limits this machine enforces
   (:mod:`seqlab.tools.limits`), and prepares the lesson once: a template gradebook holding the
   assignment (with its hidden tests), and the class gradebook the formgrader uses;
2. checks each file in this process: not a notebook, or not this lesson's notebook, makes the
   student ``invalid`` at once; a student whose file and settings are unchanged since a complete
   earlier result (``result.json``, matched by SHA-256) is not graded again;
3. grades the rest with ``--workers N`` worker processes (:mod:`seqlab.tools.grade_worker`), each
   in the student's own folder with a copy of the template gradebook: workers share no database,
   so results do not depend on how many run at once;
4. as each worker ends, copies its scores into the class gradebook and publishes the autograded
   notebook and feedback (serially, in this process, atomically);
5. writes ``grades.csv`` atomically: one row per student, one column per graded cell, a status
   (``graded``, ``flagged``, ``invalid``, ``error``) and notes naming the notebook and cell.

The originals are never modified: workers grade copies.  Killing a run loses only the students
being graded at that moment; running the same command again finishes the class.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat

from seqlab.tools.course import Course, ToolError, ensure_scripts_on_path
from seqlab.tools.limits import Capabilities, Limits, describe, notebook_time_limit, probe
from seqlab.tools.pool import Job, Outcome, run_pool
from seqlab.tools.records import (
    StudentResult,
    load_current,
    merge_into_gradebook,
    publish,
    save,
    sha256_of,
    write_atomically,
)
from seqlab.tools.sandbox import clean_up_stale
from seqlab.tools.workspace import Workspace, gradebook_lock, nbgrader_config

__all__ = ["StudentResult", "apply_manual_grades", "collect_submissions", "grade", "grade_one", "prepare_gradebook"]

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
#: A submitted notebook larger than this is refused unread (lesson notebooks with outputs are a few MB).
MAX_NOTEBOOK_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Column:
    """A graded cell of the lesson: its grade id, points, and whether it is answered in words."""

    name: str
    points: float
    written: bool = False


def _collected(folder: Path, lesson: str | None) -> list[tuple[str, Path]] | None:
    """``(student folder name, notebook)`` from nbgrader's collected layout, or None if ``folder`` is not one.

    ``nbgrader collect`` leaves ``<student>/<lesson>/<lesson>.ipynb`` (with the student's ``timestamp.txt``
    beside it). A student folder without the notebook is listed with the path it should have had.
    """
    if lesson is None or any(folder.glob("*.ipynb")):
        return None
    students = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not any((p / lesson).is_dir() for p in students):
        return None
    return [(p.name, p / lesson / f"{lesson}.ipynb") for p in students]


#: Bytes copied at a time from a zip entry: nothing is read whole into memory.
_CHUNK = 2**20


def _entry_parts(member: zipfile.ZipInfo) -> tuple[str, ...]:
    """The entry's path as plain parts (no ``..``, no root, no empty part)."""
    return tuple(part for part in member.filename.replace("\\", "/").split("/") if part not in ("", ".", ".."))


def _entry_student(parts: tuple[str, ...], lesson: str | None) -> str:
    """The student a notebook entry belongs to: ``<student>/<lesson>/<lesson>.ipynb`` (what ``nbgrader collect``
    writes, anywhere in the zip) names the student by its folder; any other entry by its file name."""
    if lesson and len(parts) >= 3 and parts[-2:] == (lesson, f"{lesson}.ipynb"):
        return parts[-3]
    return parts[-1].removesuffix(".ipynb")


def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path) -> str | None:
    """Copy one entry to ``target`` in chunks, at most :data:`MAX_NOTEBOOK_BYTES`; why not, or None if done.

    The size in the entry's header can lie: the copy stops one byte past the cap whatever it says.  A damaged,
    encrypted or oddly compressed entry is refused like an oversized one: it costs its row, never the run.
    """
    too_big = f"the notebook is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB: not read"
    if member.file_size > MAX_NOTEBOOK_BYTES:
        return too_big
    copied = 0
    try:
        with archive.open(member) as source, open(target, "wb") as sink:
            while chunk := source.read(min(_CHUNK, MAX_NOTEBOOK_BYTES + 1 - copied)):
                sink.write(chunk)
                copied += len(chunk)
                if copied > MAX_NOTEBOOK_BYTES:
                    break
    except Exception as error:  # BadZipFile (bad CRC), RuntimeError (encrypted), zlib.error, OSError, ...
        target.unlink(missing_ok=True)
        return f"the zip entry cannot be read ({type(error).__name__}: {str(error)[:120]})"
    if copied > MAX_NOTEBOOK_BYTES:
        target.unlink(missing_ok=True)
        return too_big
    return None


def _unzip(source: Path, scratch: Path, lesson: str | None = None) -> list[tuple[str, str]]:
    """Extract the zip's notebooks into ``scratch`` as ``<student>.ipynb``; return (entry, reason) for entries refused.

    Each refusal is a row of its own, never the run's end: an entry over :data:`MAX_NOTEBOOK_BYTES` (by its
    header or by what it really holds; copied in chunks, never read whole), a damaged or encrypted entry, a
    folder named like a notebook, and every entry of a student who has several (which one counts is the
    instructor's call; entries of nbgrader's collected layout, all named ``<lesson>.ipynb``, are each their
    folder's student, see :func:`_entry_student`).
    """
    refused: list[tuple[str, str]] = []
    with zipfile.ZipFile(source) as archive:
        by_student: dict[str, list[zipfile.ZipInfo]] = {}
        for member in archive.infolist():
            parts = _entry_parts(member)
            if not parts or any(part.startswith(".") for part in parts):
                continue
            if member.is_dir():
                if parts[-1].endswith(".ipynb"):
                    refused.append((member.filename, "a folder named like a notebook, not a notebook"))
                continue
            if parts[-1].endswith(".ipynb"):
                by_student.setdefault(_entry_student(parts, lesson), []).append(member)
        for student, found in by_student.items():
            if len(found) > 1:
                where = ", ".join(m.filename for m in found)
                why = f"{len(found)} notebooks of student {student!r} in the zip ({where}): one notebook per student"
                refused += [(m.filename, why) for m in found]
                continue
            problem = _extract(archive, found[0], scratch / f"{student}.ipynb")
            if problem:
                refused.append((found[0].filename, problem))
    return refused


def collect_submissions(
    source: Path, scratch: Path, lesson: str | None = None
) -> tuple[list[tuple[str, Path]], list[tuple[str, str]]]:
    """(student id, notebook path) pairs from a folder or a zip, and (file name, reason) for files refused.

    A file whose name is not a student id, a folder named like a notebook, a notebook over
    :data:`MAX_NOTEBOOK_BYTES`, a damaged zip entry and every notebook of a student with several in a
    zip are refused, not graded: each gets a row of its own, so one bad file never stops a class.
    Given ``lesson``, a folder or zip in nbgrader's collected layout (``<student>/<lesson>/<lesson>.ipynb``,
    what ``nbgrader collect`` writes) is read too.

    Raises:
        ToolError: ``source`` does not exist or holds no notebooks.
    """
    if not source.exists():
        raise ToolError(f"{source}: no such folder or zip")
    refused: list[tuple[str, str]] = []
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise ToolError(f"{source}: not a folder and not a zip file")
        refused += _unzip(source, scratch, lesson)
        folder = scratch
    else:
        folder = source
    collected = _collected(folder, lesson)
    if collected is not None:
        pairs = []
        for student, path in collected:
            if not STUDENT_ID.match(student):
                refused.append((student, "the folder name is not a student id (letters, digits, '_', '.', '@', '-')"))
            elif not path.is_file():
                refused.append((student, f"no {path.name} in {path.parent} (nbgrader's collected folder)"))
            elif path.stat().st_size > MAX_NOTEBOOK_BYTES:
                refused.append((student, f"the notebook is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB: not read"))
            else:
                pairs.append((student, path))
        return pairs, refused
    pairs = []
    for path in sorted(folder.glob("*.ipynb")):
        if not path.is_file():
            refused.append((path.name, "a folder (or special file) named like a notebook, not a notebook"))
        elif not STUDENT_ID.match(path.stem):
            refused.append(
                (path.name, "the file name is not a student id (letters, digits, '_', '.', '@', '-'): rename it")
            )
        elif path.stat().st_size > MAX_NOTEBOOK_BYTES:
            refused.append((path.name, f"the notebook is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB: not read"))
        else:
            pairs.append((path.stem, path))
    if not pairs and not refused:
        raise ToolError(f"{source}: no .ipynb submissions found (expected one notebook per student, named by id)")
    return pairs, refused


def prepare_gradebook(course: Course, lesson: str, workspace: Workspace, cell_timeout: int) -> None:
    """Register the lesson (cells, points, hidden tests) in the workspace's gradebook.

    nbgrader needs the *source* of every test cell in its gradebook: at grading time it restores
    test cells (with their hidden tests) from there, whatever the student did to them.
    """
    from nbgrader.apps import NbGraderAPI

    ensure_scripts_on_path()
    workspace.root.mkdir(parents=True, exist_ok=True)
    api = NbGraderAPI(config=nbgrader_config(course.root, workspace, cell_timeout))
    prepared = api.generate_assignment(lesson, force=True, create=True)
    if not prepared["success"]:
        raise ToolError(f"nbgrader could not prepare {lesson} for grading:\n{prepared.get('log', '')}")


def lesson_columns(workspace: Workspace, lesson: str) -> list[Column]:
    """The lesson's graded cells in notebook order, from a prepared gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(workspace.db_url, course_id="seqmodels") as gradebook:
        notebook = gradebook.find_assignment(lesson).notebooks[0]
        written = {cell.name for cell in notebook.solution_cells}
        return [Column(cell.name, float(cell.max_score), cell.name in written) for cell in notebook.grade_cells]


def check_notebook(path: Path, lesson: str, grade_ids: set[str]) -> str | None:
    """Why ``path`` cannot be graded as this lesson's notebook, or None if it can."""
    try:
        text = path.read_text(encoding="utf-8")
        if not text.strip():
            return "not a valid notebook: the file is empty"
        nb = nbformat.reads(text, as_version=4)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicated cell ids: repaired when graded
            nbformat.validate(nb)
    except Exception as error:
        reason = str(error).splitlines()[0][:200] if str(error) else repr(error)
        return f"not a valid notebook: {reason}"
    found = {cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") for cell in nb.cells} - {None}
    if not found & grade_ids:
        others = ", ".join(sorted(str(f) for f in found)[:3]) or "none"
        return f"not the {lesson} notebook: none of its graded cells are in it (grade ids found: {others})"
    return None


def _write_csv(path: Path, lesson: str, columns: list, results: list[StudentResult], max_total: float) -> None:
    """One row per student, one column per graded cell (headed "grade_id (max points)"); atomic.

    ``columns`` holds (grade id, max points) pairs or :class:`Column` objects.
    """
    columns = [(c.name, c.points) if isinstance(c, Column) else c for c in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    headers = [f"{name} ({max_score:g})" for name, max_score in columns]
    header = ["student_id", "lesson", "status", "score", "max_score", *headers, "notes", "submission"]
    writer.writerow([_spreadsheet_safe(cell) for cell in header])
    for r in results:
        row = [
            r.student,
            lesson,
            r.status,
            f"{r.total:g}",
            f"{max_total:g}",
            *(f"{r.scores.get(name, 0.0):g}" for name, _ in columns),
            "; ".join(r.notes),
            r.source,
        ]
        writer.writerow([_spreadsheet_safe(cell) for cell in row])
    write_atomically(path, buffer.getvalue().encode("utf-8"))


def _spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet will not run as a formula: every cell of the CSV goes through here.

    Student-controlled text reaches many cells (a refused file's name is its row's id, notes quote
    error messages).  A number such as ``-1`` or ``1e-05`` stays a number.
    """
    if text[:1] in ("=", "+", "-", "@", "\t", "\r", "\n") and not _NUMBER.match(text):
        return "'" + text
    return text


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


def _git_folders(root: Path) -> list[Path]:
    """The repository's git folders (every solution and hidden test is in its history).

    In a worktree ``.git`` is a file naming the worktree's git folder, which names the shared one.
    """
    dot_git = root / ".git"
    if dot_git.is_dir():
        return [dot_git]
    try:
        text = dot_git.read_text(encoding="utf-8").strip()
    except OSError:
        return []
    if not text.startswith("gitdir:"):
        return []
    own = (root / text.split(":", 1)[1].strip()).resolve()
    folders = [own]
    with contextlib.suppress(OSError):
        folders.append((own / (own / "commondir").read_text(encoding="utf-8").strip()).resolve())
    return [folder for folder in folders if folder.is_dir()]


def _hidden_folders(course: Course, workspace: Workspace, submissions: Path) -> list[str]:
    """What student code must not see: the solutions, the git history, the grading workspace, the submissions."""
    folders = [course.solutions, *_git_folders(course.root), workspace.root]
    folders.append(submissions if submissions.is_dir() else submissions.parent)
    return list(dict.fromkeys(str(folder.resolve()) for folder in folders))


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
    course: Course,
    workspace: Workspace,
    lesson: str,
    result: StudentResult,
    path: Path,
    settings: dict,
    capabilities: Capabilities,
    hide: list[str],
) -> Job:
    own = workspace.own(result.student, lesson)
    template = workspace.template(lesson).root
    release = template / "release" / lesson / f"{lesson}.ipynb"
    time_limit = submission_time_limit(path, release, Limits(**settings["limits"]))
    command = [
        sys.executable,
        "-m",
        "seqlab.tools.grade_worker",
        "--course",
        str(course.root),
        "--root",
        str(own.root),
        "--template",
        str(template / "gradebook.db"),
        "--lesson",
        lesson,
        "--student",
        result.student,
        "--submission",
        str(path),
        "--source",
        result.source,
        "--sha256",
        result.sha256,
        "--settings",
        json.dumps(settings),
        "--capabilities",
        json.dumps(capabilities.__dict__, default=list),
        "--hide",
        json.dumps(hide),
    ]
    from seqlab.tools import grade_worker  # imported here, so forked workers start with nbgrader loaded

    return Job(result.student, command, str(course.root), time_limit, entry=grade_worker.main)


def _finish(result: StudentResult, outcome: Outcome, time_limit: float) -> StudentResult:
    """The worker's result, or an ``error`` result saying why there is none."""
    from seqlab.tools.grade_worker import last_line
    from seqlab.tools.sandbox import clean_up_after

    if outcome.timed_out:
        clean_up_after(outcome.pid)
        result.fail("error", f"grading took longer than {time_limit:g} s and was stopped")
        return result
    try:
        data = json.loads(outcome.stdout.strip().splitlines()[-1])
        return StudentResult(**data)
    except (IndexError, ValueError, TypeError):
        clean_up_after(outcome.pid)
        result.fail("error", f"the grading process failed (exit {outcome.returncode}): {last_line(outcome.stderr)}")
        return result


def grade_one(
    course: Course, lesson: str, workspace: Workspace, student: str, path: Path, limits: Limits | None = None
) -> StudentResult:
    """Grade one student in a worker, as ``grade`` does, without the class steps (for the benchmark).

    The template gradebook must be prepared (:func:`prepare_gradebook` on ``workspace.template(lesson)``).
    """
    from seqlab.tools.grade_worker import preload

    limits = limits or Limits()
    settings = _settings(course, lesson, limits)
    result = StudentResult(student, path.name, sha256=sha256_of(path), settings=settings)
    hide = _hidden_folders(course, workspace, path.parent)
    preload()
    outcomes: list[Outcome] = []
    job = _worker_job(course, workspace, lesson, result, path, settings, probe(), hide)
    run_pool([job], 1, lambda _, outcome: outcomes.append(outcome))
    return _finish(result, outcomes[0], job.timeout)


def manual_grades(workspace: Workspace, lesson: str) -> dict[str, dict]:
    """What graders gave by hand in the class gradebook, per student with any (one read of the gradebook):
    ``{student: {"scores": {grade id: points}, "comments": {comment name: text}}}``."""
    from nbgrader.api import Gradebook, MissingEntry

    found = {}
    with Gradebook(workspace.db_url, course_id="seqmodels") as gradebook:
        try:
            submissions = gradebook.find_assignment(lesson).submissions
        except MissingEntry:
            return {}
        for submission in submissions:
            scores, comments = {}, {}
            for notebook in submission.notebooks:
                scores.update({g.name: float(g.manual_score) for g in notebook.grades if g.manual_score is not None})
                comments.update({c.name: c.manual_comment for c in notebook.comments if c.manual_comment})
            if scores or comments:
                found[submission.student.id] = {"scores": scores, "comments": comments}
    return found


def apply_manual_grades(
    course: Course, workspace: Workspace, lesson: str, result: StudentResult, manual: dict, timeout: int
) -> None:
    """Bring what graders gave by hand in the formgrader into the student's row and feedback.

    Written answers are graded in the formgrader, which writes into the class gradebook.  The next `seqlab grade`
    run (the same command; nobody is graded again) copies those scores and comments into the student's own
    gradebook, writes their feedback again (with the scores by hand, through the same step as after autograding)
    and publishes it, and its grades.csv shows the scores.  Only students whose scores by hand changed since their
    feedback was written are touched.
    """
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI

    from seqlab.tools.feedback import FEEDBACK_PREPROCESSORS
    from seqlab.tools.grade_worker import generate_feedback, last_line

    if not manual or manual == result.manual:
        result.scores.update(manual.get("scores", {}))
        return
    own = workspace.own(result.student, lesson)
    with Gradebook(own.db_url, course_id="seqmodels") as gradebook:
        notebook = gradebook.find_submission(lesson, result.student).notebooks[0]
        for grade in notebook.grades:
            if grade.name in manual["scores"]:
                grade.manual_score = manual["scores"][grade.name]
                grade.needs_manual_grade = False
        for comment in notebook.comments:
            if comment.name in manual["comments"]:
                comment.manual_comment = manual["comments"][comment.name]
        gradebook.db.commit()
    config = nbgrader_config(course.root, own, timeout)
    config.GenerateFeedback.preprocessors = list(FEEDBACK_PREPROCESSORS)  # as after autograding: nothing hidden
    api = NbGraderAPI(config=config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feedback = generate_feedback(api, lesson, result.student)
    if not feedback["success"]:
        result.flag(f"feedback with the scores graded by hand could not be written: {last_line(feedback.get('error'))}")
        return
    publish(own, workspace, result.student, lesson)
    result.scores.update(manual["scores"])
    graded = set(manual["scores"])
    result.notes = [
        f"{n.split(' ')[0]} graded by hand"
        if n.endswith("needs manual grading (written answer)") and n.split(" ")[0] in graded
        else n
        for n in result.notes
    ]
    result.manual = manual
    save(result, own.root)


def grade(
    course: Course,
    submissions: Path,
    lesson: str,
    workspace: Workspace,
    limits: Limits | None = None,
    workers: int = 1,
    log: Callable[[str], None] = print,
    *,
    cell_timeout: int | None = None,
) -> tuple[Path, list[StudentResult]]:
    """Autograde every submission; write grades.csv and feedback.  Returns (csv path, results)."""
    limits = limits or Limits()
    if cell_timeout is not None:
        limits = Limits(**{**limits.settings(), "timeout": cell_timeout})
    course.resolve_lessons([lesson])
    with _locked(workspace):
        with tempfile.TemporaryDirectory(prefix="seqlab-submissions-") as scratch:
            pairs, refused = collect_submissions(submissions, Path(scratch), lesson)  # bad input fails before any work
            capabilities = probe()
            log(describe(limits, capabilities))
            clean_up_stale()  # work folders left by a run that was killed
            template = workspace.template(lesson)
            prepare_gradebook(course, lesson, template, limits.timeout)
            if workspace.db_is_local and not (workspace.root / "gradebook.db").exists():
                # a new class gradebook: the template is exactly that
                shutil.copyfile(template.root / "gradebook.db", workspace.root / "gradebook.db")
            else:
                with gradebook_lock(workspace.db_url):  # update the lesson, keep the students
                    prepare_gradebook(course, lesson, workspace, limits.timeout)
            columns = lesson_columns(workspace.template(lesson), lesson)
            grade_ids = {column.name for column in columns}
            settings = _settings(course, lesson, limits)
            hide = _hidden_folders(course, workspace, submissions)

            results: dict[str, StudentResult] = {}
            jobs, reused = [], 0
            for student, path in pairs:
                result = StudentResult(student, path.name, sha256=sha256_of(path), settings=settings)
                own = workspace.own(student, lesson)
                previous = load_current(own.root, result.sha256, settings)
                if previous is not None and previous.status != "error":  # a failed attempt is tried again
                    results[student] = previous
                    reused += 1
                    merge_into_gradebook(own, workspace, lesson, student)  # idempotent: a run killed right after
                    publish(own, workspace, student, lesson)
                    continue
                results[student] = result
                problem = check_notebook(path, lesson, grade_ids)
                if problem:
                    result.fail("invalid", problem)
                    publish(own, workspace, student, lesson)  # nothing: removes stale published files
                    continue
                jobs.append(_worker_job(course, workspace, lesson, result, path, settings, capabilities, hide))
            for name, reason in refused:
                results[name] = StudentResult(name, name, status="invalid", notes=[reason])

            log(
                f"Grading {len(jobs)} submission(s) of {lesson} with {workers} worker(s) in {workspace.root}"
                + (f"; {reused} unchanged since the last run, kept" if reused else "")
            )
            done = 0

            def on_done(job: Job, outcome: Outcome) -> None:
                nonlocal done
                done += 1
                result = _finish(results[job.key], outcome, job.timeout)
                results[job.key] = result
                own = workspace.own(job.key, lesson)
                if result.status != "error":
                    try:
                        merge_into_gradebook(own, workspace, lesson, job.key)
                        publish(own, workspace, job.key, lesson)
                    except Exception as error:  # the grades stand; the class gradebook is a copy for the formgrader
                        result.flag(f"could not copy into the class gradebook: {error}")
                log(f"  [{done}/{len(jobs)}] {job.key} {result.status} {result.total:g} ({outcome.seconds:.0f} s)")

            if jobs:
                from seqlab.tools.grade_worker import preload

                preload()
            run_pool(jobs, workers, on_done)
            by_hand = manual_grades(workspace, lesson)
            for result in results.values():
                if result.status in ("graded", "flagged"):
                    manual = by_hand.get(result.student, {})
                    apply_manual_grades(course, workspace, lesson, result, manual, limits.timeout)

        ordered = sorted(results.values(), key=lambda r: r.student)
        for result in ordered:
            result.scores = {c.name: result.scores.get(c.name, 0.0) for c in columns}
        max_total = sum(c.points for c in columns)
        csv_path = workspace.grades_csv(lesson)
        _write_csv(csv_path, lesson, columns, ordered, max_total)
        for r in ordered:
            notes = f"  ({'; '.join(r.notes)})" if r.notes else ""
            log(f"  {r.student:<20} {r.status:<8} {r.total:g}/{max_total:g}{notes}")
        log(f"Grades: {csv_path}\nFeedback: {workspace.feedback('<student>', lesson)}")
    return csv_path, ordered
