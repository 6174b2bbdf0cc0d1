"""The student's JupyterLab, driven by a real browser (Debian's chromium through Playwright).

JupyterLab is started by `make lab` (nbgrader's and ipywidgets' extensions, ``SEQLAB_PROGRESS=1``, the
course's ``nbgrader_config.py``) on a scratch copy of ``notebooks/``, and a headless Chromium does what a
student does:

* opens each lesson's student notebook and runs all cells: equations and figures render, the cells
  before the first exercise run without error, and the first exercise's test cell explains in words
  that the function is still to be written;
* presses *Validate* on that blank notebook (the failing tests are listed), types the correct answer
  into the first exercise cell, re-runs it and its test cell (which now passes);
* presses *Validate* on a solved notebook (success); for lesson 07 with two CPU-bound processes running
  alongside, as on a busy shared hub (the kernel start-up and cell limits of Validate must allow for it);
* runs a cell that trains with ``seqlab.train.fit`` and sees a widget progress bar, not lines of text.

Screenshots of every step go to ``_build/browser/`` (ignored by git). Without Chromium the module
is skipped with a message naming what to install; `.ci/run` installs it, so CI always runs it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from seqlab.tools.submissions import reference_answers
from tests.lab_server import running_lab
from tests.support import COURSE, REPO, carried_over, solution_notebook, student_notebook, submission

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
except ImportError:  # the tests skip (see playwright_api) and never need it
    PlaywrightTimeoutError = TimeoutError

# The xdist group asks `make test` (--dist loadgroup) to run the module on one worker: one server, one browser.
# With pytest 9.2 and pytest-xdist 3.8 loadgroup silently groups nothing (pytest-dev/pytest-xdist#1386); the
# tests do not depend on it (each worker then starts its own server on its own copy), it only saves time.
pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _find_chromium():
    """Debian's chromium, or the browser SEQLAB_CHROMIUM names (e.g. another Chromium build on a laptop)."""
    named = os.environ.get("SEQLAB_CHROMIUM")
    if named is not None:
        return named if Path(named).is_file() else None
    return shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None)


CHROMIUM = _find_chromium()
# Chromium as root in a container, on a machine that reaches no Google host: no sandbox, no GPU, and none of
# the background traffic (updates, sync, field trials) it would otherwise try to send.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / "_build" / "browser"
TOKEN = "seqlab-browser-test"
LESSONS = COURSE.lessons()

# Generous but bounded waits (ms): the machine has 2 cores shared with the rest of the suite.
OPEN_TIMEOUT = 90_000
RUN_TIMEOUT = 180_000
VALIDATE_TIMEOUT = 240_000
#: The lesson validated on a loaded machine (its Validate once died at nbgrader's 60 s kernel start-up limit).
LOADED_LESSON = "07_transformer"


@contextlib.contextmanager
def _cpu_load(processes: int = 2):
    """Keep ``processes`` CPU-bound Python processes running for the duration of the block."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


# The status bar's kernel item, e.g. "Python 3 (ipykernel) | Idle" ("No Kernel | Initializing" at first).
KERNEL_STATUS = '.jp-StatusBar-TextItem[title^="Change kernel"]'
CELLS = ".jp-NotebookPanel .jp-Notebook .jp-Cell"
ERROR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'  # errors and stderr
STDOUT_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]'
STUB = "raise NotImplementedError()"


# --------------------------------------------------------------------------------------------------- fixtures


def _skip_or_fail(reason):
    """Skip on a laptop without a browser; fail where `.ci/run` said the browser test must run."""
    if os.environ.get("SEQLAB_BROWSER_TEST") == "required":
        pytest.fail(f"{reason} (SEQLAB_BROWSER_TEST=required)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def playwright_api():
    if CHROMIUM is None:
        _skip_or_fail(
            "browser test skipped: Chromium is not installed. Install it with `sudo apt-get install chromium` "
            "(Debian/Ubuntu); `.ci/run` does this, so CI always runs the browser test"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("browser test skipped: the Python package playwright is missing; run `make install`")
    with sync_playwright() as api:
        yield api


@pytest.fixture(scope="module")
def browser(playwright_api, tmp_path_factory):
    """A headless Chromium with an empty profile (the system browser: nothing is downloaded)."""
    home = tmp_path_factory.mktemp("chromium-home")
    context = playwright_api.chromium.launch_persistent_context(
        str(home / "profile"),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_FLAGS,
        # Its crash-report and cache folders too, instead of the user's ~/.config and ~/.cache.
        env={**os.environ, "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache")},
        viewport={"width": 1280, "height": 900},
    )
    yield context
    context.close()


@pytest.fixture(scope="module")
def lab(playwright_api, tmp_path_factory):
    """JupyterLab started by `make lab` (as a student starts it), opened on a scratch copy of notebooks/.

    (It asks for ``playwright_api`` so that without a browser the tests skip before a server starts.)

    The server runs from the repository root, so nbgrader's Validate reads the course's ``nbgrader_config.py``
    from its working directory exactly as it does for a student; the notebooks it runs and saves are copies.
    Yields the server's base URL and the copy's path.
    """
    root = tmp_path_factory.mktemp("course") / "notebooks"
    shutil.copytree(COURSE.notebooks, root)
    home = tmp_path_factory.mktemp("jupyter-home")
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # Never ask about (or fetch) Jupyter news: the network is closed and the toast would cover the notebook.
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    log_path = SCREENSHOTS / f"jupyter-server-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.log"
    with running_lab(home, TOKEN, log_path, notebooks=root) as base:
        yield {"url": base, "root": root}


# ---------------------------------------------------------------------------------------------------- helpers


@pytest.fixture
def browser_pages(browser, request):
    """New pages in the browser; one a test leaves open (it failed) is screenshotted for the artifacts."""
    pages = []

    def new_page():
        pages.append(browser.new_page())
        return pages[-1]

    yield new_page
    for number, page in enumerate(p for p in pages if not p.is_closed()):
        name = re.sub(r"\W+", "-", request.node.name)
        page.screenshot(path=str(SCREENSHOTS / f"unfinished-{name}-{number}.png"))
        page.close()


def _open(new_page, lab, path, n_cells):
    """Open a notebook in JupyterLab and wait until all its cells are on the page and its kernel is idle."""
    page = new_page()
    # A workspace of its own, reset: no tab of an earlier test is restored beside this notebook.
    workspace = re.sub(r"\W", "-", path)
    page.goto(f"{lab['url']}/lab/workspaces/{workspace}?reset&token={TOKEN}")
    # The launcher lists the Python kernel once JupyterLab knows the kernels; a notebook opened before that
    # asks which kernel to start. Then open the notebook as a student does, from the file browser.
    page.locator('.jp-LauncherCard[data-category="Notebook"]').first.wait_for(timeout=OPEN_TIMEOUT)
    for name in path.split("/"):
        item = page.locator(
            ".jp-DirListing-content .jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(name)}$")
        )
        item.dblclick(timeout=OPEN_TIMEOUT)
    cells = page.locator(CELLS)
    page.wait_for_function(
        "([selector, n]) => document.querySelectorAll(selector).length === n",
        arg=[CELLS, n_cells],
        timeout=OPEN_TIMEOUT,
    )
    # Until its kernel is connected, a notebook's Run button clears the cell instead of running it.
    kernel_idle = page.locator(KERNEL_STATUS, has_text=re.compile(r"^(?!No Kernel).*\| Idle$"))
    kernel_idle.wait_for(timeout=OPEN_TIMEOUT)
    return page, cells


def _prompt(cell):
    """The execution prompt of a code cell: '[3]:' once run, '[*]:' while queued or running, '[ ]:' before.

    Read as textContent: JupyterLab's default windowing mode ("contentVisibility") skips rendering cells that
    are scrolled out of view, and the innerText of a skipped cell is empty.
    """
    return (cell.locator(".jp-InputPrompt").first.text_content() or "").strip()


def _execution_count(cell):
    match = re.fullmatch(r"\[(\d+)\]:", _prompt(cell))
    return int(match[1]) if match else None


def _wait_until_done(page, timeout=RUN_TIMEOUT):
    """Wait until no cell is queued or running ('[*]') and the kernel has been idle for a moment."""
    page.wait_for_function(
        """() => {
            const busy = [...document.querySelectorAll('.jp-NotebookPanel .jp-InputPrompt')]
                .some(p => p.textContent.includes('*'));
            const status = document.querySelector('KERNEL_STATUS');
            const idle = status && /^(?!No Kernel).*\\| Idle$/.test(status.textContent.trim())
                && document.querySelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]');
            if (busy || !idle) { window.__seqlabIdleSince = undefined; return false; }
            window.__seqlabIdleSince = window.__seqlabIdleSince || Date.now();
            return Date.now() - window.__seqlabIdleSince > 1500;
        }""".replace("KERNEL_STATUS", KERNEL_STATUS),
        timeout=timeout,
        polling=250,
    )


def _run_all(page):
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


def _run_cell(page, cell):
    """Select a cell (click its prompt) and press the toolbar's Run button, as a student does."""
    cell.locator(".jp-InputPrompt").first.click()
    page.locator('.jp-NotebookPanel-toolbar jp-button[data-command="notebook:run-cell-and-select-next"]').click()


def validate(page, timeout=VALIDATE_TIMEOUT):
    """Press nbgrader's Validate button and return the results dialog once it shows."""
    page.locator(".jp-NotebookPanel-toolbar .validate-button").click()
    dialog = page.locator(".jp-Dialog", has_text="Validation Results")
    dialog.wait_for(timeout=timeout)
    return dialog


def _count_reaches(page, selector, n, timeout=RUN_TIMEOUT):
    """True once the page holds at least n elements matching selector; False if it does not within timeout."""
    try:
        page.wait_for_function(
            "([selector, n]) => document.querySelectorAll(selector).length >= n", arg=[selector, n], timeout=timeout
        )
    except PlaywrightTimeoutError:
        return False
    return True


def _true_within(page, predicate, locator, timeout=OPEN_TIMEOUT):
    """True once the JavaScript predicate holds for the locator's element, False if not within timeout."""
    try:
        page.wait_for_function(predicate, arg=locator.element_handle(), timeout=timeout)
    except PlaywrightTimeoutError:
        return False
    return True


def _shot(page, name):
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _nbgrader(cell):
    return cell.metadata.get("nbgrader", {})


def _first_exercise(nb):
    """(index of the first exercise's solution code cell, its grade id, index of its test cell)."""
    index = next(
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and _nbgrader(c).get("solution") and not carried_over(_nbgrader(c)["grade_id"])
    )
    grade_id = _nbgrader(nb.cells[index])["grade_id"]
    test = next(i for i, c in enumerate(nb.cells) if _nbgrader(c).get("grade_id") == f"{grade_id}-tests")
    return index, grade_id, test


def _written_answers(nb):
    """grade id -> a student's text, for every written (manually graded markdown) answer of the notebook."""
    return {
        _nbgrader(c)["grade_id"]: "My answer, in my own words."
        for c in nb.cells
        if c.cell_type == "markdown" and _nbgrader(c).get("solution")
    }


def _math_count(nb):
    """How many TeX formulas ($...$ or $$...$$) the markdown cells hold, outside code spans."""
    count = 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            text = re.sub(r"`[^`]*`", "", cell.source)
            count += len(re.findall(r"\$\$.+?\$\$|\$[^$\n]+?\$", text, flags=re.DOTALL))
    return count


# ------------------------------------------------------------------------------------------------------ tests


@pytest.mark.parametrize("lesson", LESSONS)
def test_a_student_works_through_the_first_exercise(lesson, lab, browser_pages):
    nb = student_notebook(lesson)
    exercise, grade_id, test = _first_exercise(nb)
    function = re.search(r"^(?:def|class) (\w+)", nb.cells[exercise].source, re.MULTILINE)[1]
    page, cells = _open(browser_pages, lab, f"{lesson}/{lesson}.ipynb", len(nb.cells))

    # 1. Run all: the notebook renders, and runs without error up to the first exercise's test cell.
    _run_all(page)
    _wait_until_done(page)
    # MathJax typesets in the background (slowly on a busy machine): wait for it, within bounds.
    expected = _math_count(nb)
    assert expected > 0, "no formulas in the notebook's markdown: is the regex still right?"
    formulas = ".jp-MarkdownCell mjx-container"
    typeset = _count_reaches(page, formulas, expected)
    assert typeset, f"equations are not typeset: {page.locator(formulas).count()} of {expected} formulas"
    figures = page.locator(".jp-OutputArea-output img")
    assert figures.count() >= 1, "no figure rendered by the cells before the first exercise"
    figures.first.scroll_into_view_if_needed()
    loaded = _true_within(page, "img => img.complete && img.naturalWidth > 100", figures.first)
    assert loaded, "the figure did not load"
    for index, cell in enumerate(nb.cells[:exercise]):
        if cell.cell_type == "code":
            assert _execution_count(cells.nth(index)) is not None, f"cell {index} did not run"
            errors = cells.nth(index).locator(ERROR_OUTPUT)
            assert errors.count() == 0, f"cell {index} shows an error: {errors.first.inner_text()[:2000]}"
    page.wait_for_timeout(500)
    _shot(page, f"{lesson}-1-rendered")

    # 2. The first exercise is still a stub: its test cell says so in words.
    test_cell = cells.nth(test)
    error = test_cell.locator(ERROR_OUTPUT)
    error.evaluate("el => el.scrollIntoView({block: 'end'})")  # the words come last, under the traceback
    message = error.inner_text()
    unwritten = re.compile(rf"\b{function}(\.\w+)? is not implemented yet")  # a function, or a method of a class
    assert unwritten.search(message) and STUB in message, message
    _shot(page, f"{lesson}-2-blank-exercise-fails")

    # 3. Validate on the blank notebook lists every graded test cell as failing, with the same words.
    # Written answers left blank are reported too ("You did not provide a response").
    graded = [c for c in nb.cells if _nbgrader(c).get("grade") and c.cell_type == "code"]
    written = _written_answers(nb)
    dialog = validate(page)
    failed = dialog.locator(".validation-failed")
    assert failed.count() == 1, f"Validate should report failing tests: {dialog.inner_text()[:2000]}"
    report = failed.inner_text()
    assert report.count("The following cell failed:") == len(graded) + len(written), report[:3000]
    assert report.count("You did not provide a response") == len(written), report[:3000]
    assert unwritten.search(report), report[:3000]
    failed.locator("pre").nth(1).evaluate("el => el.scrollIntoView({block: 'center'})")  # the first error
    _shot(page, f"{lesson}-3-validate-blank")
    dialog.get_by_role("button", name="Ok").click()
    dialog.wait_for(state="detached")

    # 4. Type the reference answer into the exercise cell, run it and its test cell: the test passes.
    answer = reference_answers(solution_notebook(lesson))[grade_id]
    editor = cells.nth(exercise).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(answer)
    assert STUB not in editor.inner_text()
    before = _execution_count(test_cell)
    _run_cell(page, cells.nth(exercise))
    _wait_until_done(page)
    _run_cell(page, test_cell)
    _wait_until_done(page)
    assert _execution_count(cells.nth(exercise)) is not None
    assert _execution_count(test_cell) > before, "the test cell did not run again"
    errors = test_cell.locator(ERROR_OUTPUT)
    assert errors.count() == 0, f"with the reference answer the test still fails: {errors.first.inner_text()}"
    assert test_cell.locator(".jp-OutputArea-output").count() >= 1, "the test cell printed nothing"
    test_cell.scroll_into_view_if_needed()
    _shot(page, f"{lesson}-4-exercise-passes")
    page.close()


@pytest.mark.parametrize("lesson", LESSONS)
def test_validate_passes_a_solved_notebook(lesson, lab, browser_pages):
    solved = submission(lesson, _written_answers(student_notebook(lesson)))  # code and written answers filled in
    path = lab["root"] / lesson / f"{lesson}-solved.ipynb"
    nbformat.write(solved, path)
    page, _ = _open(browser_pages, lab, f"{lesson}/{path.name}", len(solved.cells))
    with _cpu_load(2) if lesson == LOADED_LESSON else contextlib.nullcontext():
        dialog = validate(page, timeout=2 * VALIDATE_TIMEOUT if lesson == LOADED_LESSON else VALIDATE_TIMEOUT)
    assert dialog.locator(".validation-success").count() == 1, dialog.inner_text()[:3000]
    assert "Success! Your notebook passes all the tests." in dialog.inner_text()
    _shot(page, f"{lesson}-5-validate-solved")
    dialog.get_by_role("button", name="Ok").click()
    page.close()


PROGRESS_CELL = """\
import time

import torch

from seqlab import train

w = torch.zeros(3, requires_grad=True)


def slow_loss(step):
    time.sleep(0.02)  # slow enough to watch the bar move
    return ((w - 1) ** 2).sum()


losses = train.fit(slow_loss, [w], steps=300, lr=0.05, desc="training")
print(f"{len(losses)} steps, final loss {losses[-1]:.4f}")
"""


def test_training_shows_a_widget_progress_bar(lab, browser_pages):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROGRESS_CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, lab["root"] / "progress_bar.ipynb")
    page, cells = _open(browser_pages, lab, "progress_bar.ipynb", 1)
    cell = cells.nth(0)
    _run_cell(page, cell)

    # While it trains: tqdm's notebook widget (a label, a bar that fills, a counter), no text written by tqdm.
    widget = cell.locator(".jp-OutputArea-output .jupyter-widgets.widget-hbox", has_text="training")
    widget.wait_for(timeout=RUN_TIMEOUT)
    bar = widget.locator(".widget-hprogress .progress-bar")
    page.wait_for_function(
        "el => parseFloat(el.style.width) >= 20", arg=bar.element_handle(), timeout=RUN_TIMEOUT, polling=100
    )
    _shot(page, "progress-bar")
    text_outputs = cell.locator(f"{ERROR_OUTPUT}, {STDOUT_OUTPUT}")
    assert text_outputs.count() == 0, f"tqdm wrote text instead of a widget: {text_outputs.first.inner_text()[:2000]}"
    # Once done: the bar is gone (leave=False) and only the cell's own print is left, on one line.
    _wait_until_done(page)
    output = cell.locator(".jp-OutputArea").inner_text()
    assert "300 steps, final loss" in output, output[:2000]
    assert len(output.strip().splitlines()) == 1, f"more output than the final print: {output[:2000]}"
    page.close()
