"""The JupyterHub deployment files in deploy/ are valid for the JupyterHub, Jupyter Server and nbgrader installed.

Each file is loaded as its program loads it (traitlets' config loader, ``get_config()`` provided), and every
setting must name a real configurable class and trait: a misspelt option, which JupyterHub would only warn about
and ignore, fails here.  Roles must use scopes JupyterHub knows, and name the service and group the way nbgrader's
course list expects.  These checks are quick and need nothing but the Python environment; tests/test_hub.py starts
the hub from the same files, with real accounts and a browser.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from traitlets.config import Config, PyFileConfigLoader

from seqlab.tools.course import COURSE_ID
from tests.support import REPO

DEPLOY = REPO / "deploy"


def _load(name: str) -> Config:
    folder, _, file = name.rpartition("/")
    return PyFileConfigLoader(file, path=str(DEPLOY / folder)).load_config()


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

    course = COURSE_ID  # the file repeats it as a literal: loading it must not import seqlab (and torch)
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
    # Students' servers read deploy/student and deploy/jupyter (never deploy/formgrader), and not the users' own
    # ~/.jupyter; the service reads deploy/formgrader and deploy/jupyter.  Every folder named is in deploy/.
    root = "/srv/seqmodels"
    student_path = config.Spawner.environment["JUPYTER_CONFIG_PATH"].split(":")
    service_path = service["environment"]["JUPYTER_CONFIG_PATH"].split(":")
    assert student_path == [f"{root}/deploy/student", f"{root}/deploy/jupyter"], student_path
    assert service_path == [f"{root}/deploy/formgrader", f"{root}/deploy/jupyter"], service_path
    for folder in student_path + service_path:
        assert (REPO / folder.removeprefix(f"{root}/")).is_dir(), folder
    assert config.Spawner.disable_user_config is True
    assert config.ConfigurableHTTPProxy.command == [f"{root}/.venv/bin/configurable-http-proxy"]
    assert config.JupyterHub.authenticator_class == "pam" and config.JupyterHub.spawner_class == "localprocess"
    assert callable(config.Spawner.pre_spawn_hook)
    # The checks bite: a misspelt option is caught.
    config.Spawner.defualt_url = "/lab"
    with pytest.raises(AssertionError, match="defualt_url"):
        _assert_known(config, _configurables(*hub.classes))


def test_global_nbgrader_config_sets_the_course_and_the_exchange():
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import Exchange
    from nbgrader.preprocessors import Execute

    config = _load("jupyter/nbgrader_config.py")
    _assert_known(config, _configurables(CourseDirectory, Exchange, Execute, GenerateFeedback))  # test_feedback.py
    course = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    assert config.CourseDirectory.course_id == course.CourseDirectory.course_id, "the same course id everywhere"
    assert course.CourseDirectory.course_id == COURSE_ID, "nbgrader_config.py names seqlab.tools.course.COURSE_ID"
    assert config.Exchange.root.startswith("/")


def test_formgrader_server_config_allows_same_origin_frames_only():
    from jupyter_server.serverapp import ServerApp

    config = _load("formgrader/jupyter_server_config.py")
    _assert_known(config, _configurables(ServerApp))
    policy = config.ServerApp.tornado_settings["headers"]["Content-Security-Policy"]
    assert re.fullmatch(r"frame-ancestors 'self'", policy), policy
    assert config.ServerApp.jpserver_extensions == {"seqlab.tools.hub": True}


def test_every_servers_config_names_real_options():
    from jupyter_server.serverapp import ServerApp
    from jupyterlab.labapp import LabApp

    config = _load("jupyter/jupyter_server_config.py")
    _assert_known(config, _configurables(ServerApp, LabApp))


def _lab_plugins(package: str) -> set[str]:
    """Plugin ids a prebuilt JupyterLab extension defines (read from its bundle)."""
    from jupyter_core.paths import jupyter_path

    for folder in jupyter_path("labextensions"):
        static = Path(folder) / package / "static"
        if static.is_dir():
            text = "".join(p.read_text(encoding="utf-8", errors="replace") for p in static.glob("*.js"))
            return set(re.findall(r'"(' + re.escape(package) + r':[a-z-]+)"', text))
    raise AssertionError(f"{package} is not installed")


def test_student_servers_have_only_the_student_side_of_nbgrader():
    server = json.loads((DEPLOY / "student" / "jupyter_server_config.json").read_text())
    extensions = server["ServerApp"]["jpserver_extensions"]
    assert extensions == {
        "nbgrader.server_extensions.formgrader": False,
        "nbgrader.server_extensions.course_list": False,
    }
    lab = json.loads((DEPLOY / "student" / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
    off = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:course-list"}
    assert set(lab) == off and all(lab.values()), lab
    plugins = _lab_plugins("@jupyter/nbgrader")
    assert off <= plugins, f"nbgrader's plugins are now {sorted(plugins)}: update deploy/student"
    assert {"@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:validate-assignment"} <= plugins - off


def test_the_formgrader_refuses_exactly_nbgraders_autograde_route():
    from nbgrader.server_extensions.formgrader.apihandlers import default_handlers

    from seqlab.tools.hub import REFUSED

    routes = {route: handler.__name__ for route, handler in default_handlers}
    assert [routes[route] for route in REFUSED] == ["AutogradeHandler"]


def test_the_proxy_is_pinned_exactly():
    package = json.loads((DEPLOY / "proxy" / "package.json").read_text())
    lock = json.loads((DEPLOY / "proxy" / "package-lock.json").read_text())
    version = package["dependencies"]["configurable-http-proxy"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"pin configurable-http-proxy exactly, not {version!r}"
    assert lock["packages"]["node_modules/configurable-http-proxy"]["version"] == version


def test_deployment_guide_quotes_the_files_it_describes():
    guide = (REPO / "docs" / "deployment.md").read_text(encoding="utf-8")
    for name in (
        "jupyterhub_config.py",
        "jupyter/nbgrader_config.py",
        "student/",
        "formgrader/jupyter_server_config.py",
        "proxy/package.json",
    ):
        assert f"deploy/{name}" in guide, name
    for words in ("frame-ancestors", "SEQLAB_GRADEBOOK_URL", "tests/test_hub.py", "#1711", "seqlab grade"):
        assert words in guide, words
