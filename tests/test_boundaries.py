"""The student-facing package never reaches into instructor tooling; leak and course detection."""

import ast
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
