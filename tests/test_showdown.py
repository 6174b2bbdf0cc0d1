"""Unit tests for lesson 10's plumbing: the MEMORY_* ids, the showdown's models, seqlab.showdown and
``seqlab showdown``.

The copy-memory generator is the lesson's exercise and never lives in seqlab or here: these tests use a test double
with the right shapes (every symbol is 1), not the task.
"""

import dataclasses
import importlib.resources
import json
import math
import tomllib
from pathlib import Path

import matplotlib
import nbformat
import pytest
import torch

from seqlab import data
from seqlab.models import RecurrentTagger, TransformerRegressor, TransformerTagger
from seqlab.showdown import (
    ADDING_SOLVED_MSE,
    COPY_SOLVED_ACCURACY,
    COPY_TOLERANCE,
    FORGET_BIAS_BUDGET,
    FORGET_BIAS_RESULTS_FILE,
    SHOWDOWN_BUDGET,
    SHOWDOWN_KINDS,
    SHOWDOWN_RESULTS_FILE,
    SHOWDOWN_TASKS,
    ShowdownBudget,
    ShowdownResult,
    adding_tolerance,
    agreement_table,
    compare_with_stored,
    copy_memory_fingerprint,
    count_parameters,
    load_showdown_results,
    plot_showdown,
    run_showdown_cell,
    save_showdown_results,
    showdown_cells,
    showdown_model,
    showdown_table,
    single_thread,
)
from seqlab.tools import cli
from seqlab.tools.showdown import COPY_MEMORY_GRADE_ID, SOLUTION_NOTEBOOK, compile_reference, reference_source

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[1]
TINY = dataclasses.replace(
    SHOWDOWN_BUDGET, steps=4, batch_size=8, n_symbols=3, lengths=(3, 5), seeds=(0,), test_size=50
)

DOUBLE_SOURCE = """def copy_memory_batch(batch_size, n_symbols, delay, generator):
    ### BEGIN SOLUTION
    # a test double with the task's shapes, NOT the task: every symbol is 1
    T = 2 * n_symbols + delay + 1
    X = torch.full((batch_size, T), MEMORY_BLANK, dtype=torch.long)
    X[:, :n_symbols] = 1
    X[:, n_symbols + delay] = MEMORY_CUE
    Y = torch.full((batch_size, T), MEMORY_BLANK, dtype=torch.long)
    Y[:, n_symbols + delay + 1 :] = 1
    return X, Y
    ### END SOLUTION
"""


def double_copy_memory_batch(batch_size, n_symbols, delay, generator):
    return compile_reference(DOUBLE_SOURCE.replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""))(
        batch_size, n_symbols, delay, generator
    )


@pytest.fixture(autouse=True)
def no_progress_bars(monkeypatch):
    monkeypatch.setenv("SEQLAB_PROGRESS", "0")


# --- MEMORY_* ids --------------------------------------------------------------------------------------------------


def test_memory_ids():
    assert (data.MEMORY_BLANK, data.MEMORY_ALPHABET, data.MEMORY_CUE, data.MEMORY_VOCAB) == (0, 8, 9, 10)
    assert data.MEMORY_CHANCE_ACCURACY == 1 / 8
    for name in ("MEMORY_BLANK", "MEMORY_ALPHABET", "MEMORY_CUE", "MEMORY_VOCAB", "MEMORY_CHANCE_ACCURACY"):
        assert name in data.__all__
    assert not hasattr(data, "copy_memory_batch")  # the exercise's answer never ships in seqlab


# --- models --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_recurrent_tagger_is_one_hot_then_the_layer_then_a_readout_per_step(kind):
    torch.manual_seed(0)
    model = RecurrentTagger(kind, vocab_size=6, hidden_size=5)
    tokens = torch.randint(0, 6, (3, 7))
    logits = model(tokens)
    assert logits.shape == (3, 7, 6)
    H_all, _ = model.recurrent(torch.nn.functional.one_hot(tokens, 6).float())
    assert torch.allclose(logits, model.readout(H_all))


def test_models_refuse_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="kind"):
        RecurrentTagger("transformer", 5, 4)
    with pytest.raises(ValueError, match="hidden_size"):
        RecurrentTagger("gru", 5, 0)
    with pytest.raises(ValueError, match="divisible"):
        TransformerTagger(5, d_model=6, num_heads=4, d_ff=8)
    with pytest.raises(ValueError, match="even"):
        TransformerTagger(5, d_model=5, num_heads=1, d_ff=8)
    tagger, transformer = RecurrentTagger("lstm", 5, 4), TransformerTagger(5, 8, 2, 16, max_len=10)
    for model in (tagger, transformer):
        with pytest.raises(ValueError, match="int64"):
            model(torch.zeros(2, 3))
        with pytest.raises(ValueError, match="int64"):
            model(torch.zeros(2, 3, 1, dtype=torch.long))
        with pytest.raises(ValueError, match="from 0 to 4"):
            model(torch.tensor([[0, 5]]))
    with pytest.raises(ValueError, match="max_len=10"):
        transformer(torch.zeros(1, 11, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(B, T, 2\)"):
        TransformerRegressor(2, 8, 2, 16)(torch.zeros(3, 4, 3))


def test_sinusoids_follow_the_formula():
    table = TransformerTagger(5, d_model=8, num_heads=2, d_ff=16, max_len=50).positions  # the fixed positions
    assert table.shape == (50, 8) and table.dtype == torch.float32
    t, i = 7, 2
    rate = 10000 ** (-2 * i / 8)
    assert math.isclose(float(table[t, 2 * i]), math.sin(t * rate), abs_tol=1e-6)
    assert math.isclose(float(table[t, 2 * i + 1]), math.cos(t * rate), abs_tol=1e-6)
    assert torch.equal(table[0], torch.tensor([0.0, 1.0] * 4))


def test_transformer_tagger_embeds_adds_positions_and_is_not_causal():
    torch.manual_seed(0)
    model = TransformerTagger(5, d_model=8, num_heads=2, d_ff=16).eval()
    assert count_parameters(model) == sum(p.numel() for p in model.parameters())
    assert "positions" not in model.state_dict()  # a fixed buffer, not a parameter, not saved
    tokens = torch.randint(0, 5, (2, 6))
    with torch.no_grad():
        manual = model.readout(model.encoder(model.embed.weight[tokens] + model.positions[:6]))
        assert torch.allclose(model(tokens), manual, atol=1e-6)
        changed = tokens.clone()
        changed[:, -1] = (changed[:, -1] + 1) % 5
        assert not torch.allclose(model(tokens)[:, 0], model(changed)[:, 0])  # the first position sees the last


def test_transformer_regressor_reads_the_last_position():
    torch.manual_seed(0)
    model = TransformerRegressor(2, d_model=8, num_heads=2, d_ff=16, output_size=3).eval()
    X = torch.randn(4, 9, 2)
    with torch.no_grad():
        out = model(X)
        assert out.shape == (4, 3)
        assert torch.allclose(out, model.readout(model.encode(model.embed(X))[:, -1]), atol=1e-6)
    assert len(model.encoder.layers) == 1


@pytest.mark.parametrize("task", SHOWDOWN_TASKS)
def test_showdown_models_have_comparable_parameter_counts(task):
    counts = {kind: count_parameters(showdown_model(kind, task)) for kind in SHOWDOWN_KINDS}
    assert max(counts.values()) <= 1.15 * min(counts.values()), counts
    X = torch.rand(2, 12, 2) if task == "adding" else torch.randint(0, data.MEMORY_VOCAB, (2, 12))
    for kind in SHOWDOWN_KINDS:
        out = showdown_model(kind, task)(X)
        assert out.shape == ((2, 1) if task == "adding" else (2, 12, data.MEMORY_VOCAB))


def test_showdown_model_and_count_parameters_refuse_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        showdown_model("cnn", "adding")
    with pytest.raises(ValueError, match="task"):
        showdown_model("lstm", "sorting")
    with pytest.raises(TypeError, match="nn.Module"):
        count_parameters([torch.zeros(3)])


# --- one cell ------------------------------------------------------------------------------------------------------


def test_single_thread_sets_and_restores():
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    with single_thread():
        assert torch.get_num_threads() == 1 and torch.are_deterministic_algorithms_enabled()
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic


@pytest.mark.parametrize("task", SHOWDOWN_TASKS)
@pytest.mark.parametrize("kind", SHOWDOWN_KINDS)
def test_a_cell_is_reproducible_and_leaves_the_global_generator_alone(task, kind):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    first = run_showdown_cell(task, kind, 5, 0, TINY, double_copy_memory_batch)
    assert torch.equal(torch.get_rng_state(), before)
    again = run_showdown_cell(task, kind, 5, 0, TINY, double_copy_memory_batch)
    assert dataclasses.replace(first, seconds=0) == dataclasses.replace(again, seconds=0)
    assert first.key == (task, kind, 5, 0)
    assert first.params == count_parameters(showdown_model(kind, task))
    if task == "copy":
        assert 0 <= first.metric <= 1 and first.solved == (first.metric >= COPY_SOLVED_ACCURACY)
    else:
        assert first.metric > 0 and first.solved == (first.metric < ADDING_SOLVED_MSE)
    other_seed = run_showdown_cell(task, kind, 5, 1, TINY, double_copy_memory_batch)
    assert other_seed.metric != first.metric or task == "copy"  # the double's copy batches are all the same


def test_the_copy_task_learns_the_double_and_uses_the_given_generator():
    budget = dataclasses.replace(TINY, steps=60)
    result = run_showdown_cell("copy", "transformer", 2, 0, budget, double_copy_memory_batch)
    assert result.metric == 1.0 and result.solved  # every answer is 1: learnt in a few steps
    calls = []

    def spy(batch_size, n_symbols, delay, generator):
        calls.append((batch_size, n_symbols, delay, isinstance(generator, torch.Generator)))
        return double_copy_memory_batch(batch_size, n_symbols, delay, generator)

    run_showdown_cell("copy", "lstm", 4, 0, TINY, spy)
    assert calls == [(8, 3, 4, True)] * TINY.steps + [(50, 3, 4, True)]


def test_run_showdown_cell_refuses_bad_arguments():
    with pytest.raises(TypeError, match="copy_memory_batch"):
        run_showdown_cell("copy", "lstm", 5, 0, TINY)
    with pytest.raises(ValueError, match="task"):
        run_showdown_cell("sorting", "lstm", 5, 0, TINY)
    with pytest.raises(ValueError, match="kind"):
        run_showdown_cell("adding", "cnn", 5, 0, TINY)
    with pytest.raises(ValueError, match="length"):
        run_showdown_cell("adding", "lstm", 1, 0, TINY)
    with pytest.raises(TypeError, match="seed"):
        run_showdown_cell("adding", "lstm", 5, 0.5, TINY)
    with pytest.raises(TypeError, match="ShowdownBudget"):
        run_showdown_cell("adding", "lstm", 5, 0, {"steps": 3})
    with pytest.raises(ValueError, match=r"\(8, 12\)"):  # (B, 2K + delay + 1)
        run_showdown_cell("copy", "lstm", 5, 0, TINY, lambda b, k, d, g: double_copy_memory_batch(b, k, d + 1, g))

    def floats(b, k, d, g):
        return tuple(t.float() for t in double_copy_memory_batch(b, k, d, g))

    with pytest.raises(ValueError, match="int64"):
        run_showdown_cell("copy", "lstm", 5, 0, TINY, floats)


def test_budget_and_cells():
    assert SHOWDOWN_BUDGET.lr("lstm") == SHOWDOWN_BUDGET.recurrent_lr
    assert SHOWDOWN_BUDGET.lr("transformer") == SHOWDOWN_BUDGET.transformer_lr
    assert SHOWDOWN_BUDGET.as_dict()["lengths"] == list(SHOWDOWN_BUDGET.lengths)
    cells = showdown_cells()
    assert len(cells) == 2 * 4 * len(SHOWDOWN_BUDGET.lengths) * len(SHOWDOWN_BUDGET.seeds) == len(set(cells))
    assert showdown_cells(TINY, tasks=["copy"], kinds=["gru"]) == [("copy", "gru", 3, 0), ("copy", "gru", 5, 0)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        SHOWDOWN_BUDGET.steps = 1


# --- stored results, agreement, presentation -----------------------------------------------------------------------


def fake_results(budget: ShowdownBudget = TINY) -> list[ShowdownResult]:
    results = []
    for task, kind, length, seed in showdown_cells(budget):
        metric = 0.001 * length if task == "adding" else 1.0 - 0.1 * SHOWDOWN_KINDS.index(kind)
        solved = metric < ADDING_SOLVED_MSE if task == "adding" else metric >= COPY_SOLVED_ACCURACY
        results.append(ShowdownResult(task, kind, length, seed, 100 + len(kind), metric, solved, 1.5))
    return results


def test_save_and_load_round_trip_and_refuse_stale_files(tmp_path):
    path = tmp_path / "results.json"
    saved = save_showdown_results(reversed(fake_results()), path, "seqlab showdown --steps 4", TINY, {"grade_id": "x"})
    loaded = load_showdown_results(path, budget=TINY)
    assert loaded == saved
    assert [r.key for r in loaded.results] == showdown_cells(TINY)  # table order, whatever the order of the runs
    assert loaded.command == "seqlab showdown --steps 4" and loaded.torch_version == torch.__version__
    assert loaded.get("copy", "gru", 5, 0).metric == pytest.approx(0.9)
    with pytest.raises(KeyError):
        loaded.get("copy", "gru", 7, 0)
    with pytest.raises(ValueError, match=r"stale.*|steps"):
        load_showdown_results(path)
    with pytest.raises(FileNotFoundError, match="seqlab showdown"):
        load_showdown_results(tmp_path / "missing.json")


def test_compare_with_stored_applies_the_tolerances(tmp_path):
    stored = save_showdown_results(fake_results(), tmp_path / "r.json", "c", TINY)
    same = compare_with_stored(fake_results(), stored)
    assert all(row.agree and row.stored == row.rerun for row in same)
    copy = stored.get("copy", "rnn", 3, 0)  # 1.0, solved
    near = dataclasses.replace(copy, metric=copy.metric - COPY_TOLERANCE + 1e-9)
    far = dataclasses.replace(copy, metric=copy.metric - COPY_TOLERANCE - 1e-3)
    flipped = dataclasses.replace(copy, solved=False)
    assert [r.agree for r in compare_with_stored([near, far, flipped], stored)] == [True, False, False]
    adding = stored.get("adding", "lstm", 5, 0)  # 0.005
    assert adding_tolerance(adding.metric) == 0.005 and adding_tolerance(0.1) == pytest.approx(0.02)
    off = dataclasses.replace(adding, metric=adding.metric + 0.006)
    assert not compare_with_stored([off], stored)[0].agree
    with pytest.raises(KeyError):
        compare_with_stored([dataclasses.replace(adding, length=99)], stored)
    text = agreement_table(compare_with_stored([near, far], stored))
    assert text.splitlines()[0].split()[:4] == ["task", "model", "length", "seed"]
    assert "yes" in text and "NO" in text


def test_table_and_plot(tmp_path):
    stored = save_showdown_results(fake_results(), tmp_path / "r.json", "c", TINY)
    table = showdown_table(stored)
    assert "| LSTM (104 params) |" in table and "T = 3" in table and "delay = 5" in table
    assert "| RNN (103 params) | 1.000 ✓ | 1.000 ✓ |" in table  # copy: median accuracy, solved in every seed
    assert "0.0030 ✓" in table and "0.0050 ✓" in table
    two_seeds = dataclasses.replace(TINY, seeds=(0, 1))
    runs = fake_results(two_seeds)
    runs = [dataclasses.replace(r, solved=False) if r.key == ("copy", "rnn", 3, 1) else r for r in runs]
    assert "| RNN (103 params) | 1.000 (1/2 ✓) | 1.000 ✓ |" in showdown_table(
        save_showdown_results(runs, tmp_path / "two.json", "c", two_seeds)
    )
    seconds = showdown_table(stored, "seconds")
    assert "training seconds" in seconds and "| 2 |" in seconds
    with pytest.raises(ValueError, match="what"):
        showdown_table(stored, "params")
    fig = plot_showdown(stored)
    left, right = fig.axes
    assert left.get_yscale() == "log" and "Adding" in left.get_title() and "Copy" in right.get_title()
    assert {t.get_text() for t in right.get_legend().get_texts()} >= {"RNN", "GRU", "LSTM", "Transformer"}
    matplotlib.pyplot.close(fig)


# --- the packaged sweep --------------------------------------------------------------------------------------------


def test_the_results_files_are_package_data():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for name in (SHOWDOWN_RESULTS_FILE, FORGET_BIAS_RESULTS_FILE):
        assert name in pyproject["tool"]["setuptools"]["package-data"]["seqlab"]


def test_the_forget_gate_bias_changes_only_the_lstm_and_only_b_f():
    with_bias = dataclasses.replace(TINY, lstm_forget_bias=1.0)
    for kind in ("rnn", "gru", "transformer"):
        assert (
            run_showdown_cell("adding", kind, 5, 0, with_bias).metric
            == run_showdown_cell("adding", kind, 5, 0, TINY).metric
        )
    assert (
        run_showdown_cell("adding", "lstm", 5, 0, with_bias).metric
        != run_showdown_cell("adding", "lstm", 5, 0, TINY).metric
    )
    assert dataclasses.replace(SHOWDOWN_BUDGET, lstm_forget_bias=1.0) == FORGET_BIAS_BUDGET
    assert SHOWDOWN_BUDGET.lstm_forget_bias is None  # the main sweep keeps PyTorch's initialisation


def test_a_file_without_a_newer_budget_field_loads_as_its_default(tmp_path):
    path = tmp_path / "old.json"
    save_showdown_results(fake_results(), path, "c", TINY)
    record = json.loads(path.read_text())
    del record["budget"]["lstm_forget_bias"]  # a file made before the field existed
    path.write_text(json.dumps(record))
    assert load_showdown_results(path, budget=TINY).budget == record["budget"]
    with pytest.raises(ValueError, match="lstm_forget_bias"):
        load_showdown_results(path, budget=dataclasses.replace(TINY, lstm_forget_bias=1.0))


def test_the_packaged_forget_bias_sweep_has_every_lstm_cell():
    stored = load_showdown_results(budget=FORGET_BIAS_BUDGET)  # the package's showdown_forget_bias.json
    assert stored.command.startswith("seqlab showdown") and "--lstm-forget-bias 1" in stored.command
    assert sorted(r.key for r in stored.results) == sorted(showdown_cells(kinds=["lstm"]))
    for r in stored.results:
        assert r.solved == (r.metric < ADDING_SOLVED_MSE if r.task == "adding" else r.metric >= COPY_SOLVED_ACCURACY)
    main = load_showdown_results()
    assert stored.copy_memory_batch["fingerprint"] == main.copy_memory_batch["fingerprint"]  # the same data


def test_the_packaged_sweep_is_complete_and_consistent():
    resource = importlib.resources.files("seqlab") / SHOWDOWN_RESULTS_FILE
    if not resource.is_file():
        pytest.skip("no stored sweep yet (seqlab showdown writes it)")
    stored = load_showdown_results()  # the course's budget: refuses stale files
    assert stored.command.startswith("seqlab showdown")
    assert sorted(r.key for r in stored.results) == sorted(showdown_cells())
    for r in stored.results:
        assert r.params == count_parameters(showdown_model(r.kind, r.task))
        assert r.solved == (r.metric < ADDING_SOLVED_MSE if r.task == "adding" else r.metric >= COPY_SOLVED_ACCURACY)
    assert stored.copy_memory_batch["grade_id"] == COPY_MEMORY_GRADE_ID
    solution = ROOT / SOLUTION_NOTEBOOK
    if solution.is_file():  # the lesson's reference answer still makes the data the sweep used
        reference = compile_reference(reference_source(solution))
        assert copy_memory_fingerprint(reference) == stored.copy_memory_batch["fingerprint"]


# --- seqlab showdown -----------------------------------------------------------------------------------------------


def write_notebook(path: Path, source: str, grade_id: str = COPY_MEMORY_GRADE_ID) -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"solution": True, "grade": False, "locked": False, "grade_id": grade_id}
    nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def test_the_command_runs_the_cells_and_records_itself(tmp_path, capsys):
    notebook = write_notebook(tmp_path / "solution.ipynb", DOUBLE_SOURCE)
    out = tmp_path / "results.json"
    argv = ["showdown", "--workers", "1", "--steps", "3", "--lengths", "3", "4", "--seeds", "0",
            "--kinds", "lstm", "transformer", "--solution", str(notebook), "--out", str(out)]  # fmt: skip
    assert cli.main(argv) == 0
    assert "wrote 8 cells" in capsys.readouterr().out
    raw = json.loads(out.read_text())
    assert raw["command"] == "seqlab showdown " + " ".join(argv[1:])
    assert raw["budget"]["steps"] == 3 and raw["budget"]["lengths"] == [3, 4]
    assert raw["copy_memory_batch"]["fingerprint"] == copy_memory_fingerprint(double_copy_memory_batch)
    with pytest.raises(ValueError, match="stale"):
        load_showdown_results(out)  # not the course's budget
    budget = dataclasses.replace(SHOWDOWN_BUDGET, steps=3, lengths=(3, 4), seeds=(0,))
    stored = load_showdown_results(out, budget=budget)
    assert {r.kind for r in stored.results} == {"lstm", "transformer"}
    rerun = run_showdown_cell("copy", "lstm", 4, 0, budget, double_copy_memory_batch)
    assert rerun.metric == stored.get("copy", "lstm", 4, 0).metric  # in-process re-run = stored, bit for bit


def test_the_command_explains_a_missing_reference(tmp_path, capsys):
    assert cli.main(["showdown", "--solution", str(tmp_path / "none.ipynb"), "--out", str(tmp_path / "o.json")]) == 2
    assert "no such notebook" in capsys.readouterr().err
    notebook = write_notebook(tmp_path / "other.ipynb", DOUBLE_SOURCE, grade_id="10-something-else")
    assert cli.main(["showdown", "--solution", str(notebook), "--out", str(tmp_path / "o.json")]) == 2
    assert COPY_MEMORY_GRADE_ID in capsys.readouterr().err
    assert cli.main(["showdown", "--workers", "0", "--solution", str(notebook)]) == 2
    assert not (tmp_path / "o.json").exists()


def test_the_command_line_choices_are_the_showdowns():
    showdown = cli.build_parser()._subparsers._group_actions[0].choices["showdown"]
    choices = {a.dest: tuple(a.choices) for a in showdown._actions if a.choices}
    assert choices == {"tasks": SHOWDOWN_TASKS, "kinds": SHOWDOWN_KINDS}


@pytest.mark.slow
def test_a_stored_forget_bias_cell_is_what_the_code_makes():
    """One cell of showdown_forget_bias.json re-run here agrees with the stored one (the same bits on the sweep's
    kind of machine; within the sweep's tolerances elsewhere)."""
    stored = load_showdown_results(budget=FORGET_BIAS_BUDGET)
    rerun = run_showdown_cell("adding", "lstm", 25, 1, FORGET_BIAS_BUDGET)
    (row,) = compare_with_stored([rerun], stored)
    assert row.agree, agreement_table([row])
    assert rerun.params == stored.get("adding", "lstm", 25, 1).params
