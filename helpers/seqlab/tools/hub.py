"""A Jupyter Server extension for the graders' formgrader service on the course's JupyterHub (deploy/).

nbgrader's formgrader has a button that *autogrades* a submission.  On the hub it would run a student's code inside
the service, unsandboxed, as the course account that owns the solutions and the gradebook.  This extension answers
that request itself, before nbgrader sees it, with a message that names the command doing the job instead
(`seqlab grade`: sandboxed, in parallel, and its next run brings the scores graded by hand into grades.csv and the
feedback).  Every other part of the formgrader works as usual: releasing and collecting assignments, grading
written answers, generating feedback (hidden tests stripped, :mod:`seqlab.tools.grading.feedback`) and releasing it.

Enabled by deploy/formgrader/jupyter_server_config.py, in the service only.  tests/test_hub.py presses the button.
"""

from __future__ import annotations

import json
import textwrap

__all__ = ["MESSAGE", "REFUSED"]

MESSAGE = (
    "The formgrader does not autograde on this hub: a student's code would run unsandboxed as the course account, "
    "beside the solutions and the gradebook. In a terminal, in the course folder, run `seqlab grade "
    "_grading/submitted --lesson LESSON --workspace _grading --workers 2` (sandboxed; run it again after grading "
    "written answers here, and grades.csv and the feedback show those scores too). See docs/deployment.md."
)
#: nbgrader's formgrader API route (nbgrader.server_extensions.formgrader.apihandlers) answered here instead.
REFUSED = (r"/formgrader/api/submission/([^/]+)/([^/]+)/autograde",)


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
    serverapp.log.info("seqlab: the formgrader's autograde button points to `seqlab grade`")
