"""Unit tests for seqlab.train: the training loop and the progress bar switch."""

import datetime
import math

import pytest
import torch
from torch import nn

from seqlab.data import (
    DATE_BOS_ID,
    DATE_PAD_ID,
    DATE_SOURCE_VOCAB,
    DATE_TARGET_LENGTH,
    DATE_TARGET_VOCAB,
    PAD_LABEL,
    date_batch,
    date_examples,
    date_source_decode,
    date_split,
    date_target_decode,
    date_target_encode,
)
from seqlab.train import (
    ADDING_BUDGET,
    TRANSLATOR_BUDGET,
    TranslatorBudget,
    evaluate_translator,
    fit,
    progress,
    train_adding_problem,
    train_translator,
    translator_loss,
)


@pytest.fixture(autouse=True)
def no_progress_bars(monkeypatch):
    monkeypatch.setenv("SEQLAB_PROGRESS", "0")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)


def _regression_data():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(64, 3, generator=gen)
    w_true = torch.tensor([1.5, -2.0, 0.5])
    return X, X @ w_true


def test_fit_reduces_loss_on_linear_regression():
    X, y = _regression_data()
    w = torch.zeros(3, requires_grad=True)
    seen_steps = []

    def loss_fn(step):
        seen_steps.append(step)
        return ((X @ w - y) ** 2).mean()

    losses = fit(loss_fn, [w], steps=200, lr=0.1)
    assert isinstance(losses, list)
    assert len(losses) == 200
    assert all(type(value) is float for value in losses)
    assert seen_steps == list(range(200))
    assert losses[-1] < losses[0] / 10
    assert losses[0] == pytest.approx(float((y**2).mean()))
    torch.testing.assert_close(w.detach(), torch.tensor([1.5, -2.0, 0.5]), atol=0.05, rtol=0)


def test_fit_accepts_module():
    X, y = _regression_data()
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    before = model.weight.detach().clone()
    losses = fit(lambda step: ((model(X).squeeze(1) - y) ** 2).mean(), model, steps=100, lr=0.1)
    assert len(losses) == 100
    assert losses[-1] < losses[0] / 10
    assert not torch.equal(model.weight, before)


def test_fit_zero_steps_returns_empty_list():
    w = torch.zeros(3, requires_grad=True)
    assert fit(lambda step: (w**2).sum(), [w], steps=0) == []
    assert torch.equal(w.detach(), torch.zeros(3))


def test_fit_empty_params_raises():
    with pytest.raises(ValueError, match="empty"):
        fit(lambda step: torch.tensor(0.0), [], steps=1)
    with pytest.raises(ValueError, match="empty"):
        fit(lambda step: torch.tensor(0.0), nn.Tanh(), steps=1)


def test_fit_non_leaf_param_raises():
    w = torch.zeros(3, requires_grad=True)
    non_leaf = w * 2
    with pytest.raises(ValueError, match="requires_grad"):
        fit(lambda step: (non_leaf**2).sum(), [non_leaf], steps=1)


def test_fit_param_without_requires_grad_raises():
    w = torch.zeros(3)
    with pytest.raises(ValueError, match="requires_grad"):
        fit(lambda step: (w**2).sum(), [w], steps=1)


def test_fit_non_tensor_param_raises():
    with pytest.raises(TypeError):
        fit(lambda step: torch.tensor(0.0), [[0.0, 1.0]], steps=1)


@pytest.mark.parametrize("bad", ["vector", "float"])
def test_fit_non_scalar_loss_raises(bad):
    w = torch.zeros(3, requires_grad=True)

    def loss_fn(step):
        return w**2 if bad == "vector" else 1.0

    with pytest.raises(ValueError, match="scalar"):
        fit(loss_fn, [w], steps=3)


@pytest.mark.parametrize("steps", [-1, 2.0, True])
def test_fit_bad_steps_raises(steps):
    w = torch.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="steps"):
        fit(lambda step: (w**2).sum(), [w], steps=steps)


@pytest.mark.parametrize("lr", [0, -0.1, float("nan")])
def test_fit_bad_lr_raises(lr):
    w = torch.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="lr"):
        fit(lambda step: (w**2).sum(), [w], steps=1, lr=lr)


def test_fit_clips_the_gradient_norm_before_each_update():
    # on_step sees the gradient the update used: clipped to norm clip_norm, or whole without it.
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    norms = []
    fit(
        lambda step: 10.0 * (w**2).sum(),
        [w],
        1,
        lr=1e-3,
        clip_norm=0.5,
        on_step=lambda step: norms.append(w.grad.norm()),
    )
    assert float(norms[0]) == pytest.approx(0.5)
    v = torch.tensor([3.0, 4.0], requires_grad=True)
    norms = []
    fit(lambda step: 10.0 * (v**2).sum(), [v], 1, lr=1e-3, on_step=lambda step: norms.append(v.grad.norm()))
    assert float(norms[0]) == pytest.approx(100.0)  # 20 * |(3, 4)| unclipped


@pytest.mark.parametrize("clip_norm", [0.0, -1.0])
def test_fit_bad_clip_norm_raises(clip_norm):
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="clip_norm"):
        fit(lambda step: (w**2).sum(), [w], 1, clip_norm=clip_norm)


def test_fit_records_nan_loss_instead_of_raising():
    w = torch.ones(3, requires_grad=True)
    losses = fit(lambda step: w.sum() * float("nan"), [w], steps=5)
    assert len(losses) == 5
    assert all(math.isnan(value) for value in losses)


def test_fit_shows_loss_in_progress_bar_when_enabled(monkeypatch):
    """With progress enabled, fit should put the current loss on the bar (set_postfix)."""
    from tqdm import std

    monkeypatch.setenv("SEQLAB_PROGRESS", "1")
    postfixes = []
    monkeypatch.setattr(std.tqdm, "set_postfix", lambda self, *args, **kwargs: postfixes.append(kwargs))
    w = torch.ones(3, requires_grad=True)
    fit(lambda step: (w**2).sum(), [w], steps=3)
    assert postfixes, "the loss was never shown on the progress bar"
    assert "loss" in postfixes[0]


# ------------------------------------------------------------------------------------ progress


def _assert_plain(items, result):
    assert type(result) is type(iter(items))
    assert not hasattr(result, "set_postfix")
    assert list(result) == list(items)


def test_progress_plain_when_disabled(monkeypatch):
    monkeypatch.setenv("SEQLAB_PROGRESS", "0")
    _assert_plain([3, 1, 2], progress([3, 1, 2], total=3, desc="x"))
    _assert_plain(range(4), progress(range(4)))


def test_progress_plain_while_grading(monkeypatch):
    monkeypatch.setenv("SEQLAB_PROGRESS", "1")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    _assert_plain(["a", "b"], progress(["a", "b"]))


def test_progress_bar_when_enabled(monkeypatch, capsys):
    monkeypatch.delenv("SEQLAB_PROGRESS")
    result = progress([1, 2, 3], desc="demo")
    assert type(result) is not type(iter([1, 2, 3]))
    assert list(result) == [1, 2, 3]


# --- the date translator (lesson 06) ---------------------------------------------------------------------------


@pytest.fixture
def one_thread():
    """The tiny models train 3x faster on one thread than on two busy cores (as the notebooks run them)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class _TinyTranslator(nn.Module):
    """The smallest model with the translator interface: a GRU encoder, a GRUCell decoder, uniform attention."""

    def __init__(self, with_attention=True, hidden=16):
        super().__init__()
        self.with_attention = with_attention
        self.src_embed = nn.Embedding(len(DATE_SOURCE_VOCAB), 8, padding_idx=DATE_PAD_ID)
        self.tgt_embed = nn.Embedding(len(DATE_TARGET_VOCAB), 8)
        self.encoder = nn.GRU(8, hidden, batch_first=True)
        self.cell = nn.GRUCell(8, hidden)
        self.readout = nn.Linear(hidden, len(DATE_TARGET_VOCAB))

    def _encode(self, src, src_lengths):
        states, _ = self.encoder(self.src_embed(src))
        return states[torch.arange(len(src)), src_lengths - 1]

    def forward(self, src, src_lengths, tgt_in):
        h = self._encode(src, src_lengths)
        logits = []
        for t in range(tgt_in.shape[1]):
            h = self.cell(self.tgt_embed(tgt_in[:, t]), h)
            logits.append(self.readout(h))
        return torch.stack(logits, dim=1)

    def greedy(self, src, src_lengths, max_len):
        h = self._encode(src, src_lengths)
        token = torch.full((len(src),), DATE_BOS_ID)
        tokens = []
        for _ in range(max_len):
            h = self.cell(self.tgt_embed(token), h)
            token = self.readout(h).argmax(dim=-1)
            tokens.append(token)
        if not self.with_attention:
            return torch.stack(tokens, dim=1), None
        keep = (torch.arange(src.shape[1]) < src_lengths.unsqueeze(1)).float()
        weights = (keep / keep.sum(dim=1, keepdim=True)).unsqueeze(1).expand(-1, max_len, -1)
        return torch.stack(tokens, dim=1), weights


class _Oracle(nn.Module):
    """Reads the date off the source text (a cheat): a perfect translator, to test the evaluation."""

    def __init__(self, wrong_formats=()):
        super().__init__()
        self.wrong_formats = set(wrong_formats)
        self.dummy = nn.Parameter(torch.zeros(1))
        self.lookup = {}

    def forward(self, src, src_lengths, tgt_in):
        raise NotImplementedError

    def greedy(self, src, src_lengths, max_len):
        rows = []
        for row in src:
            iso = self.lookup[date_source_decode(row)]
            rows.append(date_target_encode(iso))
        tokens = torch.stack(rows)
        tokens = torch.cat([tokens, torch.full((len(src), max_len - tokens.shape[1]), DATE_PAD_ID)], dim=1)
        return tokens, None


def _small_budget(**changes):
    return TranslatorBudget(**{"steps": 30, "batch_size": 16, "lr": 1e-2, "seed": 0, **changes})


def test_train_translator_learns_and_is_seeded(one_thread):
    torch.manual_seed(0)
    model = _TinyTranslator()
    torch.manual_seed(0)
    twin = _TinyTranslator()
    losses = train_translator(model, _small_budget())
    again = train_translator(twin, _small_budget())
    assert len(losses) == 30 and all(type(v) is float for v in losses)
    assert losses == again, "same seeds, same model: same run"
    assert math.log(len(DATE_TARGET_VOCAB)) - 0.3 < losses[0] < math.log(len(DATE_TARGET_VOCAB)) + 0.3
    assert sum(losses[-5:]) / 5 < losses[0] - 0.5
    assert not model.training, "train_translator leaves the model in eval mode"
    torch.manual_seed(0)
    other = train_translator(_TinyTranslator(), _small_budget(seed=1))
    assert other != losses


def test_train_translator_uses_only_the_given_dates(one_thread):
    seen = []

    class Spy(_TinyTranslator):
        def forward(self, src, src_lengths, tgt_in):
            seen.extend(date_target_decode(row) for row in tgt_in)
            return super().forward(src, src_lengths, tgt_in)

    only = [datetime.date(2021, 3, 3), datetime.date(1999, 12, 31)]
    train_translator(Spy(), _small_budget(steps=3), train_dates=only)
    assert set(seen) == {"2021-03-03", "1999-12-31"}
    seen.clear()
    _, heldout = date_split(0)
    train_translator(Spy(), _small_budget(steps=3))
    assert not {datetime.date.fromisoformat(s) for s in seen} & set(heldout), "default: training dates only"


def test_translator_loss_is_cross_entropy_ignoring_padded_targets():
    torch.manual_seed(0)
    model = _TinyTranslator()
    batch = date_batch(date_split(0)[0], 8, torch.Generator().manual_seed(0))
    logits = model(batch.src, batch.src_lengths, batch.tgt_in)
    expected = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch.tgt_out.reshape(-1))
    torch.testing.assert_close(translator_loss(model, batch), expected)
    padded_out = batch.tgt_out.clone()
    padded_out[:, -3:] = PAD_LABEL
    kept = nn.functional.cross_entropy(logits[:, :-3].reshape(-1, logits.shape[-1]), batch.tgt_out[:, :-3].reshape(-1))
    torch.testing.assert_close(translator_loss(model, batch._replace(tgt_out=padded_out)), kept)


def test_translator_loss_rejects_wrong_logits():
    class Wrong(_TinyTranslator):
        def forward(self, src, src_lengths, tgt_in):
            return super().forward(src, src_lengths, tgt_in)[:, :-1]

    batch = date_batch(date_split(0)[0], 4, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=r"logits of shape \(B, T, V\)"):
        translator_loss(Wrong(), batch)


@pytest.mark.parametrize(
    "model, budget, error, words",
    [
        (nn.Linear(2, 2), TRANSLATOR_BUDGET, TypeError, "greedy"),
        ("model", TRANSLATOR_BUDGET, TypeError, "nn.Module"),
        (None, {"steps": 3}, TypeError, "TranslatorBudget"),
    ],
)
def test_train_translator_bad_arguments(model, budget, error, words):
    with pytest.raises(error, match=words):
        train_translator(_TinyTranslator() if model is None else model, budget)


def _oracle_and_examples(n=300, wrong_formats=()):
    _, heldout = date_split(0)
    examples = date_examples(heldout, n, torch.Generator().manual_seed(7))
    oracle = _Oracle(wrong_formats)
    for e in examples:
        oracle.lookup[e.text] = "1900-01-01" if e.fmt in oracle.wrong_formats else e.iso
    return oracle, examples


def test_evaluate_translator_exact_match_by_format_and_length():
    oracle, examples = _oracle_and_examples()
    result = evaluate_translator(oracle, examples, batch_size=64)
    assert result.exact_match == 1.0
    assert result.correct.dtype == torch.bool and result.correct.shape == (300,)
    assert result.predictions == [e.iso for e in examples]
    assert result.attention is None
    assert result.formats.tolist() == [e.fmt for e in examples]
    assert result.src_lengths.tolist() == [len(e.text) for e in examples]
    oracle, examples = _oracle_and_examples(wrong_formats={3, 13})
    result = evaluate_translator(oracle, examples, batch_size=64)
    by_format = result.by_format()
    assert set(by_format) == {e.fmt for e in examples}
    assert by_format[3] == by_format[13] == 0.0
    assert all(v == 1.0 for f, v in by_format.items() if f not in (3, 13))
    expected = sum(e.fmt not in (3, 13) for e in examples) / len(examples)
    assert result.exact_match == pytest.approx(expected)
    buckets = result.by_length([0, 12, 100])
    assert sum(count for *_, count in buckets) == len(examples)
    short = [e for e in examples if len(e.text) < 12]
    assert buckets[0] == (0, 12, pytest.approx(sum(e.fmt not in (3, 13) for e in short) / len(short)), len(short))


def test_evaluate_translator_attention_padded_to_the_longest_source():
    torch.manual_seed(0)
    model = _TinyTranslator()
    _, heldout = date_split(0)
    examples = date_examples(heldout, 40, torch.Generator().manual_seed(1))
    result = evaluate_translator(model, examples, batch_size=16)
    S = max(len(e.text) for e in examples)
    assert result.attention.shape == (40, DATE_TARGET_LENGTH, S)
    torch.testing.assert_close(result.attention.sum(dim=-1), torch.ones(40, DATE_TARGET_LENGTH))
    for n, e in enumerate(examples):
        assert (result.attention[n, :, len(e.text) :] == 0).all()
    assert model.training, "evaluate_translator restores the model's mode"
    assert 0.0 <= result.exact_match <= 1.0
    assert evaluate_translator(_TinyTranslator(with_attention=False), examples).attention is None


def test_evaluate_translator_rejects_wrong_outputs():
    class ShortTokens(_TinyTranslator):
        def greedy(self, src, src_lengths, max_len):
            tokens, weights = super().greedy(src, src_lengths, max_len)
            return tokens[:, :-1], weights

    class WrongAttention(_TinyTranslator):
        def greedy(self, src, src_lengths, max_len):
            tokens, weights = super().greedy(src, src_lengths, max_len)
            return tokens, weights.transpose(1, 2)

    examples = date_examples(date_split(0)[1], 8, torch.Generator().manual_seed(1))
    with pytest.raises(ValueError, match=r"tokens of shape \(B, max_len\)"):
        evaluate_translator(ShortTokens(), examples)
    with pytest.raises(ValueError, match=r"attention of shape \(B, max_len, S\)"):
        evaluate_translator(WrongAttention(), examples)
    with pytest.raises(ValueError, match="max_len"):
        evaluate_translator(_TinyTranslator(), examples, max_len=0)
    with pytest.raises(TypeError, match="DateExample"):
        evaluate_translator(_TinyTranslator(), [])


# ---- the copy task through the translator plumbing ------------------------------------------------------------


class _Copier(nn.Module):
    """Copies its source exactly up to ``right_up_to`` symbols, then writes symbol 3: to test the evaluation."""

    def __init__(self, right_up_to: int = 10**6):
        super().__init__()
        self.right_up_to = right_up_to
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, src, src_lengths, tgt_in):
        raise NotImplementedError

    def greedy(self, src, src_lengths, max_len):
        tokens = torch.full((len(src), max_len), 2)
        tokens[:, : src.shape[1]] = src
        tokens[:, self.right_up_to :] = torch.where(tokens[:, self.right_up_to :] > 2, 3, 2)
        return tokens, None


def test_copy_accuracy_by_length_counts_symbols_per_length():
    from seqlab.data import copy_batch
    from seqlab.train import copy_accuracy_by_length

    batch = copy_batch(300, 10, 2, 12, torch.Generator().manual_seed(0))
    perfect = copy_accuracy_by_length(_Copier(), batch)
    assert [row[0] for row in perfect] == list(range(2, 13))
    assert all(accuracy == 1.0 for _, accuracy, _ in perfect)
    assert sum(rows for _, _, rows in perfect) == 300
    cut = dict((length, accuracy) for length, accuracy, _ in copy_accuracy_by_length(_Copier(5), batch))
    src, lengths = batch.src, batch.src_lengths
    for length in range(6, 13):  # positions 5.. are all "3": right only where the symbol happens to be 3
        same = lengths == length
        lucky = (src[same, 5:length] == 3).sum().item()
        assert cut[length] == pytest.approx((5 * same.sum().item() + lucky) / (same.sum().item() * length))
    assert cut[2] == cut[5] == 1.0


def test_copy_accuracy_by_length_rejects_other_batches():
    from seqlab.train import copy_accuracy_by_length

    batch = date_batch(date_split(0)[0], 4, torch.Generator().manual_seed(0))
    with pytest.raises(TypeError, match="CopyBatch"):
        copy_accuracy_by_length(_Copier(), batch)


def test_train_translator_on_another_task(one_thread):
    from seqlab.data import copy_batch

    seen = []

    class Spy(_TinyTranslator):
        def forward(self, src, src_lengths, tgt_in):
            seen.append(src_lengths.clone())
            return super().forward(src, src_lengths, tgt_in)

    torch.manual_seed(0)
    losses = train_translator(Spy(), _small_budget(steps=20), make_batch=lambda n, gen: copy_batch(n, 10, 2, 3, gen))
    assert len(losses) == 20 and all(set(s.tolist()) <= {2, 3} for s in seen), "batches come from make_batch"
    assert sum(losses[-5:]) / 5 < losses[0]
    with pytest.raises(ValueError, match="not both"):
        train_translator(
            _TinyTranslator(), _small_budget(steps=1), train_dates=date_split(0)[0], make_batch=lambda n, g: None
        )


# ---------------------------------------------------------------------------------------------------------------
# Reversal, token accuracy and wall time (lesson 07)
# ---------------------------------------------------------------------------------------------------------------


class _PositionTable(nn.Module):
    """Logits from an embedding of (position, symbol): enough to learn reversal without attention."""

    def __init__(self, length=6, n_symbols=4):
        super().__init__()
        self.length, self.n_symbols = length, n_symbols
        self.readout = nn.Linear(length * n_symbols, length * n_symbols)

    def forward(self, X):
        one_hot = nn.functional.one_hot(X, self.n_symbols).float().flatten(1)
        return self.readout(one_hot).view(len(X), self.length, self.n_symbols)


def test_train_reversal_learns_is_seeded_and_leaves_eval_mode(one_thread):
    from seqlab.data import reversal_batch
    from seqlab.train import ReversalBudget, token_accuracy, train_reversal

    budget = ReversalBudget(steps=150, batch_size=32, lr=3e-2, seed=1, length=6, n_symbols=4)
    torch.manual_seed(0)
    model = _PositionTable()
    losses = train_reversal(model, budget)
    assert len(losses) == 150 and losses[-1] < 0.3 * losses[0] and not model.training
    X, Y = reversal_batch(500, 6, 4, torch.Generator().manual_seed(99))
    assert token_accuracy(model, X, Y) > 0.95
    torch.manual_seed(0)
    again = train_reversal(_PositionTable(), budget)
    assert again == losses


def test_reversal_budget_default():
    from seqlab.train import REVERSAL_BUDGET, ReversalBudget

    assert ReversalBudget(steps=200, batch_size=64, lr=3e-3, seed=0, length=16, n_symbols=10) == REVERSAL_BUDGET


def test_train_reversal_bad_arguments():
    from seqlab.train import ReversalBudget, train_reversal

    with pytest.raises(TypeError, match="nn.Module"):
        train_reversal(lambda X: X)
    with pytest.raises(TypeError, match="ReversalBudget"):
        train_reversal(_PositionTable(), budget={"steps": 3})
    with pytest.raises(ValueError, match=r"\(B, T, 3\).*got torch.Size\(\[64, 6, 4\]\)"):
        train_reversal(_PositionTable(6, 4), ReversalBudget(steps=1, length=6, n_symbols=3))


def test_token_accuracy_counts_positions_ignores_padding_and_restores_mode():
    from seqlab.train import token_accuracy

    class Echo(nn.Module):
        def forward(self, X):
            return nn.functional.one_hot(X, 5).float()

    model = Echo().train()
    X = torch.tensor([[0, 1, 2, 3], [4, 4, 4, 4]])
    Y = torch.tensor([[0, 1, 0, 0], [4, 4, PAD_LABEL, PAD_LABEL]])
    assert token_accuracy(model, X, Y) == pytest.approx(4 / 6)
    assert model.training, "the model's mode is restored"
    with pytest.raises(ValueError, match="every label is PAD_LABEL"):
        token_accuracy(model, X, torch.full_like(Y, PAD_LABEL))
    with pytest.raises(ValueError, match="int64"):
        token_accuracy(model, X, Y.float())
    with pytest.raises(ValueError, match=r"shape of Y"):
        token_accuracy(model, X[:, :3], Y)
    with pytest.raises(ValueError, match=r"logits of shape \(B, T, V\)"):
        token_accuracy(nn.Identity(), X, Y)
    with pytest.raises(TypeError, match="nn.Module"):
        token_accuracy(lambda X: X, X, Y)


def test_median_wall_time_is_the_median_of_timed_calls(monkeypatch):
    import seqlab.train as train_module
    from seqlab.train import median_wall_time

    clock = iter([0.0, 1.0, 10.0, 13.0, 20.0, 22.0])  # three timed calls lasting 1, 3, 2 s
    monkeypatch.setattr(train_module.time, "perf_counter", lambda: next(clock))
    calls = []
    assert median_wall_time(lambda: calls.append(1), repeats=3, warmup=2) == 2.0
    assert len(calls) == 5, "2 warm-up calls + 3 timed calls"


def test_median_wall_time_measures_real_time_and_checks_arguments():
    import time

    from seqlab.train import median_wall_time

    seconds = median_wall_time(lambda: time.sleep(0.01), repeats=3, warmup=0)
    assert 0.009 < seconds < 0.5
    with pytest.raises(TypeError, match="function"):
        median_wall_time(3)
    with pytest.raises(ValueError, match="repeats"):
        median_wall_time(lambda: None, repeats=0)
    with pytest.raises(ValueError, match="warmup"):
        median_wall_time(lambda: None, warmup=-1)


def test_train_adding_problem_evaluates_after_asked_steps_without_changing_training():
    from dataclasses import replace

    from seqlab.models import RecurrentRegressor

    budget = replace(ADDING_BUDGET, length=5, steps=6, test_size=16)
    torch.manual_seed(0)
    plain = train_adding_problem(RecurrentRegressor("rnn", 2, 8), budget)
    torch.manual_seed(0)
    evaluated = train_adding_problem(RecurrentRegressor("rnn", 2, 8), budget, evaluate_after=(2, 4))
    assert evaluated.losses == plain.losses and evaluated.test_mse == plain.test_mse
    assert sorted(evaluated.test_mse_after) == [2, 4, 6] and evaluated.test_mse_after[6] == plain.test_mse
    with pytest.raises(ValueError, match="evaluate_after"):
        train_adding_problem(RecurrentRegressor("rnn", 2, 8), budget, evaluate_after=(7,))


def test_train_adding_problem_clips_when_asked():
    from dataclasses import replace

    from seqlab.models import RecurrentRegressor

    budget = replace(ADDING_BUDGET, length=5, steps=3, test_size=16)
    runs = {}
    for clip_norm in (None, 1e-12):
        torch.manual_seed(0)
        model = RecurrentRegressor("rnn", 2, 8)
        before = [p.detach().clone() for p in model.parameters()]
        runs[clip_norm] = train_adding_problem(model, budget, clip_norm=clip_norm)
        moved = [float((p - b).abs().max()) for p, b in zip(model.parameters(), before, strict=True)]
        runs[clip_norm, "moved"] = max(moved)
    # Adam's first steps are about lr per weight; gradients clipped to norm 1e-12 fall below its epsilon
    assert runs[None, "moved"] > 0.5 * budget.lr and runs[1e-12, "moved"] < 0.01 * budget.lr
    assert runs[None].losses[0] == runs[1e-12].losses[0]  # the same model and batch before the first update
    with pytest.raises(ValueError, match="clip_norm"):
        train_adding_problem(RecurrentRegressor("rnn", 2, 8), budget, clip_norm=0.0)
