"""Unit tests for lesson 08's plumbing: the quatrain corpus and its provenance, the form metric, the character
language model and its carried state, consecutive batches, the stored model, and the ``seqlab quatrains`` /
``seqlab store-lm`` tools (without the network or the minutes of training)."""

from __future__ import annotations

import hashlib
import importlib.resources
import io
import json
import math
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from seqlab import data, language_model
from seqlab.models import CarriedState, CharLanguageModel, detach_state
from seqlab.tools.course import ToolError
from seqlab.tools.quatrains import extract_quatrains, write_corpus

CORPUS = Path(str(importlib.resources.files("seqlab").joinpath("quatrains")))


def test_corpus_matches_its_provenance_and_stays_small():
    record = json.loads((CORPUS / "provenance.json").read_text(encoding="utf-8"))
    assert record["package"] == "chinese-poetry" and record["licence"] == "MIT" and len(record["shasum"]) == 40
    for name, digest in record["sha256"].items():
        assert hashlib.sha256((CORPUS / name).read_bytes()).hexdigest() == digest, f"{name} differs from its record"
    assert sum(p.stat().st_size for p in CORPUS.iterdir()) <= 1_000_000
    assert len(data.load_quatrains("train")) == record["poems"]["train"] == 3337
    assert len(data.load_quatrains("valid")) == record["poems"]["valid"] == 370
    assert "MIT License" in (CORPUS / "SOURCE.md").read_text(encoding="utf-8")


def test_splits_are_disjoint_quatrains():
    train, valid = data.load_quatrains("train"), data.load_quatrains("valid")
    assert not set(train) & set(valid) and len(set(train)) == len(train)
    assert data.quatrain_form_rate(train + valid) == 1.0
    with pytest.raises(ValueError, match="split"):
        data.load_quatrains("test")


@pytest.mark.parametrize(
    ("text", "in_form"),
    [
        ("床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。", True),
        ("床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉", False),  # no final full stop
        ("床前明月，疑是地上霜。舉頭望明月光，低頭思故鄉。", False),  # 4 + 6 characters
        ("床前明月光。疑是地上霜，舉頭望明月，低頭思故鄉。", False),  # punctuation swapped
        ("床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。\n", False),  # the poem end is not part of a poem
        ("", False),
    ],
)
def test_is_quatrain(text, in_form):
    assert data.is_quatrain(text) is in_form


def test_form_rate_counts_and_refuses_a_single_string():
    poem = data.load_quatrains("valid")[0]
    assert data.quatrain_form_rate([poem, poem[:-1], poem, "x"]) == 0.5
    assert data.quatrain_form_rate([]) == 0.0
    with pytest.raises(TypeError):
        data.quatrain_form_rate(poem)


def test_vocabulary_round_trip_and_stream_layout():
    vocab = data.quatrain_vocabulary()
    assert vocab.itos[0] == data.POEM_END and len(vocab) == len(set(vocab.itos)) == 3730
    poem = data.load_quatrains("train")[5]
    assert vocab.decode(vocab.encode(poem)) == poem
    stream = data.quatrain_tokens("valid")
    assert len(stream) == 25 * 370 + 1 and stream[0] == 0 and stream[-1] == 0 and int((stream == 0).sum()) == 371
    assert vocab.decode(stream[1:25]) == data.load_quatrains("valid")[0]
    with pytest.raises(KeyError, match="A"):
        vocab.encode("A")
    with pytest.raises(ValueError):
        vocab.decode(torch.zeros(2, 2, dtype=torch.long))


def test_unigram_perplexity_by_hand():
    train = torch.tensor([0, 0, 1])  # counts 2, 1, 0 -> add one: 3, 2, 1 of 6
    valid = torch.tensor([0, 2])
    assert data.unigram_perplexity(train, valid, 3) == pytest.approx(math.exp(-(math.log(3 / 6) + math.log(1 / 6)) / 2))


def test_consecutive_batches_continue_each_row():
    tokens = torch.arange(103)
    batches = data.consecutive_batches(tokens, 4, 5)  # 25 tokens per row, 5 windows
    first = [next(batches) for _ in range(6)]
    X0, Y0 = first[0]
    assert torch.equal(X0[:, 0], torch.tensor([0, 25, 50, 75])) and torch.equal(Y0, X0 + 1)
    for (X, _), (X_next, _) in zip(first[:4], first[1:5], strict=True):
        assert torch.equal(X_next[:, 0], X[:, -1] + 1), "row b of a batch continues row b of the one before"
    assert torch.equal(first[5][0], X0), "with cycle the walk starts again"
    assert len(list(data.consecutive_batches(tokens, 4, 5, cycle=False))) == 5
    with pytest.raises(ValueError, match="no window"):
        next(data.consecutive_batches(tokens, 50, 5))


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_char_language_model_step_matches_forward(kind):
    torch.manual_seed(0)
    model = CharLanguageModel(11, 4, 6, kind).double()
    X = torch.randint(0, 11, (3, 7))
    whole = model(X)
    assert whole.shape == (3, 7, 11)
    first, state = model.step(X[:, :4])
    rest, _ = model.step(X[:, 4:], state)
    torch.testing.assert_close(torch.cat([first, rest], dim=1), whole)
    with pytest.raises(ValueError, match="ids from 0 to 10"):
        model(torch.full((1, 2), 11))
    with pytest.raises(ValueError, match="kind"):
        CharLanguageModel(11, 4, 6, "rnn")


def test_carried_state_runs_on_and_cuts_the_graph():
    torch.manual_seed(1)
    model = CharLanguageModel(9, 3, 5, "lstm").double()
    X = torch.randint(0, 9, (2, 8))
    carried = CarriedState(model)
    torch.testing.assert_close(torch.cat([carried(X[:, :5]), carried(X[:, 5:])], dim=1), model(X))
    assert all(not s.requires_grad for s in carried.state)
    carried.reset()
    torch.testing.assert_close(carried(X[:, 5:]), model(X[:, 5:]))
    assert detach_state(None) is None


def test_recipe_batches_are_windows_and_reproducible():
    recipe = language_model.QUATRAIN_LM
    tokens = torch.arange(500) * 2
    first = list(language_model.recipe_batches(recipe, tokens, steps=3))
    again = list(language_model.recipe_batches(recipe, tokens, steps=3))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, again, strict=True))
    X, Y = first[0]
    assert X.shape == (recipe.batch_size, recipe.block_size) and torch.equal(Y, X + 2)
    assert torch.equal(X[:, 1:] - X[:, :-1], torch.full((recipe.batch_size, recipe.block_size - 1), 2))
    rng = np.random.default_rng(recipe.data_seed)
    resumed = list(language_model.recipe_batches(recipe, tokens, 1, rng)) + list(
        language_model.recipe_batches(recipe, tokens, 2, rng)
    )
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, resumed, strict=True)), (
        "a passed generator goes on where it was"
    )


def test_stored_model_round_trip(tmp_path):
    recipe = language_model.LanguageModelRecipe(embed_dim=3, hidden_size=4, steps=2, evaluate_every=1)
    model = language_model.build_model(recipe, 6)
    language_model.save_stored_model(model, recipe, [1.5, 1.25], [(1, 5.0), (2, 4.5)], "seqlab store-lm", tmp_path)
    stored = language_model.load_stored_model(tmp_path)
    assert stored.recipe == recipe and stored.losses == [1.5, 1.25] and stored.validation == [(1, 5.0), (2, 4.5)]
    assert stored.made_by["command"] == "seqlab store-lm" and not stored.model.training
    X = torch.randint(0, 6, (2, 3))
    torch.testing.assert_close(stored.model(X), model.eval()(X), atol=2e-3, rtol=2e-3)  # float16 storage


def test_packaged_stored_model_is_the_recipe():
    stored = language_model.load_stored_model()
    assert stored.recipe == language_model.QUATRAIN_LM
    assert len(stored.losses) == stored.recipe.steps and stored.validation[-1][0] == stored.recipe.steps
    assert stored.model.vocab_size == len(data.quatrain_vocabulary())
    assert stored.made_by["command"].startswith("seqlab store-lm")


def _fake_tarball(path: Path, poems: list[list[str]]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, payload in (
            ("package/LICENSE", b"The MIT License (MIT)\n"),
            ("package/dist/quantangshi/poet.tang.1000.json", json.dumps([{"paragraphs": p} for p in poems[1:]])),
            ("package/dist/quantangshi/poet.tang.0.json", json.dumps([{"paragraphs": poems[0]}])),
            ("package/dist/quantangshi/poet.song.0.json", json.dumps([{"paragraphs": poems[0]}])),
        ):
            raw = payload if isinstance(payload, bytes) else payload.encode()
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    return path


def test_extraction_keeps_quatrains_in_source_order(tmp_path, monkeypatch):
    good = ["床前明月光，疑是地上霜。", "舉頭望明月，低頭思故鄉。"]
    other = ["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。"]
    poems = [
        good,
        ["床前明月光，疑是地上霜。"],
        good,
        other,
        good + good,
        ["床前明月光，疑是地上霜。", "舉頭望明月，低頭思故A。"],
    ]
    tarball = _fake_tarball(tmp_path / "fake.tgz", poems)
    with pytest.raises(ToolError, match="SHA-1"):
        extract_quatrains(tarball)
    monkeypatch.setattr("seqlab.tools.quatrains.SHASUM", hashlib.sha1(tarball.read_bytes()).hexdigest())
    found, licence = extract_quatrains(tarball)
    assert found == ["".join(good), "".join(other)] and licence.startswith("The MIT License")
    record = write_corpus(found * 5, licence, tmp_path / "out", "seqlab quatrains --tarball fake.tgz")
    assert record["poems"] == {"train": 9, "valid": 1}
    assert (tmp_path / "out" / "valid.txt").read_text(encoding="utf-8") == "".join(other) + "\n"


def test_store_lm_takes_the_reference_answers_of_the_solution_notebook(tmp_path):
    from seqlab.tools.store_lm import SOLUTION_NOTEBOOK, reference_functions
    from tests.support import REPO

    ref = reference_functions(REPO / SOLUTION_NOTEBOOK)
    logits, targets = torch.randn(2, 3, 5, dtype=torch.float64), torch.randint(0, 5, (2, 3))
    torch.testing.assert_close(
        ref["token_nll"](logits, targets), torch.nn.functional.cross_entropy(logits.reshape(-1, 5), targets.reshape(-1))
    )
    model = CharLanguageModel(5, 2, 3).double()
    losses = ref["train_language_model"](model, [(targets, targets)], torch.optim.SGD(model.parameters(), lr=0.1))
    assert len(losses) == 1 and isinstance(losses[0], float)
    with pytest.raises(ToolError, match="no such notebook"):
        reference_functions(tmp_path / "missing.ipynb")
