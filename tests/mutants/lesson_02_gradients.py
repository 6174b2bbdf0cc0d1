"""Mutants for lesson 02_gradients.

Each entry replaces one solution cell (by grade id) of an otherwise correct submission with the reference answer
changed in one place (``Edits``: old text -> new text, each found exactly once), or with a whole alternative.
``kind="bug"``: the exercise must lose points (in at least one of its test cells).  ``kind="correct"``: the whole
submission must keep full marks.
"""

from tests.mutants.mutant import Edits, Mutant

LESSON = "02_gradients"

TANH = "02-tanh-grad-from-output"
BACKWARD = "02-rnn-backward"
JACOBIAN = "02-hidden-jacobian-norms"
CLIP = "02-clip-by-global-norm"

REFERENCE = {
    TANH: "def tanh_grad_from_output(h):\n    return 1 - h**2\n",
    BACKWARD: """
def rnn_backward(X, h0, W_xh, W_hh, b_h, dH):
    T = X.shape[1]
    states = [h0]
    for t in range(T):
        states.append(torch.tanh(X[:, t] @ W_xh + states[-1] @ W_hh + b_h))
    grads = {"X": torch.zeros_like(X), "W_xh": torch.zeros_like(W_xh), "W_hh": torch.zeros_like(W_hh),
             "b_h": torch.zeros_like(b_h)}
    from_later = torch.zeros_like(h0)
    for t in reversed(range(T)):
        g = (dH[:, t] + from_later) * tanh_grad_from_output(states[t + 1])
        grads["X"][:, t] = g @ W_xh.T
        grads["W_xh"] += X[:, t].T @ g
        grads["W_hh"] += states[t].T @ g
        grads["b_h"] += g.sum(dim=0)
        from_later = g @ W_hh.T
    grads["h0"] = from_later
    return grads
""",
    JACOBIAN: """
def hidden_jacobian_norms(X, h0, W_xh, W_hh, b_h):
    T = X.shape[1]
    h, states = h0, [h0[0]]
    for t in range(T):
        h = torch.tanh(X[:, t] @ W_xh + h @ W_hh + b_h)
        states.append(h[0])
    norms = X.new_zeros(T)
    product = torch.eye(W_hh.shape[0], dtype=W_hh.dtype)
    for t in reversed(range(T)):
        jacobian = tanh_grad_from_output(states[t + 1])[:, None] * W_hh.T
        product = product @ jacobian
        norms[t] = torch.linalg.matrix_norm(product)
    return norms
""",
    CLIP: """
def clip_by_global_norm(grads, max_norm):
    total = math.sqrt(sum(float((g**2).sum()) for g in grads))
    scale = min(1.0, max_norm / (total + 1e-6))
    return [g * scale for g in grads]
""",
}

EDITS = Edits(REFERENCE)
bug, correct = EDITS.bug, EDITS.correct

MUTANTS = [
    # ---- tanh_grad_from_output ---------------------------------------------------------------
    bug(TANH, "tanh applied to the output again", ("1 - h**2", "1 - torch.tanh(h) ** 2")),
    Mutant(TANH, "the sigmoid's derivative h(1 - h)", "bug", "def tanh_grad_from_output(h):\n    return h * (1 - h)\n"),
    bug(TANH, "1 - h", ("1 - h**2", "1 - h")),
    bug(TANH, "(1 - h) squared", ("1 - h**2", "(1 - h) ** 2")),
    Mutant(
        TANH,
        "computed in place in h (the caller's h changes)",
        "bug",
        "def tanh_grad_from_output(h):\n    return h.mul_(h).neg_().add_(1)\n",
    ),
    Mutant(TANH, "factored (1 - h)(1 + h)", "correct", "def tanh_grad_from_output(h):\n    return (1 - h) * (1 + h)\n"),
    Mutant(
        TANH,
        "ones_like minus h*h",
        "correct",
        "def tanh_grad_from_output(h):\n    return torch.ones_like(h) - h * h\n",
    ),
    # ---- rnn_backward -------------------------------------------------------------------------
    bug(BACKWARD, "no gradient carried from later steps", ("g = (dH[:, t] + from_later) *", "g = dH[:, t] *")),
    bug(
        BACKWARD,
        "W_hh's gradient pairs g_t with h_t instead of h_{t-1}",
        ('grads["W_hh"] += states[t].T @ g', 'grads["W_hh"] += states[t + 1].T @ g'),
    ),
    bug(
        BACKWARD,
        "tanh' taken at the previous state",
        ("tanh_grad_from_output(states[t + 1])", "tanh_grad_from_output(states[t])"),
    ),
    bug(
        BACKWARD,
        "carried gradient skips the tanh'",
        ("from_later = g @ W_hh.T", "from_later = (dH[:, t] + from_later) @ W_hh.T"),
    ),
    bug(BACKWARD, "W_hh not transposed going back", ("from_later = g @ W_hh.T", "from_later = g @ W_hh")),
    bug(BACKWARD, "bias gradient averaged over the batch", ("g.sum(dim=0)", "g.mean(dim=0)")),
    bug(BACKWARD, "h0 gradient left at zero", ('grads["h0"] = from_later', 'grads["h0"] = torch.zeros_like(h0)')),
    Mutant(
        BACKWARD,
        "autograd inside",
        "bug",
        """
def rnn_backward(X, h0, W_xh, W_hh, b_h, dH):
    leaves = [t.detach().clone().requires_grad_() for t in (X, h0, W_xh, W_hh, b_h)]
    h, states = leaves[1], []
    for t in range(X.shape[1]):
        h = torch.tanh(leaves[0][:, t] @ leaves[2] + h @ leaves[3] + leaves[4])
        states.append(h)
    grads = torch.autograd.grad((torch.stack(states, dim=1) * dH).sum(), leaves)
    return dict(zip(("X", "h0", "W_xh", "W_hh", "b_h"), grads))
""",
    ),
    bug(
        BACKWARD,
        "carried gradient accumulated into dH in place (the caller's dH changes)",
        ("    from_later = torch.zeros_like(h0)\n", ""),
        ("g = (dH[:, t] + from_later) *", "g = dH[:, t] *"),
        (
            '        from_later = g @ W_hh.T\n    grads["h0"] = from_later',
            '        if t > 0:\n            dH[:, t - 1] += g @ W_hh.T\n    grads["h0"] = g @ W_hh.T',
        ),
    ),
    Mutant(
        BACKWARD,
        "gate gradients collected first, parameter gradients vectorised with einsum",
        "correct",
        """
def rnn_backward(X, h0, W_xh, W_hh, b_h, dH):
    B, T, _ = X.shape
    hs = [h0]
    for t in range(T):
        hs.append(torch.tanh(X[:, t] @ W_xh + hs[-1] @ W_hh + b_h))
    states = torch.stack(hs, dim=1)  # (B, T+1, H)
    G = [None] * T
    carry = torch.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        G[t] = (dH[:, t] + carry) * (1.0 - states[:, t + 1] ** 2)
        carry = G[t] @ W_hh.T
    G = torch.stack(G, dim=1)  # (B, T, H)
    return {
        "X": G @ W_xh.T,
        "h0": carry,
        "W_xh": torch.einsum("btd,bth->dh", X, G),
        "W_hh": torch.einsum("bti,btj->ij", states[:, :-1], G),
        "b_h": G.sum(dim=(0, 1)),
    }
""",
    ),
    Mutant(
        BACKWARD,
        "pre-activations stored, loop over the batch for W_xh",
        "correct",
        """
def rnn_backward(X, h0, W_xh, W_hh, b_h, dH):
    T = X.shape[1]
    pre, states = [], [h0]
    for t in range(T):
        a = X[:, t] @ W_xh + states[-1] @ W_hh + b_h
        pre.append(a)
        states.append(torch.tanh(a))
    dX_steps = [None] * T
    dW_xh, dW_hh, db = 0 * W_xh, 0 * W_hh, 0 * b_h
    delta = dH[:, T - 1]
    for t in reversed(range(T)):
        g = delta * (1 - torch.tanh(pre[t]) ** 2)
        dX_steps[t] = g @ W_xh.T
        for b in range(X.shape[0]):
            dW_xh = dW_xh + torch.outer(X[b, t], g[b])
        dW_hh = dW_hh + states[t].T @ g
        db = db + g.sum(0)
        delta = g @ W_hh.T + (dH[:, t - 1] if t > 0 else 0)
    return {"X": torch.stack(dX_steps, dim=1), "h0": g @ W_hh.T, "W_xh": dW_xh, "W_hh": dW_hh, "b_h": db}
""",
    ),
    # ---- hidden_jacobian_norms ----------------------------------------------------------------
    bug(
        JACOBIAN,
        "tanh' taken at the earlier state",
        ("tanh_grad_from_output(states[t + 1])", "tanh_grad_from_output(states[t])"),
    ),
    bug(JACOBIAN, "W_hh not transposed", ("[:, None] * W_hh.T", "[:, None] * W_hh")),
    bug(JACOBIAN, "product built in the wrong order", ("product = product @ jacobian", "product = jacobian @ product")),
    bug(
        JACOBIAN,
        "spectral norm instead of Frobenius",
        ("torch.linalg.matrix_norm(product)", "torch.linalg.matrix_norm(product, ord=2)"),
    ),
    bug(JACOBIAN, "indexed by distance instead of by k", ("norms[t] =", "norms[T - 1 - t] =")),
    bug(JACOBIAN, "no tanh' factor", ("tanh_grad_from_output(states[t + 1])[:, None] * W_hh.T", "W_hh.T")),
    bug(
        JACOBIAN,
        "state updated in h0's memory (the caller's h0 changes)",
        (
            "h = torch.tanh(X[:, t] @ W_xh + h @ W_hh + b_h)\n        states.append(h[0])",
            "h.copy_(torch.tanh(X[:, t] @ W_xh + h @ W_hh + b_h))\n        states.append(h[0].clone())",
        ),
    ),
    bug(
        JACOBIAN,
        "W_hh.T scaled in place (W_hh changes at every step)",
        (
            "jacobian = tanh_grad_from_output(states[t + 1])[:, None] * W_hh.T",
            "jacobian = W_hh.T\n        jacobian *= tanh_grad_from_output(states[t + 1])[:, None]",
        ),
    ),
    Mutant(
        JACOBIAN,
        "Jacobians from torch.autograd.functional.jacobian",
        "bug",
        """
def hidden_jacobian_norms(X, h0, W_xh, W_hh, b_h):
    T = X.shape[1]

    def run_from(k, h_k):
        h = h_k[None]
        for t in range(k, T):
            h = torch.tanh(X[:, t] @ W_xh + h @ W_hh + b_h)
        return h[0]

    states = [h0[0]]
    for t in range(T):
        states.append(torch.tanh(X[0, t] @ W_xh + states[-1] @ W_hh + b_h))
    jacobians = [torch.autograd.functional.jacobian(lambda h, k=k: run_from(k, h), states[k]) for k in range(T)]
    return torch.stack([torch.linalg.matrix_norm(J) for J in jacobians])
""",
    ),
    Mutant(
        JACOBIAN,
        "every product from scratch, transposed convention",
        "correct",
        """
def hidden_jacobian_norms(X, h0, W_xh, W_hh, b_h):
    T = X.shape[1]
    h, slopes = h0, []
    for t in range(T):
        h = torch.tanh(X[:, t] @ W_xh + h @ W_hh + b_h)
        slopes.append(1 - h[0] ** 2)
    out = []
    for k in range(T):
        # (d h_T / d h_k)^T = (W_hh diag(s_{k+1})) ... (W_hh diag(s_T)): same Frobenius norm
        M = torch.eye(W_hh.shape[0], dtype=W_hh.dtype)
        for t in range(k, T):
            M = M @ (W_hh * slopes[t][None, :])
        out.append(M.pow(2).sum().sqrt())
    return torch.stack(out)
""",
    ),
    # ---- clip_by_global_norm ------------------------------------------------------------------
    Mutant(
        CLIP,
        "each tensor clipped on its own",
        "bug",
        """
def clip_by_global_norm(grads, max_norm):
    return [g * min(1.0, max_norm / (float(g.norm()) + 1e-6)) for g in grads]
""",
    ),
    bug(
        CLIP,
        "always rescaled to max_norm",
        (
            "    scale = min(1.0, max_norm / (total + 1e-6))\n    return [g * scale for g in grads]",
            "    return [g * (max_norm / (total + 1e-6)) for g in grads]",
        ),
    ),
    bug(
        CLIP,
        "sum of norms instead of the global norm",
        ("math.sqrt(sum(float((g**2).sum()) for g in grads))", "sum(float(g.norm()) for g in grads)"),
    ),
    bug(
        CLIP,
        "scales the inputs in place",
        ("    return [g * scale for g in grads]", "    for g in grads:\n        g.mul_(scale)\n    return grads"),
    ),
    Mutant(
        CLIP,
        "clipping by value",
        "bug",
        """
def clip_by_global_norm(grads, max_norm):
    return [g.clamp(-max_norm, max_norm) for g in grads]
""",
    ),
    bug(
        CLIP,
        "global norm from torch.stack of the norms (fails on an empty list)",
        (
            "math.sqrt(sum(float((g**2).sum()) for g in grads))",
            "torch.linalg.vector_norm(torch.stack([g.double().norm() for g in grads]))",
        ),
        ("(total + 1e-6)", "(float(total) + 1e-6)"),
    ),
    Mutant(
        CLIP,
        "clip_grad_norm_ on copies of the gradients",
        "bug",
        """
def clip_by_global_norm(grads, max_norm):
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for param, g in zip(params, grads):
        param.grad = g.clone()
    torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [param.grad for param in params]
""",
    ),
    Mutant(
        CLIP,
        "vector_norm of the concatenation, no epsilon, clamp",
        "correct",
        """
def clip_by_global_norm(grads, max_norm):
    if len(grads) == 0:
        return []
    total = torch.linalg.vector_norm(torch.cat([g.reshape(-1).double() for g in grads]))
    factor = torch.clamp(max_norm / total, max=1.0)
    return [(g.double() * factor).to(g.dtype) for g in grads]
""",
    ),
    Mutant(
        CLIP,
        "clone when below the threshold",
        "correct",
        """
def clip_by_global_norm(grads, max_norm):
    squares = 0.0
    for g in grads:
        squares += (g.double() ** 2).sum().item()
    total = squares**0.5
    if total <= max_norm:
        return [g.clone() for g in grads]
    return [g * (max_norm / (total + 1e-6)) for g in grads]
""",
    ),
]
