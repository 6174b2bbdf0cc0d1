"""Print, as JSON, a fingerprint of the bits of the numerical operations the course relies on.

    python tests/numerics_probe.py

It imports seqlab first, as every notebook's setup cell does, so the pin of seqlab.numerics applies unless
SEQLAB_NUMERICS=native.  Each entry hashes the exact bytes of a result (float32 and float64): matrix
products, the element-wise functions, softmax, layer norm, GELU, the RNN/GRU/LSTM layers forward and
backward, multi-head attention and a few Adam steps.  tests/test_numerics.py compares fingerprints taken
under different dispatch settings.
"""

from __future__ import annotations

import hashlib
import json

import torch  # importing computes nothing: the pin below still precedes the first computation

import seqlab  # noqa: F401  (sets the pin, as every notebook's setup cell does)
from seqlab import numerics


def fingerprint(*tensors: torch.Tensor) -> str:
    digest = hashlib.sha256()
    for tensor in tensors:
        digest.update(tensor.detach().contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


def probe() -> dict[str, str]:
    torch.set_num_threads(1)
    out: dict[str, str] = {}
    for dtype in (torch.float32, torch.float64):
        name = str(dtype).removeprefix("torch.")
        gen = torch.Generator().manual_seed(1)
        A = torch.randn(37, 129, generator=gen, dtype=dtype)
        B = torch.randn(129, 53, generator=gen, dtype=dtype)
        x = torch.randn(4096, generator=gen, dtype=dtype) * 3
        out[f"matmul {name}"] = fingerprint(A @ B)
        for op in (torch.tanh, torch.sigmoid, torch.exp, torch.nn.functional.gelu):
            out[f"{op.__name__} {name}"] = fingerprint(op(x))
        out[f"softmax {name}"] = fingerprint(torch.softmax(x.view(64, 64), -1))
        out[f"layer_norm {name}"] = fingerprint(torch.nn.functional.layer_norm(x.view(64, 64), (64,)))
        for layer in (torch.nn.RNN, torch.nn.GRU, torch.nn.LSTM):
            torch.manual_seed(2)
            module = layer(5, 17, batch_first=True).to(dtype)
            X = torch.randn(8, 40, 5, generator=gen, dtype=dtype, requires_grad=True)
            y, _ = module(X)
            y.pow(2).sum().backward()
            out[f"nn.{layer.__name__} {name}"] = fingerprint(y, X.grad, *(p.grad for p in module.parameters()))
        torch.manual_seed(3)
        attention = torch.nn.MultiheadAttention(32, 4, batch_first=True).to(dtype)
        q = torch.randn(4, 9, 32, generator=gen, dtype=dtype)
        out[f"nn.MultiheadAttention {name}"] = fingerprint(*attention(q, q, q))
        torch.manual_seed(4)
        linear = torch.nn.Linear(64, 64).to(dtype)
        optimizer = torch.optim.Adam(linear.parameters(), 1e-2)
        for _ in range(5):
            loss = linear(A[:, :64]).tanh().pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        out[f"adam {name}"] = fingerprint(*linear.parameters())
    return out


if __name__ == "__main__":
    print(json.dumps({"pinned": numerics.pinned(), "describe": numerics.describe(), "fingerprints": probe()}))
