"""Global nbgrader configuration on the hub: copy to /etc/jupyter/nbgrader_config.py.

Students' servers read it (fetch, submit, fetch feedback) and so does the graders' shared server, whose course
settings (folders, gradebook) come from the course repository's own nbgrader_config.py on top of this.
"""

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "seqmodels"
# Created once by root: mkdir -p /srv/nbgrader/exchange && chmod ugo+rwx /srv/nbgrader/exchange
c.Exchange.root = "/srv/nbgrader/exchange"

# Validate in students' servers: generous limits, since a shared hub under load may be several times slower than
# the grading machine (the same numbers as the course's nbgrader_config.py and `seqlab check`).
c.Execute.timeout = 180
c.Execute.startup_timeout = 300
c.Execute.interrupt_on_timeout = True
