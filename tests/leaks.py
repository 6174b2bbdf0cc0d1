"""A detector of hidden tests in what a student receives (issue "hidden tests stay hidden").

Written independently of :mod:`seqlab.tools.grading.feedback` (which strips them), so that the two do not share a
blind spot.

**What counts as secret**, per lesson, from the solution notebook's test cells (every ``### BEGIN HIDDEN TESTS`` …
``### END HIDDEN TESTS`` block):

- every non-blank line of a hidden block, stripped of indentation, *unless* it also occurs (as a substring) in
  the text the student has without the hidden tests: the released student notebook (sources and outputs), what
  running it prints (the solution notebook's stored outputs of every cell but the test cells) and the student's
  own submission.  That rule drops a line the visible tests repeat, a line the student typed, ``return out``.
  A line of Python keywords and punctuation only (``else:``, ``)``, ``]``, ``try:``) is never a secret: it tells
  nothing, and it also turns up in tracebacks of library code, whose context lines a student's own run shows;
- every name the hidden block defines: assignment targets (including ``for``, ``with … as``, comprehension
  targets), ``def``/``class`` names and their parameters, ``import`` names; matched as whole words, *unless*
  the name also occurs as a whole word in that same text (``x``, ``torch``, ``cell``, ``pad`` in a demo's
  printout), or is part of what the student must be shown of a failure (its exception type and message), or
  is a single character or a plain lowercase word (``got``, ``index``, ``module``, ``copies``): those also
  come from Python's and PyTorch's own messages and from tracebacks of the student's own cells ("but got
  Double and Float", ``torch/nn/modules/module.py``), and a hidden line that uses them is caught by the line
  search.  What is left is what only hidden code writes: ``_check_rnn_cell``, ``RNN_SHORTCUTS``, ``h0_ref``.

**Where it looks**: every file the student receives (the whole feedback folder).  An HTML file is searched three
ways: its raw text, its text with entities decoded, and its text content (tags removed, so that code split into
syntax-highlighting ``<span>``\\ s is found again).
"""

from __future__ import annotations

import ast
import html
import json
import keyword
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import nbformat

BEGIN, END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"


@dataclass
class Secrets:
    """What must not reach a student of one lesson, and what was left out of the search (and why)."""

    lesson: str
    lines: dict[str, str] = field(default_factory=dict)  # hidden line -> the test cell it is in
    names: dict[str, str] = field(default_factory=dict)  # hidden name -> the test cell that defines it
    ignored_lines: set[str] = field(default_factory=set)
    ignored_names: set[str] = field(default_factory=set)

    def without(self, seen: str) -> Secrets:
        """These secrets minus what also occurs in ``seen`` (text the student already has)."""
        kept = Secrets(self.lesson, ignored_lines=set(self.ignored_lines), ignored_names=set(self.ignored_names))
        for line, where in self.lines.items():
            (kept.ignored_lines.add(line) if line in seen else kept.lines.__setitem__(line, where))
        for name, where in self.names.items():
            (kept.ignored_names.add(name) if _word(name).search(seen) else kept.names.__setitem__(name, where))
        return kept


def bare_syntax(line: str) -> bool:
    """Whether ``line`` holds only Python keywords and brackets or punctuation (``else:``, ``)``, ``],``,
    ``try:``): no name, number, string or comment that could tell anything about a hidden test."""
    words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", line)
    rest = re.sub(r"[A-Za-z_][A-Za-z0-9_]*", "", line)
    return all(keyword.iskeyword(word) for word in words) and re.fullmatch(r"[\s()\[\]{}:,;.]*", rest) is not None


def distinctive(name: str) -> bool:
    """A name worth looking for as a whole word: two characters or more, not a plain lowercase word."""
    return len(name) >= 2 and not re.fullmatch(r"[a-z]+", name)


def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")


def hidden_ranges(source: str) -> list[tuple[int, int]]:
    """1-based line ranges (first, last) strictly inside each hidden block of ``source``."""
    ranges, start = [], None
    for number, line in enumerate(source.split("\n"), 1):
        if BEGIN in line:
            start = number + 1
        elif END in line and start is not None:
            ranges.append((start, number - 1))
            start = None
    if start is not None:
        ranges.append((start, len(source.split("\n"))))
    return ranges


def _defined_names(source: str, ranges: list[tuple[int, int]]) -> set[str]:
    """Names that code on the lines of ``ranges`` defines: assignments, defs (and parameters), imports."""
    inside = {n for first, last in ranges for n in range(first, last + 1)}
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if getattr(node, "lineno", None) not in inside:
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """Every string of a notebook (sources, outputs, metadata), one per line."""
    return "\n".join(_strings(json.loads(nbformat.writes(nb))))


def demo_outputs(solution: nbformat.NotebookNode) -> str:
    """The stored outputs of the solution's code cells other than test cells: what a student's own run prints."""
    outputs = []
    for cell in solution.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and not (meta.get("grade") and not meta.get("solution")):
            outputs += _strings(json.loads(json.dumps(cell.get("outputs", []))))
    return "\n".join(outputs)


def lesson_secrets(lesson: str, solution: nbformat.NotebookNode, released: nbformat.NotebookNode) -> Secrets:
    """The hidden lines and names of ``lesson``'s test cells, minus what a student sees without the hidden tests:
    the released notebook, and what running it prints (the solution's stored outputs of its other cells)."""
    secrets = Secrets(lesson)
    for cell in solution.cells:
        if cell.cell_type != "code" or BEGIN not in cell.source:
            continue
        where = cell.metadata.get("nbgrader", {}).get("grade_id", "a test cell")
        ranges = hidden_ranges(cell.source)
        lines = cell.source.split("\n")
        for first, last in ranges:
            for line in lines[first - 1 : last]:
                if bare_syntax(line):
                    secrets.ignored_lines.add(line.strip())
                elif line.strip():
                    secrets.lines.setdefault(line.strip(), where)
        for name in _defined_names(cell.source, ranges):
            if distinctive(name):
                secrets.names.setdefault(name, where)
            else:
                secrets.ignored_names.add(name)
    return secrets.without(notebook_text(released) + "\n" + demo_outputs(solution))


class _Text(HTMLParser):
    """An HTML page's text content: all of it, and what a browser shows (no ``<style>`` or ``<script>``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.shown: list[str] = []
        self.hiding = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.hiding += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script") and self.hiding:
            self.hiding -= 1

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        if not self.hiding:
            self.shown.append(data)


@dataclass
class Received:
    """One file a student receives, as text.

    ``everything`` (searched for hidden lines): the raw file and, for HTML, with entities decoded and its text
    content (tags removed, so that code split into syntax-highlighting ``<span>``\\ s reads as code again).
    ``shown`` (searched for hidden names): what a reader sees, for HTML the text content outside styles and
    scripts, joined once without and once with spaces between the pieces (so that no two words are glued).
    """

    everything: list[str]
    shown: list[str]


def received(path: Path) -> Received:
    """How a student can read ``path``."""
    raw = path.read_bytes().decode("utf-8", errors="replace")
    if path.suffix.lower() not in (".html", ".htm"):
        return Received([raw], [raw])
    parser = _Text()
    parser.feed(raw)
    parser.close()
    return Received([raw, html.unescape(raw), "".join(parser.parts)], ["".join(parser.shown), " ".join(parser.shown)])


@dataclass(frozen=True)
class Leak:
    """A secret found in a file a student receives."""

    file: str
    kind: str  # "line" or "name"
    secret: str
    cell: str  # the test cell it belongs to

    def __str__(self) -> str:
        what = "hidden line" if self.kind == "line" else "name defined in a hidden test"
        return f"{self.file}: {what} of {self.cell}: {self.secret}"


def find_leaks(folder: Path, secrets: Secrets, expected: list[str] | tuple[str, ...] = ()) -> list[Leak]:
    """Every secret found in any file under ``folder`` (see :func:`search`)."""
    leaks = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = received(path)
        leaks += search(str(path.relative_to(folder)), text, secrets, expected)
    return leaks


def search(
    where: str, text: Received | str, secrets: Secrets, expected: list[str] | tuple[str, ...] = ()
) -> list[Leak]:
    """Every secret in ``text`` (a received file, or plain text such as a command's output).

    Hidden lines are looked for in everything; hidden names in what a reader sees, after taking out the
    ``expected`` texts: what the student must be shown of each failure, its exception type (``CheckFailed``,
    which a hidden test may import) and message (which may use a word such as ``index`` that a hidden test
    also uses as a variable name).
    """
    if isinstance(text, str):
        text = Received([text], [text])
    shown = text.shown
    for message in dict.fromkeys(m for m in expected if m):  # once each; "" would put a space between all characters
        shown = [t.replace(message, " ") for t in shown]
    leaks = [
        Leak(where, "line", line, cell)
        for line, cell in sorted(secrets.lines.items())
        if any(line in t for t in text.everything)
    ]
    leaks += [
        Leak(where, "name", name, cell)
        for name, cell in sorted(secrets.names.items())
        if any(_word(name).search(t) for t in shown)
    ]
    return leaks
