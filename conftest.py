"""Pytest set-up for every run from the repository (the test suite, and `pytest --nbval solutions`):
progress bars off, since stored outputs never contain them; headless matplotlib.

Matplotlib's backend is chosen in this process only (not through MPLBACKEND), because notebook
kernels started by the tests inherit the environment and must keep their inline backend.
"""

import os

import matplotlib

os.environ.setdefault("SEQLAB_PROGRESS", "0")
matplotlib.use("Agg")
