"""The ``seqlab`` command (instructor and student tooling).

seqlab release [LESSON ...]          regenerate notebooks/ from solutions/ (nbgrader)
seqlab execute [LESSON ...]          run solution notebooks in fresh kernels, store outputs
seqlab check NOTEBOOK                run a notebook like the grader; table of tests; exit 1 on failure
seqlab grade SUBMISSIONS --lesson L  autograde a folder or zip of submissions (or nbgrader's collected folder);
                                     grades.csv + feedback; --gradebook URL for a shared PostgreSQL gradebook
seqlab showdown [--workers N]        lesson 10's full showdown sweep -> helpers/seqlab/showdown_results.json
seqlab store-lm                      lesson 08's language model -> helpers/seqlab/stored_runs/quatrain-lstm.*
seqlab store-gpt                     lesson 09's GPT, depth sweep -> stored_runs/quatrain-gpt.*, norm-depth-sweep.json
seqlab quatrains                     lesson 08's corpus from the npm package chinese-poetry -> helpers/seqlab/quatrains/
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# nbformat's jsonschema imports rfc3987_syntax, which builds its grammars for a second, for the "iri" format no
# notebook schema uses (python-jsonschema/jsonschema#1428): the seqlab command goes without that format.
sys.modules.setdefault("rfc3987_syntax", None)

from seqlab.tools.course import COURSE_ID, VALIDATE_CELL_TIMEOUT, ToolError, find_course  # noqa: E402

__all__ = ["build_parser", "main"]


def _release(args: argparse.Namespace) -> int:
    from seqlab.tools.release import release

    course = find_course()
    for path in release(course, course.resolve_lessons(args.lessons), args.out):
        print(f"released {path.relative_to(path.parents[2]) if args.out is None else path}")
    return 0


def _execute(args: argparse.Namespace) -> int:
    from seqlab.tools.execute import execute_notebook

    course = find_course()
    for lesson in course.resolve_lessons(args.lessons):
        seconds = execute_notebook(course.solution(lesson))
        print(f"executed solutions/{lesson}/{lesson}.ipynb in {seconds:.1f} s")
    return 0


def _check(args: argparse.Namespace) -> int:
    from seqlab.tools.grading.check import all_passed, check_notebook, format_table
    from seqlab.tools.grading.limits import Limits, probe
    from seqlab.tools.grading.sandbox import warm_kernel_server

    path = Path(args.notebook)
    if not path.is_file():
        raise ToolError(f"{path}: no such notebook")
    with warm_kernel_server(probe()) as kernels:  # as seqlab grade: forked kernels where each has its own user id
        results, note = check_notebook(path, Limits(timeout=args.timeout), kernels)
    print(format_table(path, results, note))
    return 0 if all_passed(results, note) else 1


def _grade(args: argparse.Namespace) -> int:
    from seqlab.tools.grading.grade import GradingRun, grade
    from seqlab.tools.grading.limits import Limits, parse_size
    from seqlab.tools.grading.workspace import GRADEBOOK_URL_ENV, Workspace, check_gradebook_url

    course = find_course()
    gradebook = args.gradebook or os.environ.get(GRADEBOOK_URL_ENV) or None
    try:
        gradebook = None if gradebook is None else check_gradebook_url(gradebook)
    except ValueError as error:
        raise ToolError(str(error)) from None
    workspace = Workspace(Path(args.workspace).resolve() if args.workspace else course.root / "_grading", gradebook)
    try:
        memory = None if args.memory.lower() in ("none", "off") else parse_size(args.memory)
        disk = None if args.disk.lower() in ("none", "off") else parse_size(args.disk)
    except ValueError as error:
        raise ToolError(str(error)) from None
    if args.workers < 1 or args.timeout < 1 or (args.cpu_time is not None and args.cpu_time < 1):
        raise ToolError("--workers, --timeout and --cpu-time must be positive")
    limits = Limits(timeout=args.timeout, memory=memory, cpu_time=args.cpu_time, disk=disk)
    submissions = Path(args.submissions).resolve()
    warm = not args.cold_kernels
    run = GradingRun(course, submissions, args.lesson, workspace, limits, args.workers, warm_kernels=warm)
    problems = [r for r in grade(run).results if r.needs_attention]
    if problems:
        print(f"{len(problems)} submission(s) need attention: {', '.join(r.student for r in problems)}")
        for r in problems:
            print(f"  {r.student} ({r.status}): {'; '.join(r.notes) or 'no details'}")
        return 1
    return 0


def _showdown(args: argparse.Namespace) -> int:
    from seqlab.tools.showdown import showdown_main

    try:
        root = find_course().root
    except ToolError:
        root = None
    return showdown_main(args, args.argv, root)


def _store_runs(args: argparse.Namespace) -> int:
    from seqlab.tools.store_runs import store_runs_main

    return store_runs_main(args.names, args.out, args.argv)


def _store_lm(args: argparse.Namespace) -> int:
    from seqlab.tools.store_lm import store_lm_main

    try:
        root = find_course().root
    except ToolError:
        root = None
    return store_lm_main(args.solution, args.out, args.steps, root, args.argv)


def _store_gpt(args: argparse.Namespace) -> int:
    from seqlab.tools.store_gpt import store_gpt_main

    try:
        root = find_course().root
    except ToolError:
        root = None
    return store_gpt_main(args.solution, args.out, args.steps, args.part, root, args.argv)


def _quatrains(args: argparse.Namespace) -> int:
    from seqlab.tools.quatrains import quatrains_main

    out = Path(args.out) if args.out else Path(__file__).resolve().parents[1] / "quatrains"
    return quatrains_main(args.tarball, out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seqlab", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("release", help="regenerate student notebooks from solutions/")
    p.add_argument("lessons", nargs="*", help="lesson ids, e.g. 01_rnn (default: all)")
    p.add_argument("--out", type=Path, default=None, help="release here instead of notebooks/")
    p.set_defaults(run=_release)

    p = commands.add_parser("execute", help="execute solution notebooks and store their outputs")
    p.add_argument("lessons", nargs="*", help="lesson ids (default: all)")
    p.set_defaults(run=_execute)

    p = commands.add_parser("check", help="run a notebook like the grader and report its tests")
    p.add_argument("notebook", help="path to your notebook, e.g. notebooks/01_rnn/01_rnn.ipynb")
    p.add_argument(
        "--timeout",
        type=int,
        default=VALIDATE_CELL_TIMEOUT,
        help=f"seconds per cell (default {VALIDATE_CELL_TIMEOUT}: generous, for a busy machine)",
    )
    p.set_defaults(run=_check)

    p = commands.add_parser("grade", help="autograde a folder or zip of submissions")
    p.add_argument(
        "submissions",
        help="folder or zip of notebooks named <student_id>.ipynb, or nbgrader's collected folder "
        "(<student_id>/<lesson>/<lesson>.ipynb, as `nbgrader collect` leaves it)",
    )
    p.add_argument("--lesson", required=True, help="lesson id, e.g. 01_rnn")
    p.add_argument("--workspace", default=None, help="grading folder (default: _grading/ in the course)")
    p.add_argument("--timeout", type=int, default=60, help="seconds per cell (default 60)")
    p.add_argument("--workers", type=int, default=1, help="submissions graded at once (default 1; one per core)")
    p.add_argument("--memory", default="4G", help="address space per kernel, e.g. 4G (default), or 'none'")
    p.add_argument("--cpu-time", type=int, default=600, help="CPU seconds per kernel (default 600)")
    p.add_argument(
        "--disk",
        default="256M",
        help="bytes a kernel may keep in its work folder, e.g. 256M (default), or 'none' (enforced as root on Linux)",
    )
    p.add_argument(
        "--gradebook",
        default=None,
        help=f"class gradebook URL, e.g. postgresql://grader@dbhost/{COURSE_ID} (default: $SEQLAB_GRADEBOOK_URL, "
        "else gradebook.db in the workspace); several runs may write into one PostgreSQL gradebook at once",
    )
    p.add_argument(
        "--cold-kernels",
        action="store_true",
        help="start every kernel anew instead of forking it from a kernel server that has done the imports "
        "(the server is used as root on Linux, where each kernel has its own user id)",
    )
    p.set_defaults(run=_grade)

    p = commands.add_parser("showdown", help="run lesson 10's full showdown sweep and store its results")
    p.add_argument("--workers", type=int, default=2, help="processes, each on one torch thread (default 2)")
    p.add_argument("--out", default=None, help="results file (default: the one packaged in seqlab)")
    p.add_argument(
        "--solution", default=None, help="solution notebook (default: solutions/10_showdown/10_showdown.ipynb)"
    )
    # the choices are seqlab.showdown's SHOWDOWN_TASKS and SHOWDOWN_KINDS (not imported here: they need torch)
    p.add_argument("--tasks", nargs="+", choices=("adding", "copy"), default=None, help="only these tasks")
    p.add_argument("--kinds", nargs="+", choices=("rnn", "gru", "lstm", "transformer"), default=None,
                   help="only these models")  # fmt: skip
    p.add_argument("--lengths", nargs="+", type=int, default=None, help="lengths instead of the budget's")
    p.add_argument("--seeds", nargs="+", type=int, default=None, help="seeds instead of the budget's")
    p.add_argument("--steps", type=int, default=None,
                   help="steps instead of the budget's (quick checks: the loader refuses such a file)")  # fmt: skip
    p.add_argument("--lstm-forget-bias", type=float, default=None,
                   help="the LSTM's forget-gate bias at initialisation (default: PyTorch's); with it, the default "
                        "--out is the package's showdown_forget_bias.json")  # fmt: skip
    p.set_defaults(run=_showdown)

    p = commands.add_parser("store-runs", help="make the stored training runs that notebooks load (minutes each)")
    p.add_argument("names", nargs="*", help="recipes of seqlab.stored.RECIPES (default: all)")
    p.add_argument("--out", default=None, help="folder for the files (default: the package's stored_runs/)")
    p.set_defaults(run=_store_runs)

    p = commands.add_parser("store-lm", help="train lesson 08's quatrain language model and store it (minutes)")
    p.add_argument("--solution", default=None,
                   help="solution notebook (default: solutions/08_language_model/08_language_model.ipynb)")  # fmt: skip
    p.add_argument("--out", default=None, help="folder for the files (default: the package's stored_runs/)")
    p.add_argument("--steps", type=int, default=None, help="steps instead of the recipe's (quick checks)")
    p.set_defaults(run=_store_lm)

    p = commands.add_parser(
        "store-gpt", help="train lesson 09's GPT and its pre-/post-norm sweep, store them (minutes)"
    )
    p.add_argument("--solution", default=None, help="solution notebook (default: solutions/09_gpt/09_gpt.ipynb)")
    p.add_argument("--out", default=None, help="folder for the files (default: the package's stored_runs/)")
    p.add_argument("--steps", type=int, default=None, help="steps instead of the recipes' (quick checks)")
    p.add_argument("--part", choices=("gpt", "sweep", "all"), default="all", help="what to train (default: all)")
    p.set_defaults(run=_store_gpt)

    p = commands.add_parser("quatrains", help="extract lesson 08's corpus from the npm package chinese-poetry (once)")
    p.add_argument("--tarball", default=None, help="chinese-poetry-2.0.1.tgz already at hand (default: npm pack)")
    p.add_argument("--out", default=None, help="folder for the corpus (default: the package's quatrains/)")
    p.set_defaults(run=_quatrains)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv[1:] if argv and argv[0] == args.command else argv
    try:
        return args.run(args)
    except ToolError as error:
        print(f"seqlab {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
