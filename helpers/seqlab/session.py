"""One call at the top of every notebook: ``seqlab.setup()``.

It makes a notebook reproducible (seeds, deterministic algorithms, a fixed thread count) and
readable (print options, a plot style).  Calling it twice leaves the same state as calling it once.
"""

from __future__ import annotations

import linecache
import os
import random
import warnings

import numpy as np
import torch

from seqlab import numerics

__all__ = [
    "GRADING_ENV",
    "PROGRESS_ENV",
    "THREADS_ENV",
    "STUB",
    "is_grading",
    "progress_enabled",
    "setup",
    "unwritten_exercise_message",
    "explain_unwritten_exercises",
]

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


#: The body nbgrader leaves in every exercise of a student notebook.
STUB = "raise NotImplementedError()"


def is_grading() -> bool:
    """True while nbgrader validates or autogrades the notebook (demos then shrink)."""
    return bool(os.environ.get(GRADING_ENV))


def progress_enabled() -> bool:
    """True when long loops should show a progress bar (interactive use only)."""
    return not is_grading() and os.environ.get(PROGRESS_ENV, "1") != "0"


def setup(seed: int = 0) -> None:
    """Seed every generator, make torch deterministic, and set print and plot styles.

    In a notebook it also makes a test cell that calls an exercise still holding nbgrader's stub
    (``raise NotImplementedError()``) end with a sentence saying which function to write.

    Args:
        seed: seed for Python's ``random``, NumPy's global generator and torch.

    Raises:
        TypeError: if ``seed`` is not an ``int``.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"setup(seed=...) expects an int, got {type(seed).__name__}")
    if numerics.numerics_pinned() and not numerics.pinned():
        warnings.warn(
            "torch computed before seqlab was imported, so its numerical code paths are not pinned and your numbers "
            "may differ from the stored ones in their last digits. Restart the kernel and run this cell first. "
            f"(now: {numerics.describe()})",
            stacklevel=2,
        )
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
    explain_unwritten_exercises()


def unwritten_exercise_message(name: str) -> str:
    """What a student reads under the traceback when a cell calls an exercise that still holds the stub."""
    if name == "<module>":
        return f"This cell is not written yet: replace `{STUB}` with your code, then run it again."
    return (  # two lines: nbgrader's Validate dialog does not wrap them
        f"{name} is not implemented yet: replace `{STUB}` in its cell with your code,\n"
        "run that cell, then run this one again."
    )


def _unwritten_exercise(tb) -> str | None:
    """The (qualified) name of the function whose stub raised, or None if the error came from elsewhere."""
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    line = linecache.getline(code.co_filename, tb.tb_lineno, tb.tb_frame.f_globals).strip()
    return code.co_qualname if line == STUB else None


def _explain_stub(shell, etype, value, tb, tb_offset=None):
    """IPython handler for NotImplementedError: the usual traceback, plus a sentence when it is nbgrader's stub."""
    name = _unwritten_exercise(tb)
    if name is not None and not hasattr(value, "_render_traceback_"):
        traceback = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
        value._render_traceback_ = lambda: [*traceback, "\n" + unwritten_exercise_message(name)]
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def explain_unwritten_exercises() -> None:
    """In a notebook, make a test that calls an unwritten exercise say so in words (not a bare traceback)."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing to do
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((NotImplementedError,), _explain_stub)
