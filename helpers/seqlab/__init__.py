"""seqlab: the small helper package behind "Sequence Models from Scratch".

Student-facing modules (imported by the notebooks):

- :mod:`seqlab.numerics` - the pinned numerical code paths (importing seqlab sets them, before torch computes).
- :mod:`seqlab.session`  - ``setup()``: seeds, determinism, threads, print options, plot style.
- :mod:`seqlab.checks`   - assertions with plain-language messages, and ``forbid`` for shortcuts.
- :mod:`seqlab.weights`  - copy weights between the course's conventions and ``torch.nn`` modules.
- :mod:`seqlab.data`     - seeded synthetic tasks.
- :mod:`seqlab.train`    - a minimal training loop with a notebook-aware progress bar; the adding-problem benchmark.
- :mod:`seqlab.models`   - small reference models (PyTorch layers) for comparisons between architectures.
- :mod:`seqlab.plots`    - plotting helpers.
- :mod:`seqlab.diagrams` - diagrams of the lessons' models (BPTT, the GRU cell, the encoder block, multi-head).
- :mod:`seqlab.validate` - ``check_int``: the one check of an int argument, with the messages students read.

Instructor tooling (release, execute, check, grade) lives in :mod:`seqlab.tools` behind the
``seqlab`` command; the modules above never import it.
"""

from seqlab.numerics import pin_numerics

pin_numerics()  # before anything computes: the same bits on every processor (see seqlab.numerics)

__all__ = ["setup", "is_grading", "progress_enabled"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """``seqlab.setup`` and friends, from :mod:`seqlab.session` when first asked for: importing seqlab imports no torch
    (the ``seqlab`` command's tools start faster; a notebook's ``seqlab.setup()`` imports it)."""
    if name in __all__:
        from seqlab import session

        return getattr(session, name)
    raise AttributeError(f"module 'seqlab' has no attribute {name!r}")
