"""Hidden tests stay hidden in what a student receives: seqlab.tools.grading.feedback, and the detector that proves it.

Fast (no kernel, no grading): the stripping on hand-made cells, and for every lesson nbgrader's own
``GenerateFeedback`` run on the solution notebook taken as an autograded notebook (its test cells hold the hidden
tests, as after ``nbgrader autograde``), with one test cell failing in a hidden test, once *without* the stripping
(the detector of tests/leaks.py must report every hidden line and name: it works) and once with the preprocessor
the course configures (it must report nothing, and the failure's message must be there).  The detector's findings
without the stripping are written to ``_build/feedback/``.  The end-to-end check, on the feedback of real graded
submissions, runs in tests/test_mutations.py after each lesson's grading run.
"""

from __future__ import annotations

import copy
import html
from pathlib import Path

import nbformat
import pytest
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool
from traitlets.config import Config, PyFileConfigLoader

from seqlab.tools.grading.feedback import (
    FEEDBACK_EXPORTER,
    FEEDBACK_PREPROCESSORS,
    NOT_IMPLEMENTED,
    PLACEHOLDER,
    first_failure,
    hide_hidden_tests,
    split_hidden,
)
from tests.leaks import BEGIN, Secrets, find_leaks, hidden_ranges, lesson_secrets, search
from tests.support import COURSE, REPO, solution_notebook, student_notebook

CELL = """\
# visible
x = make_input(3)
assert_close("f(x)", f(x), expected(x))
    ### BEGIN HIDDEN TESTS
    secret_input = make_input(1234)
    check_the_secret(secret_input)
    ### END HIDDEN TESTS
print("after the hidden block")"""
HIDDEN_LINE = "check_the_secret(secret_input)"


def _test_cell(source: str = CELL, outputs: list | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "grade_id": "t-tests", "points": 2}
    cell.outputs = outputs or []
    return cell


def _error(ename: str, evalue: str, line: int | None, quoted: str = "") -> nbformat.NotebookNode:
    """An error output as IPython writes it: coloured, the failing line of the cell quoted."""
    traceback = ["\x1b[0;31m" + "-" * 75 + "\x1b[0m", f"\x1b[0;31m{ename}\x1b[0m    Traceback (most recent call last)"]
    if line is not None:
        traceback.append(f"Cell \x1b[0;32mIn[7], line {line}\x1b[0m\n\x1b[0;32m---> {line}\x1b[0m {quoted}\n")
    traceback.append(f"\x1b[0;31m{ename}\x1b[0m: {evalue}")
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=traceback)


def _stdout(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("stream", name="stdout", text=text)


# -- the stripping, on hand-made cells -----------------------------------------------------------------------------


def test_split_hidden_keeps_the_visible_code_around_the_hidden_block():
    split = split_hidden(CELL)
    assert split.hidden == ("    secret_input = make_input(1234)\n    check_the_secret(secret_input)",)
    assert split.visible.splitlines() == [
        "# visible",
        "x = make_input(3)",
        'assert_close("f(x)", f(x), expected(x))',
        "    " + PLACEHOLDER,
        'print("after the hidden block")',
    ]
    assert [split.visible_line(n) for n in range(1, 9)] == [1, 2, 3, None, None, None, None, 5]
    unterminated = split_hidden("a = 1\n### BEGIN HIDDEN TESTS\nsecret()\nmore()")
    assert unterminated.visible == "a = 1\n" + PLACEHOLDER and unterminated.hidden == ("secret()\nmore()",)


def test_a_failure_in_a_hidden_test_shows_its_message_and_nothing_hidden():
    cell = _test_cell(
        outputs=[_stdout("visible part printed this\n"), _error("CheckFailed", "f(x) <b>is</b> wrong", 6, HIDDEN_LINE)]
    )
    nb = nbformat.v4.new_notebook(cells=[cell])
    hide_hidden_tests(nb)
    assert "secret_input" not in cell.source and PLACEHOLDER in cell.source
    [output] = cell.outputs
    assert output.output_type == "error" and output.ename == "CheckFailed" and output.evalue == "f(x) <b>is</b> wrong"
    shown = "\n".join(output.traceback)
    assert "t-tests: failed (0 / 2 points)" in shown and "CheckFailed: f(x) <b>is</b> wrong" in shown
    assert "failed in a hidden test" in shown
    assert HIDDEN_LINE not in shown and "In[7]" not in shown and "printed this" not in shown


def test_a_failure_in_the_visible_code_names_its_line_and_a_pass_says_so():
    after_block = _test_cell(outputs=[_error("NameError", "name 'f' is not defined", 8, "print(...)")])
    visible = _test_cell(outputs=[_error("CheckFailed", "f(x) has the wrong shape", 3, "assert_close(...)")])
    todo = _test_cell(outputs=[_error("NotImplementedError", "", 3, "assert_close(...)")])
    passed = _test_cell(outputs=[_stdout("visible tests passed.\n")])
    hide_hidden_tests(nbformat.v4.new_notebook(cells=[after_block, visible, todo, passed]))
    assert "It failed at line 5 of the tests shown above." in after_block.outputs[0].traceback
    assert "It failed at line 3 of the tests shown above." in visible.outputs[0].traceback
    assert f"NotImplementedError: {NOT_IMPLEMENTED}" in todo.outputs[0].traceback
    assert passed.outputs == [_stdout("t-tests: passed (2 / 2 points)\n")]


def test_an_output_quoting_hidden_code_is_replaced_and_others_are_kept():
    spy = nbformat.v4.new_code_cell("print(In)", outputs=[_stdout(f"['x = 1', '{HIDDEN_LINE}']\n")])
    honest = nbformat.v4.new_code_cell("print(42)", outputs=[_stdout("42\n")])
    nb = nbformat.v4.new_notebook(cells=[_test_cell(), spy, honest])
    hide_hidden_tests(nb)
    assert HIDDEN_LINE not in spy.outputs[0].text and "quotes the code of a hidden test" in spy.outputs[0].text
    assert honest.outputs == [_stdout("42\n")]


def test_check_prints_the_same_one_line_summary():
    cell = _test_cell(outputs=[_error("CheckFailed", "first line\nsecond line", 6, HIDDEN_LINE)])
    assert first_failure(cell).summary() == "CheckFailed: first line"
    assert first_failure(_test_cell(outputs=[_error("NotImplementedError", "", 3)])).summary() == NOT_IMPLEMENTED
    # PyTorch's own NotImplementedError (a wrong dtype) is a real failure, shown with its message
    torch_error = _error("NotImplementedError", '"bincount_cpu" not implemented', 3)
    torch_error = first_failure(_test_cell(outputs=[torch_error]))
    assert torch_error.summary() == 'NotImplementedError: "bincount_cpu" not implemented'
    assert first_failure(_test_cell(outputs=[_stdout("fine\n")])) is None


@pytest.mark.parametrize("config", ["nbgrader_config.py", "deploy/jupyter/nbgrader_config.py"])
def test_nbgrader_configurations_strip_feedback(config):
    """`nbgrader generate_feedback` and the formgrader read these files: their feedback hides hidden tests."""
    path = REPO / config
    loaded = PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
    assert list(loaded.GenerateFeedback.preprocessors) == FEEDBACK_PREPROCESSORS
    assert loaded.GenerateFeedback.exporter_class == FEEDBACK_EXPORTER


def _page(exporter_class: type, nb: nbformat.NotebookNode) -> str:
    """``nb``'s feedback page rendered by ``exporter_class`` configured as nbgrader's GenerateFeedback configures it."""
    from nbgrader.converters import GenerateFeedback

    config = Config()
    config.HTMLExporter.template_name = "feedback"
    app = GenerateFeedback(config=config)
    nb, resources = StandInGrades().preprocess(copy.deepcopy(nb), {"nbgrader": {"notebook": "n"}})
    return exporter_class(parent=app, config=app.config).from_notebook_node(nb, resources)[0]


def test_the_feedback_exporter_gives_nbconverts_page():
    """FeedbackExporter skips HTMLExporter's BeautifulSoup pass and compiles the templates once: a student still gets
    the same text, the same images, each with an alternative text (a lesson with figures, graded)."""
    from bs4 import BeautifulSoup
    from nbconvert.exporters import HTMLExporter

    from seqlab.tools.grading.feedback import NO_ALT, FeedbackExporter

    nb = solution_notebook("01_rnn")
    nb.cells[0].source += '\n\n<img src="x.png"> <img alt="kept" src="y.png">'
    stock, ours = (BeautifulSoup(_page(e, nb), features="html.parser") for e in (HTMLExporter, FeedbackExporter))
    assert ours.get_text() == stock.get_text()
    images = [(img.get("src"), img.get("alt")) for img in ours.find_all("img")]
    assert images == [(img.get("src"), img.get("alt")) for img in stock.find_all("img")]
    assert len(images) > 3 and ("x.png", NO_ALT) in images and ("y.png", "kept") in images
    assert _page(FeedbackExporter, nb) == _page(FeedbackExporter, nb)  # compiled templates, kept, give the same page


# -- nbgrader's GenerateFeedback without and with the stripping, every lesson --------------------------------------


class StandInGrades(Preprocessor):
    """nbgrader's GetGrades without a gradebook: a test cell with an error scores 0, as nbgrader scores it; a
    written answer scores 0 (not graded by hand yet)."""

    enabled = Bool(True)

    def preprocess(self, nb, resources):
        score = total = 0.0
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                points = float(meta.get("points", 0))
                failed = any(output.get("output_type") == "error" for output in cell.get("outputs", []))
                meta["score"] = 0.0 if failed or meta.get("solution") else points
                score, total = score + meta["score"], total + points
        resources["nbgrader"].update(score=score, max_score=total, late_penalty=0)
        return nb, resources


def _feedback(root: Path, lesson: str, nb: nbformat.NotebookNode, strip: bool) -> Path:
    """nbgrader's GenerateFeedback on ``nb`` as student ``s``'s autograded notebook; the student's feedback folder."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory

    autograded = root / "autograded" / "s" / lesson / f"{lesson}.ipynb"
    autograded.parent.mkdir(parents=True)
    nbformat.write(nb, autograded)
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.autograded_directory = "autograded"
    config.CourseDirectory.feedback_directory = "feedback"
    config.CourseDirectory.assignment_id = lesson
    # the course's list, with the stand-in for GetGrades, and without the stripping when asked
    config.GenerateFeedback.preprocessors = [
        StandInGrades if name.endswith(".GetGrades") else name
        for name in FEEDBACK_PREPROCESSORS
        if strip or not name.endswith(".HideHiddenTests")
    ]
    config.GenerateFeedback.exporter_class = FEEDBACK_EXPORTER
    GenerateFeedback(coursedir=CourseDirectory(config=config), config=config).start()
    return root / "feedback" / "s"


MESSAGE = "the hidden test's message for students: <b>check</b> the bias & the tanh"


def _failing_in_a_hidden_test(lesson: str) -> nbformat.NotebookNode:
    """The solution notebook as nbgrader autograde leaves it, its first hidden test failing as IPython reports it."""
    nb = solution_notebook(lesson)
    cell = next(c for c in nb.cells if c.cell_type == "code" and BEGIN in c.source)
    first, last = hidden_ranges(cell.source)[0]
    lines = cell.source.split("\n")
    line = next(n for n in range(first, last + 1) if lines[n - 1].strip())
    cell.outputs.append(_stdout(f"printed by the hidden test: {lines[line - 1].strip()}\n"))
    cell.outputs.append(_error("CheckFailed", MESSAGE, line, lines[line - 1]))
    return nb


def _secrets(lesson: str):
    """The lesson's hidden lines and names, minus what the released notebook and the submission (the solution's
    code outside the hidden blocks: what this "student" typed) already show."""
    solution = solution_notebook(lesson)
    typed = []
    for cell in solution.cells:
        lines = cell.source.split("\n")
        hidden = {n for first, last in hidden_ranges(cell.source) for n in range(first - 1, last + 2)}
        typed += [line for number, line in enumerate(lines, 1) if number not in hidden]
    return lesson_secrets(lesson, solution, student_notebook(lesson)).without("\n".join(typed))


# The first lesson in every run; the others (a few seconds each) with the slow tests.
LESSONS = [pytest.param(lesson, marks=() if i == 0 else pytest.mark.slow) for i, lesson in enumerate(COURSE.lessons())]


@pytest.mark.parametrize("lesson", LESSONS)
def test_detector_finds_every_hidden_line_without_stripping_and_none_with_it(tmp_path, lesson):
    secrets = _secrets(lesson)
    assert secrets.lines and secrets.names, f"{lesson}: no hidden tests to look for"

    plain = find_leaks(_feedback(tmp_path / "plain", lesson, _failing_in_a_hidden_test(lesson), strip=False), secrets)
    found_lines = {leak.secret for leak in plain if leak.kind == "line"}
    found_names = {leak.secret for leak in plain if leak.kind == "name"}
    out = REPO / "_build" / "feedback"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"without-stripping-{lesson}.txt").write_text(
        f"nbgrader GenerateFeedback without seqlab.tools.grading.feedback, {lesson} (solution notebook as autograded, "
        f"one hidden test failing): {len(found_lines)} of {len(secrets.lines)} hidden lines and "
        f"{len(found_names)} of {len(secrets.names)} hidden names found\n" + "".join(f"{leak}\n" for leak in plain),
        encoding="utf-8",
    )
    assert found_lines == set(secrets.lines), f"the detector missed {set(secrets.lines) - found_lines}"
    assert found_names == set(secrets.names), f"the detector missed {set(secrets.names) - found_names}"

    stripped = _feedback(tmp_path / "stripped", lesson, _failing_in_a_hidden_test(lesson), strip=True)
    assert find_leaks(stripped, secrets, expected=["CheckFailed", MESSAGE]) == []
    page = (stripped / lesson / f"{lesson}.html").read_text(encoding="utf-8")
    assert MESSAGE in html.unescape(page) and "<b>check</b>" not in page, "the message, escaped"
    assert "failed in a hidden test" in page and "printed by the hidden test" not in page


@pytest.mark.timeout(20)  # the doubling took minutes and gigabytes: fail fast if it comes back
def test_the_detector_takes_out_each_expected_message_once_and_ignores_empty_ones():
    """A blank notebook's test cells fail with NotImplementedError and an empty message, one per test cell: taking
    "" out of the text put a space between every two characters, doubling the text per test cell (a lesson with a
    dozen test cells searched gigabytes for minutes).  Empty messages are skipped and repeats taken out once."""
    secrets = Secrets("00_x", lines={"assert hidden_total == 42": "x-tests"}, names={"hidden_total": "x-tests"})
    page = "NotImplementedError " * 3 + "<p>all fine</p>" * 2000
    assert search("page.html", page, secrets, ["NotImplementedError", ""] * 40) == []
    leaked = search("page.html", page + " hidden_total", secrets, ["NotImplementedError", ""] * 40)
    assert [(leak.kind, leak.secret) for leak in leaked] == [("name", "hidden_total")]
