"""Fast tests of the class-scale grading parts: limits and the sandbox launcher, the worker pool,
per-student records, the submission checks and copies, and the resilient executor's plain-word causes.
No kernel and no nbgrader run (see tests/test_grading.py and tests/test_hostile.py for those)."""

from __future__ import annotations

import ast
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import nbformat
import pytest

from seqlab.tools.grading.collect import why_not_gradable
from seqlab.tools.grading.executor import (
    MAX_ANSI_CODES,
    MAX_ERROR_CHARS,
    cap_escape_codes,
    death_cause,
    safe_content,
    score_from_errors_only,
)
from seqlab.tools.grading.grade import submission_time_limit
from seqlab.tools.grading.limits import (
    LAUNCHER,
    MAX_RESTARTS,
    TIME_LIMIT_ENV,
    Capabilities,
    Limits,
    describe,
    format_size,
    interpreter_paths,
    notebook_time_limit,
    parse_size,
    probe,
)
from seqlab.tools.grading.pool import Job, run_pool
from seqlab.tools.grading.records import StudentResult, load_current, save, sha256_of, write_atomically
from seqlab.tools.grading.report import write_csv
from seqlab.tools.grading.sandbox_launch import is_mount_point, mount_quota, unmount_quota
from seqlab.tools.grading.worker import copy_submission
from tests.support import COURSE, student_notebook

LINUX_ROOT = sys.platform.startswith("linux") and os.geteuid() == 0


@pytest.mark.parametrize(
    ("text", "size"), [("4G", 4 * 2**30), ("512m", 512 * 2**20), ("1.5GiB", 3 * 2**29), ("1000", 1000)]
)
def test_parse_size(text, size):
    assert parse_size(text) == size


def test_parse_size_refuses_nonsense():
    with pytest.raises(ValueError, match="not a size"):
        parse_size("lots")


def test_describe_says_what_is_enforced_and_what_is_not():
    limits = Limits(timeout=30, memory=2 * 2**30)
    full = Capabilities("linux", rlimits=True, namespaces=True, separate_user=True, private_proc=True)
    line = describe(limits, full)
    assert "30 s per cell" in line and "memory 2 GiB" in line and "no network" in line and "user id" in line
    assert "other processes hidden" in line
    windows = describe(limits, Capabilities("windows", problems=("only the time limits are enforced on Windows",)))
    assert "memory" not in windows and "not enforced here: only the time limits" in windows
    assert format_size(256 * 2**20) == "256 MiB"


def _launch(spec: dict, code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-I", "-S", str(LAUNCHER), json.dumps(spec), "--", sys.executable, "-c", code]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="rlimits as the grader uses them: Linux")
def test_launcher_caps_memory_file_size_and_cpu(tmp_path):
    grab = "b = bytearray(3 * 2**30)"
    assert _launch({}, "import sys; sys.exit(0)").returncode == 0
    assert "MemoryError" in _launch({"memory": 2**30}, grab).stderr
    write = f"open({str(tmp_path / 'big')!r}, 'wb').write(b'x' * 2_000_000)"
    assert "File too large" in _launch({"file_size": 1_000_000}, write).stderr
    burn = _launch({"cpu": 1}, "while True: pass", timeout=30)
    assert burn.returncode == -signal.SIGXCPU


FORK_BOMB = """
import os, time
n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(5)
            os._exit(0)
        n += 1
except OSError:
    print(n)
"""


@pytest.fixture
def sandbox_folder():
    """A work folder a sandbox user can reach (pytest's tmp_path is inside a folder only root may enter)."""
    folder = Path(tempfile.mkdtemp(prefix="seqlab-test-"))
    os.chmod(folder, 0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _isolated(folder: Path, **extra) -> dict:
    home = folder / "home"
    home.mkdir(exist_ok=True)
    return {
        "network": False,
        "hide": [],
        "reachable": interpreter_paths(),
        "staging": str(folder / "staging"),
        "uid": 1_000_000_000 + os.getpid(),
        "owned": [str(home)],
        "workdir": str(home),
        "env": {"HOME": str(home)},
        **extra,
    }


@pytest.mark.skipif(not LINUX_ROOT, reason="a separate user id needs root on Linux")
def test_launcher_limits_processes_of_its_own_user(sandbox_folder):
    done = _launch(_isolated(sandbox_folder, processes=20), FORK_BOMB)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) < 20


@pytest.mark.skipif(not LINUX_ROOT, reason="namespaces and a separate user id need root on Linux")
def test_launcher_isolates_network_and_files(sandbox_folder, tmp_path):
    capabilities = probe()
    assert capabilities.namespaces and capabilities.separate_user, capabilities.problems
    secret = sandbox_folder / "secret"
    secret.mkdir()
    (secret / "answers.txt").write_text("42")
    os.chmod(secret, 0o755)
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    code = f"""
import os, socket
print(sorted(os.listdir({str(secret)!r})))
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2)
    print("connected")
except OSError:
    print("no network")
for target in ({str(sandbox_folder / "outside.txt")!r}, os.path.join(os.environ["HOME"], "inside.txt")):
    try:
        open(target, "w").write("x")
        print("wrote", os.path.basename(target))
    except OSError:
        print("refused", os.path.basename(target))
"""
    try:
        done = _launch(_isolated(sandbox_folder, hide=[str(secret)]), code)
    finally:
        server.close()
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:4] == ["[]", "no network", "refused outside.txt", "wrote inside.txt"]
    assert sorted(os.listdir(secret)) == ["answers.txt"], "hidden only inside the sandbox"


def test_launcher_refuses_what_it_cannot_enforce():
    if os.geteuid() == 0:
        pytest.skip("as root every part can be enforced")
    done = _launch({"uid": 12345, "owned": []}, "pass")
    assert done.returncode == 71 and "cannot enforce" in done.stderr


def test_death_causes_in_plain_words():
    assert death_cause(-signal.SIGSEGV) == "it crashed (segmentation fault)"
    assert death_cause(-signal.SIGXCPU) == "it used up its CPU-time limit"
    assert "killed" in death_cause(-signal.SIGKILL)
    assert death_cause(3).startswith("it exited with status 3")
    assert death_cause(None) == "it stopped responding"


def _echo_main(argv):
    print(json.dumps(argv))
    return 0


def test_pool_runs_jobs_concurrently_and_stops_the_slow_one(tmp_path):
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    jobs = [
        Job("slow", sleeper, str(tmp_path), timeout=1),
        Job("quick", [sys.executable, "-c", "print('hello')"], str(tmp_path), timeout=30),
        Job(
            "forked",
            [sys.executable, "-m", "x", "a", "b"],
            str(tmp_path),
            timeout=30,
            entry=lambda: _echo_main(["a", "b"]),
        ),
    ]
    seen = {}
    run_pool(jobs, 2, lambda job, outcome: seen.setdefault(job.key, outcome))
    assert seen["slow"].timed_out and seen["slow"].returncode != 0
    assert seen["quick"].stdout == "hello\n" and not seen["quick"].timed_out
    assert json.loads(seen["forked"].stdout) == ["a", "b"] and seen["forked"].returncode == 0


def test_the_next_job_starts_before_the_pool_turns_to_a_finished_one(tmp_path):
    """With one worker, the second job is already running while ``on_done`` handles the first (the class gradebook's
    update overlaps the next student instead of delaying it)."""
    started = tmp_path / "second-started"
    second = [sys.executable, "-c", f"open({str(started)!r}, 'w').close()"]
    jobs = [Job("first", [sys.executable, "-c", "pass"], str(tmp_path), 30), Job("second", second, str(tmp_path), 30)]
    overlapped = {}

    def on_done(job, outcome):
        if job.key == "first":
            deadline = time.monotonic() + 10
            while not started.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            overlapped["second"] = started.exists()

    run_pool(jobs, 1, on_done)
    assert overlapped == {"second": True}


def test_results_are_reused_only_for_the_same_file_and_settings(tmp_path):
    settings = {"lesson": "01_rnn", "limits": Limits().settings()}
    result = StudentResult("ann", "ann.ipynb", scores={"a": 2.0}, sha256="abc", settings=settings)
    save(result, tmp_path)
    assert load_current(tmp_path, "abc", settings) == result
    assert load_current(tmp_path, "abd", settings) is None, "another file"
    assert load_current(tmp_path, "abc", {**settings, "lesson": "02_x"}) is None, "other settings"
    (tmp_path / "result.json").write_text("{half a fil", encoding="utf-8")
    assert load_current(tmp_path, "abc", settings) is None
    assert not list(tmp_path.glob(".result.json.*")), "no temporary file left behind"


def test_write_atomically_replaces_whole_files(tmp_path):
    target = tmp_path / "deep" / "grades.csv"
    write_atomically(target, b"one")
    write_atomically(target, b"two")
    assert target.read_bytes() == b"two" and [p.name for p in target.parent.iterdir()] == ["grades.csv"]
    assert sha256_of(target) == "3fc4ccfe745870e2c0d99f71f30ff0656c8dedd41cc1d7d3d376b0dbe685e2f3"


def test_grades_csv_keeps_student_text_out_of_spreadsheet_formulas(tmp_path):
    results = [StudentResult("ann", "ann.ipynb", notes=["=HYPERLINK(evil)"], scores={"a-tests": 1.0})]
    path = tmp_path / "grades.csv"
    write_csv(path, "01_rnn", [("a-tests", 2.0)], results, 2.0)
    assert "'=HYPERLINK(evil)" in path.read_text(encoding="utf-8")


GRADE_IDS = {"01-rnn-cell", "01-rnn-cell-tests"}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "the file is empty"),
        ("{not json", "not a valid notebook"),
        ('{"cells": 3}', "not a valid notebook"),
    ],
)
def test_why_not_gradable_refuses_what_is_not_a_notebook(tmp_path, content, problem):
    path = tmp_path / "x.ipynb"
    path.write_text(content, encoding="utf-8")
    assert problem in why_not_gradable(path, "01_rnn", GRADE_IDS)


def test_why_not_gradable_refuses_another_lesson_and_accepts_this_one(tmp_path):
    nb = student_notebook("01_rnn")
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    assert why_not_gradable(path, "01_rnn", GRADE_IDS) is None
    for cell in nb.cells:
        if "grade_id" in cell.metadata.get("nbgrader", {}):
            cell.metadata["nbgrader"]["grade_id"] = "02-" + cell.metadata["nbgrader"]["grade_id"][3:]
    nbformat.write(nb, path)
    assert "not the 01_rnn notebook" in why_not_gradable(path, "01_rnn", GRADE_IDS)


def test_copy_submission_restores_released_metadata(tmp_path):
    release = COURSE.release("01_rnn")
    nb = student_notebook("01_rnn")
    tests = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "01-rnn-cell-tests")
    tests.metadata["nbgrader"]["points"] = 100
    nb.cells.append(nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade_id": "01-bonus", "grade": True}}))
    nb.cells.append(nbformat.from_dict(json.loads(json.dumps(tests))))
    source = tmp_path / "ann.ipynb"
    nbformat.write(nb, source)
    before = source.read_bytes()
    target = tmp_path / "out" / "01_rnn.ipynb"

    notes = copy_submission(source, release, target)

    assert source.read_bytes() == before
    copied = nbformat.read(target, as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in copied.cells]
    assert ids.count("01-rnn-cell-tests") == 1 and "01-bonus" not in ids
    kept = next(c for c in copied.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "01-rnn-cell-tests")
    released = next(
        c
        for c in nbformat.read(release, as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "01-rnn-cell-tests"
    )
    assert kept.metadata["nbgrader"]["points"] == released.metadata["nbgrader"]["points"] != 100
    assert len({c.id for c in copied.cells}) == len(copied.cells), "cell ids are unique again"
    assert any("'01-bonus'" in n and "not a cell of this lesson" in n for n in notes)
    assert any("a copy of an earlier cell" in n for n in notes)


def test_launcher_gives_the_kernel_a_clean_environment(monkeypatch):
    monkeypatch.setenv("GRADER_SECRET", "token")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    done = _launch({"clean_env": True, "env": {"HOME": "/nowhere"}}, "import os; print(sorted(os.environ))")
    names = ast.literal_eval(done.stdout)
    assert "GRADER_SECRET" not in names and "NBGRADER_EXECUTION" in names and "HOME" in names


def test_stale_work_folders_of_dead_workers_are_removed(tmp_path, monkeypatch):
    from seqlab.tools.grading import sandbox

    monkeypatch.setattr(sandbox.tempfile, "gettempdir", lambda: str(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"seqlab-kernel-{int(dead.stdout)}-ann-x1"
    live = tmp_path / f"seqlab-kernel-{os.getpid()}-bob-x2"
    for folder in (stale, live):
        (folder / "home").mkdir(parents=True)
    assert sandbox.clean_up_stale() == 1
    assert not stale.exists() and live.exists()


def test_a_test_cell_scores_only_by_whether_it_raised():
    cell = nbformat.v4.new_code_cell("check()")
    cell.outputs = [
        nbformat.v4.new_output("execute_result", {"text/plain": "2.0"}, execution_count=3),
        nbformat.v4.new_output("stream", name="stderr", text="50%|#####     |\n"),
    ]
    score_from_errors_only(cell)
    assert [o.output_type for o in cell.outputs] == ["display_data", "stream"]
    assert cell.outputs[1].name == "stdout" and "execution_count" not in cell.outputs[0]


def test_outputs_are_capped_and_made_safe_before_they_are_stored():
    colours = "\x1b[31mred\x1b[0m" * 100_000
    error = safe_content("error", {"ename": "ValueError", "evalue": colours, "traceback": [colours] * 50})
    assert "\x1b" not in error["evalue"] and len(error["evalue"]) < MAX_ERROR_CHARS + 100
    assert sum(len(line) for line in error["traceback"]) < MAX_ERROR_CHARS + 100
    shown = safe_content(
        "display_data",
        {"data": {"text/html": "<script>x</script>", "application/json": [[[]]], "image/png": "iVBO"}, "metadata": 1},
    )
    assert set(shown["data"]) == {"image/png", "text/plain"} and shown["metadata"] == {}
    assert "not kept by the grader" in shown["data"]["text/plain"]
    malformed = safe_content("display_data", {"data": {"text/plain": ["a", 1], "image/png": 12}})
    assert set(malformed["data"]) == {"text/plain"} and "not kept" in malformed["data"]["text/plain"]
    assert safe_content("display_data", {"data": "junk"})["data"] == {}
    assert safe_content("stream", {"name": "weird", "text": 5}) == {"name": "stdout", "text": "5"}


def test_the_total_time_limit_is_derived_from_the_cells_and_their_limit(tmp_path, monkeypatch):
    """A notebook whose every cell stays under the per-cell limit is never cut by the total (issue 21: it was an
    undocumented 900 s, below what lesson 01's cells may use at 60 s each)."""
    monkeypatch.delenv(TIME_LIMIT_ENV, raising=False)
    nb = student_notebook("01_rnn")
    path = tmp_path / "ann.ipynb"
    nbformat.write(nb, path)
    code_cells = sum(cell.cell_type == "code" for cell in nb.cells)
    kernels = 1 + MAX_RESTARTS

    total = submission_time_limit(path, COURSE.release("01_rnn"), Limits(timeout=60))

    assert total >= kernels * code_cells * 60 > 900
    nb.cells += [nbformat.v4.new_code_cell("pass") for _ in range(10)]  # a student's own cells count too
    nbformat.write(nb, path)
    assert submission_time_limit(path, COURSE.release("01_rnn"), Limits(timeout=60)) == total + kernels * 10 * 60
    assert notebook_time_limit(Limits(timeout=10), code_cells) < notebook_time_limit(Limits(timeout=60), code_cells)
    monkeypatch.setenv(TIME_LIMIT_ENV, "30")  # the instructor's own cap, documented in the README
    assert submission_time_limit(path, COURSE.release("01_rnn"), Limits(timeout=60)) == 30


def test_a_cells_escape_codes_are_capped_in_all_before_any_conversion():
    """Issue 21, kind 4: the conversion of escape codes to HTML is quadratic in their number, and nbconvert merges a
    cell's stream outputs before it converts them: writes each under the cap of one message must not add up."""
    from nbconvert.filters.ansi import ansi2html
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    chunk = "\x1b[31m#" * (MAX_ANSI_CODES - 1)
    cell, used = nbformat.v4.new_code_cell("print(...)"), 0
    for _ in range(170):  # 340 000 codes, as the hostile case ansi_chunks writes them
        content, used = cap_escape_codes(safe_content("stream", {"name": "stdout", "text": chunk}), used)
        cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=content["text"]))
    error, used = cap_escape_codes(safe_content("error", {"ename": "E", "evalue": chunk, "traceback": [chunk]}), used)
    assert "\x1b" not in error["evalue"] + "".join(error["traceback"])
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nbformat.v4.new_notebook(cells=[cell]), {})
    merged = nb.cells[0].outputs[0].text
    assert len(nb.cells[0].outputs) == 1 and merged.count("#") == 170 * (MAX_ANSI_CODES - 1), "the text is kept"
    assert merged.count("\x1b") <= MAX_ANSI_CODES
    started = time.monotonic()
    ansi2html(merged)
    assert time.monotonic() - started < 5


@pytest.mark.skipif(not LINUX_ROOT, reason="namespaces and a separate user id need root on Linux")
def test_launcher_gives_each_kernel_a_private_size_capped_tmp(sandbox_folder):
    """Issue 21, kinds 2 and 3: /tmp was the machine's (other students' folder names, files left after grading, no
    cap); now each kernel has its own, gone with it, and keeps its work folder there."""
    other = Path(tempfile.mkdtemp(prefix="seqlab-kernel-other-student-"))
    left = Path("/tmp") / f"left-by-a-student-{os.getpid()}.txt"
    code = f"""
import os
print(sorted(name for name in os.listdir("/tmp") if name.startswith("seqlab-")))
open({str(left)!r}, "w").write("x")
try:
    open("/tmp/big", "wb").write(b"x" * 2 * 2**20)
    print("wrote 2 MiB")
except OSError as error:
    print("refused", error.strerror)
open(os.path.join(os.environ["HOME"], "work.txt"), "w").write("kept")
"""
    try:
        done = _launch(_isolated(sandbox_folder, tmp_size=2**20, keep=[str(sandbox_folder)]), code)
    finally:
        shutil.rmtree(other, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == [str([sandbox_folder.name]), "refused No space left on device"]
    assert not left.exists(), "what the student left in /tmp is gone with the kernel"
    assert (sandbox_folder / "home" / "work.txt").read_text() == "kept", "the work folder is the real one"


def test_a_class_zip_refuses_bad_entries_one_row_each_and_reads_none_whole(tmp_path):
    """Issue 21, kind 5: a damaged, oversized or duplicated entry or a folder named like a notebook costs its own row,
    nbgrader's collected layout (every notebook named <lesson>.ipynb) is read per student, and no entry is read
    into memory whole."""
    from seqlab.tools.grading.collect import collect_submissions
    from tests.hostile.lesson_01_rnn import write_class_zip

    honest = nbformat.writes(student_notebook("01_rnn")).encode("utf-8")
    expected = write_class_zip(tmp_path / "class.zip", honest)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    tracemalloc.start()
    try:
        pairs, refused = collect_submissions(tmp_path / "class.zip", scratch, "01_rnn")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert sorted(student for student, _ in pairs) == sorted(k for k, v in expected.items() if v == "graded")
    assert all(path.read_bytes() == honest for _, path in pairs)
    reasons = dict(refused)
    for key, outcome in expected.items():
        if outcome != "graded":
            assert outcome in reasons.get(key, ""), (key, reasons.get(key))
    assert len(refused) == len([v for v in expected.values() if v != "graded"])
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MiB held at once: the 65 MiB entry was read whole"
    assert sorted(p.name for p in scratch.iterdir()) == ["zip_ann.ipynb", "zip_bob.ipynb"], "nothing half-copied left"


def test_readme_says_what_is_enforced_where_with_the_graders_own_numbers():
    """The README's table of what is enforced where (issue 21's closing note) quotes the numbers the code uses,
    names every mechanism and says what each leaves possible."""
    from seqlab.tools.grading import collect, executor, limits, sandbox

    text = " ".join((COURSE.root / "README.md").read_text(encoding="utf-8").split())
    table = text[text.index("**What is enforced where.**") : text.index("- **Survives.**")]
    mechanisms = ("kernel guard", "scoring", "sandbox namespaces", "resource limits", "grader-side caps", "static scan")
    for mechanism in mechanisms:
        assert f"| {mechanism} (" in table, mechanism
    assert table.count("| what remains possible |") == 1 and "/proc" in table and "memfd" in table
    for quoted in (
        f"`/tmp` ({sandbox.TMP_SIZE // 2**20} MiB)",
        f"`/dev/shm` ({sandbox.SHM_SIZE // 2**20} MiB)",
        f"a disk quota of {limits.Limits().disk // 2**20} MiB in the work folder (`--disk`",
        f"cut to {executor.MAX_ERROR_CHARS:,} characters".replace(",", " "),
        f"hold {executor.MAX_ANSI_CODES:,} in all".replace(",", " "),
        f"over {collect.MAX_NOTEBOOK_BYTES // 2**20} MiB refused unread",
        f"more than {executor.ResilientExecute.max_children.default_value} processes at once",
    ):
        assert quoted in table, quoted
    total = f"{1 + limits.MAX_RESTARTS} kernels (the first and up to {limits.MAX_RESTARTS} restarts"
    assert total in text and f"{limits.KERNEL_START_SECONDS} s to start" in text


@pytest.mark.skipif(not LINUX_ROOT, reason="a separate user id and a new /proc need root on Linux")
def test_launcher_hides_other_processes_from_the_kernel(sandbox_folder):
    """Issue 21, kind 2: /proc listed every process, the grading workers' command lines with other students' ids and
    the instructor's paths among them; now a kernel sees its own processes only."""
    assert probe().private_proc, probe().problems
    code = """
import os
print(sorted(int(name) for name in os.listdir("/proc") if name.isdigit()) == [os.getpid()])
print(os.path.exists("/proc/cpuinfo") and os.path.exists("/proc/self/status"))
"""
    # a user id no other test uses: the fork bomb's children (sleeping 5 s under _isolated's id) would be seen
    done = _launch(_isolated(sandbox_folder, hide_processes=True, uid=1_500_000_000 + os.getpid()), code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"], f"{done.stdout} (this test's process {os.getpid()} was seen?)"
    assert str(os.getpid()) in os.listdir("/proc"), "hidden only inside the sandbox"


def test_probe_says_whether_a_disk_quota_is_enforced():
    """Issue 21, kind 3 (disk with no quota): the probe says whether a size-capped tmpfs can go over a work folder
    (root on Linux), the log line names the quota, and a sandbox without it mounts nothing."""
    from seqlab.tools.grading.sandbox import KernelSandbox

    capabilities = probe()
    assert capabilities.disk_quota == LINUX_ROOT, capabilities.problems
    if not capabilities.disk_quota:
        assert any(problem.startswith("disk quota in the work folder") for problem in capabilities.problems)
    with_quota = Capabilities("linux", rlimits=True, disk_quota=True)
    assert "256 MiB of disk in the work folder" in describe(Limits(), with_quota)
    assert "of disk" not in describe(Limits(disk=None), with_quota)
    assert "of disk" not in describe(Limits(), Capabilities("linux", rlimits=True)), "never claimed where not enforced"
    sandbox = KernelSandbox(Limits(), Capabilities("linux"), [], "noquota")
    try:
        assert not sandbox.quota and not is_mount_point(str(sandbox.home))
    finally:
        sandbox.close()
    assert not sandbox.root.exists()


def test_no_disk_quota_for_an_ordinary_user(monkeypatch):
    """Not root: the probe says the quota is not enforced, and why (grading goes on without it)."""
    from seqlab.tools.grading.limits import disk_quota_works

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    works, reason = disk_quota_works()
    assert not works
    assert ("needs root" if sys.platform.startswith("linux") else "needs Linux") in reason, reason


@pytest.mark.skipif(not LINUX_ROOT, reason="mounting a tmpfs needs root on Linux")
def test_mount_quota_caps_writes_and_unmounts(sandbox_folder):
    folder = sandbox_folder / "home"
    folder.mkdir()
    mount_quota(str(folder), 2**20)
    try:
        assert is_mount_point(str(folder)) and os.stat(folder).st_mode & 0o777 == 0o700
        with pytest.raises(OSError) as full, open(folder / "big", "wb") as handle:
            handle.write(b"x" * 2**21)
        assert full.value.errno == errno.ENOSPC
    finally:
        assert unmount_quota(str(folder))
    assert not is_mount_point(str(folder)) and not (folder / "big").exists(), "what was written went with the tmpfs"
    assert not unmount_quota(str(folder)), "nothing left to unmount"


DISK_FILLER = """
import errno, os

kept = 0
for where in ("home", "tmp", "var"):
    folder = {"home": os.environ["HOME"], "tmp": "/tmp", "var": "/var/tmp"}[where]
    for piece in range(16):  # 1 GiB in pieces of 64 MiB, each under the file-size limit
        try:
            with open(os.path.join(folder, f"{where}-{piece}"), "wb") as handle:
                handle.write(b"x" * 2**26)
        except OSError as error:
            print(where, "full after", piece * 64, "MiB:", errno.errorcode[error.errno])
            break
"""


@pytest.mark.skipif(not LINUX_ROOT, reason="mounting a tmpfs needs root on Linux")
def test_a_kernel_fills_its_quota_and_the_stale_clean_up_unmounts_it():
    """The kernel's work folder stops at ``Limits.disk`` (the grader's tmpfs, seen from the kernel's own mount
    namespace), ``/tmp`` and ``/var/tmp`` at the private /tmp's size; a worker killed before ``close()`` leaves the
    mount, and :func:`clean_up_after` takes it off with the folder."""
    from seqlab.tools.grading.sandbox import TMP_SIZE, KernelSandbox, clean_up_after

    sandbox = KernelSandbox(Limits(disk=128 * 2**20), probe(), [], "filler")
    assert sandbox.quota and is_mount_point(str(sandbox.home))
    connection = sandbox.root / "connection.json"
    connection.write_text("{}")
    done = _launch(sandbox.spec(str(connection)), DISK_FILLER)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == [
        "home full after 128 MiB: ENOSPC",
        f"tmp full after {TMP_SIZE // 2**20} MiB: ENOSPC",
        "var full after 0 MiB: ENOSPC",  # /var/tmp shows the same private /tmp, already full
    ], done.stdout
    assert sum(f.stat().st_size for f in sandbox.home.iterdir()) <= 128 * 2**20
    assert not list(Path("/var/tmp").glob("var-*")), "nothing reached the machine's /var/tmp"
    # another submission's kernel, started meanwhile, holds a copy of the mount in its own mount namespace: removing
    # the folder takes that copy off too (Linux 3.18 or newer), so its files are not kept until that kernel ends
    other = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sleep", "60"])
    try:
        seen_there = Path(f"/proc/{other.pid}/root{sandbox.home}")
        deadline = time.monotonic() + 10
        while not any(seen_there.glob("home-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(seen_there.glob("home-*"))
        clean_up_after(os.getpid())  # as after a killed worker: close() never ran
        assert not any(seen_there.glob("home-*")), "the files went with the folder, not only with the last copy"
    finally:
        other.kill()
        other.wait()
    assert not is_mount_point(str(sandbox.home)) and not sandbox.root.exists()
    assert not Path(sandbox.cgroup or "/nonexistent").exists()


MEMFD_HOARD = """
import os
fd = os.memfd_create("hoard")
chunk = b"x" * 2**20
for mib in range(1, 1025):
    os.write(fd, chunk)
print(f"held {mib} MiB in a memfd")
"""


@pytest.mark.skipif(not LINUX_ROOT, reason="a memory cgroup needs root on Linux")
def test_launcher_counts_memfd_and_shared_memory_in_a_memory_cgroup():
    """Issue 21, kind 3: memory held through memfd_create (or /dev/shm) is not address space, so RLIMIT_AS let a
    kernel hold 5.9 GiB against a 4 GiB cap; a memory cgroup counts it, and the kernel is killed at the limit."""
    capabilities = probe()
    assert capabilities.memory_cgroup, capabilities.problems
    assert "all kinds: a memory cgroup" in describe(Limits(), capabilities)
    assert "held 1024 MiB" in _launch({"memory": 2**30}, MEMFD_HOARD).stdout, "RLIMIT_AS alone does not see it"
    cgroup = Path(capabilities.memory_cgroup) / f"test-{os.getpid()}"
    try:
        done = _launch({"memory": 2**30, "cgroup": str(cgroup), "cgroup_memory": 256 * 2**20}, MEMFD_HOARD)
        assert done.returncode == -signal.SIGKILL and "held" not in done.stdout, (done.returncode, done.stdout)
        assert "oom_kill 1" in (cgroup / "memory.oom_control").read_text() or (cgroup / "memory.events").exists()
    finally:
        cgroup.rmdir()


@pytest.mark.skipif(not LINUX_ROOT, reason="a memory cgroup needs root on Linux")
def test_each_submission_gets_a_memory_cgroup_that_goes_with_it():
    from seqlab.tools.grading.sandbox import KernelSandbox

    sandbox = KernelSandbox(Limits(memory=2**31), probe(), [], "student")
    spec = sandbox.spec(str(sandbox.home / "connection.json"))
    assert spec["cgroup"] == sandbox.cgroup and spec["cgroup_memory"] == 2**31
    assert Path(sandbox.cgroup).parent == Path(probe().memory_cgroup)
    done = _launch(spec | {"workdir": "/", "owned": []}, "print('in')")
    assert done.returncode == 0 and Path(sandbox.cgroup).is_dir(), done.stderr
    sandbox.close()
    assert not Path(sandbox.cgroup).exists()


def test_a_gradebook_created_here_is_the_one_nbgrader_creates(tmp_path):
    """create_gradebook reads the schema's version in this process instead of starting `alembic`: the same tables,
    the same version as nbgrader's own Gradebook writes into a new database."""
    import sqlite3

    from nbgrader.api import Gradebook, get_alembic_version

    from seqlab.tools.course import ensure_scripts_on_path
    from seqlab.tools.grading.gradebooks import alembic_head, create_gradebook

    ensure_scripts_on_path()  # nbgrader runs `alembic` from the environment's scripts
    assert alembic_head() == get_alembic_version()  # the `alembic heads` process nbgrader starts

    def schema(path: Path) -> tuple[list, list]:
        with sqlite3.connect(path) as db:
            tables = db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
            return tables, db.execute("SELECT version_num FROM alembic_version").fetchall()

    Gradebook(f"sqlite:///{tmp_path / 'nbgrader.db'}").close()
    create_gradebook(f"sqlite:///{tmp_path / 'here.db'}")
    Gradebook(f"sqlite:///{tmp_path / 'here.db'}").close()  # nbgrader opens it as its own
    assert schema(tmp_path / "here.db") == schema(tmp_path / "nbgrader.db")
    assert schema(tmp_path / "here.db")[1] == [(alembic_head(),)]
