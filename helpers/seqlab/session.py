"""One call at the top of every notebook: ``seqlab.setup()``.

It makes a notebook reproducible (seeds, deterministic algorithms, a fixed thread count) and
readable (print options, a plot style).  Calling it twice leaves the same state as calling it once.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

#: Environment variable nbgrader sets inside the kernel while it validates or autogrades.
GRADING_ENV = "NBGRADER_EXECUTION"
#: Set to "0" to hide progress bars (``seqlab execute`` and the test suite do, so that
#: stored notebook outputs never contain them).
PROGRESS_ENV = "SEQLAB_PROGRESS"
#: Number of CPU threads torch may use.  Default 1: the course's models are small, and with more
#: threads than free cores (parallel grading, a busy laptop) OpenMP's spinning threads make every
#: step up to a hundred times slower.
THREADS_ENV = "SEQLAB_THREADS"

_PLOT_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 80,
    "savefig.dpi": 80,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "font.size": 10,
    "image.cmap": "viridis",
}


def is_grading() -> bool:
    """True while nbgrader validates or autogrades the notebook (demos then shrink)."""
    return bool(os.environ.get(GRADING_ENV))


def progress_enabled() -> bool:
    """True when long loops should show a progress bar (interactive use only)."""
    return not is_grading() and os.environ.get(PROGRESS_ENV, "1") != "0"


def setup(seed: int = 0) -> None:
    """Seed every generator, make torch deterministic, and set print and plot styles.

    Args:
        seed: seed for Python's ``random``, NumPy's global generator and torch.

    Raises:
        TypeError: if ``seed`` is not an ``int``.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"setup(seed=...) expects an int, got {type(seed).__name__}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    threads = int(os.environ.get(THREADS_ENV, "1"))
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    torch.set_default_dtype(torch.float32)
    torch.set_printoptions(precision=4, sci_mode=False, linewidth=110)
    np.set_printoptions(precision=4, suppress=True, linewidth=110)

    import matplotlib

    matplotlib.rcParams.update(_PLOT_STYLE)
