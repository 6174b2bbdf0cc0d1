"""nbgrader configuration for the course (instructor side).

`solutions/` is the nbgrader source, `notebooks/` the release that students open.  Everything
grading produces (submissions copied in, autograded copies, feedback, the gradebook) lives under
`_grading/`, which git ignores.  `seqlab grade` uses this layout by default; `--workspace DIR`
moves the grading folders elsewhere.
"""

import os

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = HERE
c.CourseDirectory.course_id = "seqmodels"  # seqlab.tools.course.COURSE_ID, repeated (tests/test_deployment.py)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = os.path.join("_grading", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("_grading", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("_grading", "feedback")
# The class gradebook: SQLite under _grading/ for one instructor, or a shared database (PostgreSQL) named by
# SEQLAB_GRADEBOOK_URL, which `seqlab grade` and the formgrader then both use (docs/deployment.md).
c.CourseDirectory.db_url = os.environ.get("SEQLAB_GRADEBOOK_URL") or "sqlite:///" + os.path.join(
    HERE, "_grading", "gradebook.db"
)

# What students receive hides the hidden tests: `nbgrader generate_feedback` and the formgrader's feedback buttons
# (whose files `nbgrader release_feedback` hands out) show each test cell's result and message, never a hidden
# test's code, output or traceback (seqlab.tools.grading.feedback; `seqlab grade` sets the same).  Named as strings so
# that loading this file imports nothing.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "seqlab.tools.grading.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.GenerateFeedback.exporter_class = "seqlab.tools.grading.feedback.FeedbackExporter"  # the same page, faster

# Validate (the students' button) runs each cell with these limits: generous, since a shared hub or a busy
# laptop may be several times slower than the grading machine (seqlab.tools.grading.check has the same numbers;
# `seqlab grade` sets its own limits, 60 s per cell by default).
c.Execute.timeout = 180
c.Execute.startup_timeout = 300
c.Execute.interrupt_on_timeout = True
