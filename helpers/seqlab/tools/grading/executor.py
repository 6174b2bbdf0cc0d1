"""nbgrader's Execute step, made to survive what students' code does to its kernel.

nbgrader runs a submission in one kernel and gives up on the whole notebook when that kernel dies
or a cell ignores the interrupt that ends its time limit.  :class:`ResilientExecute` replaces
nbgrader's ``Execute`` in the autograde step and instead

- **grades what ran**: when the kernel dies in cell N (a crash, ``os._exit``, a limit, a kill) or
  cell N cannot be interrupted, cell N gets an error output (so a test cell there scores 0), a new
  kernel re-runs cells 0 … N-1 without keeping their outputs, and grading goes on after cell N;
  after ``max_restarts`` such restarts the remaining cells are marked as not run (an error output,
  since nbgrader gives full points to a test cell without one);
- **keeps the checks honest**: before every test cell a short probe, unseen by the student, checks
  that the comparison helpers still reject a wrong answer (``assert_close`` & co., from the
  notebook and from :mod:`seqlab.checks`, ``torch.testing.assert_close``, ``torch.allclose``,
  ``torch.equal``, ``forbid``); if code before it made them accept anything, the test cell is not
  run and scores 0;
- **restores the interpreter** before every test cell (:mod:`seqlab.tools.grading.kernel_guard`): the
  hooks, formatters, transformers, callbacks, comparison functions and checks copied when the
  kernel started, before any student code; what had to be put back is reported (and flagged);
- **scores only from errors**: a test cell's ``execute_result`` becomes plain display output and
  its stderr becomes stdout (nbgrader would take a score from the first, and give 0 for the
  second: a progress bar or a warning must not cost points), and a test cell whose execution
  failed without an error output (the student silenced the traceback) gets one;
- **caps output**: at most ``max_output_bytes`` of output per cell are kept, counting display
  updates (``display(..., display_id=True).update(...)``); an error's message and traceback are
  cut to :data:`MAX_ERROR_CHARS`; terminal escape codes are kept only while the cell's outputs together
  hold at most :data:`MAX_ANSI_CODES` of them, counted as they arrive (nbconvert merges a cell's stream
  outputs and converts the escape codes to HTML in time quadratic in their number: 100 000 codes kept a
  worker busy for minutes, in the feedback and again in the formgrader);
- **keeps only safe output types**: display data is reduced to plain text and PNG/JPEG images
  (HTML, JavaScript, SVG, Markdown and JSON from a student's code never reach the feedback or the
  formgrader, where they would run or pass for the grader's own text), and malformed data is
  replaced by a note instead of breaking the notebook;
- **cleans up**: after every cell, processes the student's code started are killed; while a cell
  runs, more than ``max_children`` of them at once (a fork bomb, which would starve the other
  students' kernels of CPU) make the grader kill the kernel with all of them within half a
  second: the cell is lost like any cell that kills its kernel.

Each of these events is written to ``events_file`` (JSON) for the grading worker to report, with the seconds
spent starting kernels (with the guard's imports) and running cells.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import json
import re
import signal
import threading
import time

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Any, Enum, Integer, Unicode

from seqlab.tools.course import KERNEL_STARTUP_TIMEOUT
from seqlab.tools.grading.kernel_guard import RESTORE, SNAPSHOT
from seqlab.tools.grading.limits import LOCKED_CELL_SECONDS, MAX_RESTARTS
from seqlab.tools.grading.sandbox import KernelSandbox, SandboxedKernelManager

__all__ = [
    "FLAGGED_EVENTS",
    "MAX_ANSI_CODES",
    "MAX_ERROR_CHARS",
    "ResilientExecute",
    "death_cause",
    "describe_cell",
    "is_test_cell",
    "run_notebook",
    "safe_content",
    "score_from_errors_only",
    "INTEGRITY_PROBE",
    "ANSI",
    "SAFE_TYPES",
    "escape_codes",
    "without_escape_codes",
    "cap_escape_codes",
]

#: Events that say a test cell's result may not be the answer's (the grader flags them; ``seqlab check`` notes them).
FLAGGED_EVENTS = ("kernel_died", "not_run", "tampered", "restored", "guard")

#: Runs inside the student's kernel, silently, before each test cell; leaves ``__seqlab_probe__``.
INTEGRITY_PROBE = r"""
def __seqlab_integrity():
    import sys
    problems = []
    try:
        import torch
        a, b = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)

        def must_reject(label, call):
            try:
                call()
            except AssertionError:
                return
            except BaseException as error:
                problems.append(f"{label} raised {type(error).__name__} instead of rejecting a wrong answer")
                return
            problems.append(f"{label} accepts a wrong answer")

        namespaces = [("", sys.modules["__main__"].__dict__)]
        checks = sys.modules.get("seqlab.checks")
        if checks is not None:
            namespaces.append(("seqlab.checks.", vars(checks)))
        for prefix, namespace in namespaces:
            if callable(namespace.get("assert_close")):
                must_reject(prefix + "assert_close", lambda: namespace["assert_close"]("probe", a, b))
            if callable(namespace.get("assert_shape")):
                must_reject(prefix + "assert_shape", lambda: namespace["assert_shape"]("probe", a, (4,)))
            if callable(namespace.get("assert_integer")):
                must_reject(prefix + "assert_integer", lambda: namespace["assert_integer"]("probe", 1, 2))
            if callable(namespace.get("assert_unchanged")):
                must_reject(prefix + "assert_unchanged", lambda: namespace["assert_unchanged"]("probe", a, b))
            if callable(namespace.get("forbid")):
                def blocked(forbid=namespace["forbid"]):
                    with forbid("torch.nn.RNNCell.forward"):
                        torch.nn.RNNCell(1, 1)(torch.zeros(1, 1))
                must_reject(prefix + "forbid", blocked)
        must_reject("torch.testing.assert_close", lambda: torch.testing.assert_close(a, b))
        if torch.allclose(a, b) is not False:
            problems.append("torch.allclose accepts different tensors")
        if torch.equal(a, b) is not False:
            problems.append("torch.equal accepts different tensors")
    except BaseException as error:
        problems.append(f"the integrity probe failed: {type(error).__name__}")
    return problems
__seqlab_probe__ = __seqlab_integrity()
del __seqlab_integrity
"""

#: At most this many characters of an error's message, and of its traceback, are kept.
MAX_ERROR_CHARS = 20_000
#: Text with more terminal colour codes than this loses them all.
MAX_ANSI_CODES = 2_000
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b")
#: The display types kept from a student's outputs: plain text and raster images.
SAFE_TYPES = ("text/plain", "image/png", "image/jpeg")
_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")


def _tame(text: str) -> str:
    """``text`` without its terminal colour codes if it holds too many of them."""
    if text.count("\x1b") > MAX_ANSI_CODES:
        return ANSI.sub("", text)
    return text


def escape_codes(content: dict) -> int:
    """How many terminal escape codes the text of an output message's content holds."""
    data = content.get("data") if isinstance(content.get("data"), dict) else {}
    traceback = content.get("traceback") if isinstance(content.get("traceback"), list) else []
    texts = [content.get("text"), content.get("ename"), content.get("evalue"), *traceback, data.get("text/plain")]
    return sum(text.count("\x1b") for text in texts if isinstance(text, str))


def without_escape_codes(content: dict) -> dict:
    """``content`` (made safe by :func:`safe_content`) with every terminal escape code removed from its text."""
    plain = {**content}
    for key in ("text", "ename", "evalue"):
        if isinstance(plain.get(key), str):
            plain[key] = ANSI.sub("", plain[key])
    if isinstance(plain.get("traceback"), list):
        plain["traceback"] = [ANSI.sub("", str(line)) for line in plain["traceback"]]
    if isinstance(plain.get("data"), dict) and isinstance(plain["data"].get("text/plain"), str):
        plain["data"] = {**plain["data"], "text/plain": ANSI.sub("", plain["data"]["text/plain"])}
    return plain


def cap_escape_codes(content: dict, used: int) -> tuple[dict, int]:
    """Keep an output's escape codes only while its cell holds at most :data:`MAX_ANSI_CODES` in all.

    ``used`` is how many the cell's earlier outputs brought; returns the content to keep and the new count.
    A cap per message is not enough: nbconvert merges a cell's stream outputs before converting them.
    """
    codes = escape_codes(content)
    if not codes:
        return content, used
    used += codes
    return (content if used <= MAX_ANSI_CODES else without_escape_codes(content)), used


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f" … [{len(text) - limit} characters cut by the grader]"


def safe_content(msg_type: str, content: dict) -> dict:
    """The content of an output message as the grader keeps it (see the module's "caps output" and "safe types")."""
    if msg_type == "error":
        traceback = content.get("traceback")
        lines = [str(line) for line in traceback] if isinstance(traceback, list) else []
        kept, used = [], 0
        for line in lines:
            line = _tame(line)
            if used + len(line) > MAX_ERROR_CHARS:
                kept.append(f"[{len(lines) - len(kept)} traceback lines cut by the grader]")
                break
            kept.append(line)
            used += len(line)
        return {
            **content,
            "ename": _cut(_tame(str(content.get("ename", "Error"))), 200),
            "evalue": _cut(_tame(str(content.get("evalue", ""))), MAX_ERROR_CHARS),
            "traceback": kept,
        }
    if msg_type == "stream":
        text = content.get("text", "")
        name = content.get("name") if content.get("name") in ("stdout", "stderr") else "stdout"
        return {**content, "name": name, "text": _tame(text if isinstance(text, str) else str(text))}
    if msg_type in ("display_data", "execute_result", "update_display_data"):
        data = content.get("data") if isinstance(content.get("data"), dict) else {}
        kept = {}
        for key in SAFE_TYPES:
            value = data.get(key)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                value = "".join(value)
            if not isinstance(value, str) or (key != "text/plain" and not _BASE64.match(value)):
                continue
            kept[key] = _tame(value) if key == "text/plain" else value
        dropped = sorted(str(key) for key in data if key not in kept)
        if dropped and "text/plain" not in kept:
            kept["text/plain"] = f"[output of type {', '.join(dropped)[:200]} not kept by the grader]"
        return {**content, "data": kept, "metadata": {}}
    return content


_DEATHS = {
    getattr(signal, name): meaning
    for name, meaning in (
        ("SIGXCPU", "it used up its CPU-time limit"),
        ("SIGKILL", "it was killed (out of memory, or killed by another process)"),
        ("SIGSEGV", "it crashed (segmentation fault)"),
        ("SIGABRT", "it aborted"),
        ("SIGBUS", "it crashed (bus error)"),
        ("SIGXFSZ", "it wrote a file over the size limit"),
    )
    if hasattr(signal, name)  # Windows has few of them
}


def death_cause(status: int | None) -> str:
    """Plain words for a dead kernel's exit status."""
    if status is None:
        return "it stopped responding"
    if status < 0:
        number = -status
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return _DEATHS.get(number, f"it was killed by {name}")
    return f"it exited with status {status} (os._exit, exit() or a fatal error)"


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _nbgrader(cell: NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test_cell(cell: NotebookNode) -> bool:
    meta = _nbgrader(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def describe_cell(index: int, cell: NotebookNode) -> str:
    """``cell 12 [01-rnn-cell-tests]``, or the cell's first line when it has no grade id."""
    grade_id = _nbgrader(cell).get("grade_id")
    if grade_id:
        return f"cell {index} [{grade_id}]"
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return f"cell {index} ({first[:40]!r})" if first else f"cell {index}"


def score_from_errors_only(cell: NotebookNode) -> None:
    """Make a test cell's score depend only on whether it raised, as ``seqlab check`` scores it.

    nbgrader takes a test cell's score from its first ``execute_result`` (which a student's
    function can produce through the display hook) and gives 0 to a cell that wrote to stderr (a
    progress bar, a warning).  The first becomes ``display_data``, the second ``stdout``.
    """
    for output in cell.get("outputs", []):
        if output.get("output_type") == "execute_result":
            output.output_type = "display_data"
            output.pop("execution_count", None)
        elif output.get("output_type") == "stream" and output.get("name") == "stderr":
            output.name = "stdout"


class ResilientExecute(Execute):
    """nbgrader's Execute that grades what ran, checks the checks, caps output and cleans up."""

    max_restarts = Integer(MAX_RESTARTS, help="kernel restarts allowed per notebook").tag(config=True)
    locked_timeout = Integer(
        LOCKED_CELL_SECONDS,
        help="seconds for the instructor's locked cells that award no points (the setup cell imports torch)",
    ).tag(config=True)
    max_output_bytes = Integer(2 * 2**20, help="bytes of output kept per cell").tag(config=True)
    events_file = Unicode("", help="where to write the events and the seconds spent (JSON)").tag(config=True)
    max_children = Integer(16, help="processes a cell may start before they are all killed").tag(config=True)
    sandbox = Any(
        None, allow_none=True, help="the KernelSandbox every kernel starts in (None: a plain local kernel)"
    ).tag(config=True)
    # A graded kernel's state is thrown away: killed at once instead of asked to shut down (0.1 to 0.5 s of waiting
    # per kernel); what it leaves behind is reaped with the sandbox, as after a kernel that died.
    shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate").tag(config=True)

    def create_kernel_manager(self) -> SandboxedKernelManager:
        """Every kernel is the course's Python kernel, started in ``sandbox`` (whatever the notebook asks for)."""
        self.km = SandboxedKernelManager(sandbox=self.sandbox, config=self.config)
        return self.km

    # -- the run -------------------------------------------------------------------------------

    def preprocess(self, nb, resources=None, km=None):
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.timeout_func = self._timeout_for
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self.events: list[dict] = []
        self.seconds = {"kernel": 0.0, "cells": 0.0}  # starting kernels with the guard's imports; the rest
        self._output_bytes: dict[int, int] = {}
        self._escape_codes: dict[int, int] = {}
        self._dropped: dict[int, int] = {}
        self._bombed = False
        stop_watching = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(stop_watching,), daemon=True)
        watcher.start()
        try:
            self._run_all(resources)
        finally:
            stop_watching.set()
            watcher.join()
        self.set_widgets_metadata()
        self._write_events()
        return self.nb, self.resources

    def _run_all(self, resources) -> None:
        """Run the notebook, restarting the kernel after each death, at most ``max_restarts`` times."""
        skipped: set[int] = set()
        start, restarts = 0, 0
        while True:
            began, self._ready = time.perf_counter(), None
            try:
                stopped = self._run_from(start, skipped, resources)
            except Exception as error:  # a restarted kernel that cannot start (the first one must)
                if not start:
                    raise
                self._not_run(start, f"the kernel could not be restarted ({error})")
                break
            finally:
                self._count_seconds(began)
            if stopped is None:
                break
            index, cause, replaying = stopped
            cell = self.nb.cells[index]
            where = describe_cell(index, cell)
            if replaying:
                self._not_run(index, f"the kernel died again while re-running earlier cells ({cause})")
                break
            restarts += 1
            cell.outputs.append(_error_output("KernelDied", f"the kernel died in this cell: {cause}"))
            skipped.add(index)
            self._event("kernel_died", index, f"kernel died in {where}: {cause}")
            if restarts > self.max_restarts:
                self._not_run(index + 1, f"the kernel died {restarts} times; grading stopped in {where}")
                break
            start = index + 1

    def _run_from(self, start: int, skipped: set[int], resources) -> tuple[int, str, bool] | None:
        """Run cells from ``start`` in a new kernel (re-running earlier ones first); where it stopped, or None."""
        with self.setup_kernel():
            info = self.wait_for_reply(self.kc.kernel_info())
            if info is None:
                raise DeadKernelError("the kernel did not start")
            self.nb.metadata["language_info"] = info["content"]["language_info"]
            self._install_guard()
            self._ready = time.perf_counter()
            for index in range(start):
                if index in skipped or self.nb.cells[index].cell_type != "code":
                    continue
                original = self.nb.cells[index]
                try:
                    self.execute_cell(copy.deepcopy(original), index, store_history=False)
                except (DeadKernelError, CellTimeoutError) as error:
                    return index, self._stop_kernel(error), True
                finally:
                    self.nb.cells[index] = original
                    self._reap(index)
            for index in range(start, len(self.nb.cells)):
                cell = self.nb.cells[index]
                try:
                    if is_test_cell(cell) and self._tampered(index, cell):
                        continue
                    self._running = index
                    self.preprocess_cell(cell, resources, index)
                    if is_test_cell(cell):
                        score_from_errors_only(cell)
                except (DeadKernelError, CellTimeoutError) as error:
                    return index, self._stop_kernel(error), False
                finally:
                    if cell.cell_type == "code":
                        self._reap(index)
                    self._note_dropped_output(index)
        return None

    def _count_seconds(self, began: float) -> None:
        """Add one kernel's time: to ``kernel`` until it was ready (started, guard installed), the rest to ``cells``."""
        ended = time.perf_counter()
        ready = ended if self._ready is None else self._ready
        self.seconds["kernel"] += ready - began
        self.seconds["cells"] += ended - ready

    def _timeout_for(self, cell: NotebookNode) -> int:
        """The cell's time limit: ``timeout``, or more for the instructor's own set-up cells.

        Locked cells are restored from the gradebook before grading, so their code is the
        instructor's; a busy machine must not turn a slow ``import torch`` into a lost notebook.
        """
        meta = _nbgrader(cell)
        if meta.get("locked") and not meta.get("grade") and not meta.get("solution"):
            return max(self.timeout, self.locked_timeout)
        return self.timeout

    def _stop_kernel(self, error: Exception) -> str:
        """Make sure the kernel is gone; say why it stopped."""
        km = self.km
        if self._bombed:
            self._bombed = False
            cause = f"it started more than {self.max_children} processes at once (a fork bomb?) and was stopped"
        elif isinstance(error, CellTimeoutError):
            cause = f"the cell ran past its {self.timeout} s limit and ignored the interrupt"
        elif isinstance(km, SandboxedKernelManager):
            cause = death_cause(km.exit_status())
        else:
            cause = death_cause(None)
        if km is not None:
            with contextlib.suppress(Exception):  # already gone
                run_sync(km.shutdown_kernel)(now=True)
        if self.sandbox is not None:  # what the dead kernel left behind, before the next kernel starts
            self.sandbox.reap(None)
            self.sandbox.wait_until_empty()
        return cause

    def _not_run(self, first: int, why: str) -> None:
        for cell in self.nb.cells[first:]:
            if cell.cell_type == "code":
                cell.outputs = [_error_output("NotGraded", f"this cell did not run: {why}")]
        self._event("not_run", first, f"cells from {first} on were not run: {why}")

    def _event(self, kind: str, index: int, message: str) -> None:
        self.events.append({"kind": kind, "cell": index, "message": message})

    def _write_events(self) -> None:
        if self.events_file:
            with open(self.events_file, "w", encoding="utf-8") as handle:
                json.dump({"events": self.events, "seconds": self.seconds}, handle)

    # -- integrity of the checks -----------------------------------------------------------------

    def _install_guard(self) -> None:
        """Copy the interpreter's hooks and the checks in the new kernel, before any student code runs."""
        msg_id = self.kc.execute(SNAPSHOT, silent=True, store_history=False)
        timeout, self.timeout = self.timeout, max(self.timeout, self.locked_timeout)  # imports torch
        try:
            reply = self.wait_for_reply(msg_id)
        finally:
            self.timeout = timeout
        if reply is None or reply["content"].get("status") != "ok":  # the test cells then run unguarded: flagged
            error = (reply or {}).get("content", {})
            cause = f"{error.get('ename', 'no reply')}: {str(error.get('evalue', ''))[:200]}"
            self._event("guard", 0, f"the grader's guard could not be installed in a new kernel ({cause})")

    def _tampered(self, index: int, cell: NotebookNode) -> bool:
        """Restore the interpreter, then probe the checking helpers; on tampering, give the test cell an error."""
        msg_id = self.kc.execute(
            RESTORE + INTEGRITY_PROBE,
            silent=True,
            store_history=False,
            user_expressions={"probe": "__seqlab_probe__", "restored": "__seqlab_restored__"},
        )
        reply = self.wait_for_reply(msg_id)
        problems: list[str]
        try:
            expressions = reply["content"]["user_expressions"]
            problems = [str(p) for p in ast.literal_eval(expressions["probe"]["data"]["text/plain"])]
            restored = [str(p) for p in ast.literal_eval(expressions["restored"]["data"]["text/plain"])]
        except Exception:
            problems, restored = ["the integrity probe got no answer"], []
        if restored:
            shown = ", ".join(restored[:6]) + (f" and {len(restored) - 6} more" if len(restored) > 6 else "")
            self._event(
                "restored",
                index,
                f"before {describe_cell(index, cell)} the grader put back what earlier code had changed: {shown}",
            )
        if not problems:
            return False
        message = "the checking functions were changed by earlier code: " + "; ".join(problems)
        cell.outputs = [_error_output("ChecksTampered", message + ". This test cell was not run.")]
        self._event("tampered", index, f"{describe_cell(index, cell)} not run: {message}")
        return True

    async def _check_raise_for_error(self, cell, cell_index, exec_reply) -> None:
        """A cell whose execution failed always holds an error output, however its traceback was silenced."""
        content = (exec_reply or {}).get("content", {})
        if content.get("status") == "error" and not any(o.get("output_type") == "error" for o in cell.outputs):
            ename, evalue = str(content.get("ename", "Error")), str(content.get("evalue", ""))
            cell.outputs.append(_error_output(ename[:200], evalue[:2000]))
        return await super()._check_raise_for_error(cell, cell_index, exec_reply)

    # -- output cap and clean-up -----------------------------------------------------------------

    def output(self, outs, msg, display_id, cell_index):
        content = safe_content(msg["msg_type"], msg.get("content") or {})
        msg["content"], self._escape_codes[cell_index] = cap_escape_codes(
            content, self._escape_codes.get(cell_index, 0)
        )
        if msg["msg_type"] != "error":
            content = msg["content"]
            size = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
            used = self._output_bytes.get(cell_index, 0) + size
            self._output_bytes[cell_index] = used
            if used > self.max_output_bytes:
                self._dropped[cell_index] = self._dropped.get(cell_index, 0) + size
                return None
        return super().output(outs, msg, display_id, cell_index)

    def _update_display_id(self, display_id, msg):
        """A display update counts against the output cap of the cell being run, and is made safe too."""
        content = safe_content("display_data", msg.get("content") or {})
        size = sum(len(str(v)) for v in content.get("data", {}).values())
        index = getattr(self, "_running", None)
        if index is not None:
            self._output_bytes[index] = self._output_bytes.get(index, 0) + size
            if self._output_bytes[index] > self.max_output_bytes:
                self._dropped[index] = self._dropped.get(index, 0) + size
                return None
            content, self._escape_codes[index] = cap_escape_codes(content, self._escape_codes.get(index, 0))
        msg["content"] = content
        return super()._update_display_id(display_id, msg)

    def _note_dropped_output(self, index: int) -> None:
        dropped = self._dropped.pop(index, 0)
        if not dropped:
            return
        cell = self.nb.cells[index]
        note = f"[{dropped / 2**20:.1f} MB of output dropped: at most {self.max_output_bytes / 2**20:g} MB per cell]"
        cell.outputs.append(NotebookNode(output_type="stream", name="stdout", text=note + "\n"))
        self._event("output_dropped", index, f"{describe_cell(index, cell)}: {note[1:-1]}")

    def _kernel_pid(self) -> int | None:
        km = self.km
        return km.kernel_pid if isinstance(km, SandboxedKernelManager) else None

    def _watch(self, stop: threading.Event) -> None:
        """Stop a fork bomb: kill the kernel and its crowd of processes (see ``max_children``)."""
        while not stop.wait(0.5):
            sandbox, pid = self.sandbox, self._kernel_pid()
            if sandbox is None or pid is None:
                continue
            with contextlib.suppress(Exception):
                if sandbox.crowded(pid, self.max_children):
                    self._bombed = True
                    sandbox.kill_everything(pid)

    def _reap(self, index: int) -> None:
        if self.sandbox is None or self.km is None:
            return
        kernel = self._kernel_pid()
        if kernel is None and self.sandbox.server:  # a forked kernel not yet named: nothing to tell it from
            return
        killed = self.sandbox.reap(kernel)
        if killed:
            where = describe_cell(index, self.nb.cells[index])
            self._event("reaped", index, f"{where} left {killed} process(es) running; they were killed")


def run_notebook(
    nb: NotebookNode, folder: str, timeout: int, sandbox: KernelSandbox | None, max_output_bytes: int
) -> list[dict]:
    """Execute ``nb`` in place as the grader does, outside nbgrader; return the events (see the module docstring).

    The grader's autograde step runs this same class inside nbgrader; ``seqlab check`` calls this function, so the
    two run a notebook the same way: the same guard and probe before each test cell, the same scoring by errors
    only, the same caps, the same kernel restarts, in a sandbox of the same kind.
    """
    executor = ResilientExecute(
        timeout=timeout,
        startup_timeout=KERNEL_STARTUP_TIMEOUT,
        interrupt_on_timeout=True,
        max_output_bytes=max_output_bytes,
        sandbox=sandbox,
    )
    executor.preprocess(nb, {"metadata": {"path": folder}})
    return executor.events
