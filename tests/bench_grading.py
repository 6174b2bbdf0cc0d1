"""Benchmark: class-scale grading throughput with 1 and with 2 workers, and their ratio.

    python tests/bench_grading.py [--lesson 01_rnn] [--students 20] [--runs 3] [--workers 1 2]

Builds a class of ``--students`` submissions (the reference answers, and every tenth one with a
plausible bug from the mutation catalogue, so the class is not all alike), then times the whole
`seqlab grade` command for each worker count, in a fresh workspace each run, alternating the
worker counts so that a change in the machine's load hits both.  Prints the median seconds,
submissions per minute, the speed-up over the first worker count, and the load average, since on
a shared machine the figures depend on what else runs: for each run it also prints how many cores
other processes kept busy meanwhile (from /proc/stat, minus the run's own CPU time).
"""

from __future__ import annotations

import argparse
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


def time_run(folder: Path, lesson: str, workers: int, scratch: Path) -> tuple[float, float | None]:
    """(wall seconds, average cores other processes kept busy meanwhile)."""
    workspace = Path(tempfile.mkdtemp(prefix="ws-", dir=scratch))
    command = [sys.executable, "-m", "seqlab.tools.cli", "grade", str(folder), "--lesson", lesson]
    command += ["--workspace", str(workspace), "--workers", str(workers)]
    busy, own = busy_seconds(), own_cpu_seconds()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"seqlab grade failed:\n{done.stdout}\n{done.stderr}")
    after = busy_seconds()
    others = None if busy is None or after is None else max(0.0, (after - busy) - (own_cpu_seconds() - own)) / seconds
    return seconds, others


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lesson", default="01_rnn")
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    times: dict[int, list[float]] = {w: [] for w in args.workers}
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="seqlab-bench-grading-") as scratch:
        folder = Path(scratch) / "class"
        folder.mkdir()
        build_class(folder, args.lesson, args.students)
        for run in range(args.runs):
            for workers in args.workers:
                seconds, others = time_run(folder, args.lesson, workers, Path(scratch))
                times[workers].append(seconds)
                loads.append(os.getloadavg()[0])
                busy = "" if others is None else f"  (other processes kept {others:.2f} cores busy)"
                print(f"run {run + 1}: {workers} worker(s): {seconds:.1f} s{busy}", flush=True)
    base = statistics.median(times[args.workers[0]])
    print(f"\n{args.students} submissions of {args.lesson}, {os.cpu_count()} cores, median of {args.runs} runs")
    print(f"{'workers':>8} {'seconds':>9} {'per minute':>11} {'speed-up':>9}   runs")
    for workers, runs in times.items():
        median = statistics.median(runs)
        per_minute = args.students / median * 60
        listed = ", ".join(f"{t:.0f}" for t in runs)
        print(f"{workers:>8} {median:>9.1f} {per_minute:>11.1f} {base / median:>8.2f}x   {listed}")
    print(f"1-minute load average during the runs: {min(loads):.1f} to {max(loads):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
