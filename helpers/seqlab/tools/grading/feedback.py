"""What a student is shown of a graded notebook: hidden tests stay hidden.

nbgrader restores every test cell, hidden tests included, before it grades, and its feedback page shows the
autograded notebook as it is: the hidden tests' code, what they printed and tracebacks that quote them
(jupyter/nbgrader#917, #1363, #1156).  Everything a student receives goes through this module instead:

- :class:`HideHiddenTests`, an nbconvert preprocessor, in every feedback generation: ``seqlab grade``'s workers
  and, through ``nbgrader_config.py``, ``nbgrader generate_feedback`` and the formgrader's feedback buttons (whose
  files ``nbgrader release_feedback`` hands out);
- :func:`first_failure`, the message ``seqlab check`` prints for a failing test cell.

For each test cell a student sees its grade id, points, whether it passed, and for a failure the exception's type
and message (what the test wrote for students) and the visible code: the cell without its
``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` blocks, whose place a comment marks.  Never shown: a hidden
block's code, anything the test cell printed or displayed, traceback lines (a hidden frame quotes hidden code and
names its arguments; whether the failure came from a visible line or a hidden test is said in words instead).
Other cells keep their outputs, except an output that quotes a line of hidden code (a student's later cell
printing IPython's input history or ``inspect.getsource`` of a hidden helper).  The instructor's copies (the
autograded notebook, the gradebook, the formgrader) are not touched: this runs only on the way to a student.

What cannot be hidden: a student's own function, called by a hidden test, may put what it receives into an
exception message, which the student is then shown (at most :data:`MAX_MESSAGE` characters).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import jinja2
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from traitlets import Bool
from traitlets.config import Config

__all__ = [
    "BEGIN_HIDDEN",
    "END_HIDDEN",
    "FEEDBACK_EXPORTER",
    "FEEDBACK_PREPROCESSORS",
    "Failure",
    "FeedbackExporter",
    "NO_ALT",
    "HideHiddenTests",
    "SplitCell",
    "first_failure",
    "hide_hidden_tests",
    "split_hidden",
    "configure_feedback",
    "warm_up",
    "PLACEHOLDER",
    "MAX_MESSAGE",
    "MIN_QUOTED_LINE",
    "ANSI",
    "FRAME_LINE",
    "NOT_IMPLEMENTED",
]

BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"
END_HIDDEN = "END HIDDEN TESTS"
#: Where a hidden block was, in the code a student is shown.
PLACEHOLDER = "# [hidden tests: they run when your notebook is graded; their code is not shown]"
#: At most this many characters of a failure's message are shown.
MAX_MESSAGE = 1000
#: Hidden lines shorter than this (``)``, ``else:``) are too common to redact outputs that contain them.
MIN_QUOTED_LINE = 10

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: The first frame of an IPython traceback: the failing line of the cell's own code ("Cell In[12], line 40").
FRAME_LINE = re.compile(r"^\s*(?:Cell In ?\[[^\]]*\]|Input In ?\[[^\]]*\]|File [^\n]*<ipython-input[^\n]*), line (\d+)")
NOT_IMPLEMENTED = "not implemented yet: replace `raise NotImplementedError()` with your code"


@dataclass(frozen=True)
class SplitCell:
    """A cell's source split into what a student may see and the hidden blocks.

    Attributes:
        visible: the source with each hidden block (markers included) replaced by :data:`PLACEHOLDER`.
        hidden: the hidden blocks' code, one string per block, markers excluded.
        lines: for each line of the original source (index 0 is line 1), its line number in ``visible``,
            or None for a line of a hidden block (markers included).
    """

    visible: str
    hidden: tuple[str, ...]
    lines: tuple[int | None, ...]

    def visible_line(self, line: int) -> int | None:
        """Line ``line`` (1-based) of the original source, numbered in ``visible``; None if hidden or unknown."""
        return self.lines[line - 1] if 1 <= line <= len(self.lines) else None


def split_hidden(source: str) -> SplitCell:
    """Split ``source`` at its hidden-test markers.

    A ``BEGIN`` without its ``END`` hides everything after it (a malformed cell shows less, never more).
    """
    visible: list[str] = []
    hidden: list[str] = []
    block: list[str] | None = None
    lines: list[int | None] = []
    for line in source.split("\n"):
        if block is None and BEGIN_HIDDEN in line:
            indent = line[: len(line) - len(line.lstrip())]
            visible.append(indent + PLACEHOLDER)
            block = []
            lines.append(None)
        elif block is not None and END_HIDDEN in line:
            hidden.append("\n".join(block))
            block = None
            lines.append(None)
        elif block is not None:
            block.append(line)
            lines.append(None)
        else:
            visible.append(line)
            lines.append(len(visible))
    if block is not None:
        hidden.append("\n".join(block))
    return SplitCell("\n".join(visible), tuple(hidden), tuple(lines))


@dataclass(frozen=True)
class Failure:
    """Why a test cell failed: the exception's type and message, and the cell line it came from.

    Attributes:
        ename: the exception's type, e.g. ``CheckFailed``.
        message: its message (ANSI colours removed, at most :data:`MAX_MESSAGE` characters).
        line: the line of the cell's own code that raised it (1-based, in the cell as it ran), or None.
    """

    ename: str
    message: str
    line: int | None = None

    @property
    def unwritten(self) -> bool:
        """Raised by nbgrader's stub, ``raise NotImplementedError()`` (no message), not by a library: PyTorch raises
        NotImplementedError with a message, e.g. for ``torch.bincount`` of a float tensor."""
        return self.ename == "NotImplementedError" and not self.message.strip()

    def summary(self) -> str:
        """``ename: message``, or a plain sentence for an exercise not yet done (one line)."""
        if self.unwritten:
            return NOT_IMPLEMENTED
        first = self.message.strip().splitlines()[0] if self.message.strip() else ""
        return f"{self.ename}: {first}"[:400] if first else self.ename


def _plain(text: str) -> str:
    return ANSI.sub("", text)


def _frame_line(traceback: list[str]) -> int | None:
    """The cell line where the top-level code failed: the first frame of an IPython traceback."""
    for entry in traceback:
        for line in _plain(entry).splitlines():
            match = FRAME_LINE.match(line)
            if match:
                return int(match.group(1))
    return None


def first_failure(cell: NotebookNode) -> Failure | None:
    """The first error among ``cell``'s outputs, or None if it has none."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            message = _plain(str(output.get("evalue", "")))
            if len(message) > MAX_MESSAGE:
                message = message[:MAX_MESSAGE] + " …"
            return Failure(
                _plain(str(output.get("ename", "Error"))) or "Error", message, _frame_line(output.get("traceback", []))
            )
    return None


def _is_test_cell(cell: NotebookNode) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _points(value: object) -> str:
    try:
        return f"{float(value):g}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "?"


def _result(cell: NotebookNode, split: SplitCell) -> NotebookNode:
    """The one output a student sees of a test cell: passed, or the failure in words."""
    meta = cell.metadata.get("nbgrader", {})
    name = meta.get("grade_id", "this test cell")
    points = meta.get("points", 0)
    failure = first_failure(cell)
    score = meta.get("score", 0 if failure else points)
    scored = f"{_points(score)} / {_points(points)} points"
    if failure is None:
        return NotebookNode(output_type="stream", name="stdout", text=f"{name}: passed ({scored})\n")
    visible = split.visible_line(failure.line) if failure.line is not None else None
    if visible is not None:
        where = f"It failed at line {visible} of the tests shown above."
    elif split.hidden and failure.line is not None:
        where = "It failed in a hidden test: its code is not shown; the message says what it checked."
    else:
        where = ""
    message = NOT_IMPLEMENTED if failure.unwritten else failure.message
    lines = [f"{name}: failed ({scored})", f"{failure.ename}: {message}" if message else failure.ename]
    if where:
        lines.append(where)
    return NotebookNode(output_type="error", ename=failure.ename, evalue=message, traceback=lines)


def _quoted_lines(nb: NotebookNode, hidden: list[str]) -> list[str]:
    """The hidden lines worth redacting: long enough and not also in the code a student can see."""
    visible = "\n".join(cell.get("source", "") for cell in nb.cells)
    quoted = set()
    for block in hidden:
        for line in block.splitlines():
            line = line.strip()
            if len(line) >= MIN_QUOTED_LINE and line not in visible:
                quoted.add(line)
    return sorted(quoted)


def hide_hidden_tests(nb: NotebookNode) -> NotebookNode:
    """Make ``nb`` (an autograded notebook, changed in place and returned) fit to give to its student.

    Every test cell shows its visible code and one result (:func:`_result`); every cell loses its hidden blocks;
    any other output that quotes a line of hidden code is replaced by a note.
    """
    hidden: list[str] = []
    for cell in nb.cells:
        source = cell.get("source", "")
        if BEGIN_HIDDEN not in source and not _is_test_cell(cell):
            continue
        split = split_hidden(source)
        hidden.extend(split.hidden)
        cell.source = split.visible
        if _is_test_cell(cell):
            cell.outputs = [_result(cell, split)]
    quoted = _quoted_lines(nb, hidden)
    if quoted:
        for cell in nb.cells:
            if cell.get("cell_type") != "code" or _is_test_cell(cell):
                continue
            cell.outputs = [_redacted(output, quoted) for output in cell.get("outputs", [])]
    return nb


def _strings(value: object) -> list[str]:
    """Every string inside an output (its text, its data of every type, its traceback)."""
    if isinstance(value, str):
        text = _plain(value)
        return [text, html.unescape(text)] if "&" in text else [text]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def _redacted(output: NotebookNode, quoted: list[str]) -> NotebookNode:
    """``output``, or a note in its place if any of its text quotes one of the ``quoted`` lines."""
    texts = _strings(output)
    if any(line in text for text in texts for line in quoted):
        return NotebookNode(
            output_type="stream", name="stdout", text="[output not shown: it quotes the code of a hidden test]\n"
        )
    return output


class HideHiddenTests(Preprocessor):
    """nbconvert preprocessor for feedback: :func:`hide_hidden_tests` on the notebook being exported.

    Listed in ``GenerateFeedback.preprocessors`` after nbgrader's ``GetGrades`` (which puts each cell's score in
    its metadata, shown in the result line).
    """

    enabled = Bool(True, help="strip hidden tests from what students receive").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        return hide_hidden_tests(nb), resources


#: nbgrader's feedback step with the hidden tests stripped (by name, so configuration files need not import it).
FEEDBACK_PREPROCESSORS = [
    "nbgrader.preprocessors.GetGrades",
    "seqlab.tools.grading.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]


class _CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's compiled templates kept in this process (keyed by template and source checksum: an edited template
    is compiled again), so that every feedback after the first, and every worker forked after :func:`warm_up`,
    skips compiling the nine templates of nbgrader's feedback page."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _CompiledTemplates()
#: The alternative text nbconvert gives an image that has none (for screen readers).
NO_ALT = "No description has been provided for this image"
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\salt=)(?=[\s>/])")


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback page, rendered as ``HTMLExporter`` renders it with nbgrader's ``feedback`` template, less
    two costs paid for every student: compiling the templates (kept: :class:`_CompiledTemplates`) and
    ``HTMLExporter``'s BeautifulSoup pass over the whole page (half a second for a lesson's feedback), which gives
    every image without one an alternative text (done here with one expression) and makes the cells of JupyterLab's
    templates focusable (the feedback template is a classic one: it has none)."""

    def _create_environment(self) -> jinja2.Environment:
        environment = super()._create_environment()
        environment.bytecode_cache = _COMPILED
        return environment

    def from_notebook_node(
        self, nb: NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        resources = self._init_resources(resources)
        highlight = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
        self.register_filter("highlight_code", highlight)
        self.register_filter(
            "filter_data_type",
            WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources),
        )
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return _IMG_WITHOUT_ALT.sub(f'<img alt="{NO_ALT}"', page), resources


#: The exporter of every feedback page (by name, so configuration files need not import it).
FEEDBACK_EXPORTER = "seqlab.tools.grading.feedback.FeedbackExporter"


def configure_feedback(config: Config) -> Config:
    """Set nbgrader's feedback step in ``config`` (changed and returned) to what students may receive: the hidden
    tests stripped (:data:`FEEDBACK_PREPROCESSORS`), rendered by :class:`FeedbackExporter`."""
    config.GenerateFeedback.preprocessors = list(FEEDBACK_PREPROCESSORS)
    config.GenerateFeedback.exporter_class = FEEDBACK_EXPORTER
    return config


def warm_up() -> None:
    """Compile the feedback page's templates in this process, for the processes forked from it."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
    from nbgrader.converters import GenerateFeedback

    config = configure_feedback(Config())
    config.HTMLExporter.template_name = "feedback"  # as nbgrader's generate_feedback sets it
    app = GenerateFeedback(config=config)  # which adds nbgrader's template folders to its configuration
    exporter = FeedbackExporter(parent=app, config=app.config)
    output = new_output("display_data", {"text/plain": "1", "image/png": "iVBORw0KGgo=", "text/html": "<b>1</b>"})
    cells = [new_markdown_cell("*a*"), new_code_cell("1", outputs=[new_output("stream", text="1\n"), output])]
    page = {"notebook": "warm-up", "score": 0, "max_score": 0, "late_penalty": 0}
    exporter.from_notebook_node(new_notebook(cells=cells), {"nbgrader": page})
