"""Mutants for lesson 04_lstm.

Each entry replaces one solution cell (by grade id) of an otherwise correct submission with the reference answer
changed in one place (``Edits``: old text -> new text, each found exactly once), or with a whole alternative.
``kind="bug"``: the exercise must lose points (in at least one of its test cells).  ``kind="correct"``: the whole
submission must keep full marks.
"""

from tests.mutants.mutant import Edits, Mutant

LESSON = "04_lstm"

CELL = "04-lstm-cell"
FORWARD = "04-lstm-forward"
PATH = "04-forget-gate-path"
PEEPHOLE = "04-peephole-lstm-cell"

REFERENCE = {
    CELL: """
def lstm_cell(x, state, p):
    h_prev, c_prev = state
    i = torch.sigmoid(x @ p["W_xi"] + h_prev @ p["W_hi"] + p["b_i"])
    f = torch.sigmoid(x @ p["W_xf"] + h_prev @ p["W_hf"] + p["b_f"])
    g = torch.tanh(x @ p["W_xg"] + h_prev @ p["W_hg"] + p["b_g"])
    o = torch.sigmoid(x @ p["W_xo"] + h_prev @ p["W_ho"] + p["b_o"])
    c = f * c_prev + i * g
    h = o * torch.tanh(c)
    return h, c
""",
    FORWARD: """
def lstm_forward(X, state0, p):
    h, c = state0
    states = []
    for t in range(X.shape[1]):
        h, c = lstm_cell(X[:, t], (h, c), p)
        states.append(h)
    return torch.stack(states, dim=1), (h, c)
""",
    PATH: """
def forget_gate_path(F):
    return torch.flip(torch.cumprod(torch.flip(F, dims=[0]), dim=0), dims=[0])
""",
    # The candidate's "+ 0" stands where the gates add their peephole: the candidate has none.
    PEEPHOLE: """
def peephole_lstm_cell(x, state, p):
    h_prev, c_prev = state
    i = torch.sigmoid(x @ p["W_xi"] + h_prev @ p["W_hi"] + p['w_ci'] * c_prev + p["b_i"])
    f = torch.sigmoid(x @ p["W_xf"] + h_prev @ p["W_hf"] + p['w_cf'] * c_prev + p["b_f"])
    g = torch.tanh(x @ p["W_xg"] + h_prev @ p["W_hg"] + 0 + p["b_g"])
    c = f * c_prev + i * g
    o = torch.sigmoid(x @ p["W_xo"] + h_prev @ p["W_ho"] + p['w_co'] * c + p["b_o"])
    return o * torch.tanh(c), c
""",
}

EDITS = Edits(REFERENCE)
bug, correct = EDITS.bug, EDITS.correct


def _gate(name: str, reads: str, squash: str = "torch.sigmoid") -> str:
    """The reference's line for lstm_cell's gate ``name``, reading the parameters of gate ``reads``."""
    return f'{name} = {squash}(x @ p["W_x{reads}"] + h_prev @ p["W_h{reads}"] + p["b_{reads}"])'


SUFFIX_PRODUCTS = "torch.flip(torch.cumprod(torch.flip(F, dims=[0]), dim=0), dims=[0])"

MUTANTS = [
    # ---- lstm_cell ---------------------------------------------------------------------------
    bug(CELL, "input and forget gates swapped", (_gate("i", "i"), _gate("i", "f")), (_gate("f", "f"), _gate("f", "i"))),
    bug(
        CELL,
        "PyTorch's storage order misread as i, f, o, g",
        (_gate("g", "g", "torch.tanh"), _gate("g", "o", "torch.tanh")),
        (_gate("o", "o"), _gate("o", "g")),
    ),
    bug(CELL, "h from the raw cell: o * c", ("h = o * torch.tanh(c)", "h = o * c")),
    bug(CELL, "h from the old cell c_prev", ("h = o * torch.tanh(c)", "h = o * torch.tanh(c_prev)")),
    bug(CELL, "candidate squashed with a sigmoid", ("g = torch.tanh(", "g = torch.sigmoid(")),
    bug(CELL, "no input gate: c = f * c_prev + g", ("c = f * c_prev + i * g", "c = f * c_prev + g")),
    bug(
        CELL,
        "GRU-style update: c = f * c_prev + (1 - f) * g",
        ("c = f * c_prev + i * g", "c = f * c_prev + (1 - f) * g"),
    ),
    bug(
        CELL,
        "returns (c, h) instead of (h, c)",
        ("    h = o * torch.tanh(c)\n    return h, c", "    return c, o * torch.tanh(c)"),
    ),
    bug(
        CELL,
        "cell updated in place (c_prev changed)",
        (
            "c = f * c_prev + i * g",
            "c = c_prev.mul_(f).add_(i * g) if not c_prev.requires_grad else f * c_prev + i * g",
        ),
        ("    h = o * torch.tanh(c)\n    return h, c", "    return o * torch.tanh(c), c"),
    ),
    Mutant(
        CELL,
        "torch.nn.LSTMCell with copied weights",
        "bug",
        """
def lstm_cell(x, state, p):
    h_prev, c_prev = state
    D, H = p["W_xi"].shape
    cell = torch.nn.LSTMCell(D, H, dtype=x.dtype)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.cat([p["W_x" + k].T for k in "ifgo"]))
        cell.weight_hh.copy_(torch.cat([p["W_h" + k].T for k in "ifgo"]))
        cell.bias_ih.copy_(torch.cat([p["b_" + k] for k in "ifgo"]))
        cell.bias_hh.zero_()
    return cell(x, (h_prev, c_prev))
""",
    ),
    Mutant(
        CELL,
        "one concatenated matrix [x, h] @ W and torch.chunk",
        "correct",
        """
def lstm_cell(x, state, p):
    h_prev, c_prev = state
    W = torch.cat([torch.cat([p["W_x" + k], p["W_h" + k]], dim=0) for k in "ifgo"], dim=1)  # (D + H, 4H)
    b = torch.cat([p["b_" + k] for k in "ifgo"])
    a = torch.cat([x, h_prev], dim=1) @ W + b
    a_i, a_f, a_g, a_o = torch.chunk(a, 4, dim=1)
    new_c = torch.sigmoid(a_f) * c_prev + torch.sigmoid(a_i) * torch.tanh(a_g)
    return torch.sigmoid(a_o) * torch.tanh(new_c), new_c
""",
    ),
    Mutant(
        CELL,
        "sigmoid written with exp, matmul via torch.matmul, float64 inside",
        "correct",
        """
def lstm_cell(x, state, p):
    h_prev, c_prev = state

    def pre(k):
        xd, hd = x.double(), h_prev.double()
        return torch.matmul(xd, p["W_x" + k].double()) + torch.matmul(hd, p["W_h" + k].double()) + p["b_" + k].double()

    def sig(a):
        return 1.0 / (1.0 + torch.exp(-a))

    c = sig(pre("f")) * c_prev.double() + sig(pre("i")) * torch.tanh(pre("g"))
    h = sig(pre("o")) * torch.tanh(c)
    return h.to(x.dtype), c.to(x.dtype)
""",
    ),
    # ---- lstm_forward --------------------------------------------------------------------------
    bug(
        FORWARD,
        "state not carried: every step starts from state0",
        ("    h, c = state0\n", ""),
        ("lstm_cell(X[:, t], (h, c), p)", "lstm_cell(X[:, t], state0, p)"),
    ),
    bug(
        FORWARD,
        "only h carried: the cell restarts from c0 at every step",
        ("h, c = state0", "h, c0 = state0"),
        ("lstm_cell(X[:, t], (h, c), p)", "lstm_cell(X[:, t], (h, c0), p)"),
    ),
    bug(
        FORWARD,
        "H_all stacks the cells instead of the hidden states",
        ("states = []", "cells = []"),
        ("states.append(h)", "cells.append(c)"),
        ("torch.stack(states, dim=1)", "torch.stack(cells, dim=1)"),
    ),
    bug(
        FORWARD,
        "H_all holds h_0 ... h_{T-1} (off by one)",
        (
            "        h, c = lstm_cell(X[:, t], (h, c), p)\n        states.append(h)\n",
            "        states.append(h)\n        h, c = lstm_cell(X[:, t], (h, c), p)\n",
        ),
    ),
    bug(
        FORWARD,
        "starts from zeros, ignoring state0",
        ("h, c = state0", "h = torch.zeros_like(state0[0])\n    c = torch.zeros_like(state0[1])"),
    ),
    bug(FORWARD, "returns (h_T, c_T) swapped", ("dim=1), (h, c)", "dim=1), (c, h)")),
    Mutant(
        FORWARD,
        "torch.nn.LSTM with copied weights",
        "bug",
        """
def lstm_forward(X, state0, p):
    D, H = p["W_xi"].shape
    module = torch.nn.LSTM(D, H, batch_first=True, dtype=X.dtype)
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.cat([p["W_x" + k].T for k in "ifgo"]))
        module.weight_hh_l0.copy_(torch.cat([p["W_h" + k].T for k in "ifgo"]))
        module.bias_ih_l0.copy_(torch.cat([p["b_" + k] for k in "ifgo"]))
        module.bias_hh_l0.zero_()
    out, (h_n, c_n) = module(X, (state0[0].unsqueeze(0), state0[1].unsqueeze(0)))
    return out, (h_n[0], c_n[0])
""",
    ),
    bug(
        FORWARD,
        "h_T and c_T taken with .squeeze() (drops the batch axis when B = 1)",
        (
            "return torch.stack(states, dim=1), (h, c)",
            "H_all = torch.stack(states, dim=1)\n    return H_all, (H_all[:, -1].squeeze(), c.squeeze())",
        ),
    ),
    Mutant(
        FORWARD,
        "its own gate code, time-major loop over X.unbind(1), preallocated list",
        "correct",
        """
def lstm_forward(X, state0, p):
    h, c = state0
    outputs = [None] * X.shape[1]
    for t, x in enumerate(X.unbind(dim=1)):
        i = torch.sigmoid(x @ p["W_xi"] + h @ p["W_hi"] + p["b_i"])
        f = torch.sigmoid(x @ p["W_xf"] + h @ p["W_hf"] + p["b_f"])
        o = torch.sigmoid(x @ p["W_xo"] + h @ p["W_ho"] + p["b_o"])
        c = f * c + i * torch.tanh(x @ p["W_xg"] + h @ p["W_hg"] + p["b_g"])
        h = o * torch.tanh(c)
        outputs[t] = h
    return torch.stack(outputs, dim=1), (outputs[-1], c)
""",
    ),
    # ---- forget_gate_path -----------------------------------------------------------------------
    Mutant(
        PATH,
        "products from the start: row k = f_1 ... f_{k+1}",
        "bug",
        """
def forget_gate_path(F):
    return torch.cumprod(F, dim=0)
""",
    ),
    Mutant(
        PATH,
        "off by one: row k = f_{k+2} ... f_T, last row 1",
        "bug",
        """
def forget_gate_path(F):
    suffix = torch.flip(torch.cumprod(torch.flip(F, dims=[0]), dim=0), dims=[0])
    return torch.cat([suffix[1:], torch.ones_like(F[:1])])
""",
    ),
    Mutant(
        PATH,
        "off by one: row k includes f_k",
        "bug",
        """
def forget_gate_path(F):
    suffix = torch.flip(torch.cumprod(torch.flip(F, dims=[0]), dim=0), dims=[0])
    return torch.cat([suffix[:1], suffix[:-1]])
""",
    ),
    bug(PATH, "product over units instead of time", (SUFFIX_PRODUCTS, SUFFIX_PRODUCTS.replace("0", "1"))),
    bug(PATH, "sum of gates instead of product", ("torch.cumprod(", "torch.cumsum(")),
    Mutant(
        PATH,
        "total product divided by prefix products (NaN once products underflow)",
        "bug",
        """
def forget_gate_path(F):
    prefix = torch.cat([torch.ones_like(F[:1]), torch.cumprod(F, dim=0)[:-1]])
    return torch.prod(F, dim=0, keepdim=True) / prefix
""",
    ),
    Mutant(
        PATH,
        "suffix products written into F in place",
        "bug",
        """
def forget_gate_path(F):
    for k in range(F.shape[0] - 2, -1, -1):
        F[k] *= F[k + 1]
    return F
""",
    ),
    Mutant(
        PATH,
        "autograd through the chain c_t = f_t * c_{t-1}",
        "bug",
        """
def forget_gate_path(F):
    cells = [torch.ones(F.shape[1], dtype=F.dtype, requires_grad=True)]
    for t in range(F.shape[0]):
        cells.append(F[t] * cells[-1])
    return torch.stack(torch.autograd.grad(cells[-1].sum(), cells[:-1]))
""",
    ),
    Mutant(
        PATH,
        "a loop from the end",
        "correct",
        """
def forget_gate_path(F):
    rows = []
    running = torch.ones_like(F[0])
    for k in range(F.shape[0] - 1, -1, -1):
        running = running * F[k]
        rows.append(running)
    return torch.stack(rows[::-1])
""",
    ),
    Mutant(
        PATH,
        "in log space: exp of reversed cumulative sums of log F",
        "correct",
        """
def forget_gate_path(F):
    logs = torch.log(F)
    return torch.exp(logs.flip(0).cumsum(0).flip(0))
""",
    ),
    Mutant(
        PATH,
        "cumprod written with out= into its own flipped copy",
        "correct",
        """
def forget_gate_path(F):
    backwards = torch.flip(F, dims=[0])  # a new tensor: writing into it leaves F alone
    torch.cumprod(backwards, dim=0, out=backwards)
    return backwards.flip(0)
""",
    ),
    # ---- peephole_lstm_cell ----------------------------------------------------------------------
    bug(PEEPHOLE, "output gate peeks at the old cell c_prev", ("p['w_co'] * c +", "p['w_co'] * c_prev +")),
    bug(
        PEEPHOLE,
        "w_ci and w_cf swapped",
        ("p['w_ci'] * c_prev + p[\"b_i\"]", "p['w_cf'] * c_prev + p[\"b_i\"]"),
        ("p['w_cf'] * c_prev + p[\"b_f\"]", "p['w_ci'] * c_prev + p[\"b_f\"]"),
    ),
    bug(PEEPHOLE, "no peephole on the forget gate", ("p['w_cf'] * c_prev", "0")),
    bug(PEEPHOLE, "a peephole on the candidate too", ("+ 0 +", "+ p['w_co'] * c_prev +")),
    Mutant(
        PEEPHOLE,
        "peepholes added after the sigmoid",
        "bug",
        """
def peephole_lstm_cell(x, state, p):
    h_prev, c_prev = state
    i = torch.sigmoid(x @ p["W_xi"] + h_prev @ p["W_hi"] + p["b_i"]) + p["w_ci"] * c_prev
    f = torch.sigmoid(x @ p["W_xf"] + h_prev @ p["W_hf"] + p["b_f"]) + p["w_cf"] * c_prev
    g = torch.tanh(x @ p["W_xg"] + h_prev @ p["W_hg"] + p["b_g"])
    c = f * c_prev + i * g
    o = torch.sigmoid(x @ p["W_xo"] + h_prev @ p["W_ho"] + p["b_o"]) + p["w_co"] * c
    return o * torch.tanh(c), c
""",
    ),
    Mutant(
        PEEPHOLE,
        "peephole as a dot product c_prev @ w: one number per sequence",
        "bug",
        """
def peephole_lstm_cell(x, state, p):
    h_prev, c_prev = state
    i = torch.sigmoid(x @ p["W_xi"] + h_prev @ p["W_hi"] + (c_prev @ p["w_ci"]).unsqueeze(-1) + p["b_i"])
    f = torch.sigmoid(x @ p["W_xf"] + h_prev @ p["W_hf"] + (c_prev @ p["w_cf"]).unsqueeze(-1) + p["b_f"])
    g = torch.tanh(x @ p["W_xg"] + h_prev @ p["W_hg"] + p["b_g"])
    c = f * c_prev + i * g
    o = torch.sigmoid(x @ p["W_xo"] + h_prev @ p["W_ho"] + (c @ p["w_co"]).unsqueeze(-1) + p["b_o"])
    return o * torch.tanh(c), c
""",
    ),
    Mutant(
        PEEPHOLE,
        "computed in float64 whatever the input dtype (float32 in, float64 out)",
        "bug",
        """
def peephole_lstm_cell(x, state, p):
    x, h_prev, c_prev = x.double(), state[0].double(), state[1].double()
    p = {key: value.double() for key, value in p.items()}
    i = torch.sigmoid(x @ p["W_xi"] + h_prev @ p["W_hi"] + p["w_ci"] * c_prev + p["b_i"])
    f = torch.sigmoid(x @ p["W_xf"] + h_prev @ p["W_hf"] + p["w_cf"] * c_prev + p["b_f"])
    g = torch.tanh(x @ p["W_xg"] + h_prev @ p["W_hg"] + p["b_g"])
    c = f * c_prev + i * g
    o = torch.sigmoid(x @ p["W_xo"] + h_prev @ p["W_ho"] + p["w_co"] * c + p["b_o"])
    return o * torch.tanh(c), c
""",
    ),
    Mutant(
        PEEPHOLE,
        "old cell's peepholes folded into torch.nn.LSTMCell's bias, one row at a time",
        "bug",
        """
def peephole_lstm_cell(x, state, p):
    h_prev, c_prev = state
    D, H = p["W_xi"].shape
    rows = []
    for b in range(x.shape[0]):
        cell = torch.nn.LSTMCell(D, H, dtype=x.dtype)
        with torch.no_grad():
            cell.weight_ih.copy_(torch.cat([p["W_x" + k].T for k in "ifgo"]))
            cell.weight_hh.copy_(torch.cat([p["W_h" + k].T for k in "ifgo"]))
            peeped = [p["b_i"] + p["w_ci"] * c_prev[b], p["b_f"] + p["w_cf"] * c_prev[b], p["b_g"], p["b_o"]]
            cell.bias_ih.copy_(torch.cat(peeped))
            cell.bias_hh.zero_()
        rows.append(cell(x[b : b + 1], (h_prev[b : b + 1], c_prev[b : b + 1]))[1])
    c = torch.cat(rows)
    o = torch.sigmoid(x @ p["W_xo"] + h_prev @ p["W_ho"] + p["w_co"] * c + p["b_o"])
    return o * torch.tanh(c), c
""",
    ),
    Mutant(
        PEEPHOLE,
        "peepholes as diagonal matrices, gates from one concatenated [x, h, c] input",
        "correct",
        """
def peephole_lstm_cell(x, state, p):
    h_prev, c_prev = state
    H = c_prev.shape[1]
    zeros = torch.zeros(H, H, dtype=x.dtype)

    def gate(k, cell, peep):
        W = torch.cat([p["W_x" + k], p["W_h" + k], torch.diag(peep) if peep is not None else zeros])
        return torch.cat([x, h_prev, cell], dim=1) @ W + p["b_" + k]

    i = torch.sigmoid(gate("i", c_prev, p["w_ci"]))
    f = torch.sigmoid(gate("f", c_prev, p["w_cf"]))
    g = torch.tanh(gate("g", c_prev, None))
    c = f * c_prev + i * g
    o = torch.sigmoid(gate("o", c, p["w_co"]))
    return o * torch.tanh(c), c
""",
    ),
]
