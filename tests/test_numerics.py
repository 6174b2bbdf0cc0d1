"""The pinned numerical code paths (seqlab.numerics): the same bits whatever the processor would choose.

A processor cannot be swapped inside a test, but each library's choice can be forced through the variables a
processor's own dispatch would pick (AVX-512, AVX2, plain code).  With the pin, every forced dispatch must give
the same fingerprint of the course's operations (tests/numerics_probe.py); without it they must differ, or the
comparison would prove nothing.  The stored notebook outputs under a forced dispatch are checked by nbval in
tests/test_notebooks.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import seqlab
from seqlab import numerics
from tests.support import DISPATCHES, REPO, dispatch_environment


def _probe(dispatch: str, native: bool = False) -> dict:
    done = subprocess.run(
        [sys.executable, str(REPO / "tests" / "numerics_probe.py")],
        env=dispatch_environment(dispatch, native),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def pinned_probes() -> dict[str, dict]:
    return {name: _probe(name) for name in DISPATCHES}


def test_every_forced_dispatch_gives_the_same_bits_under_the_pin(pinned_probes):
    reference = pinned_probes["this machine"]["fingerprints"]
    for name, probe in pinned_probes.items():
        assert probe["pinned"], f"{name}: the pin did not take effect ({probe['describe']})"
        differing = [op for op, value in probe["fingerprints"].items() if value != reference[op]]
        assert not differing, f"forced {name} dispatch changed the bits of {differing} despite the pin"


def test_without_the_pin_the_forced_dispatches_differ():
    """Guards the test above: the forced settings really reach the libraries and change results."""
    plain = _probe("plain", native=True)
    avx2 = _probe("AVX2", native=True)
    assert not plain["pinned"] and not avx2["pinned"]
    differing = [op for op in plain["fingerprints"] if plain["fingerprints"][op] != avx2["fingerprints"][op]]
    assert len(differing) >= 5, f"only {differing} differ between plain and AVX2 code: the probe is too weak"
    assert avx2["fingerprints"] != _probe("this machine")["fingerprints"], "oneMKL's AVX2 branch vs COMPATIBLE"


def test_importing_seqlab_pins_and_setup_warns_when_torch_computed_first():
    late = textwrap.dedent(
        """
        import warnings
        import torch
        torch.softmax(torch.randn(4), 0)  # a computation before seqlab: ATen has chosen its kernels
        import seqlab
        from seqlab import numerics
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            seqlab.setup()
        print(numerics.pinned(), any("Restart the kernel" in str(w.message) for w in caught))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", late],
        env=dispatch_environment("this machine"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["False", "True"], done.stdout + done.stderr


def test_pin_overrides_what_the_environment_says_unless_native():
    env = {"MKL_CBWR": "AVX512", "ATEN_CPU_CAPABILITY": "avx512"}
    assert numerics.pin_numerics(env) is env and env == {**env, **numerics.PINNED_ENVIRONMENT}
    native = {"MKL_CBWR": "AVX512", numerics.NUMERICS_ENV: "native"}
    assert numerics.pin_numerics(dict(native)) == native
    assert numerics.pinned(), "the test suite itself computes pinned (conftest.py)"
    assert "pin_numerics" in numerics.__all__ and seqlab.setup


def test_every_way_of_starting_a_kernel_sets_the_pin():
    """make lab, the hub's spawner and formgrader, and the grader's sandbox (seqlab execute, seqlab check and
    nbval inherit the environment of a process that imported seqlab)."""
    dry = subprocess.run(["make", "-n", "lab"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "PINNED_ENVIRONMENT" in dry and "env " in dry
    namespace: dict = {"get_config": lambda: _Config()}
    exec(compile((REPO / "deploy" / "jupyterhub_config.py").read_text(), "jupyterhub_config.py", "exec"), namespace)
    assert namespace["PINNED_NUMERICS"] == numerics.PINNED_ENVIRONMENT
    config = namespace["c"]
    assert numerics.PINNED_ENVIRONMENT.items() <= config.Spawner.environment.items()
    assert numerics.PINNED_ENVIRONMENT.items() <= config.JupyterHub.services[0]["environment"].items()
    from seqlab.tools.grading.limits import Limits, probe
    from seqlab.tools.grading.sandbox import KernelSandbox

    sandbox = KernelSandbox(Limits(), probe(), hide=[], label="pin")
    try:
        kernel_env = sandbox.spec("connection.json")["env"]
    finally:
        sandbox.close()  # as root its work folder is a tmpfs: unmounted, then removed
    assert numerics.PINNED_ENVIRONMENT.items() <= kernel_env.items(), "the grader's kernels (clean environment)"


class _Config:
    """Enough of traitlets' config object to load a configuration file: attributes spring into being."""

    def __getattr__(self, name):
        value = _Config()
        object.__setattr__(self, name, value)
        return value
