"""Mutants for lesson 03_gru.

Each entry replaces one solution cell (by grade id) of an otherwise correct submission with the reference answer
changed in one place (``Edits``: old text -> new text, each found exactly once), or with a whole alternative.
``kind="bug"``: the exercise must lose points (in at least one of its test cells).  ``kind="correct"``: the whole
submission must keep full marks.
"""

from tests.mutants.mutant import Edits, Mutant

LESSON = "03_gru"

CELL = "03-gru-cell"
FORWARD = "03-gru-forward"
CHO = "03-gru-cell-cho"
OVERRIDE = "03-gru-gate-override"

REFERENCE = {
    CELL: """
def gru_cell(x, h, p):
    r = torch.sigmoid(x @ p["W_xr"] + h @ p["W_hr"] + p["b_r"])
    z = torch.sigmoid(x @ p["W_xz"] + h @ p["W_hz"] + p["b_z"])
    n = torch.tanh(x @ p["W_xn"] + p["b_xn"] + r * (h @ p["W_hn"] + p["b_hn"]))
    return (1 - z) * n + z * h
""",
    FORWARD: """
def gru_forward(X, h0, p):
    h, states = h0, []
    for t in range(X.shape[1]):
        h = gru_cell(X[:, t], h, p)
        states.append(h)
    return torch.stack(states, dim=1), h
""",
    CHO: """
def gru_cell_cho(x, h, p):
    r = torch.sigmoid(x @ p["W_xr"] + h @ p["W_hr"] + p["b_r"])
    z = torch.sigmoid(x @ p["W_xz"] + h @ p["W_hz"] + p["b_z"])
    n = torch.tanh(x @ p["W_xn"] + (r * h) @ p["W_hn"] + p["b_xn"] + p["b_hn"])
    return (1 - z) * n + z * h
""",
    OVERRIDE: """
def gru_gate_override(p, mode):
    values = {"rnn": {"z": -40.0, "r": 40.0}, "copy": {"z": 40.0}, "mlp": {"z": -40.0, "r": -40.0}}
    if mode not in values:
        raise ValueError("mode should be 'rnn', 'copy' or 'mlp'")
    q = {key: value.clone() for key, value in p.items()}
    for gate, bias in values[mode].items():
        q[f"W_x{gate}"] = torch.zeros_like(p[f"W_x{gate}"])
        q[f"W_h{gate}"] = torch.zeros_like(p[f"W_h{gate}"])
        q[f"b_{gate}"] = torch.full_like(p[f"b_{gate}"], bias)
    return q
""",
}

EDITS = Edits(REFERENCE)
bug, correct = EDITS.bug, EDITS.correct

VALUES = 'values = {"rnn": {"z": -40.0, "r": 40.0}, "copy": {"z": 40.0}, "mlp": {"z": -40.0, "r": -40.0}}'
DOUBLE = "    x, h = x.double(), h.double()\n    p = {key: value.double() for key, value in p.items()}\n"
CLONE = "{key: value.clone() for key, value in p.items()}"
WEIGHTS = (  # the lines that zero a forced gate's weights
    '        q[f"W_x{gate}"] = torch.zeros_like(p[f"W_x{gate}"])\n'
    '        q[f"W_h{gate}"] = torch.zeros_like(p[f"W_h{gate}"])\n'
)

MUTANTS = [
    # ---- gru_cell ----------------------------------------------------------------------------
    bug(
        CELL,
        "z and 1 - z swapped: z = 1 takes the candidate",
        ("return (1 - z) * n + z * h", "return z * n + (1 - z) * h"),
    ),
    bug(
        CELL,
        "reset gate in Cho's place: (r * h) @ W_hn",
        ('p["b_xn"] + r * (h @ p["W_hn"] + p["b_hn"])', '(r * h) @ p["W_hn"] + p["b_xn"] + p["b_hn"]'),
    ),
    bug(
        CELL,
        "b_hn outside the reset gate",
        ('p["b_xn"] + r * (h @ p["W_hn"] + p["b_hn"])', 'p["b_xn"] + p["b_hn"] + r * (h @ p["W_hn"])'),
    ),
    bug(
        CELL,
        "gate order swapped: r computed with z's weights and z with r's",
        ('r = torch.sigmoid(x @ p["W_xr"]', 'z = torch.sigmoid(x @ p["W_xr"]'),
        ('z = torch.sigmoid(x @ p["W_xz"]', 'r = torch.sigmoid(x @ p["W_xz"]'),
    ),
    bug(CELL, "sigmoid and tanh mixed up: sigmoid candidate", ("n = torch.tanh(", "n = torch.sigmoid(")),
    bug(CELL, "b_hn missing", (' + p["b_hn"]', "")),
    bug(CELL, "updates h in place", ("    return (1 - z) * n + z * h", "    h.mul_(z)\n    return (1 - z) * n + h")),
    Mutant(
        CELL,
        "shortcut through torch.nn.GRUCell",
        "bug",
        """
def gru_cell(x, h, p):
    return weights.load_gru_weights(torch.nn.GRUCell(x.shape[1], h.shape[1]), p)(x, h)
""",
    ),
    bug(
        CELL,
        "computed in float64 whatever the input dtype (float32 in, float64 out)",
        ("(x, h, p):\n", "(x, h, p):\n" + DOUBLE),
    ),
    Mutant(
        CELL,
        "all gates from one concatenated matrix, then torch.lerp",
        "correct",
        """
def gru_cell(x, h, p):
    H = h.shape[1]
    gates_x = x @ torch.cat([p["W_xr"], p["W_xz"], p["W_xn"]], dim=1)
    gates_h = h @ torch.cat([p["W_hr"], p["W_hz"], p["W_hn"]], dim=1)
    r = torch.sigmoid(gates_x[:, :H] + gates_h[:, :H] + p["b_r"])
    z = torch.sigmoid(gates_x[:, H : 2 * H] + gates_h[:, H : 2 * H] + p["b_z"])
    n = torch.tanh(gates_x[:, 2 * H :] + p["b_xn"] + r * (gates_h[:, 2 * H :] + p["b_hn"]))
    return torch.lerp(n, h, z)
""",
    ),
    Mutant(
        CELL,
        "sigmoid written with exp, update written as n + z * (h - n)",
        "correct",
        """
def gru_cell(x, h, p):
    def sigmoid(a):
        return 1 / (1 + torch.exp(-a))

    reset = sigmoid(torch.addmm(p["b_r"], x, p["W_xr"]) + h @ p["W_hr"])
    update = sigmoid(torch.addmm(p["b_z"], x, p["W_xz"]) + h @ p["W_hz"])
    candidate = torch.tanh(torch.addmm(p["b_xn"], x, p["W_xn"]) + reset * torch.addmm(p["b_hn"], h, p["W_hn"]))
    return candidate + update * (h - candidate)
""",
    ),
    # ---- gru_forward -------------------------------------------------------------------------
    Mutant(
        FORWARD,
        "state not carried: every step starts from h0",
        "bug",
        """
def gru_forward(X, h0, p):
    states = [gru_cell(X[:, t], h0, p) for t in range(X.shape[1])]
    return torch.stack(states, dim=1), states[-1]
""",
    ),
    bug(
        FORWARD,
        "H_all holds h_0 ... h_{T-1} (off by one)",
        (
            "        h = gru_cell(X[:, t], h, p)\n        states.append(h)\n",
            "        states.append(h)\n        h = gru_cell(X[:, t], h, p)\n",
        ),
    ),
    bug(FORWARD, "h_T is the first state", ("dim=1), h", "dim=1), states[0]")),
    bug(FORWARD, "time-major output (T, B, H)", ("torch.stack(states, dim=1)", "torch.stack(states)")),
    Mutant(
        FORWARD,
        "Cho's cell instead of PyTorch's",
        "bug",
        """
def gru_forward(X, h0, p):
    h, states = h0, []
    for t in range(X.shape[1]):
        r = torch.sigmoid(X[:, t] @ p["W_xr"] + h @ p["W_hr"] + p["b_r"])
        z = torch.sigmoid(X[:, t] @ p["W_xz"] + h @ p["W_hz"] + p["b_z"])
        n = torch.tanh(X[:, t] @ p["W_xn"] + (r * h) @ p["W_hn"] + p["b_xn"] + p["b_hn"])
        h = (1 - z) * n + z * h
        states.append(h)
    return torch.stack(states, dim=1), h
""",
    ),
    Mutant(
        FORWARD,
        "float32 output buffer (torch.zeros without dtype)",
        "bug",
        """
def gru_forward(X, h0, p):
    B, T, _ = X.shape
    out = torch.zeros(B, T, h0.shape[1])
    h = h0
    for t in range(T):
        h = gru_cell(X[:, t], h, p)
        out[:, t] = h
    return out, h
""",
    ),
    Mutant(
        FORWARD,
        "shortcut through torch.nn.GRU",
        "bug",
        """
def gru_forward(X, h0, p):
    out, h_n = weights.gru_from_weights(p)(X, h0.unsqueeze(0))
    return out, h_n[0]
""",
    ),
    bug(
        FORWARD,
        "H_all squeezed (drops every axis of size 1)",
        ("torch.stack(states, dim=1)", "torch.stack(states, dim=1).squeeze()"),
    ),
    Mutant(
        FORWARD,
        "buffer with the input's dtype, filled step by step",
        "correct",
        """
def gru_forward(X, h0, p):
    B, T, _ = X.shape
    out = X.new_zeros(B, T, h0.shape[1])
    h = h0
    for t in range(T):
        h = gru_cell(X[:, t], h, p)
        out[:, t] = h
    return out, out[:, -1]
""",
    ),
    Mutant(
        FORWARD,
        "recursion over time, cell written inline",
        "correct",
        """
def gru_forward(X, h0, p):
    if X.shape[1] == 0:
        return X.new_zeros(X.shape[0], 0, h0.shape[1]), h0
    H_prev, h_prev = gru_forward(X[:, :-1], h0, p) if X.shape[1] > 1 else (None, h0)
    x = X[:, -1]
    r = torch.sigmoid(x @ p["W_xr"] + h_prev @ p["W_hr"] + p["b_r"])
    z = torch.sigmoid(x @ p["W_xz"] + h_prev @ p["W_hz"] + p["b_z"])
    n = torch.tanh(x @ p["W_xn"] + p["b_xn"] + r * (h_prev @ p["W_hn"] + p["b_hn"]))
    h = (1 - z) * n + z * h_prev
    H_all = h.unsqueeze(1) if H_prev is None else torch.cat([H_prev, h.unsqueeze(1)], dim=1)
    return H_all, h
""",
    ),
    # ---- gru_cell_cho ------------------------------------------------------------------------
    bug(
        CHO,
        "PyTorch's placement: r * (h @ W_hn + b_hn)",
        ('(r * h) @ p["W_hn"] + p["b_xn"] + p["b_hn"]', 'p["b_xn"] + r * (h @ p["W_hn"] + p["b_hn"])'),
    ),
    bug(
        CHO,
        "reset after the product, b_hn outside: r * (h @ W_hn) + b_hn",
        ('(r * h) @ p["W_hn"]', 'r * (h @ p["W_hn"])'),
    ),
    bug(CHO, "z and 1 - z swapped", ("return (1 - z) * n + z * h", "return z * n + (1 - z) * h")),
    bug(CHO, "b_hn dropped", (' + p["b_hn"]', "")),
    bug(CHO, "reset gate also applied to the gates' view of h", ('h @ p["W_hz"]', '(r * h) @ p["W_hz"]')),
    bug(
        CHO,
        "computed in float64 whatever the input dtype (float32 in, float64 out)",
        ("(x, h, p):\n", "(x, h, p):\n" + DOUBLE),
    ),
    Mutant(
        CHO,
        "candidate from torch.nn.GRUCell with its gates forced open, fed r * h",
        "bug",
        """
def gru_cell_cho(x, h, p):
    r = torch.sigmoid(x @ p["W_xr"] + h @ p["W_hr"] + p["b_r"])
    z = torch.sigmoid(x @ p["W_xz"] + h @ p["W_hz"] + p["b_z"])
    opened = dict(p)
    for gate, bias in (("r", 1e4), ("z", -1e4)):  # r = 1, z = 0: the cell returns its candidate
        opened["W_x" + gate] = torch.zeros_like(p["W_x" + gate])
        opened["W_h" + gate] = torch.zeros_like(p["W_h" + gate])
        opened["b_" + gate] = torch.full_like(p["b_" + gate], bias)
    D, H = p["W_xn"].shape
    n = weights.load_gru_weights(torch.nn.GRUCell(D, H, dtype=x.dtype), opened)(x, r * h)
    return (1 - z) * n + z * h
""",
    ),
    Mutant(
        CHO,
        "candidate from one concatenated product [x, r * h]",
        "correct",
        """
def gru_cell_cho(x, h, p):
    xh = torch.cat([x, h], dim=1)
    r = torch.sigmoid(xh @ torch.cat([p["W_xr"], p["W_hr"]]) + p["b_r"])
    z = torch.sigmoid(xh @ torch.cat([p["W_xz"], p["W_hz"]]) + p["b_z"])
    n = torch.tanh(torch.cat([x, r * h], dim=1) @ torch.cat([p["W_xn"], p["W_hn"]]) + p["b_xn"] + p["b_hn"])
    return n + z * (h - n)
""",
    ),
    # ---- gru_gate_override -------------------------------------------------------------------
    bug(OVERRIDE, "'rnn' forces z to 1 (the copy corner)", ('"rnn": {"z": -40.0', '"rnn": {"z": 40.0')),
    bug(OVERRIDE, "'mlp' leaves the reset gate alone", ('"mlp": {"z": -40.0, "r": -40.0}', '"mlp": {"z": -40.0}')),
    bug(
        OVERRIDE,
        "'rnn' closes the reset gate too (r ~ 0)",
        ('"rnn": {"z": -40.0, "r": 40.0}', '"rnn": {"z": -40.0, "r": -40.0}'),
    ),
    bug(
        OVERRIDE,
        "bias too small to saturate the gates (+-4, weights kept)",
        (VALUES, VALUES.replace("40.0", "4.0")),
        (CLONE, "dict(p)"),
        (WEIGHTS, ""),
    ),
    bug(
        OVERRIDE,
        "writes the forced values into p's own tensors",
        (CLONE, "dict(p)"),
        (
            WEIGHTS + '        q[f"b_{gate}"] = torch.full_like(p[f"b_{gate}"], bias)\n',
            '        q[f"W_x{gate}"].zero_()\n        q[f"W_h{gate}"].zero_()\n        q[f"b_{gate}"].fill_(bias)\n',
        ),
    ),
    bug(
        OVERRIDE,
        "unknown mode silently treated as 'rnn'",
        (VALUES, 'values = {"copy": {"z": 40.0}, "mlp": {"z": -40.0, "r": -40.0}}.get(mode, {"z": -40.0, "r": 40.0})'),
        ("    if mode not in values:\n        raise ValueError(\"mode should be 'rnn', 'copy' or 'mlp'\")\n", ""),
        ("values[mode].items()", "values.items()"),
    ),
    Mutant(
        OVERRIDE,
        "mode compared without case (mode.lower())",
        "bug",
        """
def gru_gate_override(p, mode):
    gate_values = {"rnn": {"z": 0.0, "r": 1.0}, "copy": {"z": 1.0}, "mlp": {"z": 0.0, "r": 0.0}}
    mode = mode.lower() if isinstance(mode, str) else mode
    if mode not in gate_values:
        raise ValueError(f"mode should be 'rnn', 'copy' or 'mlp', got {mode!r}")
    q = {key: value.clone() for key, value in p.items()}
    for gate, value in gate_values[mode].items():
        q[f"W_x{gate}"] = torch.zeros_like(p[f"W_x{gate}"])
        q[f"W_h{gate}"] = torch.zeros_like(p[f"W_h{gate}"])
        q[f"b_{gate}"] = torch.full_like(p[f"b_{gate}"], 40.0 if value else -40.0)
    return q
""",
    ),
    Mutant(
        OVERRIDE,
        "huge biases, weights kept, a shallow copy of the dict",
        "correct",
        """
def gru_gate_override(p, mode):
    if mode == "rnn":
        forced = {"b_z": -1e4, "b_r": 1e4}
    elif mode == "copy":
        forced = {"b_z": 1e4}
    elif mode == "mlp":
        forced = {"b_z": -1e4, "b_r": -1e4}
    else:
        raise ValueError(f"unknown mode {mode!r}: use 'rnn', 'copy' or 'mlp'")
    q = dict(p)
    for key, value in forced.items():
        q[key] = torch.full_like(p[key], value)
    return q
""",
    ),
    Mutant(
        OVERRIDE,
        "copy.deepcopy, then infinite biases in place on the copy",
        "correct",
        """
import copy


def gru_gate_override(p, mode):
    gates = {"rnn": (("z", False), ("r", True)), "copy": (("z", True),), "mlp": (("z", False), ("r", False))}
    if mode not in gates:
        raise ValueError("mode must be one of 'rnn', 'copy', 'mlp'")
    q = copy.deepcopy(p)
    for gate, open_ in gates[mode]:
        q["W_x" + gate].zero_()
        q["W_h" + gate].zero_()
        q["b_" + gate].fill_(float("inf") if open_ else float("-inf"))
    return q
""",
    ),
]
