"""Mutants for lesson 09_gpt.

Each entry replaces one solution cell (by grade id) of an otherwise correct submission with the reference answer
changed in one place (``Edits``: old text -> new text, each found exactly once).  ``kind="bug"``: the exercise's
test cells must lose some of their points.  ``kind="correct"``: the whole submission must keep full marks.  The cell
``09-from-lesson-08`` (the student's lesson 08 functions, pasted) is not an exercise: no test cell reads it.
"""

from tests.mutants.mutant import Edits, Mutant

LESSON = "09_gpt"

ATTENTION = "09-causal-self-attention"
BLOCK = "09-decoder-block"
GENERATE = "09-generate"

REFERENCE = {
    ATTENTION: '''import torch.nn.functional as F
from torch import nn


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position t sees positions 0 ... t only, with a key/value cache."""

    def __init__(self, d_model, num_heads):
        super().__init__()
        if d_model % num_heads != 0:
            raise ValueError(f"num_heads={num_heads} should divide d_model={d_model}")
        self.num_heads, self.d_head = num_heads, d_model // num_heads
        self.W_q = nn.Linear(d_model, d_model)
        self.W_k = nn.Linear(d_model, d_model)
        self.W_v = nn.Linear(d_model, d_model)
        self.W_o = nn.Linear(d_model, d_model)

    def forward(self, x, cache=None):
        """x (B, T_new, d_model), cache None or (K, V) each (B, heads, T_past, d_head) -> (y, (K, V)) extended."""
        B, T_new, d_model = x.shape

        def split_heads(t):  # (B, T_new, d_model) -> (B, heads, T_new, d_head)
            return t.view(B, T_new, self.num_heads, self.d_head).transpose(1, 2)

        q, k, v = split_heads(self.W_q(x)), split_heads(self.W_k(x)), split_heads(self.W_v(x))
        if cache is not None:
            K_past, V_past = cache
            k = torch.cat([K_past, k], dim=2)  # (B, heads, T_past + T_new, d_head)
            v = torch.cat([V_past, v], dim=2)
        T_all = k.shape[2]
        T_past = T_all - T_new
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_head)  # (B, heads, T_new, T_all)
        # new position i sits at T_past + i and may see keys 0 ... T_past + i
        allowed = torch.ones(T_new, T_all, dtype=torch.bool, device=x.device).tril(diagonal=T_past)
        weights = scores.masked_fill(~allowed, float("-inf")).softmax(dim=-1)
        y = (weights @ v).transpose(1, 2).reshape(B, T_new, d_model)  # heads side by side again
        return self.W_o(y), (k, v)
''',
    BLOCK: '''import torch.nn.functional as F
from torch import nn


class DecoderBlock(nn.Module):
    """A pre-norm Transformer decoder block: x + attn(norm1(x)), then + ff2(gelu(ff1(norm2(.))))."""

    def __init__(self, d_model, num_heads, d_ff):
        super().__init__()
        self.attn = CausalSelfAttention(d_model, num_heads)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff1 = nn.Linear(d_model, d_ff)
        self.ff2 = nn.Linear(d_ff, d_model)

    def forward(self, x, cache=None):
        """x (B, T_new, d_model) -> (y (B, T_new, d_model), the attention's cache)."""
        attended, cache = self.attn(self.norm1(x), cache)
        x = x + attended
        x = x + self.ff2(F.gelu(self.ff1(self.norm2(x))))
        return x, cache
''',
    GENERATE: '''@torch.no_grad()
def generate(model, prompt, max_new_tokens, temperature, top_k, generator, use_cache=True):
    """The prompt (B, T0) followed by max_new_tokens drawn one at a time -> (B, T0 + max_new_tokens) int64."""
    tokens = prompt.clone()
    caches = None
    for _ in range(max_new_tokens):
        if use_cache:
            new = tokens if caches is None else tokens[:, -1:]  # the prompt once, then only the newest token
            logits, caches = model.step(new, caches)
        else:
            logits = model(tokens)  # the whole sequence again, every step
        next_token = sample_next_token(logits[:, -1], temperature, top_k, generator)  # (B,)
        tokens = torch.cat([tokens, next_token.unsqueeze(1)], dim=1)
    return tokens
''',
}


EDITS = Edits(REFERENCE)
bug, correct = EDITS.bug, EDITS.correct


MASK = 'weights = scores.masked_fill(~allowed, float("-inf")).softmax(dim=-1)'
TRIL = "allowed = torch.ones(T_new, T_all, dtype=torch.bool, device=x.device).tril(diagonal=T_past)"
SCORES = "scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_head)  # (B, heads, T_new, T_all)"
SPLIT = "return t.view(B, T_new, self.num_heads, self.d_head).transpose(1, 2)"
ATTEND = "attended, cache = self.attn(self.norm1(x), cache)"
FEED = "x = x + self.ff2(F.gelu(self.ff1(self.norm2(x))))"
STEP = "new = tokens if caches is None else tokens[:, -1:]  # the prompt once, then only the newest token"
SAMPLE = "next_token = sample_next_token(logits[:, -1], temperature, top_k, generator)  # (B,)"

MUTANTS = [
    # CausalSelfAttention
    bug(ATTENTION, "no causal mask: every position sees the later ones", (MASK, "weights = scores.softmax(dim=-1)")),
    bug(
        ATTENTION,
        "the mask ignores the cache (new position i sees keys 0 ... i only)",
        (TRIL, "allowed = torch.ones(T_new, T_all, dtype=torch.bool, device=x.device).tril(diagonal=0)"),
    ),
    bug(
        ATTENTION,
        "a position does not attend to itself",
        (TRIL, "allowed = torch.ones(T_new, T_all, dtype=torch.bool, device=x.device).tril(diagonal=T_past - 1)"),
    ),
    bug(
        ATTENTION,
        "scores scaled by sqrt(d_model) instead of sqrt(d_head)",
        (SCORES, "scores = q @ k.transpose(-2, -1) / math.sqrt(self.num_heads * self.d_head)"),
    ),
    bug(
        ATTENTION,
        "the cached keys are stored scaled by 1/sqrt(d_head)",
        (
            "q, k, v = split_heads(self.W_q(x)), split_heads(self.W_k(x)), split_heads(self.W_v(x))",
            "q, k, v = split_heads(self.W_q(x)), split_heads(self.W_k(x)) / math.sqrt(self.d_head), "
            "split_heads(self.W_v(x))",
        ),
        (SCORES, "scores = q @ k.transpose(-2, -1)"),
    ),  # fmt: skip
    bug(
        ATTENTION,
        "heads split without the transpose (view as (B, heads, T, d_head))",
        (SPLIT, "return t.reshape(B, self.num_heads, T_new, self.d_head)"),
    ),
    bug(
        ATTENTION,
        "new keys and values put before the cached ones",
        ("k = torch.cat([K_past, k], dim=2)", "k = torch.cat([k, K_past], dim=2)"),
        ("v = torch.cat([V_past, v], dim=2)", "v = torch.cat([v, V_past], dim=2)"),
    ),
    bug(ATTENTION, "softmax over the query axis", (MASK, MASK.replace("softmax(dim=-1)", "softmax(dim=-2)"))),
    bug(ATTENTION, "the cache returned as a list", ("return self.W_o(y), (k, v)", "return self.W_o(y), [k, v]")),
    bug(
        ATTENTION,
        "num_heads not checked (the heads silently drop columns)",
        (
            '        if d_model % num_heads != 0:\n            raise ValueError(f"num_heads={num_heads} should divide '
            'd_model={d_model}")\n',
            "",
        ),
    ),  # fmt: skip
    bug(
        ATTENTION,
        "PyTorch's scaled_dot_product_attention inside (forbidden)",
        (SCORES, ""),
        (MASK, "y_heads = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)"),
        ("y = (weights @ v).transpose(1, 2)", "y = y_heads.transpose(1, 2)"),
    ),
    correct(
        ATTENTION,
        "scaled queries, an additive -inf mask from triu, a registered buffer",
        (
            "        self.W_o = nn.Linear(d_model, d_model)\n",
            "        self.W_o = nn.Linear(d_model, d_model)\n"
            '        self.register_buffer("unused_scale", torch.tensor(1.0))\n',
        ),
        (SCORES, "scores = (q / math.sqrt(self.d_head)) @ k.transpose(-2, -1)"),
        (TRIL, 'future = torch.full((T_new, T_all), float("-inf"), dtype=x.dtype).triu(diagonal=T_past + 1)'),
        (MASK, "weights = torch.softmax(scores + future, dim=-1)"),
    ),  # fmt: skip
    Mutant(
        ATTENTION,
        "a loop over heads and over new positions, einsum, keys kept as a tuple",
        "correct",
        """
from torch import nn


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, num_heads):
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"d_model={d_model} is not a multiple of num_heads={num_heads}")
        self.heads = num_heads
        self.W_v = nn.Linear(d_model, d_model)
        self.W_k = nn.Linear(d_model, d_model)
        self.W_q = nn.Linear(d_model, d_model)
        self.W_o = nn.Linear(d_model, d_model)

    def forward(self, x, cache=None):
        B, T, d = x.shape
        dh = d // self.heads
        q = self.W_q(x).reshape(B, T, self.heads, dh).permute(0, 2, 1, 3)
        k = self.W_k(x).reshape(B, T, self.heads, dh).permute(0, 2, 1, 3)
        v = self.W_v(x).reshape(B, T, self.heads, dh).permute(0, 2, 1, 3)
        if cache is not None:
            k = torch.cat((cache[0], k), 2)
            v = torch.cat((cache[1], v), 2)
        past = k.shape[2] - T
        outs = []
        for h in range(self.heads):
            rows = []
            for i in range(T):
                visible = past + i + 1
                s = torch.einsum("bd,bsd->bs", q[:, h, i], k[:, h, :visible]) / dh**0.5
                rows.append(torch.einsum("bs,bsd->bd", torch.softmax(s, -1), v[:, h, :visible]))
            outs.append(torch.stack(rows, 1))
        return self.W_o(torch.cat(outs, -1)), tuple([k, v])
""",
    ),
    # DecoderBlock
    bug(
        BLOCK,
        "post-norm (normalise after the residual sum)",
        (ATTEND, "attended, cache = self.attn(x, cache)"),
        ("x = x + attended", "x = self.norm1(x + attended)"),
        (FEED, "x = self.norm2(x + self.ff2(F.gelu(self.ff1(x))))"),
    ),
    bug(
        BLOCK,
        "norm1 and norm2 swapped",
        (ATTEND, "attended, cache = self.attn(self.norm2(x), cache)"),
        (FEED, "x = x + self.ff2(F.gelu(self.ff1(self.norm1(x))))"),
    ),
    bug(
        BLOCK,
        "the tanh approximation of GELU",
        (FEED, FEED.replace("F.gelu(", 'F.gelu(approximate="tanh", input=')),
    ),
    bug(BLOCK, "ReLU instead of GELU", (FEED, FEED.replace("F.gelu(", "F.relu("))),
    bug(BLOCK, "no residual around the feed-forward part", (FEED, "x = self.ff2(F.gelu(self.ff1(self.norm2(x))))")),
    bug(
        BLOCK,
        "the feed-forward part reads the block's input, not the attention's sum (a parallel block)",
        (
            "        x = x + attended\n        " + FEED,
            "        x = x + attended + self.ff2(F.gelu(self.ff1(self.norm2(x))))",
        ),
    ),  # fmt: skip
    bug(
        BLOCK,
        "the cache given is returned, not the attention's",
        (ATTEND, "attended, _ = self.attn(self.norm1(x), cache)"),
    ),
    bug(BLOCK, "the cache is not passed to the attention", (ATTEND, "attended, cache = self.attn(self.norm1(x))")),
    correct(
        BLOCK,
        "submodules created in another order, GELU written with erf, an nn.GELU attribute",
        ("        self.attn = CausalSelfAttention(d_model, num_heads)\n", ""),
        (
            "        self.ff2 = nn.Linear(d_ff, d_model)\n",
            "        self.ff2 = nn.Linear(d_ff, d_model)\n        self.attn = CausalSelfAttention(d_model, num_heads)\n"
            "        self.act = nn.GELU()\n",
        ),
        (FEED, "z = self.ff1(self.norm2(x))\n        x = x + self.ff2(0.5 * z * (1 + torch.erf(z / math.sqrt(2))))"),
    ),  # fmt: skip
    # generate
    bug(
        GENERATE, "use_cache ignored: the whole sequence every step", ("        if use_cache:\n", "        if False:\n")
    ),
    bug(
        GENERATE,
        "with the cache, the whole sequence is fed again every step",
        (STEP, "new = tokens"),
    ),
    bug(GENERATE, "the logits of the first position", (SAMPLE, SAMPLE.replace("logits[:, -1]", "logits[:, 0]"))),
    bug(GENERATE, "only the new tokens returned", ("    return tokens", "    return tokens[:, prompt.shape[1] :]")),
    bug(GENERATE, "temperature not passed on (always 1)", (SAMPLE, SAMPLE.replace("temperature, top_k", "1.0, top_k"))),
    bug(
        GENERATE,
        "a fresh generator for every token",
        (SAMPLE, SAMPLE.replace("top_k, generator)", "top_k, torch.Generator().manual_seed(0))")),
    ),
    bug(
        GENERATE,
        "the caches are not kept: every step starts from caches=None",
        ("logits, caches = model.step(new, caches)", "logits, _ = model.step(new, caches)"),
    ),
    bug(
        GENERATE,
        "the last token drawn is fed back too (one call more than needed)",
        (
            "    return tokens",
            "    if use_cache and max_new_tokens:\n        model.step(tokens[:, -1:], caches)\n    return tokens",
        ),
    ),  # fmt: skip
    Mutant(
        GENERATE,
        "the prompt read before the loop even when no token is asked for (passes the visible tests)",
        "bug",
        """
@torch.no_grad()
def generate(model, prompt, max_new_tokens, temperature, top_k, generator, use_cache=True):
    tokens = prompt.clone()
    if use_cache:
        logits, caches = model.step(tokens, None)
    for i in range(max_new_tokens):
        if not use_cache:
            logits = model(tokens)
        next_token = sample_next_token(logits[:, -1], temperature, top_k, generator)
        tokens = torch.cat([tokens, next_token.unsqueeze(1)], dim=1)
        if use_cache and i < max_new_tokens - 1:
            logits, caches = model.step(tokens[:, -1:], caches)
    return tokens
""",
    ),
    correct(
        GENERATE,
        "the prompt read one token at a time, new tokens collected in a list",
        (
            "    tokens = prompt.clone()\n    caches = None\n",
            "    tokens = prompt.clone()\n    caches = None\n    drawn = []\n"
            "    if use_cache and max_new_tokens:\n"
            "        for t in range(prompt.shape[1] - 1):\n"
            "            _, caches = model.step(prompt[:, t : t + 1], caches)\n",
        ),
        (STEP, "new = tokens[:, -1:]"),
        (
            "        tokens = torch.cat([tokens, next_token.unsqueeze(1)], dim=1)\n",
            "        drawn.append(next_token)\n"
            "        tokens = torch.cat([prompt] + [t[:, None] for t in drawn], dim=1)\n",
        ),
    ),  # fmt: skip
    Mutant(
        GENERATE,
        "a preallocated output filled step by step, model.step for both ways",
        "correct",
        """
@torch.no_grad()
def generate(model, prompt, max_new_tokens, temperature, top_k, generator, use_cache=True):
    B, T0 = prompt.shape
    out = torch.empty(B, T0 + max_new_tokens, dtype=torch.long)
    out[:, :T0] = prompt
    caches = None
    for i in range(max_new_tokens):
        n = T0 + i
        if use_cache:
            logits, caches = model.step(out[:, :n] if caches is None else out[:, n - 1 : n], caches)
        else:
            logits = model(out[:, :n])
        out[:, n] = sample_next_token(logits[:, -1, :], temperature, top_k, generator)
    return out
""",
    ),
]
