"""One environment, pinned once: pyproject.toml, environment.yml and the constraints agree."""

from __future__ import annotations

import re
import tomllib

from tests.support import REPO

PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)$")


def _normalise(name):
    """A distribution's name as pip compares it, without extras: "psycopg[binary]" -> "psycopg"."""
    return re.sub(r"[-_.]+", "-", re.sub(r"\[.*\]$", "", name)).lower()


def _pyproject_pins():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["dev"]
    pins = {}
    for requirement in requirements:
        match = PIN.match(requirement)
        assert match, f"pyproject.toml: {requirement!r} is not an exact pin (name==version)"
        pins[_normalise(match[1])] = match[2]
    return pins


def _environment_yml_pins():
    text = (REPO / "environment.yml").read_text(encoding="utf-8")
    pins = {}
    for line in text.splitlines():
        match = re.match(r"^\s+-\s+([A-Za-z0-9_.\-\[\]]+)==(\S+)\s*$", line)
        if match:
            pins[_normalise(match[1])] = match[2]
    return pins, text


def test_environment_yml_has_the_same_pins_as_pyproject():
    pins, text = _environment_yml_pins()
    assert pins == _pyproject_pins()
    assert re.search(r"^\s+-\s+python=3\.11\s*$", text, re.MULTILINE)


def test_constraints_pin_the_same_versions():
    lines = (REPO / "requirements" / "constraints.txt").read_text(encoding="utf-8").splitlines()
    constraints = {_normalise(m[1]): m[2] for m in (PIN.match(line) for line in lines) if m}
    for name, version in _pyproject_pins().items():
        assert constraints.get(name) == version, (
            f"constraints.txt pins {name} at {constraints.get(name)}, not {version}"
        )


def test_torch_is_the_cpu_build_pin():
    assert _pyproject_pins()["torch"] == "2.13.0"


def test_quick_start_commands_and_ci():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make lab" in readme and "make test" in readme
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^test: \$\(STAMP\)", makefile, re.MULTILINE)
    assert re.search(r"^lab: \$\(STAMP\)", makefile, re.MULTILINE)
