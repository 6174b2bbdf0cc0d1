"""The JupyterHub deployment files in deploy/ are valid for the JupyterHub, Jupyter Server and nbgrader installed.

Each file is loaded as its program loads it (traitlets' config loader, ``get_config()`` provided), and every
setting must name a real configurable class and trait: a misspelt option, which JupyterHub would only warn about
and ignore, fails here.  Roles must use scopes JupyterHub knows, and name the service and group the way nbgrader's
course list expects.  (Starting a hub needs its proxy, configurable-http-proxy from npm; that is not done here.)
"""

from __future__ import annotations

import re

import pytest
from traitlets.config import Config, PyFileConfigLoader

from tests.support import REPO

DEPLOY = REPO / "deploy"


def _load(name: str) -> Config:
    return PyFileConfigLoader(name, path=str(DEPLOY)).load_config()


def _configurables(*roots):
    """Name -> class for the roots and every configurable they list or subclass from."""
    found = {}
    for root in roots:
        for cls in root.mro():
            if hasattr(cls, "class_traits") and cls.__name__ not in ("Configurable", "LoggingConfigurable"):
                found.setdefault(cls.__name__, cls)
    return found


def _assert_known(config: Config, classes: dict) -> None:
    for section, values in config.items():
        assert section in classes, f"{section} is not a class this program configures (known: {sorted(classes)})"
        traits = classes[section].class_traits(config=True)
        for name in values:
            assert name in traits, f"{section}.{name} is not an option of {section}"


def test_jupyterhub_config_names_only_real_options_roles_and_scopes():
    from jupyterhub.app import JupyterHub
    from jupyterhub.scopes import _check_scopes_exist

    config = _load("jupyterhub_config.py")
    hub = JupyterHub()
    _assert_known(config, _configurables(*hub.classes))

    course = "seqmodels"
    group = f"formgrade-{course}"
    assert config.JupyterHub.load_groups[group]["users"], "graders belong to the formgrade- group"
    (service,) = config.JupyterHub.services
    assert service["name"] == course, "nbgrader's course list needs the service named after the course id"
    assert service["command"][0].endswith("/.venv/bin/jupyterhub-singleuser")
    assert config.Spawner.cmd[0].endswith("/.venv/bin/jupyterhub-singleuser"), "users run the course's environment"
    roles = {role["name"]: role for role in config.JupyterHub.load_roles}
    assert roles[group]["groups"] == [group]
    assert f"access:services!service={course}" in roles[group]["scopes"]
    for role in roles.values():
        _check_scopes_exist(role["scopes"])  # raises KeyError on a scope JupyterHub does not know
    # The checks bite: a misspelt option is caught.
    config.Spawner.defualt_url = "/lab"
    with pytest.raises(AssertionError, match="defualt_url"):
        _assert_known(config, _configurables(*hub.classes))


def test_global_nbgrader_config_sets_the_course_and_the_exchange():
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import Exchange

    config = _load("nbgrader_config.py")
    _assert_known(
        config, _configurables(CourseDirectory, Exchange, GenerateFeedback)
    )  # feedback: tests/test_feedback.py
    course = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    assert config.CourseDirectory.course_id == course.CourseDirectory.course_id, "the same course id everywhere"
    assert config.Exchange.root.startswith("/")


def test_formgrader_server_config_allows_same_origin_frames_only():
    from jupyter_server.serverapp import ServerApp

    config = _load("formgrader_server_config.py")
    _assert_known(config, _configurables(ServerApp))
    policy = config.ServerApp.tornado_settings["headers"]["Content-Security-Policy"]
    assert re.fullmatch(r"frame-ancestors 'self'", policy), policy


def test_deployment_guide_quotes_the_files_it_describes():
    guide = (REPO / "docs" / "deployment.md").read_text(encoding="utf-8")
    for name in ("jupyterhub_config.py", "nbgrader_config.py", "formgrader_server_config.py"):
        assert f"deploy/{name}" in guide
    assert "frame-ancestors" in guide and "SEQLAB_GRADEBOOK_URL" in guide
