"""Mutants for lesson 01_rnn.

Each entry replaces one solution cell (by grade id) of an otherwise correct submission with the reference answer
changed in one place (``Edits``: old text -> new text, each found exactly once), or with a whole alternative.
``kind="bug"``: the exercise must lose points (in at least one of its test cells).  ``kind="correct"``: the whole
submission must keep full marks.
"""

from tests.mutants.mutant import Edits, Mutant

LESSON = "01_rnn"

CELL = "01-rnn-cell"
FORWARD = "01-rnn-forward"
READOUT = "01-rnn-readout"
JORDAN = "01-jordan-cell"
COUNT = "01-count-rnn-parameters"

REFERENCE = {
    CELL: """
def rnn_cell(x, h, W_xh, W_hh, b_h):
    return torch.tanh(x @ W_xh + h @ W_hh + b_h)
""",
    FORWARD: """
def rnn_forward(X, h0, W_xh, W_hh, b_h):
    h = h0
    states = []
    for t in range(X.shape[1]):
        h = rnn_cell(X[:, t], h, W_xh, W_hh, b_h)
        states.append(h)
    return torch.stack(states, dim=1), h
""",
    READOUT: """
def rnn_readout(H_all, W_hy, b_y):
    return H_all @ W_hy + b_y
""",
    JORDAN: """
def jordan_cell(x, y_prev, W_xh, W_yh, b_h, W_hy, b_y):
    h = torch.tanh(x @ W_xh + y_prev @ W_yh + b_h)
    return h, h @ W_hy + b_y
""",
    COUNT: """
def count_rnn_parameters(input_size, hidden_size, output_size):
    D, H, O = input_size, hidden_size, output_size
    return D * H + H * H + H + H * O + O
""",
}

EDITS = Edits(REFERENCE)
bug, correct = EDITS.bug, EDITS.correct

MUTANTS = [
    # ---- rnn_cell ---------------------------------------------------------------------------
    bug(CELL, "relu instead of tanh", ("torch.tanh(", "torch.relu(")),
    bug(CELL, "sigmoid instead of tanh", ("torch.tanh(", "torch.sigmoid(")),
    bug(CELL, "missing bias", (" + b_h", "")),
    bug(CELL, "transposed recurrent weight", ("h @ W_hh", "h @ W_hh.T")),
    bug(CELL, "previous state ignored", (" + h @ W_hh", "")),
    Mutant(
        CELL,
        "shortcut through torch.rnn_tanh_cell",
        "bug",
        """
def rnn_cell(x, h, W_xh, W_hh, b_h):
    return torch.rnn_tanh_cell(x, h, W_xh.T, W_hh.T, b_h, torch.zeros_like(b_h))
""",
    ),
    Mutant(
        CELL,
        "shortcut through nn.RNNCell, error swallowed",
        "bug",
        """
def rnn_cell(x, h, W_xh, W_hh, b_h):
    cell = torch.nn.RNNCell(W_xh.shape[0], W_xh.shape[1], dtype=x.dtype)
    weights.load_rnn_weights(cell, W_xh, W_hh, b_h)
    try:
        return cell(x, h)
    except Exception:
        return torch.tanh(x @ W_xh + h @ W_hh + b_h)
""",
    ),
    Mutant(
        CELL,
        "shortcut through nn.RNN on a one-step sequence",
        "bug",
        """
def rnn_cell(x, h, W_xh, W_hh, b_h):
    rnn = weights.rnn_from_weights(W_xh, W_hh, b_h)
    out, _ = rnn(x.unsqueeze(1), h.unsqueeze(0))
    return out[:, 0]
""",
    ),
    bug(CELL, "writes the new state into h with out= (the caller's h changes)", ("+ b_h)", "+ b_h, out=h)")),
    Mutant(
        CELL,
        "concatenated input and weights (the seeds' [h, x] form)",
        "correct",
        """
def rnn_cell(x, h, W_xh, W_hh, b_h):
    xh = torch.cat([x, h], dim=1)
    W = torch.cat([W_xh, W_hh], dim=0)
    return torch.tanh(xh @ W + b_h)
""",
    ),
    Mutant(
        CELL,
        "computed in float64 whatever the input dtype",
        "correct",
        """
def rnn_cell(x, h, W_xh, W_hh, b_h):
    pre = x.double() @ W_xh.double() + h.double() @ W_hh.double() + b_h.double()
    return torch.tanh(pre)
""",
    ),
    Mutant(
        CELL,
        "a loop over the batch with torch.matmul",
        "correct",
        """
def rnn_cell(x, h, W_xh, W_hh, b_h):
    rows = []
    for b in range(x.shape[0]):
        rows.append(torch.tanh(torch.matmul(x[b], W_xh) + torch.matmul(h[b], W_hh) + b_h))
    return torch.stack(rows)
""",
    ),
    Mutant(
        CELL,
        "in-place operations on its own new tensor (+=, tanh_)",
        "correct",
        """
def rnn_cell(x, h, W_xh, W_hh, b_h):
    pre = x @ W_xh
    pre += h @ W_hh
    pre += b_h
    return pre.tanh_()
""",
    ),
    # ---- rnn_forward ------------------------------------------------------------------------
    bug(
        FORWARD,
        "off by one: stores h0 and drops h_T",
        ("states = []", "states = [h0]"),
        ("torch.stack(states, dim=1)", "torch.stack(states[:-1], dim=1)"),
    ),
    Mutant(
        FORWARD,
        "state not carried: every step starts from h0",
        "bug",
        """
def rnn_forward(X, h0, W_xh, W_hh, b_h):
    states = [rnn_cell(X[:, t], h0, W_xh, W_hh, b_h) for t in range(X.shape[1])]
    return torch.stack(states, dim=1), states[-1]
""",
    ),
    bug(FORWARD, "time-major H_all (T, B, H)", ("torch.stack(states, dim=1)", "torch.stack(states, dim=0)")),
    bug(FORWARD, "h0 ignored: starts from zeros", ("h = h0", "h = torch.zeros_like(h0)")),
    bug(FORWARD, "returns the first state as h_T", ("dim=1), h", "dim=1), states[0]")),
    Mutant(
        FORWARD,
        "shortcut through torch.nn.RNN",
        "bug",
        """
def rnn_forward(X, h0, W_xh, W_hh, b_h):
    out, h_n = weights.rnn_from_weights(W_xh, W_hh, b_h)(X, h0.unsqueeze(0))
    return out, h_n[0]
""",
    ),
    Mutant(
        FORWARD,
        "shortcut through a loop over nn.RNNCell",
        "bug",
        """
def rnn_forward(X, h0, W_xh, W_hh, b_h):
    cell = weights.load_rnn_weights(torch.nn.RNNCell(W_xh.shape[0], W_xh.shape[1]), W_xh, W_hh, b_h)
    h, states = h0, []
    for t in range(X.shape[1]):
        h = cell(X[:, t], h)
        states.append(h)
    return torch.stack(states, dim=1), h
""",
    ),
    Mutant(
        FORWARD,
        "float32 buffer for float64 inputs",
        "bug",
        """
def rnn_forward(X, h0, W_xh, W_hh, b_h):
    B, T, _ = X.shape
    H_all = torch.zeros(B, T, h0.shape[1])
    h = h0
    for t in range(T):
        h = rnn_cell(X[:, t], h, W_xh, W_hh, b_h)
        H_all[:, t] = h
    return H_all, h
""",
    ),
    Mutant(
        FORWARD,
        "states computed under torch.no_grad()",
        "bug",
        """
def rnn_forward(X, h0, W_xh, W_hh, b_h):
    h, states = h0, []
    with torch.no_grad():
        for t in range(X.shape[1]):
            h = rnn_cell(X[:, t], h, W_xh, W_hh, b_h)
            states.append(h)
    return torch.stack(states, dim=1), h
""",
    ),
    Mutant(
        FORWARD,
        "in-place buffer read back (breaks backward)",
        "bug",
        """
def rnn_forward(X, h0, W_xh, W_hh, b_h):
    B, T, _ = X.shape
    H_all = X.new_zeros(B, T, h0.shape[1])
    for t in range(T):
        previous = h0 if t == 0 else H_all[:, t - 1]
        H_all[:, t] = rnn_cell(X[:, t], previous, W_xh, W_hh, b_h)
    return H_all, H_all[:, -1]
""",
    ),
    bug(
        FORWARD,
        "h_T taken with .squeeze() (drops the batch axis when B = 1)",
        (
            "return torch.stack(states, dim=1), h",
            "H_all = torch.stack(states, dim=1)\n    return H_all, H_all[:, -1, :].squeeze()",
        ),
    ),
    Mutant(
        FORWARD,
        "preallocated buffer, update written inline",
        "correct",
        """
def rnn_forward(X, h0, W_xh, W_hh, b_h):
    B, T, _ = X.shape
    H_all = X.new_zeros(B, T, h0.shape[1])
    h = h0
    for t in range(T):
        h = torch.tanh(X[:, t, :] @ W_xh + h @ W_hh + b_h)
        H_all[:, t, :] = h
    return H_all, h
""",
    ),
    Mutant(
        FORWARD,
        "time-major loop with unbind and a final transpose",
        "correct",
        """
def rnn_forward(X, h0, W_xh, W_hh, b_h):
    hidden_states = []
    state = h0
    for x_t in X.transpose(0, 1).unbind(0):
        state = rnn_cell(x_t, state, W_xh, W_hh, b_h)
        hidden_states.append(state)
    return torch.stack(hidden_states).transpose(0, 1), state
""",
    ),
    # ---- rnn_readout ------------------------------------------------------------------------
    bug(READOUT, "missing output bias", (" + b_y", "")),
    bug(READOUT, "tanh on the output", ("H_all @ W_hy + b_y", "torch.tanh(H_all @ W_hy + b_y)")),
    bug(READOUT, "softmax on the output", ("H_all @ W_hy + b_y", "torch.softmax(H_all @ W_hy + b_y, dim=-1)")),
    bug(READOUT, "only the last step read out", ("return H_all", "return H_all[:, -1]")),
    bug(READOUT, "transposed W_hy (works only when H == O)", ("@ W_hy", "@ W_hy.T")),
    bug(READOUT, "output axis squeezed away when O = 1", ("H_all @ W_hy + b_y", "(H_all @ W_hy + b_y).squeeze(-1)")),
    bug(
        READOUT,
        "bias reshaped in place with unsqueeze_ (the caller's b_y changes shape)",
        ("    return", "    b_y.unsqueeze_(0).unsqueeze_(0)  # (1, 1, O): broadcasts over batch and time\n    return"),
    ),
    correct(READOUT, "einsum", ("H_all @ W_hy", 'torch.einsum("bth,ho->bto", H_all, W_hy)')),
    Mutant(
        READOUT,
        "a loop over time with F.linear",
        "correct",
        """
def rnn_readout(H_all, W_hy, b_y):
    outputs = [torch.nn.functional.linear(H_all[:, t], W_hy.T, b_y) for t in range(H_all.shape[1])]
    return torch.stack(outputs, dim=1)
""",
    ),
    # ---- jordan_cell ------------------------------------------------------------------------
    bug(JORDAN, "returns (y, h) instead of (h, y)", ("return h, h @ W_hy + b_y", "return h @ W_hy + b_y, h")),
    bug(JORDAN, "tanh on the output", ("h @ W_hy + b_y", "torch.tanh(h @ W_hy + b_y)")),
    bug(
        JORDAN,
        "output read from the pre-activation",
        ("h = torch.tanh(x @ W_xh + y_prev @ W_yh + b_h)", "a = x @ W_xh + y_prev @ W_yh + b_h"),
        ("return h, h @ W_hy", "return torch.tanh(a), a @ W_hy"),
    ),
    bug(JORDAN, "previous output not fed back", (" + y_prev @ W_yh", "")),
    bug(JORDAN, "missing hidden bias", (" + b_h", "")),
    Mutant(
        JORDAN,
        "shortcut through nn.RNNCell on [x, y_prev]",
        "bug",
        """
def jordan_cell(x, y_prev, W_xh, W_yh, b_h, W_hy, b_y):
    H = W_xh.shape[1]
    cell = torch.nn.RNNCell(W_xh.shape[0] + W_yh.shape[0], H, dtype=x.dtype)
    weights.load_rnn_weights(cell, torch.cat([W_xh, W_yh]), torch.zeros(H, H, dtype=x.dtype), b_h)
    h = cell(torch.cat([x, y_prev], dim=1), torch.zeros(x.shape[0], H, dtype=x.dtype))
    return h, h @ W_hy + b_y
""",
    ),
    bug(
        JORDAN,
        "new output written into y_prev (the caller's y_prev changes)",
        ("    return h, h @ W_hy + b_y", "    y_prev.copy_(h @ W_hy + b_y)\n    return h, y_prev"),
    ),
    Mutant(
        JORDAN,
        "concatenated [x, y_prev] and F.linear readout",
        "correct",
        """
def jordan_cell(x, y_prev, W_xh, W_yh, b_h, W_hy, b_y):
    hidden = torch.tanh(torch.cat((x, y_prev), dim=-1) @ torch.cat((W_xh, W_yh), dim=0) + b_h)
    output = torch.nn.functional.linear(hidden, W_hy.t(), b_y)
    return hidden, output
""",
    ),
    # ---- count_rnn_parameters ---------------------------------------------------------------
    bug(COUNT, "counts PyTorch's two biases", ("H * H + H +", "H * H + 2 * H +")),
    bug(COUNT, "forgets the output bias", (" + O", "")),
    bug(COUNT, "forgets the recurrent matrix", (" + H * H", "")),
    bug(
        COUNT,
        "returns a float",
        ("return D * H + H * H + H + H * O + O", "return float(D * H + H * H + H + H * O + O)"),
    ),
    Mutant(
        COUNT,
        "recurrent layer only, no readout",
        "bug",
        """
def count_rnn_parameters(input_size, hidden_size, output_size):
    return input_size * hidden_size + hidden_size * hidden_size + hidden_size
""",
    ),
    Mutant(
        COUNT,
        "factored formula",
        "correct",
        """
def count_rnn_parameters(input_size, hidden_size, output_size):
    return hidden_size * (input_size + hidden_size + 1) + output_size * (hidden_size + 1)
""",
    ),
    Mutant(
        COUNT,
        "sums numel of the actual tensors (a NumPy integer)",
        "correct",
        """
import numpy as np

def count_rnn_parameters(input_size, hidden_size, output_size):
    D, H, O = input_size, hidden_size, output_size
    shapes = [(D, H), (H, H), (H,), (H, O), (O,)]
    return np.int64(sum(torch.empty(shape).numel() for shape in shapes))
""",
    ),
]
