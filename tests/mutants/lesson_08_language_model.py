"""Mutants for lesson 08_language_model.

Each entry replaces one solution cell (by grade id) of an otherwise correct submission with the reference answer
changed in one place (``Edits``: old text -> new text, each found exactly once), or with a whole alternative.
``kind="bug"``: the exercise's test cells must lose some of their points.  ``kind="correct"``: the whole
submission must keep full marks.
"""

from tests.mutants.mutant import Edits, Mutant

LESSON = "08_language_model"

BATCH = "08-next-token-batch"
NLL = "08-token-nll"
SAMPLE = "08-sample-next-token"
LOOP = "08-train-language-model"

BATCH_CHECKS = """
    if not isinstance(tokens, torch.Tensor):
        raise TypeError(f"tokens should be a torch.Tensor, got {type(tokens).__name__}")
    if tokens.dim() != 1 or tokens.dtype != torch.long:
        raise ValueError(f"tokens should be a 1-D int64 tensor, got {tokens.dtype} of shape {tuple(tokens.shape)}")
    for name, value in (("batch_size", batch_size), ("block_size", block_size)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} should be an int, got {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{name} should be at least 1, got {value}")
    if len(tokens) < block_size + 1:
        raise ValueError(f"tokens has {len(tokens)} ids, fewer than block_size + 1 = {block_size + 1}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator should be a torch.Generator, got {type(generator).__name__}")
"""

REFERENCE = {
    BATCH: "def next_token_batch(tokens, batch_size, block_size, generator):"
    + BATCH_CHECKS
    + """    starts = torch.randint(0, len(tokens) - block_size, (batch_size,), generator=generator)  # (B,)
    windows = tokens[starts.unsqueeze(1) + torch.arange(block_size + 1)]  # (B, T + 1)
    return windows[:, :-1], windows[:, 1:]
""",
    NLL: """def token_nll(logits, targets, mask=None):
    log_probs = logits - torch.logsumexp(logits, dim=-1, keepdim=True)  # (B, T, V), stable
    if mask is None:
        mask = torch.ones(targets.shape, dtype=torch.bool, device=targets.device)
    safe_targets = torch.where(mask, targets, torch.zeros_like(targets))  # any id where nothing counts
    nll = -log_probs.gather(-1, safe_targets.unsqueeze(-1)).squeeze(-1)  # (B, T)
    return (nll * mask).sum() / mask.sum()
""",
    SAMPLE: """def sample_next_token(logits, temperature, top_k, generator):
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise TypeError(f"temperature should be a number, got {type(temperature).__name__}")
    if temperature < 0:
        raise ValueError(f"temperature should be at least 0, got {temperature}")
    if top_k is not None:
        if isinstance(top_k, bool) or not isinstance(top_k, int):
            raise TypeError(f"top_k should be None or an int, got {type(top_k).__name__}")
        if top_k < 1:
            raise ValueError(f"top_k should be at least 1, got {top_k}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator should be a torch.Generator, got {type(generator).__name__}")
    if temperature == 0:
        return logits.argmax(dim=-1)
    scaled = logits / temperature  # (B, V)
    if top_k is not None and top_k < logits.shape[-1]:
        kth_largest = scaled.topk(top_k, dim=-1).values[:, -1:]  # (B, 1)
        scaled = scaled.masked_fill(scaled < kth_largest, -math.inf)
    probs = torch.softmax(scaled, dim=-1)  # (B, V), stable for logits of any size
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
""",
    LOOP: """def train_language_model(model, batches, optimizer, clip_norm=None):
    losses = []
    for X, Y in batches:
        loss = token_nll(model(X), Y)  # (B, T, V) logits -> mean NLL over every position
        optimizer.zero_grad()
        loss.backward()
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        optimizer.step()
        losses.append(loss.item())
    return losses
""",
}


EDITS = Edits(REFERENCE)
bug, correct = EDITS.bug, EDITS.correct


DRAW = "starts = torch.randint(0, len(tokens) - block_size, (batch_size,), generator=generator)"

MUTANTS = [
    # next_token_batch
    bug(
        BATCH,
        "last valid start never drawn (upper bound one short)",
        (DRAW, "starts = torch.randint(0, len(tokens) - block_size - 1, (batch_size,), generator=generator)"),
    ),
    bug(
        BATCH,
        "Y not shifted: Y = X",
        ("return windows[:, :-1], windows[:, 1:]", "return windows[:, :-1], windows[:, :-1]"),
    ),
    bug(
        BATCH,
        "global random state (no generator=)",
        (DRAW, "starts = torch.randint(0, len(tokens) - block_size, (batch_size,))"),
    ),
    bug(
        BATCH,
        "Y shifted the wrong way (the token before)",
        ("return windows[:, :-1], windows[:, 1:]", "return windows[:, 1:], windows[:, :-1]"),
    ),
    bug(
        BATCH,
        "a fresh generator from the given seed at every call (two calls give the same batch)",
        (
            DRAW,
            "starts = torch.randint(0, len(tokens) - block_size, (batch_size,), "
            "generator=torch.Generator().manual_seed(generator.initial_seed()))",
        ),
    ),
    bug(BATCH, "no argument checks", (BATCH_CHECKS, "\n")),
    bug(
        BATCH,
        "starts without replacement (fails when batch_size exceeds the starts)",
        (DRAW, "starts = torch.randperm(len(tokens) - block_size, generator=generator)[:batch_size]"),
    ),
    correct(
        BATCH,
        "starts by torch.multinomial over uniform weights, windows by unfold",
        (
            DRAW,
            "starts = torch.multinomial(torch.ones(len(tokens) - block_size), batch_size, replacement=True, "
            "generator=generator)",
        ),
        (
            "windows = tokens[starts.unsqueeze(1) + torch.arange(block_size + 1)]",
            "windows = tokens.unfold(0, block_size + 1, 1)[starts]",
        ),
    ),
    correct(
        BATCH,
        "a Python loop over the rows, float starts from torch.rand",
        (
            DRAW,
            "starts = (torch.rand(batch_size, generator=generator, dtype=torch.float64) "
            "* (len(tokens) - block_size)).long()",
        ),
        (
            "windows = tokens[starts.unsqueeze(1) + torch.arange(block_size + 1)]  # (B, T + 1)",
            "windows = torch.stack([tokens[s : s + block_size + 1] for s in starts.tolist()])",
        ),
    ),
    # token_nll
    bug(
        NLL,
        "mean over all B * T positions, masked ones included in the count",
        ("return (nll * mask).sum() / mask.sum()", "return (nll * mask).sum() / mask.numel()"),
    ),
    bug(
        NLL,
        "naive log softmax (overflows for large logits)",
        (
            "log_probs = logits - torch.logsumexp(logits, dim=-1, keepdim=True)",
            "log_probs = torch.log(torch.exp(logits) / torch.exp(logits).sum(dim=-1, keepdim=True))",
        ),
    ),
    bug(
        NLL,
        "softmax over the time axis",
        ("torch.logsumexp(logits, dim=-1, keepdim=True)", "torch.logsumexp(logits, dim=1, keepdim=True)"),
    ),
    bug(
        NLL,
        "targets at masked positions used as indices (-100 raises)",
        ("safe_targets = torch.where(mask, targets, torch.zeros_like(targets))", "safe_targets = targets"),
    ),
    bug(NLL, "sum instead of mean", ("return (nll * mask).sum() / mask.sum()", "return (nll * mask).sum()")),
    bug(
        NLL,
        "no position counted gives 0, not NaN",
        ("return (nll * mask).sum() / mask.sum()", "return (nll * mask).sum() / mask.sum().clamp(min=1)"),
    ),
    bug(
        NLL,
        "F.cross_entropy with ignore_index",
        (
            "    log_probs = logits",
            "    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), "
            "targets.masked_fill(~mask, -100).flatten() if mask is not None else targets.flatten(), "
            "ignore_index=-100)\n"
            "    log_probs = logits",
        ),
    ),
    correct(
        NLL,
        "log_softmax, boolean indexing and mean",
        (
            "log_probs = logits - torch.logsumexp(logits, dim=-1, keepdim=True)",
            "log_probs = torch.log_softmax(logits, dim=-1)",
        ),
        ("return (nll * mask).sum() / mask.sum()", "return nll[mask].mean()"),
    ),
    Mutant(
        NLL,
        "a loop over positions with a manual max shift",
        "correct",
        """
def token_nll(logits, targets, mask=None):
    B, T, V = logits.shape
    terms = []
    for b in range(B):
        for t in range(T):
            if mask is not None and not bool(mask[b, t]):
                continue
            row = logits[b, t]
            m = row.max()
            terms.append(m + torch.log(torch.exp(row - m).sum()) - row[targets[b, t]])
    if not terms:
        return torch.tensor(float("nan"), dtype=logits.dtype)
    return torch.stack(terms).mean()
""",
    ),
    # sample_next_token
    bug(
        SAMPLE, "temperature multiplies the logits", ("scaled = logits / temperature", "scaled = logits * temperature")
    ),
    bug(
        SAMPLE,
        "top-k keeps the k smallest logits",
        (
            "kth_largest = scaled.topk(top_k, dim=-1).values[:, -1:]",
            "kth_largest = scaled.topk(top_k, dim=-1, largest=False).values[:, -1:]",
        ),
        ("scaled < kth_largest", "scaled > kth_largest"),
    ),
    bug(
        SAMPLE,
        "global random state (no generator=)",
        ("torch.multinomial(probs, 1, generator=generator)", "torch.multinomial(probs, 1)"),
    ),
    bug(
        SAMPLE,
        "top-k keeps one token too many (k + 1)",
        (
            "scaled.topk(top_k, dim=-1).values[:, -1:]",
            "scaled.topk(min(top_k + 1, logits.shape[-1]), dim=-1).values[:, -1:]",
        ),
    ),
    bug(SAMPLE, "greedy picks the smallest logit", ("return logits.argmax(dim=-1)", "return logits.argmin(dim=-1)")),
    bug(
        SAMPLE,
        "top_k larger than V raises (topk out of range)",
        ("if top_k is not None and top_k < logits.shape[-1]:", "if top_k is not None:"),
    ),
    bug(SAMPLE, "negative temperature accepted", ("if temperature < 0:", "if temperature < -1e9:")),
    bug(
        SAMPLE,
        "draws over the batch axis (softmax along dim 0)",
        ("probs = torch.softmax(scaled, dim=-1)", "probs = torch.softmax(scaled, dim=0).T.contiguous().T"),
    ),
    correct(
        SAMPLE,
        "the Gumbel-max trick with torch.rand",
        (
            "return torch.multinomial(probs, 1, generator=generator).squeeze(-1)",
            "u = torch.rand(scaled.shape, generator=generator, dtype=torch.float64).clamp(1e-300, 1.0)\n"
            "    return (scaled.double() - torch.log(-torch.log(u))).argmax(dim=-1)",
        ),
    ),
    correct(
        SAMPLE,
        "an inverse CDF with cumsum and searchsorted, top-k by sorting",
        (
            "kth_largest = scaled.topk(top_k, dim=-1).values[:, -1:]  # (B, 1)",
            "kth_largest = scaled.sort(dim=-1, descending=True).values[:, top_k - 1 : top_k]",
        ),
        (
            "return torch.multinomial(probs, 1, generator=generator).squeeze(-1)",
            "cdf = probs.double().cumsum(dim=-1)\n"
            "    u = torch.rand(probs.shape[0], 1, generator=generator, dtype=torch.float64) * cdf[:, -1:]\n"
            "    return torch.searchsorted(cdf, u).squeeze(-1).clamp(max=probs.shape[-1] - 1)",
        ),
    ),
    # train_language_model
    bug(LOOP, "gradients never cleared (they accumulate)", ("        optimizer.zero_grad()\n", "")),
    bug(
        LOOP,
        "gradients cleared after backward, before the step",
        (
            "        optimizer.zero_grad()\n        loss.backward()\n",
            "        loss.backward()\n        optimizer.zero_grad()\n",
        ),
    ),
    bug(
        LOOP,
        "clipping after the step",
        (
            """        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        optimizer.step()
""",
            """        optimizer.step()
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
""",
        ),
    ),
    bug(
        LOOP,
        "no clipping",
        ("            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)", "            pass"),
    ),
    bug(
        LOOP,
        "clipping each parameter by its own norm",
        (
            "            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)",
            "            for p in model.parameters():\n                torch.nn.utils.clip_grad_norm_([p], clip_norm)",
        ),
    ),
    bug(
        LOOP,
        "the loss recorded after the step",
        ("        losses.append(loss.item())\n", "        losses.append(token_nll(model(X), Y).item())\n"),
    ),
    bug(LOOP, "losses kept as tensors", ("losses.append(loss.item())", "losses.append(loss)")),
    bug(
        LOOP,
        "summed loss (sum over positions, not the mean)",
        ("loss = token_nll(model(X), Y)", "loss = token_nll(model(X), Y) * Y.numel()"),
    ),
    bug(
        LOOP,
        "zero_grad after the step only (stale gradients reach the first step)",
        ("        optimizer.zero_grad()\n        loss.backward()\n", "        loss.backward()\n"),
        ("        optimizer.step()\n", "        optimizer.step()\n        optimizer.zero_grad()\n"),
    ),
    correct(
        LOOP,
        "model.zero_grad(set_to_none=True) after each step and once before, own global-norm clip",
        ("    losses = []\n", "    losses = []\n    model.zero_grad(set_to_none=True)\n"),
        ("        optimizer.zero_grad()\n", ""),
        (
            "            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)",
            "            grads = [p.grad for p in model.parameters() if p.grad is not None]\n"
            "            total = torch.sqrt(sum((g.double() ** 2).sum() for g in grads))\n"
            "            if total > clip_norm:\n"
            "                for g in grads:\n"
            "                    g.mul_(clip_norm / total)",
        ),
        ("        optimizer.step()\n", "        optimizer.step()\n        model.zero_grad(set_to_none=True)\n"),
    ),
    correct(
        LOOP,
        "model.train(), F.cross_entropy as the loss, losses as a list comprehension of floats at the end",
        ("    losses = []\n", "    model.train()\n    losses = []\n"),
        (
            "loss = token_nll(model(X), Y)",
            "logits = model(X)\n        loss = torch.nn.functional.cross_entropy("
            "logits.reshape(-1, logits.shape[-1]), Y.reshape(-1))",
        ),
        ("losses.append(loss.item())", "losses.append(loss.detach())"),
        ("    return losses", "    return [float(x) for x in losses]"),
    ),
]
