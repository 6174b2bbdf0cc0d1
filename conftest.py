"""Pytest set-up for every run from the repository (the test suite, and `pytest --nbval solutions`):
progress bars off, since stored outputs never contain them; headless matplotlib; the numerical code paths
pinned (seqlab.numerics) for this process and every kernel the tests start.

Matplotlib's backend is chosen in this process only (not through MPLBACKEND), because notebook
kernels started by the tests inherit the environment and must keep their inline backend.
"""

import os

import matplotlib

from seqlab.numerics import pin_numerics

pin_numerics()
os.environ.setdefault("SEQLAB_PROGRESS", "0")
matplotlib.use("Agg")
