"""The student-facing package never reaches into instructor tooling; leak and course detection; the package's surface
(every module's __all__, what notebooks take from it, no private imports between modules)."""

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from seqlab.tools.course import LEAK_MARKERS, Course, ToolError, find_course, find_leaks

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "helpers" / "seqlab"
TOOLS = PACKAGE / "tools"


def _student_modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if TOOLS not in p.parents)


def _tool_imports(source):
    """Imports of seqlab.tools (absolute or relative) in one module's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("seqlab.tools")]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names = [alias.name for alias in node.names]
            if node.level == 0:
                if module.startswith("seqlab.tools") or (module == "seqlab" and "tools" in names):
                    found.append(module)
            elif module.startswith("tools") or (not module and "tools" in names):
                found.append("." * node.level + module)
    return found


def test_student_modules_found():
    names = {p.name for p in _student_modules()}
    assert {
        "__init__.py",
        "checks.py",
        "weights.py",
        "data.py",
        "train.py",
        "plots.py",
        "session.py",
    } <= names
    assert not any(TOOLS in p.parents for p in _student_modules())


@pytest.mark.parametrize(
    "source",
    [
        "import seqlab.tools.course",
        "from seqlab.tools import course",
        "from seqlab import tools",
        "from .tools.course import find_course",
        "from . import tools",
        "def f():\n    from seqlab.tools.grading.grade import main\n",
    ],
)
def test_import_detector_catches_tool_imports(source):
    assert _tool_imports(source)


def test_import_detector_ignores_other_imports():
    assert _tool_imports("import seqlab.session\nfrom seqlab import checks\nfrom . import data\nimport tools_x") == []


def test_student_modules_never_import_tools():
    offenders = {
        str(path.relative_to(REPO)): imports
        for path in _student_modules()
        if (imports := _tool_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_importing_seqlab_does_not_load_tools():
    code = "import seqlab, sys; print(any(m.startswith('seqlab.tools') for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("marker", ["BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"])
def test_find_leaks_finds_each_marker(marker):
    text = f'{{"source": ["x = 1\\n", "### {marker}\\n"]}}'
    assert find_leaks(text) == [marker]


def test_find_leaks_finds_all_markers_in_order():
    text = "\n".join(reversed(LEAK_MARKERS))
    assert find_leaks(text) == list(LEAK_MARKERS)


def test_find_leaks_clean_text():
    assert find_leaks('{"source": ["# YOUR CODE HERE\\n", "raise NotImplementedError()"]}') == []
    assert find_leaks("") == []


def test_find_course_from_subdirectory():
    course = find_course(Path(__file__).parent)
    assert isinstance(course, Course)
    assert course.root == REPO
    assert course.solutions == REPO / "solutions"


def test_find_course_outside_repository_raises(tmp_path):
    with pytest.raises(ToolError, match="no course found"):
        find_course(tmp_path)


def test_find_course_needs_solutions_folder(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("")
    with pytest.raises(ToolError):
        find_course(tmp_path)
    (tmp_path / "solutions").mkdir()
    (tmp_path / "deep" / "er").mkdir(parents=True)
    assert find_course(tmp_path / "deep" / "er").root == tmp_path.resolve()


# ---------------------------------------------------------------------------------------------------------------
# The package's surface: every module says what it has (__all__), notebooks take only what is listed, and no module
# in helpers/ or tests/ imports another module's private names.
# ---------------------------------------------------------------------------------------------------------------

FIRST_PARTY = ("seqlab", "tests")


def _package_modules():
    """(path relative to helpers/seqlab, dotted module name) of every module of the package, tools included."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        yield path.relative_to(PACKAGE).as_posix(), ".".join(parts).removesuffix(".__init__")


def _defined_public_names(source):
    """Names a module's own top-level statements define (functions, classes, assignments) without a leading _."""
    names = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [target.id for target in node.targets if isinstance(target, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [name for name in dict.fromkeys(names) if not name.startswith("_")]


@pytest.mark.parametrize(("relative", "module_name"), list(_package_modules()), ids=str)
def test_every_module_lists_its_public_names(relative, module_name):
    module = importlib.import_module(module_name)
    assert hasattr(module, "__all__"), f"{module_name} has no __all__: list its public names"
    listed = list(module.__all__)
    assert len(listed) == len(set(listed)), f"{module_name}.__all__ repeats a name"
    missing = [name for name in listed if not hasattr(module, name)]
    assert missing == [], f"{module_name}.__all__ names what the module does not have"
    unlisted = [name for name in _defined_public_names((PACKAGE / relative).read_text()) if name not in listed]
    assert unlisted == [], f"public names of {module_name} missing from its __all__ (or make them _private)"


def _submodule(module_name, attribute):
    """``module_name.attribute`` if that is a module (``seqlab.stored``), else None."""
    try:
        return importlib.import_module(f"{module_name}.{attribute}").__name__
    except ImportError:
        return None


def _bound_in_scope(nodes):
    """Names that statements bind in their own scope (not inside the functions, classes or comprehensions in them)."""
    names, todo = set(), list(nodes)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            todo += node.decorator_list
            continue
        if isinstance(node, ast.Lambda | ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            names.add(node.name)
        todo += ast.iter_child_nodes(node)
    return names


def _local_names(scope):
    """The names a function, lambda or comprehension binds for itself: they hide module aliases inside it."""
    if isinstance(scope, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
        return _bound_in_scope(generator.target for generator in scope.generators)
    arguments = scope.args
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]
    body = [scope.body] if isinstance(scope, ast.Lambda) else scope.body
    return {a.arg for a in every if a is not None} | _bound_in_scope(body)


def _names_taken_from_seqlab(cells):
    """(module, name) pairs that a notebook's code cells, run in order, take from seqlab's modules.

    ``from seqlab.m import name`` gives ``(seqlab.m, name)``; so does ``m.name`` where ``m`` is bound by ``import
    seqlab.m as m`` or ``from seqlab import m`` (and ``seqlab.m.name`` after ``import seqlab.m``), except inside a
    function that binds ``m`` itself and after the notebook binds ``m`` to something else.
    """
    from IPython.core.inputtransformer2 import TransformerManager

    aliases: dict[str, str] = {}  # name in the notebook -> seqlab module it holds
    taken = set()

    def visit(node, hidden):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "seqlab":
            taken.update((node.module, a.name) for a in node.names if not _submodule(node.module, a.name))
        if isinstance(node, ast.Attribute):
            chain, root = [], node
            while isinstance(root, ast.Attribute):
                chain.insert(0, root.attr)
                root = root.value
            if isinstance(root, ast.Name) and root.id in aliases and root.id not in hidden:
                module_name = aliases[root.id]
                for attribute in chain:
                    if not (inner := _submodule(module_name, attribute)):
                        taken.add((module_name, attribute))
                        break
                    module_name = inner
                return
            node = root
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ListComp | ast.SetComp |
                      ast.DictComp | ast.GeneratorExp):  # fmt: skip
            hidden = hidden | _local_names(node)
        for child in ast.iter_child_nodes(node):
            visit(child, hidden)

    for source in cells:
        for statement in ast.parse(TransformerManager().transform_cell(source)).body:
            visit(statement, frozenset())
            for name in _bound_in_scope([statement]):
                aliases.pop(name, None)
            if isinstance(statement, ast.Import):
                for a in statement.names:
                    if a.name.split(".")[0] == "seqlab":
                        aliases[a.asname or "seqlab"] = a.name if a.asname else "seqlab"
            elif isinstance(statement, ast.ImportFrom) and statement.level == 0 and statement.module == "seqlab":
                for a in statement.names:
                    if module_name := _submodule("seqlab", a.name):
                        aliases[a.asname or a.name] = module_name
    return taken


def test_name_finder_follows_imports_aliases_and_scopes():
    cells = [
        "import seqlab\nfrom seqlab import data, weights as W\nimport seqlab.stored\n%matplotlib inline",
        "from seqlab.checks import assert_close\nX = data.copy_batch(1)\nseqlab.setup(); seqlab.stored.load_run('x')",
        "def f(weights):\n    return weights.squeeze(1), W.rnn_weights\nlambda data: data.nothing",
        "data = {}\ndata.get('x')\n[seqlab for seqlab in (1,)]",
    ]
    assert _names_taken_from_seqlab(cells) == {
        ("seqlab.checks", "assert_close"),
        ("seqlab.data", "copy_batch"),
        ("seqlab", "setup"),
        ("seqlab.stored", "load_run"),
        ("seqlab.weights", "rnn_weights"),
    }


def _lesson_notebooks():
    return sorted([*(REPO / "solutions").glob("*/*.ipynb"), *(REPO / "notebooks").glob("*/*.ipynb")])


def test_notebooks_take_only_listed_names():
    """Every name a solution or lesson notebook takes from a seqlab module is in that module's __all__."""
    assert len(_lesson_notebooks()) >= 20
    unlisted = {}
    for path in _lesson_notebooks():
        notebook = json.loads(path.read_text(encoding="utf-8"))
        cells = ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]
        for module_name, name in sorted(_names_taken_from_seqlab(cells)):
            if name not in getattr(importlib.import_module(module_name), "__all__", ()):
                unlisted.setdefault(f"{module_name}.{name}", []).append(str(path.relative_to(REPO)))
    assert unlisted == {}, "add these names to their module's __all__"


def _private_imports(source):
    """``module.name`` for every private name imported from a first-party module (seqlab, tests, or relative)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in FIRST_PARTY):
            module = "." * node.level + (node.module or "")
            found += [f"{module}.{a.name}" for a in node.names if a.name.startswith("_") and not a.name.endswith("__")]
    return found


@pytest.mark.parametrize(
    "source",
    [
        "from seqlab.data import _check",
        "from seqlab.tools.grading.report import write_csv, _spreadsheet",
        "from tests.test_browser import _validate",
        "from ._helpers import x\nfrom . import _private",
        "def f():\n    from seqlab.models import _sinusoids\n",
    ],
)
def test_private_import_detector_catches_them(source):
    assert _private_imports(source)


def test_private_import_detector_ignores_other_imports():
    assert _private_imports("from jupyterhub.scopes import _check_scopes_exist") == []  # not ours to change
    assert _private_imports("from seqlab.data import echo_batch\nfrom seqlab import __all__\nfrom . import x") == []


def test_no_module_imports_another_modules_private_names():
    offenders = set()
    for path in sorted([*(REPO / "helpers").rglob("*.py"), *(REPO / "tests").rglob("*.py"), REPO / "conftest.py"]):
        relative = path.relative_to(REPO).as_posix()
        offenders.update((relative, name) for name in _private_imports(path.read_text(encoding="utf-8")))
    assert offenders == set(), "make the name public (listed in __all__) or test through one"
