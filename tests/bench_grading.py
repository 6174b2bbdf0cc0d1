"""Benchmark: class-scale grading throughput with 1 and with 2 workers, their ratio, and where the time goes.

    python tests/bench_grading.py [--lesson 01_rnn] [--students 20] [--runs 3] [--workers 1 2]

Builds a class of ``--students`` submissions (the reference answers, and every tenth one with a
plausible bug from the mutation catalogue, so the class is not all alike), then times the whole
`seqlab grade` command for each worker count, in a fresh workspace each run, alternating the
worker counts so that a change in the machine's load hits both.  Prints the median seconds,
submissions per minute, the speed-up over the first worker count, and the load average, since on
a shared machine the figures depend on what else runs: for each run it also prints how many cores
other processes kept busy meanwhile (from /proc/stat, minus the run's own CPU time).

Then, side by side per submission (wall and CPU seconds, medians over the runs): plain ``nbgrader
generate_assignment`` + ``nbgrader autograde`` of the same class in one process (no sandbox, no worker, one
gradebook), ``seqlab grade --cold-kernels`` with one worker (every kernel a new Python, as before the kernel
server) and ``seqlab grade`` with each worker count (kernels forked from the kernel server, as root on Linux);
and, for one worker cold and warm, the median seconds of each grading stage a worker records in its
``result.json`` (setup, kernel start with the guard's imports, cells, the rest of nbgrader's autograde,
feedback, finish).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.mutants.lesson_01_rnn import MUTANTS  # noqa: E402
from tests.support import submission  # noqa: E402


def build_class(folder: Path, lesson: str, students: int) -> None:
    bugs = [m for m in MUTANTS if m.kind == "bug"]
    for index in range(students):
        answers = {}
        if index % 10 == 9 and lesson == "01_rnn":
            mutant = bugs[(index // 10) % len(bugs)]
            answers = {mutant.grade_id: mutant.source}
        nbformat.write(submission(lesson, answers), folder / f"s{index:03d}.ipynb")


def busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (Linux), or None."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


#: Plain nbgrader on the same class: the lesson prepared, every submission autograded, in one process.
PLAIN_NBGRADER = """
import shutil, sys
from pathlib import Path
from nbgrader.apps import NbGraderAPI
from seqlab.tools.course import Course
from seqlab.tools.grading.gradebooks import prepare_gradebook
from seqlab.tools.grading.workspace import Workspace, nbgrader_config

course, folder, lesson = Course(Path(sys.argv[1])), Path(sys.argv[2]), sys.argv[3]
workspace = Workspace(Path(sys.argv[4]))
prepare_gradebook(course, lesson, workspace, 60)
api = NbGraderAPI(config=nbgrader_config(course.root, workspace, 60))
for path in sorted(folder.glob("*.ipynb")):
    target = workspace.submitted(path.stem, lesson)
    target.parent.mkdir(parents=True)
    shutil.copyfile(path, target)
    graded = api.autograde(lesson, path.stem, force=True, create=True)
    assert graded["success"], graded.get("log")
"""


def time_plain_nbgrader(folder: Path, lesson: str, scratch: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of plain nbgrader grading the class (see PLAIN_NBGRADER)."""
    workspace = Path(tempfile.mkdtemp(prefix="plain-", dir=scratch))
    command = [sys.executable, "-c", PLAIN_NBGRADER, str(REPO), str(folder), lesson, str(workspace)]
    own = own_cpu_seconds()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"nbgrader autograde failed:\n{done.stdout}\n{done.stderr}")
    return seconds, own_cpu_seconds() - own


def stage_seconds(workspace: Path, lesson: str) -> dict[str, list[float]]:
    """Each grading stage's seconds (from every student's result.json in ``workspace``)."""
    stages: dict[str, list[float]] = {}
    for path in sorted((workspace / "students" / lesson).glob("*/result.json")):
        for stage, seconds in json.loads(path.read_text(encoding="utf-8")).get("seconds", {}).items():
            stages.setdefault(stage, []).append(seconds)
    return stages


def time_run(
    folder: Path, lesson: str, workers: int, scratch: Path, cold: bool = False
) -> tuple[float, float | None, float, Path]:
    """(wall seconds, average cores other processes kept busy meanwhile, CPU seconds, the run's workspace)."""
    workspace = Path(tempfile.mkdtemp(prefix="ws-", dir=scratch))
    command = [sys.executable, "-m", "seqlab.tools.cli", "grade", str(folder), "--lesson", lesson]
    command += ["--workspace", str(workspace), "--workers", str(workers)] + (["--cold-kernels"] if cold else [])
    busy, own = busy_seconds(), own_cpu_seconds()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"seqlab grade failed:\n{done.stdout}\n{done.stderr}")
    after, cpu = busy_seconds(), own_cpu_seconds() - own
    others = None if busy is None or after is None else max(0.0, (after - busy) - cpu) / seconds
    return seconds, others, cpu, workspace


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lesson", default="01_rnn")
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    times: dict[int, list[float]] = {w: [] for w in args.workers}
    cpus: dict[int, list[float]] = {w: [] for w in args.workers}
    plain: list[tuple[float, float]] = []
    cold: list[tuple[float, float]] = []
    stages: dict[str, dict[str, list[float]]] = {"cold": {}, "warm": {}}
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="seqlab-bench-grading-") as scratch:
        folder = Path(scratch) / "class"
        folder.mkdir()
        build_class(folder, args.lesson, args.students)
        for run in range(args.runs):
            plain.append(time_plain_nbgrader(folder, args.lesson, Path(scratch)))
            print(f"run {run + 1}: plain nbgrader: {plain[-1][0]:.1f} s", flush=True)
            seconds, _, cpu, workspace = time_run(folder, args.lesson, 1, Path(scratch), cold=True)
            cold.append((seconds, cpu))
            _add_stages(stages["cold"], stage_seconds(workspace, args.lesson))
            print(f"run {run + 1}: 1 worker, cold kernels: {seconds:.1f} s", flush=True)
            for workers in args.workers:
                seconds, others, cpu, workspace = time_run(folder, args.lesson, workers, Path(scratch))
                times[workers].append(seconds)
                cpus[workers].append(cpu)
                if workers == 1:
                    _add_stages(stages["warm"], stage_seconds(workspace, args.lesson))
                loads.append(os.getloadavg()[0])
                busy = "" if others is None else f"  (other processes kept {others:.2f} cores busy)"
                print(f"run {run + 1}: {workers} worker(s): {seconds:.1f} s{busy}", flush=True)
    base = statistics.median(times[args.workers[0]])
    n = args.students
    print(f"\n{n} submissions of {args.lesson}, {os.cpu_count()} cores, median of {args.runs} runs")
    print(f"{'workers':>8} {'seconds':>9} {'per minute':>11} {'speed-up':>9}   runs")
    for workers, runs in times.items():
        median = statistics.median(runs)
        per_minute = n / median * 60
        listed = ", ".join(f"{t:.0f}" for t in runs)
        print(f"{workers:>8} {median:>9.1f} {per_minute:>11.1f} {base / median:>8.2f}x   {listed}")
    for workers in args.workers[1:]:  # each run against the first count's run just before it: the same machine load
        paired = [a / b for a, b in zip(times[args.workers[0]], times[workers], strict=True)]
        listed = ", ".join(f"{r:.2f}" for r in paired)
        print(f"speed-up of {workers} workers run by run: {listed} (median {statistics.median(paired):.2f}x)")
    print(f"\n{'per submission (whole command / students)':<48} {'wall s':>7} {'CPU s':>7}")
    rows = [("nbgrader autograde, no sandbox, one process", plain), ("seqlab grade --cold-kernels, 1 worker", cold)]
    rows += [(f"seqlab grade, {w} worker(s)", list(zip(times[w], cpus[w], strict=True))) for w in args.workers]
    for name, runs in rows:
        wall, cpu = statistics.median(t for t, _ in runs) / n, statistics.median(c for _, c in runs) / n
        print(f"{name:<48} {wall:>7.2f} {cpu:>7.2f}")
    print(f"\n{'stage of one submission, 1 worker (median s)':<48} {'cold':>7} {'warm':>7}")
    for stage in stages["cold"]:
        cold_s, warm_s = (statistics.median(stages[k].get(stage, [0.0])) for k in ("cold", "warm"))
        print(f"{stage:<48} {cold_s:>7.2f} {warm_s:>7.2f}")
    print(f"1-minute load average during the runs: {min(loads):.1f} to {max(loads):.1f}")
    return 0


def _add_stages(into: dict[str, list[float]], found: dict[str, list[float]]) -> None:
    for stage, values in found.items():
        into.setdefault(stage, []).extend(values)


if __name__ == "__main__":
    sys.exit(main())
