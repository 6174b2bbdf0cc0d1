"""Mutants for lesson 10_showdown.

Each entry replaces one solution cell (by grade id) of an otherwise correct submission with the reference answer
changed in one place (``Edits``: old text -> new text, each found exactly once), or with a whole alternative.
``kind="bug"``: the exercise loses points (its two test cells, layout and randomness, together score less
than 4).  ``kind="correct"``: the whole submission must keep full marks.
"""

from tests.mutants.mutant import Edits, Mutant

LESSON = "10_showdown"

COPY = "10-copy-memory-batch"

# The argument checks of the reference.
CHECKS = """
    for name, value, smallest in (("batch_size", batch_size, 1), ("n_symbols", n_symbols, 1), ("delay", delay, 0)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} should be an int, got {type(value).__name__}")
        if value < smallest:
            raise ValueError(f"{name} should be at least {smallest}, got {value}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator should be a torch.Generator, got {type(generator).__name__}")
"""

REFERENCE = {
    COPY: "def copy_memory_batch(batch_size, n_symbols, delay, generator):"
    + CHECKS
    + """
    T = 2 * n_symbols + delay + 1
    symbols = torch.randint(1, MEMORY_ALPHABET + 1, (batch_size, n_symbols), generator=generator)
    X = torch.full((batch_size, T), MEMORY_BLANK, dtype=torch.long)
    X[:, :n_symbols] = symbols
    X[:, n_symbols + delay] = MEMORY_CUE
    Y = torch.full((batch_size, T), MEMORY_BLANK, dtype=torch.long)
    Y[:, n_symbols + delay + 1 :] = symbols
    return X, Y
""",
}

EDITS = Edits(REFERENCE)
bug, correct = EDITS.bug, EDITS.correct

DRAW = "torch.randint(1, MEMORY_ALPHABET + 1, (batch_size, n_symbols), generator=generator)"
ANSWER = "Y[:, n_symbols + delay + 1 :] = symbols"

MUTANTS = [
    bug(
        COPY,
        "symbols drawn from 0 ... 7 (the blank included, 8 never)",
        ("torch.randint(1, MEMORY_ALPHABET + 1,", "torch.randint(0, MEMORY_ALPHABET,"),
    ),
    bug(
        COPY,
        "answer not shifted: Y's symbols start at the cue",
        ("Y[:, n_symbols + delay + 1 :]", "Y[:, n_symbols + delay : 2 * n_symbols + delay]"),
    ),
    bug(COPY, "cue one step early", ("X[:, n_symbols + delay]", "X[:, n_symbols + delay - 1]")),
    bug(
        COPY,
        "T off by one: no step for the cue (T = 2K + delay)",
        ("T = 2 * n_symbols + delay + 1", "T = 2 * n_symbols + delay"),
        ("Y[:, n_symbols + delay + 1 :]", "Y[:, n_symbols + delay :]"),
    ),
    bug(
        COPY,
        "global random state used (torch.randint without generator=)",
        (DRAW, DRAW.replace(", generator=generator", "")),
    ),
    bug(COPY, "answer written in reverse order", (ANSWER, ANSWER + ".flip(1)")),
    bug(
        COPY,
        "float tensors (torch.full's default dtype)",
        (
            "X = torch.full((batch_size, T), MEMORY_BLANK, dtype=torch.long)",
            "X = torch.full((batch_size, T), MEMORY_BLANK, dtype=torch.float32)",
        ),
        (
            "Y = torch.full((batch_size, T), MEMORY_BLANK, dtype=torch.long)",
            "Y = torch.full((batch_size, T), MEMORY_BLANK, dtype=torch.float32)",
        ),
    ),
    bug(
        COPY,
        "a fresh generator made inside: every call gives the same batch",
        (DRAW, DRAW.replace("generator=generator", "generator=torch.Generator().manual_seed(0)")),
    ),
    bug(
        COPY,
        "one row of symbols repeated for the whole batch",
        (
            DRAW,
            "torch.randint(1, MEMORY_ALPHABET + 1, (1, n_symbols), generator=generator).expand(batch_size, n_symbols)",
        ),
    ),
    bug(
        COPY,
        "negative delay accepted (only the types are checked)",
        (
            CHECKS,
            """
    for value in (batch_size, n_symbols, delay):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError("batch_size, n_symbols and delay should be ints")
    if batch_size < 1 or n_symbols < 1:
        raise ValueError("batch_size and n_symbols should be positive")
    if not isinstance(generator, torch.Generator):
        raise TypeError("generator should be a torch.Generator")
""",
        ),
    ),
    bug(COPY, "a bool accepted as an int (isinstance(True, int) is True)", (" or isinstance(value, bool)", "")),
    # ---- correct alternatives ---------------------------------------------------------------------
    Mutant(
        COPY,
        "one row at a time, torch.randint per row, built with torch.cat",
        "correct",
        """
def copy_memory_batch(batch_size, n_symbols, delay, generator):
    for name, value, low in (("batch_size", batch_size, 1), ("n_symbols", n_symbols, 1), ("delay", delay, 0)):
        if type(value) is not int:
            raise TypeError(f"{name} must be an int")
        if value < low:
            raise ValueError(f"{name} must be >= {low}")
    if not isinstance(generator, torch.Generator):
        raise TypeError("generator must be a torch.Generator")
    xs, ys = [], []
    for _ in range(batch_size):
        s = torch.randint(1, 9, (n_symbols,), generator=generator)
        blank = lambda n: torch.zeros(n, dtype=torch.int64)  # noqa: E731
        xs.append(torch.cat([s, blank(delay), torch.tensor([9]), blank(n_symbols)]))
        ys.append(torch.cat([blank(n_symbols + delay + 1), s]))
    return torch.stack(xs), torch.stack(ys)
""",
    ),
    Mutant(
        COPY,
        "torch.multinomial, symbols drawn position-major, X built from Y",
        "correct",
        """
def copy_memory_batch(batch_size, n_symbols, delay, generator):
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError("batch_size should be a positive int")
    if isinstance(n_symbols, bool) or not isinstance(n_symbols, int) or n_symbols <= 0:
        raise ValueError("n_symbols should be a positive int")
    if isinstance(delay, bool) or not isinstance(delay, int) or delay < 0:
        raise ValueError("delay should be a non-negative int")
    if not isinstance(generator, torch.Generator):
        raise TypeError("generator should be a torch.Generator")
    K = n_symbols
    weights = torch.ones(MEMORY_ALPHABET)
    symbols = torch.multinomial(weights, K * batch_size, replacement=True, generator=generator) + 1
    symbols = symbols.reshape(K, batch_size).T  # position-major draw
    T = 2 * K + delay + 1
    Y = torch.zeros(batch_size, T, dtype=torch.int64)
    Y[:, T - K :] = symbols
    X = torch.roll(Y, shifts=K, dims=1)  # the answer block wraps round to the front ...
    X[:, K + delay] = MEMORY_CUE  # ... and the cue goes in
    return X, Y
""",
    ),
]
