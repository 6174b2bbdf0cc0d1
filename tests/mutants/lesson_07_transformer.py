"""Mutants for lesson 07_transformer.

Each entry replaces one solution cell (by grade id) of an otherwise correct submission with the reference answer
changed in one place (``Edits``: old text -> new text, each found exactly once), or with a whole alternative.
``kind="bug"``: the exercise's test cells must lose some of their points.  ``kind="correct"``: the whole
submission must keep full marks.
"""

from tests.mutants.mutant import Edits, Mutant

LESSON = "07_transformer"

SDPA = "07-scaled-dot-product-attention"
CAUSAL = "07-causal-mask"
PE = "07-positional-encoding"
MHA = "07-multi-head-attention"
BLOCK = "07-encoder-block"

# The fixed parts of the two module cells: a whole alternative replaces the whole cell, so it repeats them.
MHA_HEAD = """
from torch import nn


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, num_heads):
        super().__init__()
        if d_model % num_heads != 0:
            raise ValueError(f"num_heads ({num_heads}) must divide d_model ({d_model})")
        self.d_model, self.num_heads, self.d_head = d_model, num_heads, d_model // num_heads
        self.W_q = nn.Linear(d_model, d_model)
        self.W_k = nn.Linear(d_model, d_model)
        self.W_v = nn.Linear(d_model, d_model)
        self.W_o = nn.Linear(d_model, d_model)
"""

BLOCK_HEAD = """
class EncoderBlock(nn.Module):
    def __init__(self, d_model, num_heads, d_ff):
        super().__init__()
        self.attn = MultiHeadAttention(d_model, num_heads)
        self.ff1 = nn.Linear(d_model, d_ff)
        self.ff2 = nn.Linear(d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
"""


def _mha(forward: str) -> str:
    return MHA_HEAD + forward


def _block(forward: str) -> str:
    return BLOCK_HEAD + forward


REFERENCE = {
    SDPA: """
def scaled_dot_product_attention(Q, K, V, mask=None):
    scores = Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.nan_to_num(torch.softmax(scores, dim=-1), nan=0.0)
    return weights @ V, weights
""",
    CAUSAL: """
def causal_mask(T):
    return torch.ones(T, T, dtype=torch.bool).tril()
""",
    PE: """
def sinusoidal_positional_encoding(max_len, d_model):
    p = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)
    angles = p / 10000 ** (torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles[:, : d_model // 2])
    return pe.float()
""",
    MHA: _mha("""
    def forward(self, query, key, value, mask=None):
        B, Tq, Tk = query.shape[0], query.shape[1], key.shape[1]

        def split(x, T):
            return x.view(B, T, self.num_heads, self.d_head).transpose(1, 2)

        heads, weights = scaled_dot_product_attention(
            split(self.W_q(query), Tq), split(self.W_k(key), Tk), split(self.W_v(value), Tk), mask
        )
        return self.W_o(heads.transpose(1, 2).reshape(B, Tq, self.d_model)), weights
"""),
    BLOCK: _block("""
    def forward(self, x, mask=None):
        x = self.norm1(x + self.attn(x, x, x, mask)[0])
        return self.norm2(x + self.ff2(torch.relu(self.ff1(x))))
"""),
}

EDITS = Edits(REFERENCE)
bug, correct = EDITS.bug, EDITS.correct

SOFTMAX = "torch.nan_to_num(torch.softmax(scores, dim=-1), nan=0.0)"
ATTEND = """        heads, weights = scaled_dot_product_attention(
            split(self.W_q(query), Tq), split(self.W_k(key), Tk), split(self.W_v(value), Tk), mask
        )"""
OUT = "return self.W_o(heads.transpose(1, 2).reshape(B, Tq, self.d_model)), weights"
ANGLES = "angles = p / 10000 ** (torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)"

MUTANTS = [
    # ---- scaled_dot_product_attention --------------------------------------------------------
    bug(SDPA, "no scaling", (" / math.sqrt(Q.shape[-1])", "")),
    bug(SDPA, "scaled by d instead of sqrt(d)", ("math.sqrt(Q.shape[-1])", "Q.shape[-1]")),
    bug(SDPA, "scaled by sqrt(dv), the values' width", ("math.sqrt(Q.shape[-1])", "math.sqrt(V.shape[-1])")),
    bug(SDPA, "softmax over the queries (dim -2)", ("softmax(scores, dim=-1)", "softmax(scores, dim=-2)")),
    bug(
        SDPA, "mask inverted (PyTorch's nn.MultiheadAttention convention)", ("masked_fill(~mask,", "masked_fill(mask,")
    ),
    bug(SDPA, "-inf fill and softmax: NaN for a query with no key kept", (SOFTMAX, "torch.softmax(scores, dim=-1)")),
    bug(
        SDPA,
        "fill with -1e9: a query with no key kept reads the uniform average",
        ('float("-inf")', "-1e9"),
        (SOFTMAX, "torch.softmax(scores, dim=-1)"),
    ),
    Mutant(
        SDPA,
        "PyTorch's fused kernel, NaN rows cleaned up",
        "bug",
        """
import torch.nn.functional as F


def scaled_dot_product_attention(Q, K, V, mask=None):
    out = torch.nan_to_num(F.scaled_dot_product_attention(Q, K, V, attn_mask=mask))
    scores = Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return out, torch.nan_to_num(torch.softmax(scores, dim=-1))
""",
    ),
    bug(
        SDPA,
        "matmul in float32 whatever the inputs' dtype",
        ("Q @ K.transpose(", "Q.float() @ K.float().transpose("),
        ("return weights @ V, weights", "return (weights @ V.float()).to(Q.dtype), weights.to(Q.dtype)"),
    ),
    correct(
        SDPA,
        "masked_fill(-inf), softmax, nan_to_num, einsum",
        ("Q @ K.transpose(-2, -1)", 'torch.einsum("...qd,...kd->...qk", Q, K)'),
        ("return weights @ V,", 'return torch.einsum("...qk,...kv->...qv", weights, V),'),
    ),
    Mutant(
        SDPA,
        "queries scaled first, torch.where on rows with a key kept",
        "correct",
        """
def scaled_dot_product_attention(Q, K, V, mask=None):
    scores = (Q * Q.size(-1) ** -0.5) @ K.mT
    if mask is None:
        mask = torch.ones(scores.shape[-1], dtype=torch.bool)
    keep = torch.broadcast_to(mask, scores.shape)
    weights = torch.softmax(scores.masked_fill(~keep, float("-inf")), dim=-1)
    weights = torch.where(keep.any(dim=-1, keepdim=True), weights, torch.zeros_like(weights))
    return weights @ V, weights
""",
    ),
    # ---- causal_mask -------------------------------------------------------------------------
    bug(CAUSAL, "transposed: upper triangle (queries see the future)", (".tril()", ".triu()")),
    bug(CAUSAL, "strict: key < query, a position cannot see itself", (".tril()", ".tril(-1)")),
    bug(CAUSAL, "integer 0/1 instead of bool", ("dtype=torch.bool", "dtype=torch.long")),
    bug(CAUSAL, "PyTorch's convention: True where masked", (".tril()", ".triu(1)")),
    Mutant(
        CAUSAL,
        "additive float mask with -inf above the diagonal",
        "bug",
        """
def causal_mask(T):
    return torch.full((T, T), float("-inf")).triu(1)
""",
    ),
    Mutant(
        CAUSAL,
        "comparison of two arange vectors",
        "correct",
        """
def causal_mask(T):
    positions = torch.arange(T)
    return positions[None, :] <= positions[:, None]
""",
    ),
    Mutant(
        CAUSAL,
        "double loop",
        "correct",
        """
def causal_mask(T):
    mask = torch.zeros(T, T, dtype=torch.bool)
    for i in range(T):
        for j in range(i + 1):
            mask[i, j] = True
    return mask
""",
    ),
    # ---- sinusoidal_positional_encoding ------------------------------------------------------
    bug(
        PE,
        "sin and cos swapped",
        ("pe[:, 0::2] = torch.sin(", "pe[:, 0::2] = torch.cos("),
        ("pe[:, 1::2] = torch.cos(", "pe[:, 1::2] = torch.sin("),
    ),
    bug(
        PE,
        "exponent i / d instead of 2i / d",
        (ANGLES, "i = torch.arange((d_model + 1) // 2, dtype=torch.float64)\n    angles = p / 10000 ** (i / d_model)"),
    ),
    bug(PE, "positions start at 1", ("torch.arange(max_len,", "torch.arange(1, max_len + 1,")),
    bug(
        PE,
        "all sines first, then all cosines (not interleaved)",
        (
            "pe = torch.zeros(max_len, d_model, dtype=torch.float64)\n"
            "    pe[:, 0::2] = torch.sin(angles)\n"
            "    pe[:, 1::2] = torch.cos(angles[:, : d_model // 2])",
            "pe = torch.cat([torch.sin(angles), torch.cos(angles[:, : d_model // 2])], dim=1)",
        ),
    ),
    Mutant(
        PE,
        "a separate exponent for every column (c / d instead of 2i / d)",
        "bug",
        """
def sinusoidal_positional_encoding(max_len, d_model):
    p = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)
    angles = p / 10000 ** (torch.arange(d_model, dtype=torch.float64) / d_model)
    pe = torch.where(torch.arange(d_model) % 2 == 0, torch.sin(angles), torch.cos(angles))
    return pe.float()
""",
    ),
    bug(
        PE,
        "odd d_model loses its last column",
        ("torch.arange(0, d_model, 2,", "torch.arange(0, d_model - 1, 2,"),
        ("pe[:, 0::2] = torch.sin(angles)", "pe[:, 0 : 2 * angles.shape[1] : 2] = torch.sin(angles)"),
        (
            "pe[:, 1::2] = torch.cos(angles[:, : d_model // 2])",
            "pe[:, 1 : 2 * angles.shape[1] : 2] = torch.cos(angles)",
        ),
    ),
    Mutant(
        PE,
        "float32 throughout with exp and log (the common vectorised version)",
        "correct",
        """
def sinusoidal_positional_encoding(max_len, d_model):
    position = torch.arange(max_len).unsqueeze(1).float()
    div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)[:, : d_model // 2]
    return pe
""",
    ),
    Mutant(
        PE,
        "double loop with math.sin and math.cos",
        "correct",
        """
def sinusoidal_positional_encoding(max_len, d_model):
    pe = torch.zeros(max_len, d_model)
    for p in range(max_len):
        for i in range(0, d_model, 2):
            angle = p / 10000 ** (i / d_model)
            pe[p, i] = math.sin(angle)
            if i + 1 < d_model:
                pe[p, i + 1] = math.cos(angle)
    return pe
""",
    ),
    # ---- MultiHeadAttention ------------------------------------------------------------------
    Mutant(
        MHA,
        "heads split with view(B, heads, T, d_head): positions mixed",
        "bug",
        _mha("""
    def forward(self, query, key, value, mask=None):
        B, Tq, Tk = query.shape[0], query.shape[1], key.shape[1]
        q = self.W_q(query).reshape(B, self.num_heads, Tq, self.d_head)
        k = self.W_k(key).reshape(B, self.num_heads, Tk, self.d_head)
        v = self.W_v(value).reshape(B, self.num_heads, Tk, self.d_head)
        heads, weights = scaled_dot_product_attention(q, k, v, mask)
        return self.W_o(heads.reshape(B, Tq, self.d_model)), weights
"""),
    ),
    bug(
        MHA,
        "heads interleaved: head j gets every h-th column",
        (
            "x.view(B, T, self.num_heads, self.d_head).transpose(1, 2)",
            "x.view(B, T, self.d_head, self.num_heads).permute(0, 3, 1, 2)",
        ),
        ("heads.transpose(1, 2).reshape", "heads.permute(0, 2, 3, 1).reshape"),
    ),
    bug(
        MHA,
        "no output projection W_o",
        (
            "self.W_o(heads.transpose(1, 2).reshape(B, Tq, self.d_model))",
            "heads.transpose(1, 2).reshape(B, Tq, self.d_model)",
        ),
    ),
    Mutant(
        MHA,
        "scores scaled by sqrt(d_model) instead of sqrt(d_head)",
        "bug",
        _mha("""
    def forward(self, query, key, value, mask=None):
        B, Tq, Tk = query.shape[0], query.shape[1], key.shape[1]

        def split(x, T):
            return x.view(B, T, self.num_heads, self.d_head).transpose(1, 2)

        q, k, v = split(self.W_q(query), Tq), split(self.W_k(key), Tk), split(self.W_v(value), Tk)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_model)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.nan_to_num(torch.softmax(scores, dim=-1), nan=0.0)
        return self.W_o((weights @ v).transpose(1, 2).reshape(B, Tq, self.d_model)), weights
"""),
    ),
    bug(
        MHA,
        "weights averaged over the heads (broadcast back to every head)",
        (
            OUT,
            "out = self.W_o(heads.transpose(1, 2).reshape(B, Tq, self.d_model))\n"
            "        return out, weights.mean(dim=1, keepdim=True).expand_as(weights)",
        ),
    ),
    bug(
        MHA,
        "keys projected with W_q (one projection for queries and keys)",
        ("split(self.W_k(key), Tk)", "split(self.W_q(key), Tk)"),
    ),
    bug(
        MHA,
        "torch.nn.functional.scaled_dot_product_attention inside",
        ("mask=None):\n", "mask=None):\n        import torch.nn.functional as F\n\n"),
        (
            ATTEND,
            "        q, k, v = split(self.W_q(query), Tq), split(self.W_k(key), Tk), split(self.W_v(value), Tk)\n"
            "        heads = torch.nan_to_num(F.scaled_dot_product_attention(q, k, v, attn_mask=mask))\n"
            "        _, weights = scaled_dot_product_attention(q, k, v, mask)",
        ),
    ),
    bug(
        MHA,
        "a learned temperature added in __init__: one parameter too many",
        (
            "        self.W_o = nn.Linear(d_model, d_model)\n",
            "        self.W_o = nn.Linear(d_model, d_model)\n"
            "        self.log_temperature = nn.Parameter(torch.zeros(()))"
            "  # learned sharpness, exp(0) = 1 at the start\n",
        ),
        (
            ATTEND,
            "        q = split(self.W_q(query), Tq) * torch.exp(self.log_temperature)\n"
            "        k, v = split(self.W_k(key), Tk), split(self.W_v(value), Tk)\n"
            "        heads, weights = scaled_dot_product_attention(q, k, v, mask)",
        ),
    ),
    Mutant(
        MHA,
        "own softmax of the -inf-filled scores: NaN for a query with no key kept",
        "bug",
        _mha("""
    def forward(self, query, key, value, mask=None):
        B, Tq, Tk = query.shape[0], query.shape[1], key.shape[1]

        def split(x, T):
            return x.view(B, T, self.num_heads, self.d_head).transpose(1, 2)

        q, k, v = split(self.W_q(query), Tq), split(self.W_k(key), Tk), split(self.W_v(value), Tk)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_head)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        return self.W_o((weights @ v).transpose(1, 2).reshape(B, Tq, self.d_model)), weights
"""),
    ),
    Mutant(
        MHA,
        "a loop over heads with column slices, concatenated",
        "correct",
        _mha("""
    def forward(self, query, key, value, mask=None):
        q, k, v = self.W_q(query), self.W_k(key), self.W_v(value)
        outs, maps = [], []
        for h in range(self.num_heads):
            cols = slice(h * self.d_head, (h + 1) * self.d_head)
            m = None
            if mask is not None:
                m = mask if mask.dim() < 3 else mask[:, min(h, mask.shape[1] - 1)] if mask.dim() == 4 else mask
            o, w = scaled_dot_product_attention(q[..., cols], k[..., cols], v[..., cols], m)
            outs.append(o)
            maps.append(w)
        return self.W_o(torch.cat(outs, dim=-1)), torch.stack(maps, dim=1)
"""),
    ),
    Mutant(
        MHA,
        "reshape/permute and own einsum math in float64-safe form",
        "correct",
        _mha("""
    def forward(self, query, key, value, mask=None):
        B, Tq, Tk, h, dh = query.size(0), query.size(1), key.size(1), self.num_heads, self.d_head
        q = self.W_q(query).reshape(B, Tq, h, dh).permute(0, 2, 1, 3)
        k = self.W_k(key).reshape(B, Tk, h, dh).permute(0, 2, 1, 3)
        v = self.W_v(value).reshape(B, Tk, h, dh).permute(0, 2, 1, 3)
        scores = torch.einsum("bhqd,bhkd->bhqk", q, k) / dh**0.5
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.nan_to_num(scores.softmax(-1), nan=0.0)
        heads = torch.einsum("bhqk,bhkd->bqhd", weights, v).reshape(B, Tq, h * dh)
        return self.W_o(heads), weights
"""),
    ),
    # ---- EncoderBlock ------------------------------------------------------------------------
    Mutant(
        BLOCK,
        "pre-norm instead of post-norm",
        "bug",
        _block("""
    def forward(self, x, mask=None):
        y = self.norm1(x)
        x = x + self.attn(y, y, y, mask)[0]
        return x + self.ff2(torch.relu(self.ff1(self.norm2(x))))
"""),
    ),
    bug(
        BLOCK,
        "norm1 and norm2 swapped",
        ("x = self.norm1(", "x = self.norm2("),
        ("return self.norm2(", "return self.norm1("),
    ),
    bug(
        BLOCK,
        "no residual connection around the feed-forward network",
        ("self.norm2(x + self.ff2(", "self.norm2(self.ff2("),
    ),
    bug(BLOCK, "no residual connection around attention", ("self.norm1(x + self.attn(", "self.norm1(self.attn(")),
    bug(BLOCK, "no ReLU between ff1 and ff2", ("self.ff2(torch.relu(self.ff1(x)))", "self.ff2(self.ff1(x))")),
    bug(BLOCK, "mask not passed to attention", ("self.attn(x, x, x, mask)", "self.attn(x, x, x)")),
    bug(
        BLOCK,
        "feed-forward network reads the block's input, not the attention sublayer's output",
        ("x = self.norm1(", "h = self.norm1("),
        ("self.norm2(x + ", "self.norm2(h + "),
    ),
    bug(
        BLOCK,
        "residual added in place (x += attention): the caller's x changes",
        (
            "x = self.norm1(x + self.attn(x, x, x, mask)[0])",
            "x += self.attn(x, x, x, mask)[0]\n        x = self.norm1(x)",
        ),
    ),
    Mutant(
        BLOCK,
        "attention through F.scaled_dot_product_attention on self.attn's projections",
        "bug",
        _block("""
    def forward(self, x, mask=None):
        import torch.nn.functional as F

        B, T, d = x.shape
        a = self.attn

        def split(y):
            return y.view(B, T, a.num_heads, a.d_head).transpose(1, 2)

        heads = F.scaled_dot_product_attention(split(a.W_q(x)), split(a.W_k(x)), split(a.W_v(x)), attn_mask=mask)
        x = self.norm1(x + a.W_o(heads.transpose(1, 2).reshape(B, T, d)))
        return self.norm2(x + self.ff2(torch.relu(self.ff1(x))))
"""),
    ),
    Mutant(
        BLOCK,
        "nn.ReLU module and named intermediate steps",
        "correct",
        _block("""
    def forward(self, x, mask=None):
        attended, _ = self.attn(x, x, x, mask=mask)
        h = self.norm1(attended + x)
        ffn = nn.Sequential(self.ff1, nn.ReLU(), self.ff2)
        return self.norm2(ffn(h) + h)
"""),
    ),
    Mutant(
        BLOCK,
        "F.relu and F.layer_norm with the modules' parameters",
        "correct",
        _block("""
    def forward(self, x, mask=None):
        import torch.nn.functional as F

        def norm(module, y):
            return F.layer_norm(y, (y.shape[-1],), module.weight, module.bias, module.eps)

        x = norm(self.norm1, x + self.attn(x, x, x, mask)[0])
        return norm(self.norm2, x + self.ff2(F.relu(self.ff1(x))))
"""),
    ),
]
