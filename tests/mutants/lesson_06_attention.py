"""Mutants for lesson 06_attention.

Each entry replaces one solution cell (by grade id) of an otherwise correct submission with the reference answer
changed in one place (``Edits``: old text -> new text, each found exactly once), or with a whole alternative.
``kind="bug"``: the exercise's test cells must lose some of their points.  ``kind="correct"``: the whole
submission must keep full marks.
"""

from tests.mutants.mutant import Edits, Mutant

LESSON = "06_attention"

SOFTMAX = "06-masked-softmax"
DOT = "06-dot-score"
SCALED = "06-scaled-dot-score"
GENERAL = "06-general-score"
ADDITIVE = "06-additive-score"
ATTEND = "06-attend"

REFERENCE = {
    SOFTMAX: """
def masked_softmax(scores, mask):
    w = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return torch.nan_to_num(w, nan=0.0)
""",
    DOT: """
def dot_score(Q, K):
    return Q @ K.transpose(-2, -1)
""",
    SCALED: """
def scaled_dot_score(Q, K):
    return Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1])
""",
    GENERAL: """
def general_score(Q, K, W):
    return Q @ W @ K.transpose(-2, -1)
""",
    ADDITIVE: """
def additive_score(Q, K, W_q, W_k, v):
    return torch.tanh((Q @ W_q).unsqueeze(2) + (K @ W_k).unsqueeze(1)) @ v
""",
    ATTEND: """
def attend(scores, V, mask=None):
    if mask is None:
        mask = torch.ones_like(scores, dtype=torch.bool)
    weights = masked_softmax(scores, mask)
    return weights @ V, weights
""",
}

EDITS = Edits(REFERENCE)
bug, correct = EDITS.bug, EDITS.correct

PAIRS = "(Q @ W_q).unsqueeze(2) + (K @ W_k).unsqueeze(1)"
DEFAULT = "    if mask is None:\n        mask = torch.ones_like(scores, dtype=torch.bool)\n"

MUTANTS = [
    # ---- masked_softmax ----------------------------------------------------------------------
    Mutant(
        SOFTMAX,
        "mask ignored",
        "bug",
        """
def masked_softmax(scores, mask):
    return torch.softmax(scores, dim=-1)
""",
    ),
    Mutant(
        SOFTMAX,
        "softmax multiplied by the mask, not renormalised",
        "bug",
        """
def masked_softmax(scores, mask):
    return torch.softmax(scores, dim=-1) * mask
""",
    ),
    bug(
        SOFTMAX,
        "-inf fill and softmax: NaN for a row with nothing kept",
        ("w = torch.softmax(", "return torch.softmax("),
        ("\n    return torch.nan_to_num(w, nan=0.0)", ""),
    ),
    bug(
        SOFTMAX,
        "fill with -1e9: a row with nothing kept becomes uniform",
        ("w = torch.softmax(", "return torch.softmax("),
        ('float("-inf")', "-1e9"),
        ("\n    return torch.nan_to_num(w, nan=0.0)", ""),
    ),
    bug(SOFTMAX, "mask meaning inverted (True = drop)", ("masked_fill(~mask,", "masked_fill(mask,")),
    bug(SOFTMAX, "softmax over the queries (dim -2)", ("dim=-1)", "dim=-2)")),
    Mutant(
        SOFTMAX,
        "exp without subtracting the maximum: overflows on large scores",
        "bug",
        """
def masked_softmax(scores, mask):
    e = torch.exp(scores) * mask
    total = e.sum(-1, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))
""",
    ),
    Mutant(
        SOFTMAX,
        "0/0 hidden by torch.where: NaN gradient through an empty row",
        "bug",
        """
def masked_softmax(scores, mask):
    keep = mask.expand(scores.shape)
    m = torch.nan_to_num(scores.masked_fill(~keep, float("-inf")).amax(-1, keepdim=True), neginf=0.0)
    e = torch.exp((scores - m).clamp(max=0.0)) * keep  # clamped so that masked scores cannot overflow
    total = e.sum(-1, keepdim=True)
    return torch.where(total > 0, e / total, torch.zeros_like(e))
""",
    ),
    correct(SOFTMAX, "masked_fill(-inf), softmax, then nan_to_num"),  # the reference itself, no edit
    Mutant(
        SOFTMAX,
        "torch.where on rows with something kept, F.softmax",
        "correct",
        """
import torch.nn.functional as F


def masked_softmax(scores, mask):
    keep = torch.broadcast_to(mask, scores.shape)
    weights = F.softmax(scores.masked_fill(~keep, float("-inf")), dim=-1)
    return torch.where(keep.any(dim=-1, keepdim=True), weights, torch.zeros_like(weights))
""",
    ),
    Mutant(
        SOFTMAX,
        "own exp and sum, maximum over the kept scores",
        "correct",
        """
def masked_softmax(scores, mask):
    keep = mask.expand(scores.shape)
    safe = torch.where(keep, scores, torch.full_like(scores, -float("inf")))
    top = safe.max(dim=-1, keepdim=True).values
    top = torch.where(torch.isinf(top), torch.zeros_like(top), top).detach()
    e = torch.exp(safe - top)
    return e / e.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(scores.dtype).tiny)
""",
    ),
    # ---- dot_score ---------------------------------------------------------------------------
    bug(
        DOT,
        "keys against queries: result transposed (B, Tk, Tq)",
        ("Q @ K.transpose(-2, -1)", "K @ Q.transpose(-2, -1)"),
    ),
    bug(DOT, "scaled by sqrt(d)", ("K.transpose(-2, -1)", "K.transpose(-2, -1) / math.sqrt(Q.shape[-1])")),
    Mutant(
        DOT,
        "position by position: query i with key i only",
        "bug",
        """
def dot_score(Q, K):
    return (Q * K).sum(-1, keepdim=True).expand(-1, -1, K.shape[1])
""",
    ),
    bug(
        DOT, "computed in float32 whatever the inputs' dtype", ("Q @ K.transpose(", "Q.float() @ K.float().transpose(")
    ),
    bug(DOT, "keys transposed in place (K.transpose_)", ("K.transpose(", "K.transpose_(")),
    Mutant(
        DOT,
        "einsum",
        "correct",
        """
def dot_score(Q, K):
    return torch.einsum("bid,bjd->bij", Q, K)
""",
    ),
    Mutant(
        DOT,
        "explicit loops over the batch and the queries",
        "correct",
        """
def dot_score(Q, K):
    rows = []
    for b in range(Q.shape[0]):
        rows.append(torch.stack([K[b] @ Q[b, i] for i in range(Q.shape[1])]))
    return torch.stack(rows)
""",
    ),
    # ---- scaled_dot_score --------------------------------------------------------------------
    bug(SCALED, "divided by d instead of sqrt(d)", ("math.sqrt(Q.shape[-1])", "Q.shape[-1]")),
    bug(SCALED, "divided by sqrt of the number of keys", ("math.sqrt(Q.shape[-1])", "math.sqrt(K.shape[1])")),
    bug(SCALED, "multiplied by sqrt(d)", ("/ math.sqrt(", "* math.sqrt(")),
    bug(SCALED, "not scaled", (" / math.sqrt(Q.shape[-1])", "")),
    Mutant(
        SCALED,
        "queries divided in place (Q /= sqrt(d))",
        "bug",
        """
def scaled_dot_score(Q, K):
    Q /= math.sqrt(Q.shape[-1])
    return dot_score(Q, K)
""",
    ),
    Mutant(
        SCALED,
        "queries scaled first, float64 arithmetic, d from K",
        "correct",
        """
def scaled_dot_score(Q, K):
    d = K.size(-1)
    return (Q * d**-0.5) @ K.mT
""",
    ),
    Mutant(
        SCALED,
        "dot_score times a tensor scale",
        "correct",
        """
def scaled_dot_score(Q, K):
    scale = torch.tensor(Q.shape[-1], dtype=Q.dtype).rsqrt()
    return dot_score(Q, K) * scale
""",
    ),
    # ---- general_score -----------------------------------------------------------------------
    bug(GENERAL, "W transposed", ("Q @ W @", "Q @ W.T @")),
    bug(GENERAL, "result transposed: keys as rows", ("Q @ W @ K.transpose(-2, -1)", "K @ W.T @ Q.transpose(-2, -1)")),
    bug(
        GENERAL,
        "W ignored where the widths agree",
        (
            "    return Q @ W",
            "    if Q.shape[-1] == K.shape[-1]:\n        return Q @ K.transpose(-2, -1)\n    return Q @ W",
        ),
    ),
    bug(GENERAL, "scaled by sqrt(dk)", ("K.transpose(-2, -1)", "K.transpose(-2, -1) / math.sqrt(K.shape[-1])")),
    bug(GENERAL, "keys transposed in place (K.transpose_)", ("K.transpose(-2, -1)", "K.transpose_(1, 2)")),
    Mutant(
        GENERAL,
        "keys projected with W transposed, then a dot product (einsum)",
        "correct",
        """
def general_score(Q, K, W):
    projected_keys = torch.einsum("bjk,qk->bjq", K, W)  # K W^T: (B, Tk, dq)
    return torch.einsum("biq,bjq->bij", Q, projected_keys)
""",
    ),
    # ---- additive_score ----------------------------------------------------------------------
    bug(ADDITIVE, "tanh missing", ("torch.tanh(", "(")),
    bug(ADDITIVE, "sigmoid instead of tanh", ("torch.tanh(", "torch.sigmoid(")),
    bug(
        ADDITIVE,
        "W_q and W_k swapped where the shapes allow it",
        ("    return", "    if W_q.shape == W_k.shape:\n        W_q, W_k = W_k, W_q\n    return"),
    ),
    bug(ADDITIVE, "v inside the tanh", ("torch.tanh(" + PAIRS + ") @ v", "torch.tanh((" + PAIRS + ") @ v)")),
    bug(
        ADDITIVE,
        "axes inserted the other way round: result transposed",
        (".unsqueeze(2) + (K @ W_k).unsqueeze(1)", ".unsqueeze(1) + (K @ W_k).unsqueeze(2)"),
    ),
    Mutant(
        ADDITIVE,
        "v made a column in place (v.unsqueeze_)",
        "bug",
        """
def additive_score(Q, K, W_q, W_k, v):
    pairs = torch.tanh((Q @ W_q).unsqueeze(2) + (K @ W_k).unsqueeze(1))
    return (pairs @ v.unsqueeze_(-1)).squeeze(-1)
""",
    ),
    Mutant(
        ADDITIVE,
        "explicit double loop over queries and keys",
        "correct",
        """
def additive_score(Q, K, W_q, W_k, v):
    B, Tq, Tk = Q.shape[0], Q.shape[1], K.shape[1]
    columns = []
    for i in range(Tq):
        row = []
        for j in range(Tk):
            row.append(torch.tanh(Q[:, i] @ W_q + K[:, j] @ W_k) @ v)  # (B,)
        columns.append(torch.stack(row, dim=-1))  # (B, Tk)
    return torch.stack(columns, dim=1)
""",
    ),
    Mutant(
        ADDITIVE,
        "einsum and expand",
        "correct",
        """
def additive_score(Q, K, W_q, W_k, v):
    q = torch.einsum("bid,dh->bih", Q, W_q)[:, :, None, :]
    k = torch.einsum("bjd,dh->bjh", K, W_k)[:, None, :, :]
    return torch.einsum("bijh,h->bij", torch.tanh(q + k), v)
""",
    ),
    # ---- attend ------------------------------------------------------------------------------
    bug(
        ATTEND,
        "softmax over the queries (dim 1)",
        (
            "masked_softmax(scores, mask)",
            "masked_softmax(scores.transpose(1, 2), mask.expand(scores.shape).transpose(1, 2)).transpose(1, 2)",
        ),
    ),
    bug(ATTEND, "mask ignored", (DEFAULT, ""), ("masked_softmax(scores, mask)", "torch.softmax(scores, dim=-1)")),
    bug(
        ATTEND,
        "scores used as weights (no softmax)",
        (DEFAULT, ""),
        ("masked_softmax(scores, mask)", "scores if mask is None else scores * mask"),
    ),
    Mutant(
        ATTEND,
        "pair returned in the wrong order",
        "bug",
        """
def attend(scores, V, mask=None):
    weights = masked_softmax(scores, torch.ones_like(scores, dtype=torch.bool) if mask is None else mask)
    return weights, weights @ V
""",
    ),
    Mutant(
        ATTEND,
        "weights normalised by their plain sum (no exponential)",
        "bug",
        """
def attend(scores, V, mask=None):
    keep = torch.ones_like(scores, dtype=torch.bool) if mask is None else mask.expand(scores.shape)
    s = scores.abs() * keep
    weights = s / s.sum(-1, keepdim=True).clamp_min(1e-12)
    return weights @ V, weights
""",
    ),
    Mutant(
        ATTEND,
        "own softmax of the -inf-filled scores: NaN for a query that keeps no key",
        "bug",
        """
def attend(scores, V, mask=None):
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ V, weights
""",
    ),
    Mutant(
        ATTEND,
        "context through F.scaled_dot_product_attention (identity keys, scale 1)",
        "bug",
        """
import torch.nn.functional as F


def attend(scores, V, mask=None):
    weights = masked_softmax(scores, torch.ones(scores.shape[-1], dtype=torch.bool) if mask is None else mask)
    keys = torch.eye(scores.shape[-1], dtype=scores.dtype).expand(scores.shape[0], -1, -1)
    context = F.scaled_dot_product_attention(scores, keys, V, attn_mask=mask, scale=1.0)
    return torch.nan_to_num(context, nan=0.0), weights
""",
    ),
    Mutant(
        ATTEND,
        "own softmax and einsum, no call to masked_softmax",
        "correct",
        """
def attend(scores, V, mask=None):
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.nan_to_num(torch.softmax(scores, dim=-1), nan=0.0)
    context = torch.einsum("bij,bjv->biv", weights, V)
    return context, weights
""",
    ),
]
