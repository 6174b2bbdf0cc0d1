"""A Jupyter Server extension for the graders' formgrader service on the course's JupyterHub (deploy/).

nbgrader's formgrader has buttons that *autograde* a submission and *generate feedback*.  On the hub they would run a
student's code inside the service, unsandboxed, as the course account that owns the solutions and the gradebook,
and write nbgrader's own feedback, which shows the hidden tests.  This extension answers those three requests
itself, before nbgrader sees them, with a message that names the command doing the job instead (`seqlab grade`:
sandboxed, in parallel, writing feedback that includes the scores graded by hand).  Every other part of the
formgrader works as usual: releasing and collecting assignments, grading written answers, releasing feedback.

Enabled by deploy/formgrader/jupyter_server_config.py, in the service only.  tests/test_hub.py presses the buttons.
"""

from __future__ import annotations

import json
import textwrap

MESSAGE = (
    "The formgrader does not autograde or write feedback on this hub: a student's code would run unsandboxed as "
    "the course account, and nbgrader's own feedback shows the hidden tests. In a terminal, in the course folder, "
    "run `seqlab grade _grading/submitted --lesson LESSON --workspace _grading --workers 2` (sandboxed; it writes "
    "the feedback, with the scores graded by hand here), then press Release Feedback. See docs/deployment.md."
)
#: nbgrader's formgrader API routes (nbgrader.server_extensions.formgrader.apihandlers) answered here instead.
REFUSED = (
    r"/formgrader/api/submission/([^/]+)/([^/]+)/autograde",
    r"/formgrader/api/assignment/([^/]+)/generate_feedback",
    r"/formgrader/api/assignment/([^/]+)/([^/]+)/generate_feedback",
)


def _jupyter_server_extension_points():
    return [{"module": "seqlab.tools.hub"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from jupyter_server.base.handlers import JupyterHandler
    from jupyter_server.utils import url_path_join
    from tornado import web
    from tornado.routing import HostMatches, Rule

    class UseSeqlabGrade(JupyterHandler):
        """The formgrader's own reply format (``success``, ``error``, ``log``), so its page shows the message."""

        def check_xsrf_cookie(self):  # nothing is changed, so nothing to forge
            return None

        @web.authenticated
        def post(self, *args):
            # As nbgrader's handlers answer: JSON text without a JSON content type (its page parses the text).
            text = textwrap.fill(MESSAGE, 88)  # the formgrader shows it in a <pre>: lines that fit its dialog
            self.finish(json.dumps({"success": False, "error": text, "log": text}))

    web_app = serverapp.web_app
    base_url = web_app.settings["base_url"]
    handlers = [(url_path_join(base_url, route), UseSeqlabGrade) for route in REFUSED]
    # Tornado tries its host rules in order and extensions are loaded alphabetically, so nbgrader's rule comes
    # first; put this one before every other.
    web_app.add_handlers(".*$", handlers)
    rules = web_app.default_router.rules
    ours = rules.pop(len(rules) - 2)  # add_handlers inserts before the last rule
    assert isinstance(ours, Rule) and isinstance(ours.matcher, HostMatches)
    rules.insert(0, ours)
    serverapp.log.info("seqlab: the formgrader's autograde and generate-feedback requests point to `seqlab grade`")
