"""Mutants for lesson 05_birnn.

Each entry replaces one solution cell (by grade id) of an otherwise correct submission with the reference answer
changed in one place (``Edits``: old text -> new text, each found exactly once), or with a whole alternative.
``kind="bug"``: the exercise's test cells must lose some of their points.  ``kind="correct"``: the whole
submission must keep full marks (on the autograded cells; the written answer is graded by hand).
"""

from tests.mutants.mutant import Edits, Mutant

LESSON = "05_birnn"

REVERSE = "05-reverse-padded"
BIRNN = "05-birnn-forward"
STACKED = "05-stacked-rnn-forward"

# A recurrence helper that the reference birnn_forward (and so each of its edits) defines in the same cell.
_RUN = """
def _run(inputs, p):
    h = inputs.new_zeros(inputs.shape[0], p["W_hh"].shape[0])
    states = []
    for t in range(inputs.shape[1]):
        h = torch.tanh(inputs[:, t] @ p["W_xh"] + h @ p["W_hh"] + p["b_h"])
        states.append(h)
    return torch.stack(states, dim=1)


def _real(X, lengths):
    return (torch.arange(X.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(-1).to(X.dtype)
"""

REFERENCE = {
    REVERSE: """
def reverse_padded(X, lengths):
    out = X.clone()
    for b, n in enumerate(lengths.tolist()):
        out[b, :n] = X[b, :n].flip(0)
    return out
""",
    BIRNN: _RUN
    + """
def birnn_forward(X, lengths, p_fwd, p_bwd):
    backward = reverse_padded(_run(reverse_padded(X, lengths), p_bwd), lengths)
    return torch.cat([_run(X, p_fwd), backward], dim=-1) * _real(X, lengths)
""",
    STACKED: """
def stacked_rnn_forward(X, layers, h0=None):
    inputs, last_states = X, []
    for index, p in enumerate(layers):
        h = X.new_zeros(X.shape[0], p["W_hh"].shape[0]) if h0 is None else h0[index]
        states = []
        for t in range(inputs.shape[1]):
            h = torch.tanh(inputs[:, t] @ p["W_xh"] + h @ p["W_hh"] + p["b_h"])
            states.append(h)
        inputs = torch.stack(states, dim=1)
        last_states.append(h)
    return inputs, torch.stack(last_states)
""",
}

EDITS = Edits(REFERENCE)
bug, correct = EDITS.bug, EDITS.correct

BACKWARD = "backward = reverse_padded(_run(reverse_padded(X, lengths), p_bwd), lengths)"

MUTANTS = [
    # ---- reverse_padded ----------------------------------------------------------------------
    Mutant(
        REVERSE,
        "whole time axis flipped: padding reversed too",
        "bug",
        """
def reverse_padded(X, lengths):
    return torch.flip(X, dims=[1])
""",
    ),
    Mutant(
        REVERSE,
        "features reversed instead of steps",
        "bug",
        """
def reverse_padded(X, lengths):
    rows = []
    for b in range(X.shape[0]):
        n = int(lengths[b])
        rows.append(torch.cat([X[b, :n].flip(-1), X[b, n:]]))
    return torch.stack(rows)
""",
    ),
    bug(REVERSE, "padding zeroed", ("out = X.clone()", "out = torch.zeros_like(X)")),
    Mutant(
        REVERSE,
        "off by one: reads step lengths[b] - t",
        "bug",
        """
def reverse_padded(X, lengths):
    B, T = X.shape[:2]
    steps = torch.arange(T).unsqueeze(0)
    n = lengths.unsqueeze(1)
    source = torch.where(steps < n, (n - steps).clamp(max=T - 1), steps)
    return X[torch.arange(B).unsqueeze(1), source]
""",
    ),
    Mutant(
        REVERSE,
        "the first sequence's length used for every sequence",
        "bug",
        """
def reverse_padded(X, lengths):
    n = int(lengths[0])
    return torch.cat([X[:, :n].flip(1), X[:, n:]], dim=1)
""",
    ),
    bug(
        REVERSE,
        "reverses X in place",
        ("    out = X.clone()\n", ""),
        ("out[b, :n] = X[b, :n].flip(0)", "X[b, :n] = X[b, :n].flip(0).clone()"),
        ("return out", "return X"),
    ),
    bug(
        REVERSE,
        "padding copied from a detached clone: no gradient reaches it",
        ("out = X.clone()", "out = X.detach().clone()"),
    ),
    Mutant(
        REVERSE,
        "NumPy round trip (cut off from autograd)",
        "bug",
        """
def reverse_padded(X, lengths):
    A = X.detach().numpy().copy()
    for b, n in enumerate(lengths.tolist()):
        A[b, :n] = A[b, :n][::-1].copy()
    return torch.from_numpy(A)
""",
    ),
    Mutant(
        REVERSE,
        "a loop over the batch with torch.cat and torch.stack",
        "correct",
        """
def reverse_padded(X, lengths):
    rows = []
    for b in range(X.shape[0]):
        n = int(lengths[b])
        rows.append(torch.cat([X[b, :n].flip(0), X[b, n:]], dim=0))
    return torch.stack(rows)
""",
    ),
    Mutant(
        REVERSE,
        "torch.gather with an index tensor",
        "correct",
        """
def reverse_padded(X, lengths):
    B, T, D = X.shape
    t = torch.arange(T).expand(B, T)
    L = lengths.view(-1, 1)
    index = torch.where(t < L, L - 1 - t, t)
    return torch.gather(X, 1, index.unsqueeze(-1).expand(B, T, D))
""",
    ),
    correct(REVERSE, "clone, then overwrite the real steps"),  # the reference itself, no edit
    # ---- birnn_forward -----------------------------------------------------------------------
    bug(
        BIRNN,
        "torch.flip instead of reverse_padded: the backward direction reads the padding first",
        (BACKWARD, "backward = _run(X.flip(1), p_bwd).flip(1)"),
    ),
    bug(
        BIRNN,
        "backward states not re-aligned in time",
        (BACKWARD, "backward = _run(reverse_padded(X, lengths), p_bwd)"),
    ),
    bug(BIRNN, "padded steps not zeroed", (" * _real(X, lengths)", "")),
    bug(
        BIRNN,
        "wrong concatenation order: backward first",
        ("torch.cat([_run(X, p_fwd), backward]", "torch.cat([backward, _run(X, p_fwd)]"),
    ),
    bug(BIRNN, "weights shared between directions (p_fwd used twice)", (BACKWARD, BACKWARD.replace("p_bwd", "p_fwd"))),
    bug(
        BIRNN,
        "backward direction reads the sequence left to right",
        ("    " + BACKWARD + "\n", ""),
        ("[_run(X, p_fwd), backward]", "[_run(X, p_fwd), _run(X, p_bwd)]"),
    ),
    Mutant(
        BIRNN,
        "float32 output buffer (torch.zeros without dtype)",
        "bug",
        """
def birnn_forward(X, lengths, p_fwd, p_bwd):
    B, T, _ = X.shape
    H = p_fwd["W_hh"].shape[0]
    out = torch.zeros(B, T, 2 * H)
    Xr = reverse_padded(X, lengths)
    h_f, h_b = X.new_zeros(B, H), X.new_zeros(B, H)
    backward = []
    for t in range(T):
        h_f = torch.tanh(X[:, t] @ p_fwd["W_xh"] + h_f @ p_fwd["W_hh"] + p_fwd["b_h"])
        h_b = torch.tanh(Xr[:, t] @ p_bwd["W_xh"] + h_b @ p_bwd["W_hh"] + p_bwd["b_h"])
        out[:, t, :H] = h_f
        backward.append(h_b)
    out[:, :, H:] = reverse_padded(torch.stack(backward, dim=1), lengths)
    return out * (torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(-1)
""",
    ),
    Mutant(
        BIRNN,
        "shortcut through torch.nn.RNN on a packed batch",
        "bug",
        """
def birnn_forward(X, lengths, p_fwd, p_bwd):
    out, _ = weights.run_packed(weights.birnn_from_weights(p_fwd, p_bwd), X, lengths)
    return out
""",
    ),
    bug(
        BIRNN,
        "padded steps of X zeroed in place before the loops",
        (
            "    " + BACKWARD,
            "    X.mul_(_real(X, lengths))  # zero the padding once, for both directions\n    " + BACKWARD,
        ),
    ),
    Mutant(
        BIRNN,
        "masked loops in both directions, no reversal",
        "correct",
        """
def birnn_forward(X, lengths, p_fwd, p_bwd):
    B, T, _ = X.shape
    H = p_fwd["W_hh"].shape[0]
    real = (torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(-1)  # (B, T, 1)
    h = X.new_zeros(B, H)
    forward = []
    for t in range(T):
        h = torch.tanh(X[:, t] @ p_fwd["W_xh"] + h @ p_fwd["W_hh"] + p_fwd["b_h"])
        forward.append(torch.where(real[:, t], h, torch.zeros_like(h)))
    h = X.new_zeros(B, H)
    backward = [None] * T
    for t in reversed(range(T)):
        new = torch.tanh(X[:, t] @ p_bwd["W_xh"] + h @ p_bwd["W_hh"] + p_bwd["b_h"])
        h = torch.where(real[:, t], new, torch.zeros_like(new))  # zero until the sequence's last real step
        backward[t] = h
    return torch.cat([torch.stack(forward, dim=1), torch.stack(backward, dim=1)], dim=-1)
""",
    ),
    Mutant(
        BIRNN,
        "one sequence at a time, sliced to its length",
        "correct",
        """
def birnn_forward(X, lengths, p_fwd, p_bwd):
    def run(sequence, p):
        h = sequence.new_zeros(p["W_hh"].shape[0])
        states = []
        for x in sequence:
            h = torch.tanh(x @ p["W_xh"] + h @ p["W_hh"] + p["b_h"])
            states.append(h)
        return torch.stack(states)

    B, T, _ = X.shape
    H = p_fwd["W_hh"].shape[0]
    rows = []
    for b in range(B):
        n = int(lengths[b])
        sequence = X[b, :n]
        both = torch.cat([run(sequence, p_fwd), run(sequence.flip(0), p_bwd).flip(0)], dim=-1)
        rows.append(torch.cat([both, X.new_zeros(T - n, 2 * H)]))
    return torch.stack(rows)
""",
    ),
    # ---- stacked_rnn_forward -----------------------------------------------------------------
    Mutant(
        STACKED,
        "every layer reads X instead of the layer below",
        "bug",
        """
def stacked_rnn_forward(X, layers, h0=None):
    last_states, states = [], None
    for index, p in enumerate(layers):
        h = X.new_zeros(X.shape[0], p["W_hh"].shape[0]) if h0 is None else h0[index]
        states = []
        for t in range(X.shape[1]):
            h = torch.tanh(X[:, t] @ p["W_xh"] + h @ p["W_hh"] + p["b_h"])
            states.append(h)
        last_states.append(h)
    return torch.stack(states, dim=1), torch.stack(last_states)
""",
    ),
    bug(
        STACKED,
        "h_T holds only the top layer's last state",
        ("inputs, last_states = X, []", "inputs = X"),
        (
            "        last_states.append(h)\n    return inputs, torch.stack(last_states)",
            "    return inputs, h.unsqueeze(0)",
        ),
    ),
    bug(
        STACKED,
        "h_T of the wrong layer: the top layer's state repeated",
        ("inputs, last_states = X, []", "inputs = X"),
        (
            "        last_states.append(h)\n    return inputs, torch.stack(last_states)",
            "    return inputs, torch.stack([h] * len(layers))",
        ),
    ),
    bug(
        STACKED,
        "h_T in reverse layer order (top layer first)",
        ("torch.stack(last_states)", "torch.stack(last_states[::-1])"),
    ),
    bug(
        STACKED,
        "h0 ignored: every layer starts from zeros",
        ("for index, p in enumerate(layers):", "for p in layers:"),
        (" if h0 is None else h0[index]", ""),
    ),
    bug(
        STACKED,
        "h0[0] used for every layer",
        ("for index, p in enumerate(layers):", "for p in layers:"),
        ("h0[index]", "h0[0]"),
    ),
    bug(
        STACKED,
        "H_top is the bottom layer's states",
        ("inputs, last_states = X, []", "inputs, last_states, bottom = X, [], None"),
        (
            "        last_states.append(h)\n",
            "        bottom = inputs if bottom is None else bottom\n        last_states.append(h)\n",
        ),
        ("return inputs,", "return bottom,"),
    ),
    Mutant(
        STACKED,
        "shortcut through torch.nn.RNN(num_layers=L)",
        "bug",
        """
def stacked_rnn_forward(X, layers, h0=None):
    return weights.stacked_rnn_from_weights(layers)(X, h0)
""",
    ),
    Mutant(
        STACKED,
        "h_T written into h0 in place when h0 is given",
        "bug",
        """
def stacked_rnn_forward(X, layers, h0=None):
    L, B, H = len(layers), X.shape[0], layers[0]["W_hh"].shape[0]
    h_T = X.new_zeros(L, B, H) if h0 is None else h0
    inputs = X
    for index, p in enumerate(layers):
        h = h_T[index]
        states = []
        for t in range(inputs.shape[1]):
            h = torch.tanh(inputs[:, t] @ p["W_xh"] + h @ p["W_hh"] + p["b_h"])
            states.append(h)
        inputs = torch.stack(states, dim=1)
        h_T[index] = h
    return inputs, h_T
""",
    ),
    Mutant(
        STACKED,
        "step by step through all layers at once",
        "correct",
        """
def stacked_rnn_forward(X, layers, h0=None):
    B, T, _ = X.shape
    hs = [X.new_zeros(B, p["W_hh"].shape[0]) if h0 is None else h0[i] for i, p in enumerate(layers)]
    top = []
    for t in range(T):
        x = X[:, t]
        for i, p in enumerate(layers):
            hs[i] = torch.tanh(x @ p["W_xh"] + hs[i] @ p["W_hh"] + p["b_h"])
            x = hs[i]
        top.append(x)
    return torch.stack(top, dim=1), torch.stack(hs)
""",
    ),
    Mutant(
        STACKED,
        "recursion over the layers",
        "correct",
        """
def stacked_rnn_forward(X, layers, h0=None):
    p = layers[0]
    h = X.new_zeros(X.shape[0], p["W_hh"].shape[0]) if h0 is None else h0[0]
    states = []
    for t in range(X.shape[1]):
        h = torch.tanh(X[:, t] @ p["W_xh"] + h @ p["W_hh"] + p["b_h"])
        states.append(h)
    H = torch.stack(states, dim=1)
    if len(layers) == 1:
        return H, h.unsqueeze(0)
    H_top, rest = stacked_rnn_forward(H, layers[1:], None if h0 is None else h0[1:])
    return H_top, torch.cat([h.unsqueeze(0), rest])
""",
    ),
]
