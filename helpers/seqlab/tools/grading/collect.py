"""Which students handed in what: one notebook per student from a folder, a zip, or nbgrader's collected layout.

Every refusal is a row of its own, never the run's end (a bad file name, a folder named like a notebook, a
notebook over :data:`MAX_NOTEBOOK_BYTES`, a damaged zip entry, several notebooks of one student in a zip), and
:func:`why_not_gradable` says why a file that was collected is not this lesson's notebook.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path

import nbformat

from seqlab.tools.course import ToolError

__all__ = ["MAX_NOTEBOOK_BYTES", "STUDENT_ID", "collect_submissions", "why_not_gradable"]

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
#: A submitted notebook larger than this is refused unread (lesson notebooks with outputs are a few MB).
MAX_NOTEBOOK_BYTES = 64 * 2**20


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


def why_not_gradable(path: Path, lesson: str, grade_ids: set[str]) -> str | None:
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
