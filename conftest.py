"""Pytest set-up for every run from the repository (the test suite, and `pytest --nbval solutions`):
progress bars off, since stored outputs never contain them; headless matplotlib; the numerical code paths
pinned (seqlab.numerics) for this process and every kernel the tests start.

Matplotlib's backend is chosen in this process only (not through MPLBACKEND), because notebook
kernels started by the tests inherit the environment and must keep their inline backend.
"""

import os

import matplotlib
import pytest

from seqlab.numerics import pin_numerics

pin_numerics()
os.environ.setdefault("SEQLAB_PROGRESS", "0")
matplotlib.use("Agg")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """``--dist loadgroup``: keep the tests of one ``xdist_group`` on one worker (their module or session fixtures,
    such as the graded hostile catalogue or the JupyterLab server, are then made once).

    pytest-xdist 3.8 names an item's group by appending it to ``item._nodeid``, which pytest 9 no longer reads (an
    item's id is ``item._id``): without this its scheduler sees no groups and spreads them over the workers.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        marks = item.iter_markers("xdist_group")
        groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in marks})
        if groups and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")
