"""A static scan of a submission's code for what could subvert grading: reported as flags, never a score change.

The kernel guard (:mod:`seqlab.tools.grading.kernel_guard`) puts back what student code changed before each test cell,
and the sandbox limits what it can reach; both work on what the code *does*.  This scan reads what the code
*says*, before it runs, so that a trick the guard cannot undo in one interpreter is still seen.  Each code cell
the student wrote (not the instructor's locked cells, which nbgrader restores) is parsed, and every use of

- IPython's internals (``get_ipython``, the display hook and formatters, event callbacks, input and AST
  transformers, traceback display, the user namespace),
- tracing and frame inspection (``sys.settrace``, ``sys.setprofile``, ``sys._getframe``, ``gc.get_referrers``),
- ``ctypes`` (C-level memory and calls),
- processes (``subprocess``, ``os.system``, ``os.fork``, ``os.kill``, shell escapes ``!cmd`` and ``%%bash``),
- tensor-subclass hooks (``__torch_function__``, ``__torch_dispatch__``, ``as_subclass``),
- paths outside the work folder (an absolute or ``~`` or ``..`` path in a string, a module's ``__file__``),
- code that hides what it runs from this scan (``exec``, ``eval``, ``compile``, ``__import__``, ``importlib``),
- replacing an attribute of ``torch``, ``seqlab``, ``sys`` or ``builtins`` (``torch.allclose = ...``,
  ``setattr(seqlab.checks, ...)``)

is reported with its cell and line.  A match is a reason to look, not proof: an honest answer never needs any
of these, but the scan cannot tell intent, and code that builds names at run time (``getattr(sys, "set" +
"trace")``) is seen only through the ``getattr`` on a flagged module or the dynamic-code rule.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from nbformat import NotebookNode

__all__ = [
    "IPYTHON",
    "TRACING",
    "CTYPES",
    "PROCESSES",
    "TORCH_HOOKS",
    "FILES",
    "DYNAMIC",
    "PATCHING",
    "MODULES",
    "ALLOWED_MODULES",
    "NAMES",
    "BUILTINS",
    "QUALIFIED",
    "PATCHED_ROOTS",
    "QUALIFIED_PREFIXES",
    "SHELL_MAGICS",
    "OUTSIDE",
    "MAX_FINDINGS",
    "Finding",
    "scan_source",
    "scan_notebook",
    "describe_findings",
]

IPYTHON = "IPython internals"
TRACING = "tracing or frame inspection"
CTYPES = "ctypes"
PROCESSES = "processes or shell commands"
TORCH_HOOKS = "tensor-subclass hooks"
FILES = "a path outside the work folder"
DYNAMIC = "code run from strings or imported by name"
PATCHING = "torch, seqlab, sys or builtins changed"

#: Imported modules, by their first dotted parts.
MODULES = {
    "IPython": IPYTHON,
    "ipykernel": IPYTHON,
    "ctypes": CTYPES,
    "_ctypes": CTYPES,
    "cffi": CTYPES,
    "subprocess": PROCESSES,
    "pty": PROCESSES,
    "multiprocessing": PROCESSES,
    "torch.overrides": TORCH_HOOKS,
    "importlib": DYNAMIC,
}
#: Modules a student may import although their parent is flagged.
ALLOWED_MODULES = ("IPython.display",)
#: Names specific enough to flag wherever they appear: a name, an attribute, a definition, an imported name.
NAMES = {
    "get_ipython": IPYTHON,
    "displayhook": IPYTHON,
    "display_formatter": IPYTHON,
    "display_pub": IPYTHON,
    "input_transformers_cleanup": IPYTHON,
    "input_transformers_post": IPYTHON,
    "input_transformer_manager": IPYTHON,
    "ast_transformers": IPYTHON,
    "showtraceback": IPYTHON,
    "_showtraceback": IPYTHON,
    "set_custom_exc": IPYTHON,
    "excepthook": IPYTHON,
    "user_ns": IPYTHON,
    "settrace": TRACING,
    "setprofile": TRACING,
    "_getframe": TRACING,
    "f_back": TRACING,
    "f_globals": TRACING,
    "f_locals": TRACING,
    "get_referrers": TRACING,
    "get_objects": TRACING,
    "__torch_function__": TORCH_HOOKS,
    "__torch_dispatch__": TORCH_HOOKS,
    "as_subclass": TORCH_HOOKS,
    "_make_subclass": TORCH_HOOKS,
    "__file__": FILES,
    "__import__": DYNAMIC,
    "__builtins__": DYNAMIC,
}
#: Bare names (not attributes: ``re.compile`` is fine) of the built-in functions that run strings.
BUILTINS = {"exec": DYNAMIC, "eval": DYNAMIC, "compile": DYNAMIC, "breakpoint": TRACING}
#: Functions of a module, by their dotted name (``os.system``, or ``system`` imported from ``os``).
QUALIFIED = {
    "os.system": PROCESSES,
    "os.popen": PROCESSES,
    "os.fork": PROCESSES,
    "os.forkpty": PROCESSES,
    "os.kill": PROCESSES,
    "os.killpg": PROCESSES,
    "os.posix_spawn": PROCESSES,
    "os.posix_spawnp": PROCESSES,
    "sys.monitoring": TRACING,
    "builtins": DYNAMIC,
}
#: Modules whose attributes a student's code must not replace (the checks and what they call).
PATCHED_ROOTS = ("torch", "seqlab", "sys", "builtins", "F", "nn", "np", "numpy", "IPython")
#: ``os.spawn*`` and ``os.exec*``.
QUALIFIED_PREFIXES = {"os.spawn": PROCESSES, "os.exec": PROCESSES}
#: Cell magics and line magics that run a shell.
SHELL_MAGICS = ("%%bash", "%%sh", "%%script", "%%system", "%system", "%sx", "%%sx")
#: A string that names a place outside the work folder: absolute, in a home, or up from it.
OUTSIDE = re.compile(r"^(/[A-Za-z0-9_.~-]|~|\.\./)|/\.\./")
#: At most this many findings are reported per notebook.
MAX_FINDINGS = 12


@dataclass(frozen=True)
class Finding:
    """One use of something the scan looks for.

    Attributes:
        cell: the cell's index in the notebook.
        line: the line in the cell (1-based).
        kind: what it is about (:data:`IPYTHON`, :data:`TRACING`, ...).
        code: the name or text that matched.
    """

    cell: int
    line: int
    kind: str
    code: str


def _magics(source: str) -> tuple[str, list[tuple[int, str]]]:
    """``source`` with IPython's ``!`` and ``%`` lines made ``pass`` (so that it parses), and the shell lines."""
    lines, shell = [], []
    for number, line in enumerate(source.split("\n"), start=1):
        stripped = line.lstrip()
        if stripped.startswith(("!", "%")):
            if stripped.startswith("!") or stripped.startswith(SHELL_MAGICS):
                shell.append((number, stripped[:40]))
            lines.append(line[: len(line) - len(stripped)] + "pass")
        else:
            lines.append(line)
    return "\n".join(lines), shell


def _module_kind(name: str) -> str | None:
    if any(name == allowed or name.startswith(allowed + ".") for allowed in ALLOWED_MODULES):
        return None
    parts = name.split(".")
    for depth in range(len(parts), 0, -1):
        kind = MODULES.get(".".join(parts[:depth]))
        if kind:
            return kind
    return None


def _dotted(node: ast.AST) -> str | None:
    """``os.path.join`` for an attribute chain on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _qualified_kind(name: str) -> str | None:
    if name in QUALIFIED:
        return QUALIFIED[name]
    return next((kind for prefix, kind in QUALIFIED_PREFIXES.items() if name.startswith(prefix)), None)


def _import_findings(node: ast.Import | ast.ImportFrom) -> list[tuple[str, str]]:
    """(kind, code) for an import of a flagged module or name."""
    if isinstance(node, ast.Import):
        return [
            (kind, alias.name)
            for alias in node.names
            if (kind := _module_kind(alias.name) or QUALIFIED.get(alias.name))
        ]
    if not node.module or node.level:
        return []
    kind = _module_kind(node.module)
    if kind:
        return [(kind, node.module)]
    found = []
    for alias in node.names:
        dotted = f"{node.module}.{alias.name}"
        kind = _module_kind(dotted) or _qualified_kind(dotted) or NAMES.get(alias.name)
        if kind:
            found.append((kind, dotted))
    return found


def _flat(targets: list[ast.expr]) -> list[ast.expr]:
    """Assignment targets with tuples and lists unpacked (``a.b, c.d = ...``)."""
    flat = []
    for target in targets:
        flat += _flat(list(target.elts)) if isinstance(target, ast.Tuple | ast.List) else [target]
    return flat


def _patched(dotted: str | None) -> bool:
    """Whether an assignment to ``dotted`` replaces something of a module the checks rely on."""
    return dotted is not None and "." in dotted and dotted.split(".")[0] in PATCHED_ROOTS


def _node_findings(node: ast.AST) -> list[tuple[str, str]]:
    """(kind, code) for one syntax node."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        return _import_findings(node)
    if isinstance(node, ast.Attribute):
        dotted = _dotted(node)
        kind = NAMES.get(node.attr) or (_qualified_kind(dotted) if dotted else None)
        return [(kind, dotted or node.attr)] if kind else []
    if isinstance(node, ast.Name):
        kind = NAMES.get(node.id) or BUILTINS.get(node.id) or QUALIFIED.get(node.id)
        return [(kind, node.id)] if kind else []
    if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        return [(PATCHING, dotted) for dotted in map(_dotted, _flat(targets)) if _patched(dotted)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr"):
        dotted = _dotted(node.args[0]) if node.args else None
        return (
            [(PATCHING, f"{node.func.id}({dotted}, ...)")] if dotted and dotted.split(".")[0] in PATCHED_ROOTS else []
        )
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in NAMES:
        return [(NAMES[node.name], node.name)]
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and OUTSIDE.search(node.value):
        return [(FILES, repr(node.value[:40]))]
    return []


def scan_source(index: int, source: str) -> list[Finding]:
    """What one cell's code uses that the scan looks for (nothing for code that does not parse)."""
    code, shell = _magics(source)
    findings = [Finding(index, line, PROCESSES, text) for line, text in shell]
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return findings
    seen: set[tuple[int, str, str]] = set()
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 1)
        for kind, name in _node_findings(node):
            if (line, kind, name) not in seen:
                seen.add((line, kind, name))
                findings.append(Finding(index, line, kind, name))
    return sorted(findings, key=lambda f: (f.line, f.kind, f.code))


def _students_cell(cell: NotebookNode) -> bool:
    """A code cell whose code is the student's: not one of the instructor's locked cells (nbgrader restores them)."""
    return cell.cell_type == "code" and not cell.get("metadata", {}).get("nbgrader", {}).get("locked", False)


def scan_notebook(nb: NotebookNode) -> list[Finding]:
    """Every finding in the student's code cells, in notebook order."""
    return [f for index, cell in enumerate(nb.cells) if _students_cell(cell) for f in scan_source(index, cell.source)]


def describe_findings(nb: NotebookNode, findings: list[Finding]) -> list[str]:
    """One note per cell and kind: ``cell 12 [01-rnn-cell] line 3: IPython internals (get_ipython, events)``."""
    from seqlab.tools.grading.executor import describe_cell

    grouped: dict[tuple[int, str], list[Finding]] = {}
    for finding in findings:
        grouped.setdefault((finding.cell, finding.kind), []).append(finding)
    notes = []
    for (cell, kind), group in grouped.items():
        names = ", ".join(dict.fromkeys(f.code for f in group))
        notes.append(f"scan: {describe_cell(cell, nb.cells[cell])} line {group[0].line}: {kind} ({names[:160]})")
    if len(notes) > MAX_FINDINGS:
        notes = notes[:MAX_FINDINGS] + [f"scan: {len(notes) - MAX_FINDINGS} more cells and kinds not listed"]
    return notes
