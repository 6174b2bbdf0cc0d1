"""Lesson 09's plumbing: the GPT wrapper around a student's blocks, its weight loaders and stand-ins, the stored GPT
and depth sweep, and the ``seqlab store-gpt`` tool (without the minutes of training)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seqlab import data, language_model, weights
from seqlab.models import GPT
from seqlab.tools.course import ToolError


class Attention(nn.Module):
    """A causal self-attention with a cache, written independently of the solution notebook (per head, by loops)."""

    def __init__(self, d_model: int, num_heads: int) -> None:
        super().__init__()
        self.heads = num_heads
        self.W_q, self.W_k, self.W_v, self.W_o = (nn.Linear(d_model, d_model) for _ in range(4))

    def forward(self, x, cache=None):
        B, T, d = x.shape
        dh = d // self.heads
        k_new = self.W_k(x).view(B, T, self.heads, dh).transpose(1, 2)
        v_new = self.W_v(x).view(B, T, self.heads, dh).transpose(1, 2)
        k = k_new if cache is None else torch.cat([cache[0], k_new], 2)
        v = v_new if cache is None else torch.cat([cache[1], v_new], 2)
        q = self.W_q(x).view(B, T, self.heads, dh).transpose(1, 2)
        past = k.shape[2] - T
        rows = []
        for i in range(T):
            w = torch.softmax(q[:, :, i : i + 1] @ k[:, :, : past + i + 1].transpose(-1, -2) / math.sqrt(dh), -1)
            rows.append(w @ v[:, :, : past + i + 1])
        return self.W_o(torch.cat(rows, 2).transpose(1, 2).reshape(B, T, d)), (k, v)


class Block(nn.Module):
    """Pre-norm, GELU; submodules created in an unusual order (the loaders go by name)."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int) -> None:
        super().__init__()
        self.ff2 = nn.Linear(d_ff, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff1 = nn.Linear(d_model, d_ff)
        self.attn = Attention(d_model, num_heads)
        self.norm1 = nn.LayerNorm(d_model)

    def forward(self, x, cache=None):
        a, cache = self.attn(self.norm1(x), cache)
        x = x + a
        return x + self.ff2(F.gelu(self.ff1(self.norm2(x)))), cache


def _gpt(dropout: float = 0.0, num_layers: int = 2) -> GPT:
    torch.manual_seed(0)
    return GPT(Block, vocab_size=11, max_len=9, d_model=8, num_heads=2, d_ff=12, num_layers=num_layers,
               dropout=dropout).double()  # fmt: skip


def test_gpt_in_pieces_with_caches_equals_at_once():
    model = _gpt().eval()
    tokens = torch.randint(0, 11, (3, 9), generator=torch.Generator().manual_seed(1))
    whole = model(tokens)
    assert whole.shape == (3, 9, 11)
    pieces, caches = [], None
    for start, stop in ((0, 4), (4, 5), (5, 9)):
        logits, caches = model.step(tokens[:, start:stop], caches)
        pieces.append(logits)
    torch.testing.assert_close(torch.cat(pieces, 1), whole)
    assert len(caches) == 2 and caches[0][0].shape == (3, 2, 9, 4)
    with pytest.raises(ValueError, match="max_len"):
        model.step(tokens[:, :1], caches)
    with pytest.raises(ValueError, match="caches"):
        model.step(tokens[:, :1], caches[:1])
    with pytest.raises(ValueError, match="ids from 0 to 10"):
        model(tokens + 11)


def test_gpt_output_layer_is_the_embedding_and_positions_matter():
    model = _gpt().eval()
    assert not any("readout" in name or "lm_head" in name for name, _ in model.named_parameters())
    tokens = torch.tensor([[3, 3, 3]])
    logits = model(tokens)
    assert not torch.allclose(logits[0, 0], logits[0, 2]), "the same token at two positions: the positions differ"
    with torch.no_grad():
        model.token_embedding.weight[5] += torch.linspace(-1.0, 1.0, 8, dtype=torch.float64)
    assert not torch.allclose(model(tokens)[..., 5], logits[..., 5]), "changing E_5 changes token 5's logits"


def test_gpt_initialisation_scales_the_residual_projections_by_depth():
    torch.manual_seed(0)
    model = GPT(Block, 50, 16, 64, 4, 256, num_layers=8)
    block = model.blocks[0]
    assert abs(block.ff1.weight.std().item() - 0.02) < 0.002
    for layer in (block.attn.W_o, block.ff2):
        assert abs(layer.weight.std().item() - 0.02 / math.sqrt(16)) < 0.0008
        assert torch.count_nonzero(layer.bias) == 0
    assert torch.equal(block.norm1.weight, torch.ones(64))


def test_gpt_dropout_only_while_training():
    model = _gpt(dropout=0.5)
    tokens = torch.randint(0, 11, (2, 6), generator=torch.Generator().manual_seed(2))
    model.eval()
    first = model(tokens)
    torch.testing.assert_close(model(tokens), first, rtol=0, atol=0)
    plain = _gpt(dropout=0.0).eval()
    torch.testing.assert_close(first, plain(tokens), rtol=0, atol=0)  # eval: the blocks' outputs as they are
    model.train()
    assert not torch.allclose(model(tokens), first)


def test_load_decoder_block_equals_torch_pre_norm_layer_whatever_the_creation_order():
    torch.manual_seed(3)
    source = nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, activation="gelu", norm_first=True, batch_first=True,
                                        dtype=torch.float64)  # fmt: skip
    weights.random_layer_norms(source, torch.Generator().manual_seed(3))
    block = weights.load_decoder_block(Block(8, 2, 12), source)
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    later = torch.ones(5, 5, dtype=torch.bool).triu(1)
    torch.testing.assert_close(block(x)[0], source(x, src_mask=later))
    for bad, match in (
        (nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, activation="gelu", batch_first=True), "post-norm"),
        (nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, norm_first=True, batch_first=True), "gelu"),
        (nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, activation=nn.GELU("tanh"), norm_first=True), "gelu"),
        (nn.TransformerEncoderLayer(8, 2, 12, dropout=0.1, activation="gelu", norm_first=True), "dropout"),
    ):
        with pytest.raises(ValueError, match=match):
            weights.load_decoder_block(Block(8, 2, 12), bad)
    with pytest.raises(TypeError, match="TransformerEncoderLayer"):
        weights.load_decoder_block(Block(8, 2, 12), nn.Linear(8, 8))


def test_torch_causal_attention_stand_in_and_the_attention_weights():
    torch.manual_seed(4)
    mha = nn.MultiheadAttention(8, 2, batch_first=True, dtype=torch.float64)
    stand_in = weights.load_multihead_attention(weights.TorchCausalSelfAttention(8, 2), mha)
    x = torch.randn(2, 6, 8, dtype=torch.float64)
    later = torch.ones(6, 6, dtype=torch.bool).triu(1)
    expected, expected_w = mha(x, x, x, attn_mask=later, average_attn_weights=False)
    marker = object()
    y, returned = stand_in(x, marker)
    torch.testing.assert_close(y, expected)
    assert stand_in.received_cache is marker and returned is stand_in.returned_cache
    w = weights.causal_attention_weights(stand_in, x, num_heads=2)
    torch.testing.assert_close(w, expected_w)
    assert torch.all(w.triu(1) == 0) and torch.allclose(w.sum(-1), torch.ones(2, 2, 6, dtype=torch.float64))
    with pytest.raises(ValueError, match="num_heads"):
        weights.TorchCausalSelfAttention(8, 3)
    with pytest.raises(ValueError, match="x should be"):
        stand_in(x[0])


def test_stored_gpt_round_trip_loads_by_name_and_keeps_extra_buffers(tmp_path):
    recipe = language_model.GPTRecipe(d_model=8, num_heads=2, d_ff=12, block_size=6, steps=2, evaluate_every=1)
    model = language_model.build_gpt(recipe, 11, Block)
    language_model.save_stored_gpt(model, recipe, [2.0, 1.5], [(1, 9.0), (2, 8.0)], 1.5, "seqlab store-gpt", tmp_path)

    class WithBuffer(Block):
        def __init__(self, *args):
            super().__init__(*args)
            self.register_buffer("mask", torch.ones(3, 3))

    stored = language_model.load_stored_gpt(WithBuffer, tmp_path)
    assert stored.recipe == recipe and stored.losses == [2.0, 1.5] and stored.seconds == 1.5
    assert not stored.model.training
    tokens = torch.randint(0, 11, (2, 6))
    torch.testing.assert_close(stored.model(tokens), model.eval()(tokens), atol=2e-3, rtol=2e-3)  # float16 storage

    class WithParameter(Block):
        def __init__(self, *args):
            super().__init__(*args)
            self.scale = nn.Parameter(torch.ones(1))

    with pytest.raises(ValueError, match="do not fit"):
        language_model.load_stored_gpt(WithParameter, tmp_path)


def test_depth_sweep_round_trip_and_warmup(tmp_path):
    sweep = language_model.DepthSweep(steps=2, runs=(("pre", 1, 0), ("post", 1, 2)))
    runs = [language_model.DepthRun("pre", 1, 0, [3.0, 2.0], 2.5, [0.5]),
            language_model.DepthRun("post", 1, 2, [3.0, 2.5], 2.75, [0.25])]  # fmt: skip
    language_model.save_depth_sweep(sweep, runs, "seqlab store-gpt --part sweep", tmp_path)
    loaded, loaded_runs, made_by = language_model.load_depth_sweep(tmp_path)
    assert loaded == sweep and loaded_runs == runs and made_by["command"] == "seqlab store-gpt --part sweep"
    assert [language_model.warmup_factor(i, 4) for i in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert language_model.warmup_factor(0, 0) == 1.0
    model = sweep.build(Block, 11, 3)
    assert len(model.blocks) == 3 and model.max_len == sweep.block_size


def test_window_batches_cut_the_stream_without_overlap():
    tokens = torch.arange(23)
    batches = language_model.window_batches(tokens, block_size=5, batch_size=3)
    X = torch.cat([x for x, _ in batches])
    Y = torch.cat([y for _, y in batches])
    assert [len(x) for x, _ in batches] == [3, 1]
    assert torch.equal(X.flatten(), torch.arange(20)) and torch.equal(Y, X + 1)


def test_packaged_stored_gpt_and_sweep_are_the_recipes():
    from seqlab.tools.store_gpt import SOLUTION_NOTEBOOK, reference_namespace
    from tests.support import REPO

    stored = language_model.load_stored_gpt(reference_namespace(REPO / SOLUTION_NOTEBOOK)["DecoderBlock"])
    assert stored.recipe == language_model.QUATRAIN_GPT
    assert len(stored.losses) == stored.recipe.steps and stored.validation[-1][0] == stored.recipe.steps
    assert stored.model.vocab_size == len(data.quatrain_vocabulary())
    assert stored.made_by["command"].startswith("seqlab store-gpt")
    sweep, runs, made_by = language_model.load_depth_sweep()
    assert sweep == language_model.DEPTH_SWEEP and made_by["command"].startswith("seqlab store-gpt")
    assert [(r.norm, r.num_layers, r.warmup_steps) for r in runs] == list(sweep.runs)
    assert all(len(r.losses) == sweep.steps and len(r.gradient_norms) == r.num_layers for r in runs)


def test_store_gpt_takes_the_reference_code_of_the_solution_notebook(tmp_path):
    from seqlab.tools.store_gpt import NAMES, SOLUTION_NOTEBOOK, reference_namespace
    from tests.support import REPO

    ref = reference_namespace(REPO / SOLUTION_NOTEBOOK)
    assert all(callable(ref[name]) for name in NAMES)
    torch.manual_seed(5)
    pre, post = ref["DecoderBlock"](8, 2, 12).double(), ref["PostNormBlock"](8, 2, 12).double()
    post.load_state_dict(pre.state_dict())
    x = torch.randn(1, 4, 8, dtype=torch.float64)
    assert not torch.allclose(pre(x)[0], post(x)[0]), "post-norm is another function of the same parameters"
    with pytest.raises(ToolError, match="no such notebook"):
        reference_namespace(tmp_path / "missing.ipynb")
