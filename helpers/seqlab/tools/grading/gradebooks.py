"""The lesson in nbgrader's gradebooks: preparing it, its graded cells, and the scores graders give by hand."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from seqlab.tools.course import COURSE_ID, Course, ToolError, ensure_scripts_on_path
from seqlab.tools.grading.records import StudentResult, publish, save
from seqlab.tools.grading.workspace import Workspace, nbgrader_config

__all__ = [
    "Column",
    "alembic_head",
    "apply_manual_grades",
    "create_gradebook",
    "lesson_columns",
    "manual_grades",
    "prepare_gradebook",
]


@dataclass(frozen=True)
class Column:
    """A graded cell of the lesson: its grade id, points, and whether it is answered in words."""

    name: str
    points: float
    written: bool = False


def prepare_gradebook(course: Course, lesson: str, workspace: Workspace, cell_timeout: int) -> None:
    """Register the lesson (cells, points, hidden tests) in the workspace's gradebook.

    nbgrader needs the *source* of every test cell in its gradebook: at grading time it restores
    test cells (with their hidden tests) from there, whatever the student did to them.
    """
    from nbgrader.apps import NbGraderAPI

    ensure_scripts_on_path()
    workspace.root.mkdir(parents=True, exist_ok=True)
    if workspace.db_is_local and not (workspace.root / "gradebook.db").exists():
        create_gradebook(workspace.db_url)
    api = NbGraderAPI(config=nbgrader_config(course.root, workspace, cell_timeout))
    prepared = api.generate_assignment(lesson, force=True, create=True)
    if not prepared["success"]:
        raise ToolError(f"nbgrader could not prepare {lesson} for grading:\n{prepared.get('log', '')}")


def alembic_head() -> str:
    """The version of nbgrader's gradebook schema (the head of its alembic migrations), read in this process."""
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    return ScriptDirectory(ALEMBIC_DIR).get_current_head()


def create_gradebook(db_url: str) -> None:
    """An empty gradebook at ``db_url``, as nbgrader's ``Gradebook`` creates one: its tables and the schema's version.

    nbgrader asks a new ``alembic`` process for the version (``nbgrader.api.get_alembic_version``): a second Python
    started for every new gradebook (a second or more); this reads the same migrations here.
    """
    from nbgrader.api import Base
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url, future=True)
    try:
        Base.metadata.create_all(bind=engine)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            version = text("INSERT INTO alembic_version (version_num) VALUES (:head)")
            connection.execute(version, {"head": alembic_head()})
    finally:
        engine.dispose()


def lesson_columns(workspace: Workspace, lesson: str) -> list[Column]:
    """The lesson's graded cells in notebook order, from a prepared gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(workspace.db_url, course_id=COURSE_ID) as gradebook:
        notebook = gradebook.find_assignment(lesson).notebooks[0]
        written = {cell.name for cell in notebook.solution_cells}
        return [Column(cell.name, float(cell.max_score), cell.name in written) for cell in notebook.grade_cells]


def manual_grades(workspace: Workspace, lesson: str) -> dict[str, dict]:
    """What graders gave by hand in the class gradebook, per student with any (one read of the gradebook):
    ``{student: {"scores": {grade id: points}, "comments": {comment name: text}}}``."""
    from nbgrader.api import Gradebook, MissingEntry

    found = {}
    with Gradebook(workspace.db_url, course_id=COURSE_ID) as gradebook:
        try:
            submissions = gradebook.find_assignment(lesson).submissions
        except MissingEntry:
            return {}
        for submission in submissions:
            scores, comments = {}, {}
            for notebook in submission.notebooks:
                scores.update({g.name: float(g.manual_score) for g in notebook.grades if g.manual_score is not None})
                comments.update({c.name: c.manual_comment for c in notebook.comments if c.manual_comment})
            if scores or comments:
                found[submission.student.id] = {"scores": scores, "comments": comments}
    return found


def apply_manual_grades(
    course: Course, workspace: Workspace, lesson: str, result: StudentResult, manual: dict, timeout: int
) -> None:
    """Bring what graders gave by hand in the formgrader into the student's row and feedback.

    Written answers are graded in the formgrader, which writes into the class gradebook.  The next `seqlab grade`
    run (the same command; nobody is graded again) copies those scores and comments into the student's own
    gradebook, writes their feedback again (with the scores by hand, through the same step as after autograding)
    and publishes it, and its grades.csv shows the scores.  Only students whose scores by hand changed since their
    feedback was written are touched.
    """
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI

    from seqlab.tools.grading.feedback import configure_feedback
    from seqlab.tools.grading.records import last_line
    from seqlab.tools.grading.worker import generate_feedback

    if not manual or manual == result.manual:
        result.scores.update(manual.get("scores", {}))
        return
    own = workspace.own(result.student, lesson)
    with Gradebook(own.db_url, course_id=COURSE_ID) as gradebook:
        notebook = gradebook.find_submission(lesson, result.student).notebooks[0]
        for grade in notebook.grades:
            if grade.name in manual["scores"]:
                grade.manual_score = manual["scores"][grade.name]
                grade.needs_manual_grade = False
        for comment in notebook.comments:
            if comment.name in manual["comments"]:
                comment.manual_comment = manual["comments"][comment.name]
        gradebook.db.commit()
    config = nbgrader_config(course.root, own, timeout)
    configure_feedback(config)  # as after autograding: nothing hidden
    api = NbGraderAPI(config=config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feedback = generate_feedback(api, lesson, result.student)
    if not feedback["success"]:
        result.flag(f"feedback with the scores graded by hand could not be written: {last_line(feedback.get('error'))}")
        return
    publish(own, workspace, result.student, lesson)
    result.scores.update(manual["scores"])
    graded = set(manual["scores"])
    result.notes = [
        f"{n.split(' ')[0]} graded by hand"
        if n.endswith("needs manual grading (written answer)") and n.split(" ")[0] in graded
        else n
        for n in result.notes
    ]
    result.manual = manual
    save(result, own.root)
