"""Global nbgrader configuration on the hub: copy to /etc/jupyter/nbgrader_config.py.

Students' servers read it (fetch, submit, fetch feedback) and so does the graders' shared server, whose course
settings (folders, gradebook) come from the course repository's own nbgrader_config.py on top of this.
"""

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "seqmodels"
# Created once by root: mkdir -p /srv/nbgrader/exchange && chmod ugo+rwx /srv/nbgrader/exchange
c.Exchange.root = "/srv/nbgrader/exchange"
# Feedback generated on the hub (the formgrader's buttons, `nbgrader generate_feedback`) never shows a hidden test:
# the course's own nbgrader_config.py says the same; this covers a grader's server that reads only this file.
# seqlab must be installed where feedback is generated (it is, wherever the course's notebooks run).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "seqlab.tools.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# Validate in students' servers: generous limits, since a shared hub under load may be several times slower than
# the grading machine (the same numbers as the course's nbgrader_config.py and `seqlab check`).
c.Execute.timeout = 180
c.Execute.startup_timeout = 300
c.Execute.interrupt_on_timeout = True
