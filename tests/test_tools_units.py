"""Fast unit tests of the instructor tooling (no kernel, no nbgrader run)."""

from __future__ import annotations

import csv
import os
import zipfile
from pathlib import Path

import pytest

from seqlab.tools.course import ToolError, kernel_environment
from seqlab.tools.grading.check import GradedCell, all_passed, format_table
from seqlab.tools.grading.collect import collect_submissions
from seqlab.tools.grading.records import StudentResult
from seqlab.tools.grading.report import write_csv
from seqlab.tools.submissions import make_submission, reference_answers
from tests.support import solution_notebook, student_notebook


def test_reference_answers_strip_markers_and_keep_the_code():
    answers = reference_answers(solution_notebook("01_rnn"))
    assert set(answers) == {
        "01-rnn-cell",
        "01-rnn-forward",
        "01-rnn-readout",
        "01-jordan-cell",
        "01-count-rnn-parameters",
    }
    assert "BEGIN SOLUTION" not in answers["01-rnn-cell"] and "torch.tanh" in answers["01-rnn-cell"]


def test_make_submission_fills_only_solution_cells_and_rejects_unknown_ids():
    release = student_notebook("01_rnn")
    filled = make_submission(release, {"01-rnn-cell": "def rnn_cell(*args):\n    return 0"})
    changed = [a.source != b.source for a, b in zip(release.cells, filled.cells, strict=True)]
    assert sum(changed) == 1
    assert "raise NotImplementedError()" in release.cells[changed.index(True)].source, "the release is not mutated"
    with pytest.raises(KeyError, match="01-rnn-cell-tests"):
        make_submission(release, {"01-rnn-cell-tests": "pass"})


def test_collect_submissions_from_a_folder_and_a_zip(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("bob.ipynb", "alice.ipynb", "notes.txt"):
        (folder / name).write_text("{}", encoding="utf-8")
    assert [s for s, _ in collect_submissions(folder, tmp_path)[0]] == ["alice", "bob"]

    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("deep/path/carol.ipynb", "{}")
        zipped.writestr("__MACOSX/._carol.ipynb", "junk")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    assert [s for s, _ in collect_submissions(archive, scratch)[0]] == ["carol"]

    with zipfile.ZipFile(archive, "a") as zipped:
        zipped.writestr("other/carol.ipynb", "{}")
        zipped.writestr("dan.ipynb", "{}")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    pairs, refused = collect_submissions(archive, fresh)
    assert [s for s, _ in pairs] == ["dan"]  # the rest of the class is graded
    assert [name for name, _ in refused] == ["deep/path/carol.ipynb", "other/carol.ipynb"]
    assert all("2 notebooks of student 'carol' in the zip" in reason for _, reason in refused)


def test_one_bad_file_is_refused_alone(tmp_path, monkeypatch):
    from seqlab.tools.grading import collect

    monkeypatch.setattr(collect, "MAX_NOTEBOOK_BYTES", 1000)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ann.ipynb").write_text("{}", encoding="utf-8")
    (folder / "x.ipynb").mkdir()  # a folder named like a notebook
    (folder / "big.ipynb").write_bytes(b" " * 2000)
    pairs, refused = collect_submissions(folder, tmp_path)
    assert [s for s, _ in pairs] == ["ann"]
    assert dict(refused) == {
        "big.ipynb": "the notebook is larger than 0 MB: not read",
        "x.ipynb": "a folder (or special file) named like a notebook, not a notebook",
    }

    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("huge.ipynb", b" " * 5000)  # compresses to a few bytes
        zipped.writestr("ann.ipynb", "{}")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    pairs, refused = collect_submissions(archive, scratch)
    assert [s for s, _ in pairs] == ["ann"] and [name for name, _ in refused] == ["huge.ipynb"]
    assert not (scratch / "huge.ipynb").exists()


def test_every_csv_cell_is_safe_in_a_spreadsheet(tmp_path):
    results = [
        StudentResult("=HYPERLINK(1)", "=HYPERLINK(1)", status="invalid", notes=["-2+3 in a note"]),
        StudentResult("ann", "@ann.ipynb", status="graded", scores={"a": -1.0}),
    ]
    path = tmp_path / "grades.csv"
    write_csv(path, "01_rnn", [("a", 2.0)], results, 2.0)
    rows = list(csv.reader(path.open(encoding="utf-8")))
    cells = [cell for row in rows for cell in row]
    assert not any(cell[:1] in "=+@" and cell for cell in cells)
    assert "'=HYPERLINK(1)" in rows[1] and "'-2+3 in a note" in rows[1] and "'@ann.ipynb" in rows[2]
    assert "-1" in rows[2]  # numbers stay numbers


@pytest.mark.parametrize("name", ["has space.ipynb", "-dash-first.ipynb", "01_rnn (1).ipynb"])
def test_collect_submissions_refuses_names_that_are_not_ids_without_stopping_the_class(tmp_path, name):
    (tmp_path / name).write_text("{}", encoding="utf-8")
    (tmp_path / "ann.ipynb").write_text("{}", encoding="utf-8")
    pairs, refused = collect_submissions(tmp_path, tmp_path)
    assert [s for s, _ in pairs] == ["ann"]
    assert refused == [(name, "the file name is not a student id (letters, digits, '_', '.', '@', '-'): rename it")]


def test_collect_submissions_reads_nbgraders_collected_folder(tmp_path):
    """`nbgrader collect` leaves <student>/<lesson>/<lesson>.ipynb; a student folder without it gets a row."""
    for student in ("ann", "bob"):
        (tmp_path / student / "01_rnn").mkdir(parents=True)
        (tmp_path / student / "01_rnn" / "01_rnn.ipynb").write_text("{}", encoding="utf-8")
        (tmp_path / student / "01_rnn" / "timestamp.txt").write_text("2026-11-22 10:00:00 UTC", encoding="utf-8")
    (tmp_path / "cid" / "01_rnn").mkdir(parents=True)  # submitted another file name
    (tmp_path / "cid" / "01_rnn" / "mine.ipynb").write_text("{}", encoding="utf-8")
    pairs, refused = collect_submissions(tmp_path, tmp_path, "01_rnn")
    assert pairs == [(s, tmp_path / s / "01_rnn" / "01_rnn.ipynb") for s in ("ann", "bob")]
    assert [name for name, _ in refused] == ["cid"] and "no 01_rnn.ipynb" in refused[0][1]
    # Without the lesson, or for another lesson, the folder is not read as nbgrader's layout.
    with pytest.raises(ToolError, match="no .ipynb submissions"):
        collect_submissions(tmp_path, tmp_path)
    with pytest.raises(ToolError, match="no .ipynb submissions"):
        collect_submissions(tmp_path, tmp_path, "02_gradients")


def test_collect_submissions_refuses_a_plain_file(tmp_path):
    path = tmp_path / "grades.txt"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(ToolError, match="not a folder and not a zip"):
        collect_submissions(path, tmp_path)


def test_grades_csv_is_written_whole(tmp_path):
    results = [StudentResult("ann", "ann.ipynb", scores={"a-tests": 2.0, "b-tests": 0.0}, notes=["cell 3 timed out"])]
    path = tmp_path / "grades.csv"
    write_csv(path, "01_rnn", [("a-tests", 2.0), ("b-tests", 3.0)], results, 5.0)
    assert path.read_text(encoding="utf-8").splitlines() == [
        "student_id,lesson,status,score,max_score,a-tests (2),b-tests (3),notes,submission",
        "ann,01_rnn,graded,2,5,2,0,cell 3 timed out,ann.ipynb",
    ]
    assert not list(tmp_path.glob("*.tmp")), "no temporary file left behind"


def test_check_table_and_verdict():
    results = [
        GradedCell("01-a-tests", 2, 2, ""),
        GradedCell("01-b-tests", 3, 0, "CheckFailed: H_all has the wrong shape"),
        GradedCell("01-essay", 2, 0, "graded by hand", manual=True),
    ]
    table = format_table(Path("01_x.ipynb"), results, None)
    assert "2 / 5 points" in table
    assert "01-b-tests  0/3      FAIL    CheckFailed: H_all has the wrong shape" in table
    assert "manual" in table
    assert not all_passed(results, None)
    assert all_passed(results[:1] + results[2:], None)
    assert not all_passed(results[:1], "the kernel died")


def test_kernel_environment_sets_removes_and_restores(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("SEQLAB_PROGRESS", "1")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    with kernel_environment(SEQLAB_PROGRESS="0", NBGRADER_EXECUTION="validate"):
        assert "MPLBACKEND" not in os.environ, "kernels must keep their inline backend"
        assert os.environ["SEQLAB_PROGRESS"] == "0" and os.environ["NBGRADER_EXECUTION"] == "validate"
    assert os.environ["MPLBACKEND"] == "Agg" and os.environ["SEQLAB_PROGRESS"] == "1"
    assert "NBGRADER_EXECUTION" not in os.environ


def test_execute_stores_consecutive_prints_of_a_cell_as_one_output():
    from nbformat.v4 import new_code_cell, new_output

    from seqlab.tools.execute import coalesce_streams

    cell = new_code_cell(
        "...",
        outputs=[
            new_output("stream", name="stdout", text="a\n"),
            new_output("stream", name="stdout", text="b\n"),
            new_output("stream", name="stderr", text="warning\n"),
            new_output("display_data", data={"text/plain": "figure"}),
            new_output("stream", name="stdout", text="c\n"),
            new_output("stream", name="stdout", text="d\n"),
        ],
    )
    coalesce_streams(cell)
    assert [(o.output_type, o.get("name"), o.get("text")) for o in cell.outputs] == [
        ("stream", "stdout", "a\nb\n"),
        ("stream", "stderr", "warning\n"),
        ("display_data", None, None),
        ("stream", "stdout", "c\nd\n"),
    ]
