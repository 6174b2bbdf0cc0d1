"""Benchmark: per lesson, solution execution and grading time (median of 3), and set-up from scratch.

    python tests/bench.py [--lessons 01_rnn ...] [--runs 3] [--skip-setup]

Execution runs a copy of the solution notebook (the repository is not touched); besides its wall time the
kernel's CPU time is reported (user + system of the finished kernel), which a busy machine disturbs much less.
Grading is one
reference submission through `seqlab grade`'s per-student worker (sandboxed autograde + feedback),
after the gradebook is prepared; the whole `seqlab grade` command for that one student is timed too.
For a class with 1 and 2 workers see tests/bench_grading.py.
Set-up clones the repository into a temporary folder and runs `make install` there (new .venv).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from seqlab.tools.course import Course  # noqa: E402
from seqlab.tools.execute import execute_notebook  # noqa: E402
from seqlab.tools.grading.grade import GradingRun, grade, grade_one  # noqa: E402
from seqlab.tools.grading.gradebooks import prepare_gradebook  # noqa: E402
from seqlab.tools.grading.workspace import Workspace  # noqa: E402
from tests.support import submission  # noqa: E402


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_execution(course: Course, lesson: str, scratch: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the kernel) for one top-to-bottom execution."""
    copy = scratch / lesson / f"{lesson}.ipynb"
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(course.solution(lesson), copy)
    before = _children_cpu()
    wall = execute_notebook(copy)
    return wall, _children_cpu() - before


def time_grading(course: Course, lesson: str, scratch: Path) -> tuple[float, float]:
    """(seconds for one submission's worker, seconds for the whole `seqlab grade` of one student)."""
    folder = scratch / "submissions"
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(submission(lesson), folder / "student.ipynb")
    workspace = Workspace(scratch / "workspace")
    start = time.perf_counter()
    grade(GradingRun(course, folder, lesson, workspace, log=lambda _: None))
    whole = time.perf_counter() - start
    prepare_gradebook(course, lesson, workspace.template(lesson), 60)
    start = time.perf_counter()
    result = grade_one(course, lesson, workspace, "again", folder / "student.ipynb")
    one = time.perf_counter() - start
    assert result.status == "graded", result.notes
    return one, whole


def time_setup(scratch: Path) -> float:
    clone = scratch / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    start = time.perf_counter()
    subprocess.run(["make", "-s", "install"], cwd=clone, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lessons", nargs="*", default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-setup", action="store_true", help="skip the from-scratch install")
    parser.add_argument("--skip-grading", action="store_true", help="time the execution only")
    args = parser.parse_args()
    course = Course(REPO)
    header = f"{'lesson':<16} {'execute (s)':>12} {'kernel CPU (s)':>15} {'grade 1 submission (s)':>24}"
    print(f"{header} {'seqlab grade, 1 student (s)':>28}")
    for lesson in course.resolve_lessons(args.lessons):
        executions, cpus, workers, wholes = [], [], [], []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="seqlab-bench-") as scratch:
                wall, cpu = time_execution(course, lesson, Path(scratch))
                executions.append(wall)
                cpus.append(cpu)
            if args.skip_grading:
                workers.append(float("nan"))
                wholes.append(float("nan"))
                continue
            with tempfile.TemporaryDirectory(prefix="seqlab-bench-") as scratch:
                one, whole = time_grading(course, lesson, Path(scratch))
                workers.append(one)
                wholes.append(whole)
        runs = ", ".join(f"{t:.1f}" for t in executions)
        print(
            f"{lesson:<16} {statistics.median(executions):>12.1f} {statistics.median(cpus):>15.1f} "
            f"{statistics.median(workers):>24.1f} "
            f"{statistics.median(wholes):>28.1f}   (median of {args.runs}; execute runs: {runs})"
        )
    if not args.skip_setup:
        with tempfile.TemporaryDirectory(prefix="seqlab-bench-setup-") as scratch:
            print(f"set-up from scratch (git clone + make install, new .venv): {time_setup(Path(scratch)):.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
