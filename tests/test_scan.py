"""The static scan of submissions (seqlab.tools.grading.scan): what it flags, with the cell and line, and that no honest
answer of any lesson (reference answers, correct alternatives, the bugs of the mutation catalogues) is flagged."""

from __future__ import annotations

import importlib
import pkgutil

import nbformat
import pytest

import tests.mutants
from seqlab.tools.grading.scan import (
    CTYPES,
    DYNAMIC,
    FILES,
    IPYTHON,
    PATCHING,
    PROCESSES,
    TORCH_HOOKS,
    TRACING,
    describe_findings,
    scan_notebook,
    scan_source,
)
from tests.support import COURSE, solution_notebook, student_notebook


@pytest.mark.parametrize(
    ("source", "kind", "code"),
    [
        ("get_ipython().events.register('post_run_cell', f)", IPYTHON, "get_ipython"),
        ("import IPython\nshell = IPython.get_ipython()", IPYTHON, "IPython"),
        ("import sys\nsys.displayhook(2.0)", IPYTHON, "sys.displayhook"),
        ("shell.ast_transformers.append(t)", IPYTHON, "shell.ast_transformers"),
        ("from sys import settrace as quiet\nquiet(None)", TRACING, "sys.settrace"),
        ("import threading\nthreading.setprofile(f)", TRACING, "threading.setprofile"),
        ("frame = sys._getframe(1).f_back", TRACING, "sys._getframe"),
        ("import gc\ngc.get_referrers(x)", TRACING, "gc.get_referrers"),
        ("import ctypes as c", CTYPES, "ctypes"),
        ("from ctypes import string_at", CTYPES, "ctypes"),
        ("import subprocess", PROCESSES, "subprocess"),
        ("import os\nos.system('ls')", PROCESSES, "os.system"),
        ("from os import execv", PROCESSES, "os.execv"),
        ("!cat notes.txt", PROCESSES, "!cat notes.txt"),
        ("%%bash\necho hi", PROCESSES, "%%bash"),
        (
            "class T(torch.Tensor):\n    @classmethod\n    def __torch_function__(cls, *a): ...",
            TORCH_HOOKS,
            "__torch_function__",
        ),
        ("y = x.as_subclass(T)", TORCH_HOOKS, "x.as_subclass"),
        ("open('/etc/passwd').read()", FILES, "'/etc/passwd'"),
        ("Path('../../solutions')", FILES, "'../../solutions'"),
        ("root = Path(seqlab.__file__).parents[2]", FILES, "seqlab.__file__"),
        ("exec(code)", DYNAMIC, "exec"),
        ("getattr(__import__('sys'), 'set' + 'trace')", DYNAMIC, "__import__"),
        ("import importlib\nimportlib.import_module('ctypes')", DYNAMIC, "importlib"),
        ("torch.allclose = lambda *a, **k: True", PATCHING, "torch.allclose"),
        ("seqlab.checks.RNN_SHORTCUTS, x = (), 1", PATCHING, "seqlab.checks.RNN_SHORTCUTS"),
        ("setattr(seqlab.checks, 'forbid', f)", PATCHING, "setattr(seqlab.checks, ...)"),
    ],
)
def test_scan_finds_what_could_subvert_grading(source, kind, code):
    found = [(f.kind, f.code) for f in scan_source(7, source)]
    assert (kind, code) in found, found


@pytest.mark.parametrize(
    "source",
    [
        "h = torch.tanh(x @ W_xh + h @ W_hh + b_h)",
        "pattern = re.compile(r'\\d+')",  # compile of a module, not the built-in
        "print('a/b', 3 / 4, 'ratio 1/2')",
        "from IPython.display import display\ndisplay(x)",
        "import sys\nprint('progress', file=sys.stderr)",
        "model.weight = torch.nn.Parameter(w)",  # an attribute of the student's own object
        "def rnn_cell(x, h\n    return h",  # does not parse: nothing to report
    ],
)
def test_scan_leaves_ordinary_code_alone(source):
    assert scan_source(0, source) == []


def test_scan_names_the_cell_and_line_and_skips_the_instructors_locked_cells():
    nb = student_notebook("01_rnn")
    answer = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "01-rnn-cell")
    locked = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("locked"))
    nb.cells[answer].source = "import torch\n\nget_ipython().events.register('post_run_cell', print)\n"
    nb.cells[locked].source += "\nimport ctypes\n"  # nbgrader restores locked cells: not the student's code
    nb.cells.append(nbformat.v4.new_code_cell("import subprocess"))  # a cell the student added

    notes = describe_findings(nb, scan_notebook(nb))

    assert notes == [
        f"scan: cell {answer} [01-rnn-cell] line 3: IPython internals (get_ipython)",
        f"scan: cell {len(nb.cells) - 1} ('import subprocess') line 1: processes or shell commands (subprocess)",
    ]


def _mutant_sources():
    for info in pkgutil.iter_modules(tests.mutants.__path__):
        if info.name.startswith("lesson_"):
            for mutant in importlib.import_module(f"tests.mutants.{info.name}").MUTANTS:
                yield f"{info.name} {mutant.kind} {mutant.name}", mutant.source


def test_no_honest_answer_of_any_lesson_is_flagged():
    """The scan is a reason to look: an honest student must never get one (every lesson's solution and student
    notebook, and every mutant of the mutation catalogues, bugs and correct alternatives alike)."""
    flagged = []
    for lesson in COURSE.lessons():
        for nb in (solution_notebook(lesson), student_notebook(lesson)):
            flagged += describe_findings(nb, scan_notebook(nb))
    flagged += [f"{name}: {f}" for name, source in _mutant_sources() for f in scan_source(0, source)]
    assert flagged == []
