"""The hostile catalogue (tests/hostile/) graded in one `seqlab grade --workers 2` run, next to two honest
students: every case gets its expected status, points and note; the honest students keep full marks; the
submissions are not modified; no student's code reached the network or wrote outside its folder; nothing is
left running."""

from __future__ import annotations

import csv
import io
import json
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from seqlab.tools.grading.limits import probe
from tests.hostile import lesson_01_rnn as catalogue
from tests.support import REPO, digests, grade_class, grade_columns, read_grades, submission

pytestmark = pytest.mark.slow
LESSON = catalogue.LESSON
SECRET = "s3cr3t-token-of-the-instructor"
HONEST = ("honest_ann", "honest_bob")
CELL_TIMEOUT = 10
MEMORY = "3G"


class Listener:
    """A TCP server on this machine's loopback that records whether anyone connected."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.5)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=5)
        self.server.close()


def _left_by_dead_workers() -> list[str]:
    """Work folders, and tmpfs mounted under them, whose grading worker has ended (another run's are left alone)."""
    from seqlab.tools.grading.sandbox import SANDBOX_PREFIX, pid_alive

    left = [str(p) for p in Path(tempfile.gettempdir()).glob(f"{SANDBOX_PREFIX}*")]
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        left += [line.split()[4] for line in handle if SANDBOX_PREFIX in line.split()[4]]
    return [path for path in left if not pid_alive(int(path.split(SANDBOX_PREFIX)[1].split("-")[0]))]


@dataclass(frozen=True)
class GradedCatalogue:
    """The catalogue as one `seqlab grade --workers 2` run left it."""

    done: subprocess.CompletedProcess
    seconds: float
    submissions: Path
    before: dict[str, str]
    workspace: Path
    connections: int
    canary: Path
    leaked: bool


@pytest.fixture(scope="session")  # once per test process: its two tests share an xdist group
def graded_catalogue(tmp_path_factory) -> GradedCatalogue:
    """The hostile catalogue and two honest students, graded once for the tests of this module that use it."""
    tmp_path = tmp_path_factory.mktemp("hostile")
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    canary = tmp_path / "canary-written-by-a-student.txt"
    listener = Listener()
    stray = REPO / "helpers" / "seqlab" / "hostile_was_here.py"
    try:
        catalogue.write_all(submissions, {"port": listener.port, "canary": str(canary)})
        for honest in HONEST:
            nbformat.write(submission(LESSON), submissions / f"{honest}.ipynb")
        before = digests(submissions)
        workspace = tmp_path / "workspace"

        started = time.monotonic()
        done = grade_class(
            submissions,
            LESSON,
            workspace,
            "--timeout",
            str(CELL_TIMEOUT),
            "--workers",
            "2",
            "--memory",
            MEMORY,  # the memory bomb fills less before it is stopped
            env={"GRADER_SECRET": SECRET},
        )
        seconds = time.monotonic() - started
    finally:
        listener.close()
        leaked = stray.exists()
        stray.unlink(missing_ok=True)
    return GradedCatalogue(done, seconds, submissions, before, workspace, listener.connections, canary, leaked)


@pytest.mark.xdist_group("hostile-catalogue")
def test_hostile_catalogue_in_one_parallel_run(graded_catalogue):
    done, seconds, submissions = graded_catalogue.done, graded_catalogue.seconds, graded_catalogue.submissions
    before, workspace, canary = graded_catalogue.before, graded_catalogue.workspace, graded_catalogue.canary
    print(done.stdout[-6000:])
    print(f"graded {len(catalogue.CASES) + 2} submissions in {seconds:.0f} s")
    assert done.returncode == 1, done.stdout + done.stderr
    assert digests(submissions) == before, "submissions must never be modified"
    assert graded_catalogue.connections == 0, "a student's code reached the network"
    assert not canary.exists() and not graded_catalogue.leaked, "a student's code wrote outside its folder"
    assert not Path("/dev/shm/seqlab-hostile-hoard").exists(), "a kernel's /dev/shm outlived it (or was shared)"
    for name in ("seqlab-hostile-left-behind", "seqlab-hostile-hoard"):
        assert not (Path("/tmp") / name).exists(), "a kernel's /tmp outlived it (or was shared)"

    feedback = workspace / "feedback" / "environment" / LESSON / f"{LESSON}.html"
    assert "not here" in feedback.read_text(encoding="utf-8"), "the environment case ran"
    seen = (workspace / "feedback" / "tmp_leftover" / LESSON / f"{LESSON}.html").read_text(encoding="utf-8")
    assert "in /tmp:" in seen and "stopped after" in seen, "the /tmp case ran and was capped"
    assert "honest_ann" not in seen and "seqlab-submissions" not in seen, "another student's folder seen in /tmp"
    snooped = (workspace / "feedback" / "proc_snoop" / LESSON / f"{LESSON}.html").read_text(encoding="utf-8")
    assert "processes in sight:" in snooped, "the /proc case ran"
    assert "--student" not in snooped and "honest_ann" not in snooped, "a grading worker's command line was seen"
    assert not any(SECRET in p.read_text(errors="replace") for p in workspace.glob("feedback/*/*/*.html"))
    filled = (workspace / "feedback" / "disk_fill" / LESSON / f"{LESSON}.html").read_text(encoding="utf-8")
    kept = re.search(r"kept (\d+) MiB in the work folder", filled)
    assert kept and "one file: stopped after" in filled, "the disk case ran, its big file capped"
    if probe().disk_quota:  # the work folder's tmpfs: 256 MiB in all, whatever the number of files
        assert int(kept.group(1)) <= 256 and "TMPDIR: 0 MiB more, last error: No space left on device" in filled
    else:  # only the file-size limit
        assert "one file: stopped after 256 MiB: File too large" in filled
    assert not _left_by_dead_workers(), "a work folder or its disk quota (a tmpfs) outlived its worker"

    grades_text = (workspace / LESSON / "grades.csv").read_text(encoding="utf-8")
    cells = [cell for row in csv.reader(io.StringIO(grades_text)) for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "@")], "a CSV cell a spreadsheet would run"
    pages = "".join(p.read_text(errors="replace") for p in workspace.glob("feedback/*/*/*.html"))
    for planted in ("<script>document.title", "<h2>Score 12.0", "<img src=x", "<svg onload"):  # as markup
        assert planted not in pages, f"{planted}: a student's HTML reached the feedback"
    autograded = list(workspace.glob("**/autograded/fake_html/*/*.ipynb"))  # what the formgrader shows
    assert autograded
    for path in autograded:
        kept = {
            key
            for cell in nbformat.read(path, as_version=4).cells
            for o in cell.get("outputs", [])
            for key in o.get("data", {})
        }
        assert kept <= {"text/plain", "image/png", "image/jpeg"}, kept
    rows = read_grades(workspace / LESSON / "grades.csv")
    columns = list(grade_columns(LESSON).values())
    for honest in HONEST:
        assert rows[honest]["status"] == "graded" and rows[honest]["score"] == f"{sum(catalogue.FULL):g}", rows[honest]
    failures, table = [], ["| student | what it does | status | points | notes |", "| --- | --- | --- | --- | --- |"]
    for case in catalogue.CASES:
        key = case.filename or case.student
        row = rows.get(key) or rows.get("'" + key)  # a name a spreadsheet would run is quoted
        if row is None:
            failures.append(f"{case.student}: no row")
            continue
        points = tuple(float(row[c]) for c in columns)
        shown = "/".join(f"{p:g}" for p in points)
        table.append(f"| {case.student} | {case.what} | {row['status']} | {shown} | {row['notes'][:160]} |")
        if row["status"] != case.status or points != case.points or case.note not in row["notes"]:
            failures.append(f"{case.student} ({case.what}): {row['status']} {points} notes: {row['notes']!r}")
    took = {m.group(1): float(m.group(2)) for m in re.finditer(r"\] (\S+) \w+ [\d.]+ \((\d+) s\)", done.stdout)}
    for case in catalogue.CASES:
        if case.seconds is not None and took.get(case.student, 0) > case.seconds:
            failures.append(f"{case.student} ({case.what}): graded in {took[case.student]:g} s, over {case.seconds:g}")
    out = REPO / "_build" / "hostile"
    out.mkdir(parents=True, exist_ok=True)
    ran = f"{len(catalogue.CASES) + len(HONEST)} submissions graded by `seqlab grade --workers 2` in {seconds:.0f} s"
    (out / f"{LESSON}.md").write_text("\n".join([*table, "", ran]) + "\n", encoding="utf-8")
    assert not failures, "\n".join(failures)
    assert f"{len([c for c in catalogue.CASES if c.status != 'graded'])} submission(s) need attention" in done.stdout


#: `seqlab check`'s own function in a process of its own, with the grader's limits (the CLI sets only --timeout).
CHECK = """
import json, sys
from pathlib import Path
from seqlab.tools.grading.check import check_notebook
from seqlab.tools.grading.limits import Limits, parse_size, probe
from seqlab.tools.grading.sandbox import warm_kernel_server
limits = Limits(timeout=int(sys.argv[1]), memory=parse_size(sys.argv[2]))
with warm_kernel_server(probe()) as kernels:  # as `seqlab check` does, for several notebooks in turn
    for path in sys.argv[3:]:
        results, note = check_notebook(Path(path), limits=limits, kernels=kernels)
        print(json.dumps([path, {r.grade_id: r.earned == r.points for r in results if not r.manual}]), flush=True)
"""


def _check_passes(paths: list[Path]) -> dict[Path, dict[str, bool]]:
    """``check_notebook`` on each of ``paths`` in turn, in one process: the test cells each passes."""
    done = subprocess.run(
        [sys.executable, "-c", CHECK, str(CELL_TIMEOUT), MEMORY, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
        cwd=REPO,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('["')]
    checked = {Path(path): passes for path, passes in lines}
    assert done.returncode == 0 and len(checked) == len(paths), (
        f"check stopped after {len(checked)} of {len(paths)} notebooks\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
    )
    return checked


@pytest.mark.xdist_group("hostile-catalogue")
def test_check_and_the_grader_agree_on_the_catalogue(graded_catalogue, tmp_path):
    """Issue 21: `seqlab check` runs a notebook with the grader's own executor, in the same kind of sandbox.  Given the
    notebook the grader ran for each gradable case and each honest student (the autograded copy: test and locked
    cells restored, hidden tests included; outputs cleared), it passes and fails exactly the test cells the grader
    did.  (On a student's own notebook check cannot run the hidden tests: passing there is necessary, not
    sufficient.)"""
    workspace = graded_catalogue.workspace
    rows = read_grades(workspace / LESSON / "grades.csv")
    columns = grade_columns(LESSON)
    copies = {}
    for graded in sorted(workspace.glob(f"autograded/*/{LESSON}/{LESSON}.ipynb")):
        student = graded.parts[-3]
        nb = nbformat.read(graded, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        copies[student] = tmp_path / student / f"{LESSON}.ipynb"
        copies[student].parent.mkdir()
        nbformat.write(nb, copies[student])
    graded_cases = {c.student for c in catalogue.CASES if c.status != "invalid"}
    assert graded_cases | set(HONEST) <= set(copies), sorted(graded_cases | set(HONEST) - set(copies))

    started = time.monotonic()
    paths = list(copies.values())
    with ThreadPoolExecutor(2) as pool:  # two processes, each checking every other notebook
        halves = pool.map(_check_passes, [paths[0::2], paths[1::2]])
        by_path = {path: passes for half in halves for path, passes in half.items()}
    checked = {student: by_path[path] for student, path in copies.items()}
    seconds = time.monotonic() - started

    disagreements, table = [], ["| student | test cells the grader passed | seqlab check |", "| --- | --- | --- |"]
    for student, passes in checked.items():
        row = rows[student]
        grader = {
            grade_id: float(row[column]) == float(column.rsplit("(", 1)[1][:-1]) for grade_id, column in columns.items()
        }
        grader = {grade_id: ok for grade_id, ok in grader.items() if grade_id in passes}
        table.append(f"| {student} | {sum(grader.values())}/{len(grader)} | {sum(passes.values())}/{len(passes)} |")
        if passes != grader:
            differ = sorted(g for g in grader if grader[g] != passes.get(g))
            disagreements.append(
                f"{student}: {', '.join(f'{g} grader {grader[g]} check {passes.get(g)}' for g in differ)}"
            )
    out = REPO / "_build" / "hostile"
    out.mkdir(parents=True, exist_ok=True)
    ran = f"{len(checked)} notebooks checked, two at a time (two processes, kernels forked as root), in {seconds:.0f} s"
    (out / f"{LESSON}-check.md").write_text("\n".join([*table, "", ran]) + "\n", encoding="utf-8")
    print(f"seqlab check agreed with the grader on {len(checked) - len(disagreements)} of {len(checked)} notebooks")
    assert not disagreements, "\n".join(disagreements)


def test_hostile_class_zip_in_one_parallel_run(tmp_path):
    """Kind 5 through a zip (tests/hostile's write_class_zip): nbgrader's collected layout is graded per student,
    every bad entry (a damaged one, an oversized one, a folder, a student's second notebook) costs its own row,
    and the run finishes."""
    archive = tmp_path / "class.zip"
    honest = nbformat.writes(submission(LESSON)).encode("utf-8")
    expected = catalogue.write_class_zip(archive, honest)
    workspace = tmp_path / "workspace"

    done = grade_class(archive, LESSON, workspace, "--timeout", "30", "--workers", "2")

    assert done.returncode == 1, done.stdout + done.stderr  # the refused entries need attention
    rows = read_grades(workspace / LESSON / "grades.csv")
    assert sorted(rows) == sorted(expected), sorted(rows)
    for key, outcome in expected.items():
        if outcome == "graded":
            assert (rows[key]["status"], rows[key]["score"]) == ("graded", f"{sum(catalogue.FULL):g}"), rows[key]
        else:
            assert rows[key]["status"] == "invalid" and outcome in rows[key]["notes"], rows[key]
