"""A semester's loop on the course's real JupyterHub, each person in a headless Chromium (Debian's, through Playwright).

The hub is deploy/jupyterhub_config.py as it is (tests/hub_server.py: only ports, folders and the lists of users
change), with its proxy from the npm registry, PAM logins with the passwords of real Linux accounts created for the
test, and each user's server running as that user.  Lesson 05_birnn, which has a written answer:

1. the instructor (a grader account) releases the assignment from the formgrader, in its JupyterLab tab;
2. student A logs in, fetches it in the *Assignments* tab, answers the first exercise and the written question,
   presses *Validate*, and submits; student B submits the notebook as fetched;
3. the instructor collects (formgrader), grades with `seqlab grade` from a terminal command (sandboxed), grades A's
   written answer in the formgrader, runs `seqlab grade` again (grades.csv shows the score by hand; A's feedback is
   written again with it) and releases the feedback (formgrader);
4. each student fetches their feedback in the *Assignments* tab and reads their own score in it, and the files
   they fetched show no hidden test (neither its marker nor a line of its source): the last check.

On the way it tries what must not happen: a student reading or listing another's submission or feedback (through
the exchange, and through the other's home, nbgrader issue #1711); a student opening the formgrader or the Create
Assignment panel; the formgrader's own autograde button running student code (it answers with the `seqlab grade`
command and runs nothing); and the formgrader tab must not be blank (JupyterHub >= 4.1, nbgrader #1870).

It measures, for the sizing note: the time from each student's submission to their feedback, and the memory (RSS)
of the hub, its proxy, the formgrader service and each student's server; printed and written to
_build/hub/measurements.json.  Screenshots of every step go to _build/hub/.

It needs root, Debian's chromium, Node.js and `make install`'s configurable-http-proxy; without them it is skipped
with a message naming what to install, and with SEQLAB_HUB_TEST=required (CI's .ci/run) it fails instead.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import html
import json
import os
import re
import time
from pathlib import Path

import pytest

from seqlab.tools.course import COURSE_ID
from seqlab.tools.submissions import reference_answers
from tests.support import REPO, solution_notebook, student_notebook

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
except ImportError:  # the test skips (see hub) and never needs it
    PlaywrightTimeoutError = TimeoutError

# One hub, one browser: run on one xdist worker (see tests/test_browser.py on loadgroup).  The hard bound covers
# the fixtures too (pytest-timeout); the waits inside are generous, for a loaded 2-core machine.
pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("hub")]

LESSON = "05_birnn"
GRADER, ANA, BEN = "hubtest-ines", "hubtest-ana", "hubtest-ben"
SHOTS = REPO / "_build" / "hub"
WRITTEN_ANSWER = (
    "A next-token language model must predict token t+1 from tokens 1..t only. The backward direction of a BiRNN "
    "reads the sequence from its end, so its state at step t already contains token t+1: the model copies the "
    "answer instead of learning to predict it, and at generation time the future it relied on does not exist."
)
WRITTEN_POINTS = 2  # what the instructor gives A's written answer

LOGIN_TIMEOUT = 180_000  # a first login spawns the user's server (JupyterLab, nbgrader) on a loaded machine
UI_TIMEOUT = 90_000
VALIDATE_TIMEOUT = 300_000
NBGRADER_MENU = re.compile(r"^Nbgrader$")


# --------------------------------------------------------------------------------------------------- fixtures


def _skip_or_fail(reason):
    if os.environ.get("SEQLAB_HUB_TEST") == "required":
        pytest.fail(f"{reason} (SEQLAB_HUB_TEST=required)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def playwright_api():
    from tests.hub_server import missing_prerequisites
    from tests.test_browser import CHROMIUM

    missing = missing_prerequisites()
    if CHROMIUM is None:
        missing.append("Chromium (`sudo apt-get install chromium`)")
    if missing:
        _skip_or_fail(
            "hub test skipped: it needs " + "; ".join(missing) + ". `.ci/run` installs them, so CI always runs it"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("hub test skipped: the Python package playwright is missing; run `make install`")
    with sync_playwright() as api:
        yield api


@pytest.fixture(scope="module")
def hub(playwright_api):
    """The course's hub, started from deploy/ with real accounts; stopped and cleaned up however the test ends."""
    from tests.hub_server import running_hub

    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    with running_hub([GRADER], [ANA, BEN], SHOTS) as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright_api, tmp_path_factory):
    """Debian's headless Chromium, launched as tests/test_browser.py launches it; one context per person."""
    from tests.test_browser import CHROMIUM, CHROMIUM_FLAGS

    home = tmp_path_factory.mktemp("chromium-home")
    launched = playwright_api.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_FLAGS,
        env={**os.environ, "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache")},
    )
    yield launched
    launched.close()


# ---------------------------------------------------------------------------------------------------- helpers


class Person:
    """One person at their own browser (a context of their own: their own cookies)."""

    def __init__(self, browser, hub, name):
        self.name = name
        self.hub = hub
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()

    def shot(self, name):
        self.page.screenshot(path=str(SHOTS / f"{name}.png"))

    def log_in(self, next_url=""):
        """The hub's login form with the account's password (PAM); wait for JupyterLab at ``next_url``."""
        page = self.page
        page.goto(f"{self.hub.url}/hub/login" + (f"?next={next_url}" if next_url else ""))
        page.fill("#username_input", self.name)
        page.fill("#password_input", self.hub.accounts[self.name].password)
        page.click("#login_submit")
        # JupyterLab is ready once its plugins have built the menu bar (nbgrader's menu is one of the last).
        page.locator(".lm-MenuBar-itemLabel", has_text=NBGRADER_MENU).wait_for(timeout=LOGIN_TIMEOUT)

    def nbgrader_menu(self):
        """Open JupyterLab's Nbgrader menu; return its item labels."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=NBGRADER_MENU).click()
        menu = self.page.locator(".lm-Menu-content").last
        menu.wait_for(timeout=UI_TIMEOUT)
        # A command whose plugin is off has no label (and does nothing): only labelled items are offered.
        return [t.strip() for t in menu.locator(".lm-Menu-itemLabel").all_inner_texts() if t.strip()]

    def open_from_nbgrader_menu(self, item):
        self.nbgrader_menu()
        self.page.get_by_role("menuitem", name=item, exact=True).click()

    def close(self):
        self.context.close()


def _assignment_list(person):
    """Open the Assignments tab and wait until it has listed the course's assignments."""
    page = person.page
    person.open_from_nbgrader_menu("Assignment List")
    panel = page.locator("#nbgrader-assignment-list")
    panel.wait_for(timeout=UI_TIMEOUT)
    panel.locator("#course_list_default", has_text=COURSE_ID).wait_for(timeout=UI_TIMEOUT)
    return panel


def _list_item(panel, section, assignment=LESSON):
    """The row of ``assignment`` in one section of the Assignments tab (released, fetched, submitted)."""
    name = panel.page.locator(".item_name", has_text=assignment)
    return panel.locator(f"#{section}_assignments_list .list_item:not(.nested_list_item)", has=name)


def _formgrader(person):
    """The formgrader tab in the service's JupyterLab: its iframe, once its assignment table has loaded."""
    person.open_from_nbgrader_menu("Formgrader")
    frame = person.page.frame_locator("#formgrader iframe, iframe").first
    frame.locator("td.name", has_text=re.compile(f"^{LESSON}$")).wait_for(timeout=UI_TIMEOUT)
    return frame


def _formgrader_frame(person):
    """The formgrader's Frame object (to follow its links as a grader does, and to read its pages)."""
    page = person.page
    deadline = time.monotonic() + UI_TIMEOUT / 1000
    while time.monotonic() < deadline:
        for frame in page.frames:
            if "/formgrader" in frame.url:
                return frame
        page.wait_for_timeout(250)
    raise AssertionError("no formgrader frame on the page")


def _modal(frame):
    """The formgrader's dialog once it has faded in (Bootstrap's .modal.in, fully opaque)."""
    modal = frame.locator(".modal.in").last
    modal.wait_for(timeout=UI_TIMEOUT)
    if not hasattr(frame, "wait_for_function"):  # a FrameLocator: the Frame it points to
        frame = frame.owner.element_handle().content_frame()
    frame.wait_for_function(
        "() => [...document.querySelectorAll('.modal.in')].some(m => getComputedStyle(m).opacity === '1')",
        timeout=UI_TIMEOUT,
    )
    return modal


def _assignment_row(frame):
    return frame.locator("tr", has=frame.locator("td.name", has_text=re.compile(f"^{LESSON}$")))


def _open_notebook(person, path, n_cells):
    """Open a notebook by its JupyterLab URL; wait for all its cells and an idle kernel."""
    from tests.test_browser import CELLS, KERNEL_STATUS

    page = person.page
    page.goto(f"{person.hub.url}/user/{person.name}/lab/tree/{path}")
    page.wait_for_function(
        "([selector, n]) => document.querySelectorAll(selector).length === n",
        arg=[CELLS, n_cells],
        timeout=LOGIN_TIMEOUT,
    )
    page.locator(KERNEL_STATUS, has_text=re.compile(r"^(?!No Kernel).*\| Idle$")).wait_for(timeout=LOGIN_TIMEOUT)
    return page.locator(CELLS)


def _type_into(page, cell, text):
    editor = cell.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)


def _html_text(path: Path) -> str:
    """The text a reader sees in an HTML file (tags dropped, entities decoded, spaces collapsed)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    for tag in soup(["script", "style"]):
        tag.decompose()
    return " ".join(html.unescape(soup.get_text(" ")).split())


def _hidden_test_lines(lesson: str) -> list[str]:
    """Source lines of the lesson's hidden tests that do not also appear in what students are given."""
    given = set()
    for cell in student_notebook(lesson).cells:
        given.update(" ".join(line.split()) for line in cell.source.splitlines())
    hidden = []
    for cell in solution_notebook(lesson).cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
                continue
            if "END HIDDEN TESTS" in line:
                inside = False
                continue
            text = " ".join(line.split())
            if inside and len(text) >= 12 and not text.startswith("#") and text not in given:
                hidden.append(text)
    return hidden


def _rss_mib(processes) -> float:
    import psutil

    total = 0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return round(total / 2**20, 1)


def _memory(hub) -> dict:
    """RSS of the hub, its proxy, the formgrader service, and each student's server (alone, and with kernels)."""
    import psutil

    hub_process = psutil.Process(hub.process.pid)
    proxy = [
        p
        for p in psutil.process_iter(["cmdline"])
        if any("configurable-http-proxy" in part for part in p.info["cmdline"] or [])
        and any(str(hub.root) in part for part in p.info["cmdline"] or [])
    ]
    figures = {"hub": _rss_mib([hub_process]), "proxy": _rss_mib(proxy)}

    def owned_by(account):
        uid = hub.accounts[account].uid
        return [p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == uid]

    figures["formgrader service (with its kernels)"] = _rss_mib(owned_by(f"grader-{COURSE_ID}"))
    for student in (ANA, BEN):
        processes = owned_by(student)
        server = [p for p in processes if any("jupyterhub-singleuser" in part for part in p.cmdline())]
        figures[f"{student} server"] = _rss_mib(server)
        figures[f"{student} server with its kernels"] = _rss_mib(processes)
    return figures


# ------------------------------------------------------------------------------------------------------ tests


@pytest.mark.timeout(900)
def test_a_semester_on_the_hub(hub, browser):
    people = [Person(browser, hub, name) for name in (GRADER, ANA, BEN)]
    try:
        _semester(hub, *people)
    except BaseException:
        for person in people:  # where each person was when it failed
            person.shot(f"unfinished-{person.name}")
        raise
    finally:
        for person in people:
            person.close()


def _semester(hub, grader, ana, ben):
    started = time.monotonic()
    nb = student_notebook(LESSON)
    solution = solution_notebook(LESSON)
    answers = reference_answers(solution)
    cells_meta = [c.metadata.get("nbgrader", {}) for c in nb.cells]
    first = next(i for i, m in enumerate(cells_meta) if m.get("solution") and nb.cells[i].cell_type == "code")
    first_id = cells_meta[first]["grade_id"]
    written = next(i for i, m in enumerate(cells_meta) if m.get("solution") and nb.cells[i].cell_type == "markdown")
    written_id = cells_meta[written]["grade_id"]
    # The first exercise's test cells (its values, edge cases, shortcuts) are "<its grade id>-...-tests".
    tests = [m for m in cells_meta if m.get("grade") and not m.get("solution")]
    first_points = sum(float(m["points"]) for m in tests if m["grade_id"].startswith(f"{first_id}-"))
    others_failing = sum(1 for m in tests if not m["grade_id"].startswith(f"{first_id}-"))
    total_points = sum(float(m["points"]) for m in cells_meta if m.get("grade"))
    submitted_at, feedback_at, fetched_feedback = {}, {}, {}

    # ---- 1. The instructor releases the assignment from the formgrader, in the service's JupyterLab.
    grader.log_in(next_url=f"/services/{COURSE_ID}/lab")
    menu = grader.nbgrader_menu()
    assert "Formgrader" in menu and "Create assignment" in menu, menu
    grader.page.keyboard.press("Escape")
    frame = _formgrader(grader)
    # The tab is not blank (JupyterHub >= 4.1 sends frame-ancestors 'none'; deploy/formgrader allows 'self').
    assert frame.locator("h1", has_text="Manage Assignments").count() >= 1
    grader.shot("01-formgrader-tab-not-blank")
    row = _assignment_row(frame)
    row.locator("td.release a").click()
    modal = _modal(frame)
    assert "Successfully released" in modal.inner_text(), modal.inner_text()
    grader.shot("02-instructor-released")
    modal.locator("button", has_text="OK").first.click()
    row.locator("td.status", has_text="released").wait_for(timeout=UI_TIMEOUT)
    assert (hub.exchange / COURSE_ID / "outbound" / LESSON / f"{LESSON}.ipynb").is_file()

    # ---- 2. Student A: fetch, answer the first exercise and the written question, Validate, submit.
    ana.log_in()
    # Only the student side of nbgrader: no formgrader, course list or Create Assignment in a student's server.
    menu = ana.nbgrader_menu()
    ana.shot("03-student-a-nbgrader-menu-student-side-only")
    ana.page.keyboard.press("Escape")
    assert menu == ["Assignment List"], f"a student's Nbgrader menu shows {menu}"
    assert ana.page.locator("#jp-right-stack").get_by_text("Create Assignment").count() == 0
    # Nor by typing the addresses: no formgrader in a student's server, no access to the graders' service.
    response = ana.page.goto(f"{hub.url}/user/{ANA}/formgrader")
    assert response.status == 404, f"a student's server serves the formgrader ({response.status})"
    ana.shot("03b-student-a-no-formgrader-in-own-server")
    response = ana.page.goto(f"{hub.url}/services/{COURSE_ID}/formgrader")
    assert response.status == 403, f"a student reached the graders' formgrader service ({response.status})"
    ana.shot("03c-student-a-refused-by-the-formgrader-service")
    ana.page.goto(f"{hub.url}/user/{ANA}/lab")
    ana.page.locator(".lm-MenuBar-itemLabel", has_text=NBGRADER_MENU).wait_for(timeout=LOGIN_TIMEOUT)
    panel = _assignment_list(ana)
    released = _list_item(panel, "released")
    released.wait_for(timeout=UI_TIMEOUT)
    ana.shot("04-student-a-assignments-tab")
    released.get_by_role("button", name="Fetch").click()
    fetched = _list_item(panel, "fetched")
    fetched.wait_for(timeout=UI_TIMEOUT)
    ana.shot("05-student-a-fetched")
    assert (hub.accounts[ANA].home / LESSON / f"{LESSON}.ipynb").is_file()

    cells = _open_notebook(ana, f"{LESSON}/{LESSON}.ipynb", len(nb.cells))
    _type_into(ana.page, cells.nth(first), answers[first_id])
    markdown = cells.nth(written)
    markdown.scroll_into_view_if_needed()
    markdown.dblclick()
    _type_into(ana.page, markdown, WRITTEN_ANSWER)
    ana.page.keyboard.press("Shift+Enter")  # render the answer
    markdown.locator(".jp-RenderedMarkdown", has_text="next-token language model").wait_for(timeout=UI_TIMEOUT)
    ana.page.keyboard.press("Control+s")
    ana.page.locator(".jp-mod-current.jp-mod-dirty").wait_for(state="detached", timeout=UI_TIMEOUT)
    ana.shot("06-student-a-answered")
    from tests.test_browser import validate

    dialog = validate(ana.page, timeout=VALIDATE_TIMEOUT)
    report = dialog.inner_text()
    # The test cells of the exercises A did not do fail; the first exercise's and the written answer do not.
    assert report.count("The following cell failed:") == others_failing, report[:3000]
    assert "You did not provide a response" not in report, report[:3000]
    ana.shot("07-student-a-validated")
    dialog.get_by_role("button", name="Ok").click()
    dialog.wait_for(state="detached")

    panel = _assignment_list(ana)
    fetched = _list_item(panel, "fetched")
    fetched.wait_for(timeout=UI_TIMEOUT)
    fetched.get_by_role("button", name="Submit").click()
    submitted = _list_item(panel, "submitted")
    submitted.wait_for(timeout=UI_TIMEOUT)
    submitted_at[ANA] = time.monotonic()
    ana.shot("08-student-a-submitted")

    # Student B submits the notebook as fetched.
    ben.log_in()
    panel_b = _assignment_list(ben)
    _list_item(panel_b, "released").get_by_role("button", name="Fetch").click()
    fetched_b = _list_item(panel_b, "fetched")
    fetched_b.wait_for(timeout=UI_TIMEOUT)
    fetched_b.get_by_role("button", name="Submit").click()
    _list_item(panel_b, "submitted").wait_for(timeout=UI_TIMEOUT)
    submitted_at[BEN] = time.monotonic()
    ben.shot("09-student-b-submitted-blank")

    # ---- 3. The instructor collects (formgrader), grades with `seqlab grade` (a terminal command), grades the
    # written answer in the formgrader, and releases the feedback.
    grader.page.reload()
    grader.page.locator(".lm-MenuBar-itemLabel", has_text=NBGRADER_MENU).wait_for(timeout=LOGIN_TIMEOUT)
    frame = _formgrader(grader)
    row = _assignment_row(frame)
    row.locator("td.collect a").click()
    modal = _modal(frame)
    assert "Successfully collected" in modal.inner_text(), modal.inner_text()
    grader.shot("10-instructor-collected")
    modal.locator("button", has_text="OK").first.click()
    row.locator("td.num-submissions", has_text="2").wait_for(timeout=UI_TIMEOUT)
    course = hub.course
    collected = {s: course / "_grading" / "submitted" / s / LESSON / f"{LESSON}.ipynb" for s in (ANA, BEN)}
    assert WRITTEN_ANSWER in collected[ANA].read_text(encoding="utf-8"), "A's written answer was not submitted"
    assert WRITTEN_ANSWER not in collected[BEN].read_text(encoding="utf-8")

    grading = [
        "seqlab", "grade", "_grading/submitted", "--lesson", LESSON, "--workspace", "_grading", "--workers", "2",
    ]  # fmt: skip
    done = hub.run_as(f"grader-{COURSE_ID}", grading, cwd=course, timeout=600)
    (SHOTS / "seqlab-grade-1.log").write_text(done.stdout + done.stderr)
    print("seqlab grade, as the course account:\n" + "\n".join(done.stdout.splitlines()[:12]))
    assert done.returncode == 0, done.stdout + done.stderr
    grades_csv = course / "_grading" / LESSON / "grades.csv"
    rows = _read_csv(grades_csv)
    assert float(rows[ANA]["score"]) == first_points and float(rows[BEN]["score"]) == 0, rows
    assert f"{written_id} needs manual grading" in rows[ANA]["notes"], rows[ANA]

    # The formgrader's own autograde button runs nothing: it says to use `seqlab grade`.
    autograded_b = course / "_grading" / "autograded" / BEN / LESSON / f"{LESSON}.ipynb"
    before = hashlib.sha256(autograded_b.read_bytes()).hexdigest()
    form = _formgrader_frame(grader)
    form.goto(form.url.split("/formgrader")[0] + f"/formgrader/manage_submissions/{LESSON}")
    student_row = form.locator("tr", has=form.locator("td.student-id", has_text=BEN))
    student_row.locator("td.autograde a").click()
    modal = _modal(form)
    assert "run `seqlab grade _grading/submitted" in " ".join(modal.inner_text().split()), modal.inner_text()
    grader.shot("11-formgrader-autograde-points-to-seqlab-grade")
    modal.locator("button", has_text="OK").first.click()
    assert hashlib.sha256(autograded_b.read_bytes()).hexdigest() == before, "the formgrader's autograde ran"

    # Grade A's written answer in the formgrader (Manual Grading, A's notebook, the answer's score box).
    form.goto(form.url.split("/formgrader")[0] + f"/formgrader/gradebook/{LESSON}/{LESSON}")
    # Submissions are listed anonymously ("Submission #n"); A's is the row whose hidden name is A's.
    row = form.locator("tr", has=form.locator("a.name-shown", has_text=ANA))
    row.wait_for(state="attached", timeout=UI_TIMEOUT)
    row.locator("a.name-hidden").click()
    score = form.locator(f'input.score[id="{written_id}"]')
    score.wait_for(timeout=UI_TIMEOUT)
    assert WRITTEN_ANSWER[:40] in form.locator("body").inner_text()
    # The page loads its grades after it shows them and then renders the boxes again: a score typed before that is
    # wiped, as a grader would see. Type it once the page is quiet, and again if it was not saved.
    form.wait_for_load_state("networkidle", timeout=UI_TIMEOUT)
    gradebook = course / "_grading" / "gradebook.db"
    for attempt in range(4):
        score.fill(str(WRITTEN_POINTS))
        score.press("Tab")  # the formgrader saves a score when its box loses focus
        if _wait_for_manual_score(gradebook, written_id, ANA, WRITTEN_POINTS, seconds=20 + 20 * attempt):
            break
    else:
        raise AssertionError(f"the formgrader did not save {written_id}'s score")
    grader.shot("12-instructor-graded-written-answer")

    # `seqlab grade` again: nobody is graded again; the score by hand reaches grades.csv and A's feedback.
    done = hub.run_as(f"grader-{COURSE_ID}", grading, cwd=course, timeout=600)
    (SHOTS / "seqlab-grade-2.log").write_text(done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "unchanged since the last run, kept" in done.stdout, done.stdout
    rows = _read_csv(grades_csv)
    column = next(name for name in rows[ANA] if name.startswith(f"{written_id} ("))
    assert float(rows[ANA][column]) == WRITTEN_POINTS, rows[ANA]
    assert float(rows[ANA]["score"]) == first_points + WRITTEN_POINTS, rows[ANA]
    assert f"{written_id} graded by hand" in rows[ANA]["notes"], rows[ANA]
    ana_feedback = course / "_grading" / "feedback" / ANA / LESSON / f"{LESSON}.html"
    assert re.search(rf"Score:\s*{first_points + WRITTEN_POINTS:g}(\.0+)?\s*/", _html_text(ana_feedback))

    form.goto(form.url.split("/formgrader")[0] + "/formgrader/manage_assignments")
    row = _assignment_row(form)
    row.wait_for(timeout=UI_TIMEOUT)
    row.locator("td.release-feedback a").click()
    modal = _modal(form)
    assert "Successfully released feedback of" in modal.inner_text(), modal.inner_text()
    grader.shot("13-instructor-released-feedback")
    modal.locator("button", has_text="OK").first.click()

    # ---- What must not happen: B reads or lists A's submission or feedback, through the exchange or A's home.
    _students_cannot_read_each_other(hub)

    # ---- 4. Each student fetches their feedback in the Assignments tab and reads their own score.
    expected = {ANA: first_points + WRITTEN_POINTS, BEN: 0.0}
    for number, person in ((14, ana), (16, ben)):
        person.page.goto(f"{hub.url}/user/{person.name}/lab")
        person.page.locator(".lm-MenuBar-itemLabel", has_text=NBGRADER_MENU).wait_for(timeout=LOGIN_TIMEOUT)
        panel = _assignment_list(person)
        submitted = _list_item(panel, "submitted")
        submitted.get_by_role("button", name="Fetch Feedback").click()
        view = submitted.get_by_text("(view feedback)")
        view.wait_for(timeout=UI_TIMEOUT)
        feedback_at[person.name] = time.monotonic()
        person.shot(f"{number}-{person.name}-feedback-fetched")
        view.click()
        item = person.page.locator(".jp-DirListing-itemText", has_text=re.compile(f"^{LESSON}.html$"))
        item.dblclick(timeout=UI_TIMEOUT)
        viewer = person.page.frame_locator(".jp-HTMLViewer iframe").first
        shown = viewer.locator("body")
        shown.get_by_text(re.compile(r"Score:")).first.wait_for(timeout=UI_TIMEOUT)
        text = " ".join(shown.inner_text().split())
        match = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", text)
        assert match, text[:2000]
        assert float(match[1]) == expected[person.name] and float(match[2]) == total_points, match[0]
        person.shot(f"{number + 1}-{person.name}-reads-own-score")
        files = list((hub.accounts[person.name].home / LESSON / "feedback").glob(f"*/{LESSON}.html"))
        assert len(files) == 1, files
        fetched_feedback[person.name] = {str(path): _html_text(path) for path in files}

    # ---- Numbers for the sizing note.
    measurements = {
        "submit_to_feedback_seconds": {s: round(feedback_at[s] - submitted_at[s], 1) for s in (ANA, BEN)},
        "rss_mib": _memory(hub),
        "test_seconds": round(time.monotonic() - started, 1),
        "load_average_at_end": os.getloadavg(),
    }
    (SHOTS / "measurements.json").write_text(json.dumps(measurements, indent=1))
    print("hub measurements:", json.dumps(measurements, indent=1))

    # ---- Hidden tests stay hidden: in what each student fetched, no hidden test's marker or source.
    _assert_no_hidden_tests(fetched_feedback)


def _assert_no_hidden_tests(fetched: dict[str, dict[str, str]]) -> None:
    """What students fetched shows no hidden test: neither the marker nor a line of a hidden test's source.

    The last check of the semester (so that every other check has run when it fails): with pytest-xdist's
    grouping unreliable (see tests/test_browser.py), a test of its own might run on another worker than the hub.
    """
    hidden = _hidden_test_lines(LESSON)
    assert len(hidden) > 20, "the lesson's hidden tests were not found: is _hidden_test_lines still right?"
    leaks = []
    for student, files in fetched.items():
        for path, text in files.items():
            if "BEGIN HIDDEN TESTS" in text:
                leaks.append(f"{student}: {path} contains 'BEGIN HIDDEN TESTS'")
            shown = [line for line in hidden if line in text]
            if shown:
                leaks.append(f"{student}: {path} shows {len(shown)} hidden-test lines, e.g. {shown[0]!r}")
    assert not leaks, "hidden tests reach the students' feedback:\n" + "\n".join(leaks)


def _wait_for_manual_score(gradebook: Path, grade_id: str, student: str, points: float, seconds: float) -> bool:
    """True once the formgrader has saved the score in the class gradebook; False if not within ``seconds``."""
    from nbgrader.api import Gradebook

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with Gradebook(f"sqlite:///{gradebook}", course_id=COURSE_ID) as gb:
            if gb.find_grade(grade_id, LESSON, LESSON, student).manual_score == points:
                return True
        time.sleep(0.5)
    return False


def _read_csv(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


PROBE = r"""
import glob, json, os, sys
a_home, exchange, submission, feedback, course = sys.argv[1:6]
results = {}
def attempt(name, action):
    try:
        value = action()
        results[name] = "allowed: " + repr(value)[:200]
    except OSError as error:
        results[name] = "refused: " + type(error).__name__
attempt("list the exchange's inbound", lambda: os.listdir(f"{exchange}/{course}/inbound"))
attempt("list the exchange's feedback", lambda: os.listdir(f"{exchange}/{course}/feedback"))
attempt("rename the course in the exchange", lambda: os.rename(f"{exchange}/{course}", f"{exchange}/gone"))
attempt("list A's home", lambda: os.listdir(a_home))
attempt("read A's fetched notebook", lambda: len(open(f"{a_home}/05_birnn/05_birnn.ipynb").read()))
cache = f"{a_home}/.local/share/jupyter/nbgrader_cache/{course}"
attempt("list A's nbgrader cache", lambda: os.listdir(cache))
attempt(
    "read A's submitted notebook in A's cache",
    lambda: [len(open(f"{cache}/{name}/05_birnn.ipynb").read()) for name in os.listdir(cache)],
)
attempt("read A's submission, knowing its name", lambda: len(open(f"{submission}/05_birnn.ipynb").read()))
attempt("read A's feedback, knowing its name", lambda: len(open(feedback).read()))
print(json.dumps(results))
"""


def _students_cannot_read_each_other(hub):
    """Student B, with A's paths in hand, tries to reach A's work; then the same with A's home left 0755 (#1711)."""
    inbound = hub.exchange / COURSE_ID / "inbound"
    (submission,) = [p for p in inbound.iterdir() if p.name.startswith(f"{ANA}+")]
    # nbgrader names a submission <student>+<assignment>+<timestamp>+<random>: 72 random bits nobody can guess.
    assert len(submission.name.split("+")) == 4 and len(submission.name.split("+")[3]) == 12, submission.name
    home = hub.accounts[ANA].home
    python = str(hub.course / ".venv" / "bin" / "python")
    # The name of A's feedback in the exchange: a hash of the secret that only A's submission and A's cache hold.
    from nbgrader.utils import notebook_hash

    secret = (submission / "submission_secret.txt").read_text()
    feedback = hub.exchange / COURSE_ID / "feedback" / f"{notebook_hash(secret=secret, notebook_id=LESSON)}.html"
    assert feedback.is_file(), sorted((hub.exchange / COURSE_ID / "feedback").iterdir())
    args = [str(home), str(hub.exchange), str(submission), str(feedback), COURSE_ID]

    def probe():
        done = hub.run_as(BEN, [python, "-c", PROBE, *args], timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    assert (home.stat().st_mode & 0o777) == 0o700, "the hub's pre-spawn hook did not make A's home private"
    found = probe()
    (SHOTS / "isolation.json").write_text(json.dumps(found, indent=1))
    knowing = ("read A's submission, knowing its name", "read A's feedback, knowing its name")
    for attempt, outcome in found.items():
        if attempt not in knowing:
            assert outcome.startswith("refused"), f"student B could {attempt}: {outcome}"
    # With the exact names, which B cannot learn (72 random bits; a hash of a 512-bit secret), both are readable:
    # nbgrader keeps submissions 0644 in a 0777 folder, and feedback readable in a folder others may only search.
    assert all(found[attempt].startswith("allowed") for attempt in knowing), found

    # The check bites: with Debian's default home mode, B reads A's cache, which names A's submission (#1711).
    home.chmod(0o755)
    try:
        leaked = probe()
    finally:
        home.chmod(0o700)
    assert leaked["read A's submitted notebook in A's cache"].startswith("allowed"), leaked
