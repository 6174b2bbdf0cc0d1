"""The same bits on every x86-64 processor with AVX2: pin the numerical code paths before torch computes.

PyTorch's CPU build picks its code per processor in three libraries, and each choice changes the last bits of
results (a sum added in another order), which training runs then amplify into other step counts and losses:

- **oneMKL** (matrix products, ``tanh``/``exp``, the GRU and RNN layers) chooses an instruction-set branch at its
  first call.  ``MKL_CBWR`` fixes it ("conditional numerical reproducibility").  oneMKL's guide: the ``AVX2``
  branch is reproducible on Intel processors only (elsewhere MKL silently uses its automatic branch), while
  ``COMPATIBLE`` gives the same results on Intel and compatible (AMD) processors; ``STRICT`` removes the
  remaining dependence on how arrays happen to be aligned in memory.
- **ATen**, PyTorch's own kernels (softmax, ``sigmoid``, reductions), dispatches to AVX-512, AVX2 or plain code;
  ``ATEN_CPU_CAPABILITY`` caps it.  ``avx2`` is the highest level every supported processor has.
- **oneDNN** (the float32 LSTM layer, GELU) compiles its kernels just in time for the processor;
  ``ONEDNN_MAX_CPU_ISA`` caps the instruction set.

Each library reads its variable once, at its first computation, so the variables must be set before the
first tensor operation: importing :mod:`seqlab` sets them (the setup cell imports it before computing
anything); ``make lab``, the hub's configuration, the test suite and the grader's sandbox also set them for
every kernel they start; :func:`pinned` tells whether they took effect.  Threads are fixed separately by
:func:`seqlab.setup` (one by default).

Set ``SEQLAB_NUMERICS=native`` to leave the libraries' own choices (faster on some processors; the stored
outputs of the notebooks may then differ in their last digits, while every assertion still holds).
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

__all__ = ["PINNED_ENVIRONMENT", "NUMERICS_ENV", "pin_numerics", "numerics_pinned", "pinned", "describe"]

#: The environment variables that fix the code paths, and their values.
PINNED_ENVIRONMENT: dict[str, str] = {
    "MKL_CBWR": "COMPATIBLE,STRICT",
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
}
#: ``native`` here turns the pin off.
NUMERICS_ENV = "SEQLAB_NUMERICS"

# oneMKL's codes (mkl_cbwr.h): the branch is the low 16 bits, STRICT a flag above them.
_MKL_CBWR_BRANCH = 1
_MKL_CBWR_ALL = -1
_MKL_CBWR_COMPATIBLE = 3
_MKL_CBWR_STRICT = 0x10000


def numerics_pinned() -> bool:
    """True unless ``SEQLAB_NUMERICS=native`` asks for the libraries' own per-processor choices."""
    return os.environ.get(NUMERICS_ENV, "").strip().lower() != "native"


def pin_numerics(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Set :data:`PINNED_ENVIRONMENT` in ``environ`` (default ``os.environ``), overriding what was there.

    Does nothing when ``SEQLAB_NUMERICS=native``.  Returns ``environ``, so it also builds a kernel's
    environment: ``pin_numerics(dict(os.environ))``.
    """
    environ = os.environ if environ is None else environ
    if environ.get(NUMERICS_ENV, "").strip().lower() != "native":
        environ.update(PINNED_ENVIRONMENT)
    return environ


def _mkl_branch() -> int | None:
    """oneMKL's active reproducibility mode (branch | STRICT), or None where it cannot be read."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    library = Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"
    try:
        get = ctypes.CDLL(str(library)).mkl_serv_cbwr_get
    except (OSError, AttributeError):  # not Linux, or a build without oneMKL
        return None
    get.restype, get.argtypes = ctypes.c_int, [ctypes.c_int]
    return int(get(_MKL_CBWR_ALL))


def describe() -> dict[str, str]:
    """What torch computes with now: ATen's capability, oneMKL's branch, and the variables set."""
    import torch

    mode = _mkl_branch()
    return {
        "aten": torch.backends.cpu.get_cpu_capability(),
        "mkl": "unknown" if mode is None else f"{mode & 0xFFFF}{' strict' if mode & _MKL_CBWR_STRICT else ''}",
        **{name: os.environ.get(name, "") for name in PINNED_ENVIRONMENT},
    }


def pinned() -> bool:
    """True if torch is computing on the pinned code paths (checked where they can be read).

    False when torch computed before the variables were set (e.g. a cell ran before the setup cell in a
    kernel that was not restarted), or when ``SEQLAB_NUMERICS=native``.
    """
    import torch

    if not numerics_pinned():
        return False
    if torch.backends.cpu.get_cpu_capability() != "AVX2":  # also False on a processor without AVX2
        return False
    mode = _mkl_branch()
    return mode is None or mode == _MKL_CBWR_COMPATIBLE | _MKL_CBWR_STRICT
