"""nbgrader's settings for every server the hub starts (students' servers and the graders' formgrader service).

deploy/jupyterhub_config.py puts this folder on their ``JUPYTER_CONFIG_PATH``, so nothing is copied to /etc/jupyter.
The formgrader service reads the course repository's own nbgrader_config.py (folders, gradebook) on top of it.
"""

import os

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "seqmodels"  # seqlab.tools.course.COURSE_ID, repeated (tests/test_deployment.py)
# Created once by root (docs/deployment.md): root-owned, mode 1777, so that no student can rename or remove the
# course's folders in it. The hub passes its own setting on to the servers it starts.
c.Exchange.root = os.environ.get("SEQLAB_HUB_EXCHANGE", "/srv/nbgrader/exchange")
# Feedback generated on the hub (`nbgrader generate_feedback`, the formgrader's buttons) never shows a hidden test:
# the course's own nbgrader_config.py says the same; this covers a server that reads only this file.
# seqlab must be installed where feedback is generated (it is, wherever the course's notebooks run).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "seqlab.tools.grading.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.GenerateFeedback.exporter_class = "seqlab.tools.grading.feedback.FeedbackExporter"  # the same page, faster

# Validate in students' servers: generous limits, since a shared hub under load may be several times slower than
# the grading machine (the same numbers as the course's nbgrader_config.py and `seqlab check`).
c.Execute.timeout = 180
c.Execute.startup_timeout = 300
c.Execute.interrupt_on_timeout = True
