"""The hostile catalogue for lesson 01_rnn: what students' code (or files) can do to a grader.

Each :class:`Case` builds one submitted file and says what `seqlab grade` must make of it: the
status, the points of each test cell in notebook order (``TEST_CELLS``: an exercise's values, then its
edge cases and shortcuts), and a phrase the notes must contain.  Sources may use
``{port}`` (a TCP port listening on this machine's loopback, for the network case) and
``{canary}`` (a path the student must not be able to create).

The points follow from what each case does: a cell that kills the kernel loses itself (and what
depends on it), never the cells that ran before; a changed check, hook or shortcut list is put back
before each test cell (the student is flagged), so the test cell judges the real answer.
"""

from __future__ import annotations

import copy
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import nbformat

from seqlab.tools.grading.limits import probe
from seqlab.tools.submissions import reference_answers
from tests.support import solution_notebook, student_notebook, submission

LESSON = "01_rnn"
CELL, FORWARD, READOUT, JORDAN, COUNT = (
    "01-rnn-cell",
    "01-rnn-forward",
    "01-rnn-readout",
    "01-jordan-cell",
    "01-count-rnn-parameters",
)
#: (grade id, points) of every test cell, in notebook order.
TEST_CELLS = (
    (f"{CELL}-tests", 3),
    (f"{CELL}-edge-tests", 1),
    (f"{CELL}-shortcuts-tests", 1),
    (f"{FORWARD}-tests", 3),
    (f"{FORWARD}-edge-tests", 1),
    (f"{FORWARD}-shortcuts-tests", 1),
    (f"{READOUT}-tests", 2),
    (f"{READOUT}-edge-tests", 1),
    (f"{JORDAN}-tests", 3),
    (f"{JORDAN}-edge-tests", 1),
    (f"{JORDAN}-shortcuts-tests", 1),
    (f"{COUNT}-tests", 2),
)


def _points(*lost: str) -> tuple[float, ...]:
    """Full marks, except 0 for the test cells named in ``lost`` and for every test cell of the exercises named."""
    return tuple(
        0 if grade_id in lost or any(grade_id.startswith(f"{exercise}-") for exercise in lost) else points
        for grade_id, points in TEST_CELLS
    )


FULL = _points()
ZERO = tuple(0 for _ in TEST_CELLS)


@dataclass(frozen=True)
class Case:
    """One hostile or broken submission and the outcome it must get.

    Attributes:
        student: the student id (and file name, unless ``filename`` is given).
        what: what the submission does, in a few words (shown in the results table).
        build: returns the file's bytes (None: a folder of that name is submitted instead); gets the
            substitutions ``port`` and ``canary``.
        status: ``graded``, ``flagged`` or ``invalid``.
        points: expected points per test cell, in notebook order.
        note: a phrase the grades.csv notes must contain ("" for none).
        filename: the submitted file's name, if not ``<student>.ipynb``.
        seconds: at most this long to grade it (wall clock, beside the others), if it must be quick.
    """

    student: str
    what: str
    build: Callable[[dict], bytes | None]
    status: str
    points: tuple[float, ...]
    note: str = ""
    filename: str = ""
    seconds: float | None = None

    @property
    def file(self) -> str:
        return self.filename or f"{self.student}.ipynb"


def _answer(grade_id: str) -> str:
    return reference_answers(solution_notebook(LESSON))[grade_id]


def _replace(grade_id: str, source: str, after_reference: bool = False) -> Callable[[dict], bytes]:
    """A correct submission whose ``grade_id`` cell holds ``source`` (after the right answer, if asked)."""

    def build(values: dict) -> bytes:
        code = source
        for name, value in values.items():
            code = code.replace("{" + name + "}", str(value))
        if after_reference:
            code = _answer(grade_id) + "\n\n" + code
        return nbformat.writes(submission(LESSON, {grade_id: code})).encode("utf-8")

    return build


def _transform(change: Callable[[nbformat.NotebookNode], None], answers: dict | None = None) -> Callable:
    def build(values: dict) -> bytes:
        nb = submission(LESSON, answers)
        change(nb)
        return nbformat.writes(nb, version=4).encode("utf-8")

    return build


def _index(nb: nbformat.NotebookNode, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _delete(grade_id: str) -> Callable[[nbformat.NotebookNode], None]:
    def change(nb):
        del nb.cells[_index(nb, grade_id)]

    return change


def _duplicate(nb):
    for grade_id in (f"{CELL}-tests", CELL):
        at = _index(nb, grade_id)
        nb.cells.insert(at + 1, copy.deepcopy(nb.cells[at]))


def _retype(nb):
    cell = nb.cells[_index(nb, f"{READOUT}-tests")]
    nb.cells[_index(nb, f"{READOUT}-tests")] = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)


def _reorder(nb):
    tests = nb.cells.pop(_index(nb, f"{COUNT}-tests"))
    nb.cells.insert(_index(nb, COUNT), tests)


def _edit_tests(nb):
    nb.cells[_index(nb, f"{FORWARD}-tests")].source = "print('rnn_forward: all tests passed (trust me)')"


def _edit_points(nb):
    nb.cells[_index(nb, f"{CELL}-tests")].metadata["nbgrader"]["points"] = 100


def _edit_grade_id(nb):
    nb.cells[_index(nb, f"{FORWARD}-tests")].metadata["nbgrader"]["grade_id"] = "01-bonus-tests"
    nb.cells[_index(nb, f"{FORWARD}-tests".replace(FORWARD, READOUT))].metadata["nbgrader"]["points"] = 50


def _other_lesson(values: dict) -> bytes:
    nb = student_notebook(LESSON)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if "grade_id" in meta:
            meta["grade_id"] = meta["grade_id"].replace("01-", "02-", 1)
    return nbformat.writes(nb).encode("utf-8")


WRONG_FORWARD = """
def rnn_forward(X, h0, W_xh, W_hh, b_h):
    return torch.zeros(X.shape[0], X.shape[1], h0.shape[1], dtype=X.dtype), h0
"""

INFINITE_LOOP = """
def count_rnn_parameters(input_size, hidden_size, output_size):
    while True:
        pass
"""

PRINTING_LOOP = """
def count_rnn_parameters(input_size, hidden_size, output_size):
    while True:
        print("still counting ..." * 20)
"""

FLOOD = """
for line in range(10**7):
    print(line)
"""

HUGE_FIGURE = """
import matplotlib.pyplot as plt
import numpy as np

fig = plt.figure(figsize=(25, 25), dpi=100)
plt.imshow(np.random.default_rng(0).random((1200, 1200, 3)))
plt.show()
"""

MEMORY_BOMB = """
def _eat_memory():
    hoard = []
    while True:
        hoard.append(torch.ones(2**27))  # 512 MB at a time, really touched


_eat_memory()
"""

STUBBORN = """
while True:  # swallows the grader's interrupt
    try:
        while True:
            pass
    except KeyboardInterrupt:
        pass
"""

FORK_BOMB = """
import os

while True:
    os.fork()
"""

MONKEYPATCH_CHECKS = """
import seqlab.checks


def rnn_cell(x, h, W_xh, W_hh, b_h):
    return torch.zeros(x.shape[0], W_hh.shape[0], dtype=x.dtype)


def _accept(*args, **kwargs):
    return None


assert_close = assert_shape = seqlab.checks.assert_close = seqlab.checks.assert_shape = _accept
"""

MONKEYPATCH_TORCH = """
def count_rnn_parameters(input_size, hidden_size, output_size):
    return 0


torch.testing.assert_close = lambda *args, **kwargs: None
torch.allclose = lambda *args, **kwargs: True
import seqlab.checks

seqlab.checks.assert_integer = assert_integer = lambda *args, **kwargs: None
"""

HARD_CODED = """
def count_rnn_parameters(input_size, hidden_size, output_size):
    return 42  # the visible test's answer for (3, 4, 2)
"""

READ_SOLUTIONS = """
import json
import zipfile
from pathlib import Path

import seqlab

try:  # the instructor's notebook sits next to the helper package
    solution = Path(seqlab.__file__).resolve().parents[2] / "solutions" / "01_rnn" / "01_rnn.ipynb"
    cells = json.loads(solution.read_text())["cells"]
    exec(next("".join(c["source"]) for c in cells if "def rnn_cell" in "".join(c["source"])))
except Exception:

    def rnn_cell(x, h, W_xh, W_hh, b_h):
        return h
"""

WRITE_OUTSIDE = """
from pathlib import Path

import seqlab

for target in (Path("{canary}"), Path(seqlab.__file__).parent / "hostile_was_here.py"):
    try:
        target.write_text("print('pwned')")
        print("WROTE", target)
    except OSError:
        pass
"""

NETWORK = """
import socket

try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).sendall(b"leak")
    print("NETWORK REACHABLE")
except OSError as error:
    print("no network:", error)
"""

ENVIRONMENT = """
import os

print("the grader's secret:", os.environ.get("GRADER_SECRET", "not here"))
"""

INPUT = """
name = input("Your name? ")
"""

SYS_EXIT = """
import sys

sys.exit("I am done")
"""


# -- kind 1: subverting the test cells from earlier cells (each a variation a student would try next) --

WRONG_COUNT = """
def count_rnn_parameters(input_size, hidden_size, output_size):
    return 0
"""

SYS_DISPLAYHOOK_SCORE = WRONG_COUNT.replace(
    "    return 0",
    "    import sys\n\n    sys.displayhook(2.0)  # 2 points as a result, then a failing check\n    return 0",
)

POST_RUN_FORGIVES = (
    WRONG_COUNT
    + """

def _forgive(result):
    from IPython.display import clear_output

    result.error_in_exec = None
    result.error_before_exec = None
    clear_output()


get_ipython().events.register("post_run_cell", _forgive)
"""
)

AST_PASS = (
    WRONG_COUNT
    + """
import ast


class _Quiet(ast.NodeTransformer):
    def visit_Module(self, node):
        if "count_rnn_parameters" in ast.unparse(node) and "def " not in ast.unparse(node)[:4]:
            return ast.Module(body=[ast.Pass()], type_ignores=[])
        return node


get_ipython().ast_transformers.append(_Quiet())
"""
)

INPUT_TRANSFORMER_PASS = (
    WRONG_COUNT
    + """

def _blank(lines):
    return ["pass\\n"] if any("assert_integer(" in line for line in lines) else lines


get_ipython().input_transformers_cleanup.append(_blank)
"""
)

PRE_RUN_PATCH = (
    WRONG_COUNT
    + """
import seqlab.checks

_real = seqlab.checks.assert_integer


def _patch(info):
    globals()["assert_integer"] = seqlab.checks.assert_integer = lambda *args, **kwargs: None


def _unpatch(result):
    globals()["assert_integer"] = seqlab.checks.assert_integer = _real


get_ipython().events.register("pre_run_cell", _patch)
get_ipython().events.register("post_run_cell", _unpatch)
"""
)

STACK_AWARE_PATCH = (
    WRONG_COUNT
    + """
import sys

import seqlab.checks

_real_integer = seqlab.checks.assert_integer


def _integer(*args, **kwargs):
    frame = sys._getframe(1)
    while frame is not None:  # behave while the grader's probe is looking
        if "seqlab" in frame.f_code.co_name:
            return _real_integer(*args, **kwargs)
        frame = frame.f_back
    return None


assert_integer = seqlab.checks.assert_integer = _integer
"""
)

BLIND_FORMATTER = (
    WRONG_COUNT
    + """
import seqlab.checks

get_ipython().display_formatter.formatters["text/plain"].for_type(list, lambda obj, p, cycle: p.text("[]"))
assert_integer = seqlab.checks.assert_integer = lambda *args, **kwargs: None
"""
)

SILENCED_TRACEBACK = (
    WRONG_COUNT
    + """
get_ipython()._showtraceback = lambda *args, **kwargs: None
get_ipython().showtraceback = lambda *args, **kwargs: None
"""
)

TENSOR_SUBCLASS = """
class _Agreeable(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.isclose):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

    def detach(self):
        return self

    def to(self, *args, **kwargs):
        return self


def rnn_readout(H_all, W_hy, b_y):
    return torch.zeros(H_all.shape[0], H_all.shape[1], W_hy.shape[1], dtype=H_all.dtype).as_subclass(_Agreeable)
"""

CAPTURED_SHORTCUT = """
_SHORTCUTS = {"cell": torch._VF.rnn_tanh_cell}


def rnn_cell(x, h, W_xh, W_hh, b_h, _step=_SHORTCUTS["cell"]):
    return _step(x, h, W_xh.T.contiguous(), W_hh.T.contiguous(), b_h, torch.zeros_like(b_h))
"""

EDITED_SHORTCUT_LIST = """
import seqlab.checks

seqlab.checks.RNN_SHORTCUTS = ("torch.nn.LSTM.forward",)


def rnn_cell(x, h, W_xh, W_hh, b_h):
    return torch.rnn_tanh_cell(x, h, W_xh.T.contiguous(), W_hh.T.contiguous(), b_h, torch.zeros_like(b_h))
"""

SCAN_EVASIONS = """
from sys import settrace as _quiet  # the trace hook under another name

_quiet(None)
_shell = __import__("IPython").get_ipython()  # the shell, with no get_ipython() call in sight
!echo a shell command is a process too
"""

# -- kind 6: an honest student whose code writes to stderr --

STDERR_HONEST = """
import sys
import warnings


def count_rnn_parameters(input_size, hidden_size, output_size):
    print("counting ...", file=sys.stderr)  # a progress message
    warnings.warn("counting parameters", UserWarning, stacklevel=1)
    D, H, O = input_size, hidden_size, output_size
    return D * H + H * H + H + H * O + O
"""

# -- kind 2: secrets within reach of the kernel --

READ_GIT_HISTORY = """
import json
import subprocess
from pathlib import Path

import seqlab

root = Path(seqlab.__file__).resolve().parents[2]
try:  # git show reads every solution from the history, even with solutions/ hidden
    shown = subprocess.run(
        ["git", "-c", "safe.directory=*", "-C", str(root), "show", "HEAD:solutions/01_rnn/01_rnn.ipynb"],
        capture_output=True, text=True, timeout=20,
    ).stdout
    cells = json.loads(shown)["cells"]
    exec(next("".join(c["source"]) for c in cells if "def rnn_cell" in "".join(c["source"])))
except Exception:

    def rnn_cell(x, h, W_xh, W_hh, b_h):
        return h
"""

# -- kind 3: limits stepped around --


def _hoard(path: str, why: str) -> str:
    """Student code that writes 256 MiB to ``path`` in 4 MiB pieces and says where it was stopped."""
    return f"""
written = 0
try:  # {why}
    with open("{path}", "wb") as hoard:
        for _ in range(64):
            hoard.write(b"x" * 2**22)
            hoard.flush()
            written += 4
except OSError as error:
    print("stopped after", written, "MiB:", error.strerror)
"""


SHM_HOARD = _hoard("/dev/shm/seqlab-hostile-hoard", "shared memory is not address space: RLIMIT_AS does not count it")

MEMFD_HOARD = """
import os

hoard = []  # memory in files of no folder: neither address space nor a size-capped tmpfs
for _ in range(48):  # 48 files of 128 MiB (each under the 256 MiB file-size limit): 6 GiB against 3 GiB
    hoard.append(os.memfd_create("hoard"))
    for _ in range(2):
        os.write(hoard[-1], b"x" * 2**26)
print("held", len(hoard) * 128, "MiB")
"""

TMP_LEFTOVER = """
import os

print("in /tmp:", sorted(os.listdir("/tmp")))  # other students' folders, the instructor's files?
with open("/tmp/seqlab-hostile-left-behind", "w") as handle:
    handle.write("picked up by the next student?")
""" + _hoard("/tmp/seqlab-hostile-hoard", "a tmpfs is memory too")

DISK_FILL = """
import os

chunk = b"x" * 2**26
written = 0
try:  # 1 GiB in one file, 64 MiB at a time: the file-size limit (or the disk quota) stops it
    with open(os.path.join(os.environ["HOME"], "fill.bin"), "wb") as big:
        for _ in range(16):
            big.write(chunk)
            big.flush()
            written += 64
except OSError as error:
    print("one file: stopped after", written, "MiB:", error.strerror)
for where, folder in (("TMPDIR", os.environ.get("TMPDIR", ".")), ("cwd", os.getcwd())):
    written = 0
    for piece in range(8):  # then 512 MiB more in each, as files of 64 MiB (each under the file-size limit)
        try:
            with open(os.path.join(folder, f"fill-{where}-{piece}.bin"), "wb") as handle:
                handle.write(chunk)
            written += 64
        except OSError as error:
            last = error.strerror  # and on to the next piece
    print(f"{where}: {written} MiB more, last error: {last if written < 512 else None}")
kept = sum(entry.stat().st_size for entry in os.scandir(os.environ["HOME"]) if entry.is_file())
print("kept", kept // 2**20, "MiB in the work folder")
"""

PROC_SNOOP = """
import os

seen = [name for name in os.listdir("/proc") if name.isdigit()]
print("processes in sight:", len(seen))
for pid in seen:  # the grading workers' command lines name their students and the instructor's folders
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            print(handle.read().replace(b"\\0", b" ").decode(errors="replace")[:300])
    except OSError:
        pass
"""

# -- kind 5: one file or one output must not break the run, the report or the feedback --

FAKE_HTML = """
from IPython.display import HTML, Javascript, display

display(HTML("<script>document.title = 'pwned-by-script'</script><h2>Score 12.0 / 12.0 (fake-html-score)</h2>"))
display(Javascript("document.title = 'pwned-by-javascript'"))
display({"text/html": "<img src=x onerror=alert('pwned-by-onerror')>", "image/svg+xml": "<svg onload=alert(1)/>"},
        raw=True)
"""

MALFORMED_DISPLAY = """
get_ipython().display_pub.publish({"text/plain": ["not", 1, None], "image/png": 12, "application/json": [[[]]]})
nested = []
for _ in range(5000):
    nested = [nested]
get_ipython().display_pub.publish({"application/json": {"deep": nested}, "text/plain": "deep"})
"""

ANSI_ERROR = """
def count_rnn_parameters(input_size, hidden_size, output_size):
    raise ValueError("\\x1b[31mred\\x1b[0m" * 100_000)  # 200 000 colour codes in one message
"""

ANSI_CHUNKS = """
import sys

for _ in range(170):  # each write under the grader's cap of one message; 340 000 codes in the cell's merged stream
    sys.stdout.write("\\x1b[31m#" * 1_999 + "\\n")
    sys.stdout.flush()
"""

ANSI_WARNINGS = """
import warnings


def count_rnn_parameters(input_size, hidden_size, output_size):
    warnings.simplefilter("always", UserWarning)
    for step in range(60):  # stderr in a test cell, each warning under the cap of one message
        warnings.warn(str(step) + "\\x1b[33m!" * 1_500, UserWarning, stacklevel=1)
    D, H, O = input_size, hidden_size, output_size
    return D * H + H * H + H + H * O + O
"""


def _in_cells(source: str, *grade_ids: str) -> Callable[[dict], bytes]:
    """A correct submission with ``source`` after the right answer in each of ``grade_ids``' cells."""

    def build(values: dict) -> bytes:
        answers = {grade_id: _answer(grade_id) + "\n\n" + source for grade_id in grade_ids}
        return nbformat.writes(submission(LESSON, answers)).encode("utf-8")

    return build


def _after_answers(sources: dict[str, str]) -> Callable[[dict], bytes]:
    """A correct submission with ``sources[grade_id]`` after the right answer in each of those cells."""

    def build(values: dict) -> bytes:
        answers = {grade_id: _answer(grade_id) + "\n\n" + source for grade_id, source in sources.items()}
        return nbformat.writes(submission(LESSON, answers)).encode("utf-8")

    return build


LEAVE_STATE = """
import builtins
import os
import sys

import matplotlib
import torch

builtins.seqlab_left_behind = torch.seqlab_left_behind = True  # in the interpreter, for the next kernel
os.environ["SEQLAB_LEFT_BEHIND"] = "1"
sys.modules["seqlab_left_behind"] = sys
# in folders another kernel might share (not the work folder: a submission's kernels share it by design, and a
# kernel started anew keeps matplotlib's configuration there)
shared = [f for f in (matplotlib.get_configdir(), "/dev/shm", "/tmp") if not f.startswith(os.environ["HOME"])]
for folder in shared:
    try:
        with open(os.path.join(folder, "seqlab-left-behind"), "w") as handle:
            handle.write("x")
    except OSError:
        pass
os._exit(3)  # the next kernel (a restart, and every other student's) must start clean
"""

FIND_STATE = """
def count_rnn_parameters(input_size, hidden_size, output_size):
    import builtins
    import os
    import sys

    import matplotlib
    import torch

    folders = [f for f in (matplotlib.get_configdir(), "/dev/shm", "/tmp") if not f.startswith(os.environ["HOME"])]
    found = [
        hasattr(builtins, "seqlab_left_behind"),
        hasattr(torch, "seqlab_left_behind"),
        "SEQLAB_LEFT_BEHIND" in os.environ,
        "seqlab_left_behind" in sys.modules,
        *(os.path.exists(os.path.join(folder, "seqlab-left-behind")) for folder in folders),
    ]
    if any(found):  # what an earlier kernel left: the answer turns wrong, the test cell says so
        return -1
    return input_size * hidden_size + hidden_size * hidden_size + hidden_size + hidden_size * output_size + output_size
"""


DISPLAY_UPDATE_FLOOD = """
from IPython.display import display

handle = display("small", display_id=True)
for step in range(12):
    handle.update("x" * 1_000_000)  # 12 MB through one display id
"""

CASES = [
    Case(
        "infinite_loop",
        "infinite loop in a function",
        _replace(COUNT, INFINITE_LOOP),
        "graded",
        _points(COUNT),
        "timed out",
    ),
    Case(
        "printing_loop",
        "infinite loop that prints",
        _replace(COUNT, PRINTING_LOOP),
        "graded",
        _points(COUNT),
        "output dropped",
    ),
    Case("flood", "10^7 lines of output", _replace(COUNT, FLOOD, True), "graded", FULL, "output dropped"),
    Case(
        "huge_figure",
        "a 2500x2500 pixel figure of noise",
        _replace(READOUT, HUGE_FIGURE, True),
        "graded",
        FULL,
        "output dropped",
    ),
    Case(
        "memory_bomb",
        "allocates until memory runs out",
        _replace(COUNT, MEMORY_BOMB, True),
        "graded",
        FULL,
        "ran out of memory",
    ),
    Case(
        "os_exit",
        "os._exit(3) in the last exercise",
        _replace(COUNT, "import os\n\nos._exit(3)", True),
        "flagged",
        _points(COUNT),
        "kernel died in cell 35 [01-count-rnn-parameters]: it exited with status 3",
    ),
    Case("sys_exit", "sys.exit() after the answer", _replace(CELL, SYS_EXIT, True), "graded", FULL),
    Case(
        "segfault",
        "a segmentation fault",
        _replace(JORDAN, "import ctypes\n\nctypes.string_at(0)", True),
        "flagged",
        _points(JORDAN),
        "segmentation fault",
    ),
    Case(
        "killed",
        "the kernel is killed (SIGKILL)",
        _replace(READOUT, "import os\n\nos.kill(os.getpid(), 9)", True),
        "flagged",
        _points(READOUT),
        "it was killed",
    ),
    Case(
        "stubborn",
        "a loop that swallows the interrupt",
        _replace(COUNT, STUBBORN, True),
        "flagged",
        _points(COUNT),
        "ignored the interrupt",
    ),
    Case(
        "fork_bomb",
        "a fork bomb",
        _replace(COUNT, FORK_BOMB, True),
        "flagged",
        _points(COUNT),
        "started more than 16 processes at once",
    ),
    Case(
        "deleted_cell",
        "a test cell deleted",
        _transform(_delete(f"{FORWARD}-tests")),
        "flagged",
        _points(f"{FORWARD}-tests"),
        "01-rnn-forward-tests] needs manual grading",
    ),
    Case("duplicated_cells", "a solution and a test cell duplicated", _transform(_duplicate), "graded", FULL),
    Case("retyped_cell", "a test cell turned into markdown", _transform(_retype), "graded", FULL),
    Case("reordered_cells", "a test cell moved above its exercise", _transform(_reorder), "graded", _points(COUNT)),
    Case(
        "edited_tests",
        "a wrong answer and its test cell edited to pass",
        _transform(_edit_tests, {FORWARD: WRONG_FORWARD}),
        "graded",
        _points(FORWARD),
    ),
    Case("edited_points", "100 points written into a test cell", _transform(_edit_points), "graded", FULL),
    Case(
        "edited_grade_id",
        "a test cell's grade id and another's points edited",
        _transform(_edit_grade_id),
        "flagged",
        _points(f"{FORWARD}-tests"),
        "needs manual grading",
    ),
    Case(
        "renamed",
        "a file not named by student id",
        _replace(CELL, "", True),
        "invalid",
        ZERO,
        "not a student id",
        filename="01_rnn (1).ipynb",
    ),
    Case(
        "invalid_json",
        "a file that is not JSON",
        lambda values: b"{this is not json",
        "invalid",
        ZERO,
        "not a valid notebook",
    ),
    Case("empty_file", "an empty file", lambda values: b"", "invalid", ZERO, "the file is empty"),
    Case("other_lesson", "another lesson's notebook", _other_lesson, "invalid", ZERO, "not the 01_rnn notebook"),
    Case(
        "patched_checks",
        "assert_close and assert_shape replaced",
        _replace(CELL, MONKEYPATCH_CHECKS),
        "flagged",
        _points(CELL, FORWARD),  # put back before each test cell: the wrong rnn_cell (used by rnn_forward) fails
        "put back what earlier code had changed: assert_close in the notebook",
    ),
    Case(
        "patched_torch",
        "torch.testing.assert_close, torch.allclose replaced",
        _replace(COUNT, MONKEYPATCH_TORCH),
        "flagged",
        _points(COUNT),
        "torch.allclose, torch.testing.assert_close",
    ),
    Case("hard_coded", "the visible test's answer hard-coded", _replace(COUNT, HARD_CODED), "graded", _points(COUNT)),
    Case(
        "read_solutions",
        "reads the instructor's solution",
        _replace(CELL, READ_SOLUTIONS),
        "flagged",
        _points(CELL, FORWARD),
        "scan: cell 5 [01-rnn-cell] line 9: a path outside the work folder (seqlab.__file__)",
    ),
    Case(
        "write_outside",
        "writes outside its folder",
        _replace(COUNT, WRITE_OUTSIDE, True),
        "flagged",
        FULL,
        "a path outside the work folder",
    ),
    Case("network", "connects to a server on this machine", _replace(COUNT, NETWORK, True), "graded", FULL),
    Case("input", "calls input()", _replace(CELL, INPUT, True), "graded", FULL),
    Case("environment", "prints the grader's environment", _replace(COUNT, ENVIRONMENT, True), "graded", FULL),
    Case(
        "displayhook_score",
        "sys.displayhook(2.0) before a failing check",
        _replace(COUNT, SYS_DISPLAYHOOK_SCORE),
        "flagged",
        _points(COUNT),
        "IPython internals (sys.displayhook)",
    ),
    Case(
        "post_run_forgives",
        "a post_run_cell callback clears the error",
        _replace(COUNT, POST_RUN_FORGIVES),
        "flagged",
        _points(COUNT),
        "the event callbacks",
    ),
    Case(
        "ast_pass",
        "an AST transformer empties the test cell",
        _replace(COUNT, AST_PASS),
        "flagged",
        _points(COUNT),
        "the AST transformers",
    ),
    Case(
        "input_transformer_pass",
        "an input transformer empties the test cell",
        _replace(COUNT, INPUT_TRANSFORMER_PASS),
        "flagged",
        _points(COUNT),
        "input",
    ),
    Case(
        "pre_run_patch",
        "checks patched before each cell, restored after",
        _replace(COUNT, PRE_RUN_PATCH),
        "flagged",
        _points(COUNT),
        "the event callbacks",
    ),
    Case(
        "stack_aware_patch",
        "a check that behaves only while the probe looks",
        _replace(COUNT, STACK_AWARE_PATCH),
        "flagged",
        _points(COUNT),
        "assert_integer",
    ),
    Case(
        "blind_formatter",
        "the formatter that reports the probe blinded",
        _replace(COUNT, BLIND_FORMATTER),
        "flagged",
        _points(COUNT),
        "formatter",
    ),
    Case(
        "silenced_traceback",
        "the traceback display switched off",
        _replace(COUNT, SILENCED_TRACEBACK),
        "flagged",
        _points(COUNT),
        "showtraceback",
    ),
    Case(
        "tensor_subclass",
        "a tensor subclass that agrees with every comparison",
        _replace(READOUT, TENSOR_SUBCLASS),
        "flagged",
        _points(READOUT),
        "tensor-subclass hooks (__torch_function__, as_subclass)",
    ),
    Case(
        "captured_shortcut",
        "torch's RNN kernel kept in a default argument",
        _replace(CELL, CAPTURED_SHORTCUT),
        "graded",
        _points(f"{CELL}-shortcuts-tests", f"{FORWARD}-shortcuts-tests"),  # right values, caught as a shortcut
    ),
    Case(
        "edited_shortcut_list",
        "RNN_SHORTCUTS emptied, the shortcut used",
        _replace(CELL, EDITED_SHORTCUT_LIST),
        "flagged",
        _points(f"{CELL}-shortcuts-tests", f"{FORWARD}-shortcuts-tests"),
        "RNN_SHORTCUTS",
    ),
    Case(
        "scan_evasions",
        "settrace renamed, IPython by __import__, a shell escape",
        _replace(COUNT, SCAN_EVASIONS, True),
        "flagged",
        FULL,
        "processes or shell commands (!echo a shell command is a process too)",
    ),
    Case(
        "stderr_honest",
        "an honest answer that writes to stderr and warns",
        _replace(COUNT, STDERR_HONEST),
        "graded",
        FULL,
    ),
    Case(
        "read_git_history",
        "reads the solution from git's history",
        _replace(CELL, READ_GIT_HISTORY),
        "flagged",
        _points(CELL, FORWARD),
        "processes or shell commands (subprocess)",
    ),
    Case(
        "shm_hoard",
        "256 MiB written to /dev/shm",
        _replace(COUNT, SHM_HOARD, True),
        "flagged",
        FULL,
        "a path outside the work folder ('/dev/shm/seqlab-hostile-hoard')",
    ),
    # as root on Linux the kernel's memory cgroup counts memfd pages: killed at 4 GiB; elsewhere nothing stops it
    Case(
        "memfd_hoard",
        "6 GiB held in memfd files of 128 MiB",
        _replace(COUNT, MEMFD_HOARD, True),
        "flagged" if probe().memory_cgroup else "graded",
        _points(COUNT) if probe().memory_cgroup else FULL,
        "it was killed" if probe().memory_cgroup else "",
    ),
    Case(
        "tmp_leftover",
        "lists /tmp, leaves a file there, writes 256 MiB to it",
        _replace(READOUT, TMP_LEFTOVER, True),
        "flagged",
        FULL,
        "a path outside the work folder ('/tmp'",
    ),
    # as root on Linux the work folder is a tmpfs of 256 MiB (Limits.disk): nothing more fits, the cells go on
    Case(
        "disk_fill",
        "2 GiB written to its work folder, HOME, TMPDIR and cwd, in pieces of 64 MiB",
        _replace(CELL, DISK_FILL, True),
        "graded",
        FULL,
    ),
    # every kernel starts clean: what one leaves in its interpreter or shared folders, the next does not see
    Case(
        "leave_state",
        "leaves state in its interpreter and folders, dies, then looks for it in a later exercise",
        lambda values: nbformat.writes(
            submission(LESSON, {READOUT: _answer(READOUT) + "\n\n" + LEAVE_STATE, COUNT: FIND_STATE})
        ).encode("utf-8"),
        "flagged",
        _points(READOUT),
        "[01-rnn-readout]: it exited with status 3",
    ),
    # the kernel that replaces a dead one starts in the same, full, work folder: its sockets and files still fit
    Case(
        "full_then_crash",
        "fills its work folder, then os._exit(3) two exercises later",
        _after_answers({CELL: DISK_FILL, READOUT: "import os\n\nos._exit(3)"}),
        "flagged",
        _points(READOUT),
        "[01-rnn-readout]: it exited with status 3",
    ),
    Case(
        "proc_snoop",
        "reads every process's command line in /proc",
        _replace(JORDAN, PROC_SNOOP, True),
        "flagged",
        FULL,
        "a path outside the work folder ('/proc'",
    ),
    Case(
        "folder_submission",
        "a folder named like a notebook",
        lambda values: None,
        "invalid",
        ZERO,
        "a folder (or special file) named like a notebook",
        filename="folder_submission.ipynb",
    ),
    Case(
        "formula_name",
        "a file name that is a spreadsheet formula",
        _replace(CELL, "", True),
        "invalid",
        ZERO,
        "not a student id",
        filename="=HYPERLINK(1).ipynb",
    ),
    Case("fake_html", "HTML, JavaScript and SVG with a fake score", _replace(COUNT, FAKE_HTML, True), "graded", FULL),
    Case(
        "malformed_display",
        "malformed and deeply nested display data",
        _replace(COUNT, MALFORMED_DISPLAY, True),
        "flagged",
        FULL,
        "IPython internals (display_pub, get_ipython)",
    ),
    Case(
        "ansi_error",
        "an error message of 200 000 colour codes",
        _replace(COUNT, ANSI_ERROR),
        "graded",
        _points(COUNT),
        seconds=90,
    ),
    Case(
        "ansi_chunks",
        "340 000 colour codes in small writes, in three cells",
        _in_cells(ANSI_CHUNKS, CELL, READOUT, COUNT),
        "graded",
        FULL,
        seconds=90,
    ),
    Case(
        "ansi_warnings",
        "a test cell's warnings full of colour codes",
        _replace(COUNT, ANSI_WARNINGS),
        "graded",
        FULL,
        seconds=90,
    ),
    Case(
        "display_update_flood",
        "12 MB through display(..., display_id=True).update()",
        _replace(COUNT, DISPLAY_UPDATE_FLOOD, True),
        "graded",
        FULL,
        "output dropped",
    ),
]


def write_class_zip(path, honest: bytes) -> dict[str, str]:
    """A class zip with the zip-only cases of kind 5 beside honest notebooks (``honest``'s bytes).

    Returns what each row must show: ``graded`` for a student graded, else a phrase of the refusal (row keys
    are student ids, or the zip entry for an entry refused).
    """
    huge = b"{" + b" " * (65 * 2**20) + b"}"  # 65 MiB of JSON whitespace: deflated to about 64 KiB
    damaged = honest.replace(b'"cells"', b'"CELLS"', 1)  # to be swapped back in the stored bytes: a bad CRC
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        # nbgrader's collected layout inside a zip: every notebook has the same base name
        archive.writestr("export/zip_ann/01_rnn/01_rnn.ipynb", honest)
        archive.writestr("export/zip_bob/01_rnn/01_rnn.ipynb", honest)
        archive.writestr("a/zip_dup.ipynb", honest)  # one student twice, in two folders
        archive.writestr("b/zip_dup.ipynb", honest)
        archive.writestr("zip_twice.ipynb", honest)  # one student twice, in both layouts
        archive.writestr("late/zip_twice/01_rnn/01_rnn.ipynb", honest)
        archive.writestr("zip_folder.ipynb/", b"")  # a folder named like a notebook
        archive.writestr("zip_folder.ipynb/inside.txt", b"a folder, not a notebook")
        archive.writestr("zip_huge.ipynb", huge)
        archive.writestr(zipfile.ZipInfo("zip_crc.ipynb"), damaged, zipfile.ZIP_STORED)
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"CELLS"', b'"cells"', 1))  # the stored bytes no longer match their CRC
    return {
        "zip_ann": "graded",
        "zip_bob": "graded",
        "a/zip_dup.ipynb": "2 notebooks of student 'zip_dup'",
        "b/zip_dup.ipynb": "2 notebooks of student 'zip_dup'",
        "zip_twice.ipynb": "2 notebooks of student 'zip_twice'",
        "late/zip_twice/01_rnn/01_rnn.ipynb": "2 notebooks of student 'zip_twice'",
        "zip_folder.ipynb/": "a folder named like a notebook",
        "zip_huge.ipynb": "larger than 64 MB",
        "zip_crc.ipynb": "cannot be read (BadZipFile: Bad CRC-32",
    }


def by_student() -> dict[str, Case]:
    return {case.student: case for case in CASES}


def write_all(folder, values: dict) -> None:
    """Write every case's file into ``folder``."""
    for case in CASES:
        data = case.build(values)
        if data is None:
            (folder / case.file).mkdir()
            (folder / case.file / "inside.txt").write_text("a folder, not a notebook", encoding="utf-8")
        else:
            (folder / case.file).write_bytes(data)
