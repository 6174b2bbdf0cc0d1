"""Solution notebooks follow the course template and their stored outputs reproduce (nbval)."""

from __future__ import annotations

import ast
import re
import subprocess

import nbformat
import pytest

from seqlab.tools.course import python_module
from tests.support import COURSE, REPO, carried_over, dispatch_environment

LESSONS = COURSE.lessons()

# Exact signatures from COURSE.md, for the lessons that exist so far.
SIGNATURES = {
    "01_rnn": {
        "rnn_cell": ["x", "h", "W_xh", "W_hh", "b_h"],
        "rnn_forward": ["X", "h0", "W_xh", "W_hh", "b_h"],
        "rnn_readout": ["H_all", "W_hy", "b_y"],
        "jordan_cell": ["x", "y_prev", "W_xh", "W_yh", "b_h", "W_hy", "b_y"],
        "count_rnn_parameters": ["input_size", "hidden_size", "output_size"],
    },
    "02_gradients": {
        "tanh_grad_from_output": ["h"],
        "rnn_backward": ["X", "h0", "W_xh", "W_hh", "b_h", "dH"],
        "hidden_jacobian_norms": ["X", "h0", "W_xh", "W_hh", "b_h"],
        "clip_by_global_norm": ["grads", "max_norm"],
    },
    "03_gru": {
        "gru_cell": ["x", "h", "p"],
        "gru_forward": ["X", "h0", "p"],
        "gru_cell_cho": ["x", "h", "p"],
        "gru_gate_override": ["p", "mode"],
    },
    "04_lstm": {
        "lstm_cell": ["x", "state", "p"],
        "lstm_forward": ["X", "state0", "p"],
        "peephole_lstm_cell": ["x", "state", "p"],
        "forget_gate_path": ["F"],
    },
    "05_birnn": {
        "reverse_padded": ["X", "lengths"],
        "birnn_forward": ["X", "lengths", "p_fwd", "p_bwd"],
        "stacked_rnn_forward": ["X", "layers", "h0"],
    },
    "06_attention": {
        "masked_softmax": ["scores", "mask"],
        "dot_score": ["Q", "K"],
        "scaled_dot_score": ["Q", "K"],
        "general_score": ["Q", "K", "W"],
        "additive_score": ["Q", "K", "W_q", "W_k", "v"],
        "attend": ["scores", "V", "mask"],
    },
    "07_transformer": {
        "scaled_dot_product_attention": ["Q", "K", "V", "mask"],
        "causal_mask": ["T"],
        "sinusoidal_positional_encoding": ["max_len", "d_model"],
        "MultiHeadAttention.__init__": ["d_model", "num_heads"],
        "MultiHeadAttention.forward": ["query", "key", "value", "mask"],
        "EncoderBlock.__init__": ["d_model", "num_heads", "d_ff"],
        "EncoderBlock.forward": ["x", "mask"],
    },
    "08_language_model": {
        "next_token_batch": ["tokens", "batch_size", "block_size", "generator"],
        "token_nll": ["logits", "targets", "mask"],
        "sample_next_token": ["logits", "temperature", "top_k", "generator"],
        "train_language_model": ["model", "batches", "optimizer", "clip_norm"],
    },
    "09_gpt": {
        "CausalSelfAttention.__init__": ["d_model", "num_heads"],
        "CausalSelfAttention.forward": ["x", "cache"],
        "DecoderBlock.__init__": ["d_model", "num_heads", "d_ff"],
        "DecoderBlock.forward": ["x", "cache"],
        "generate": ["model", "prompt", "max_new_tokens", "temperature", "top_k", "generator", "use_cache"],
    },
    "10_showdown": {
        "copy_memory_batch": ["batch_size", "n_symbols", "delay", "generator"],
    },
}


def _nb(lesson):
    return nbformat.read(COURSE.solution(lesson), as_version=4)


def _nbgrader(cell):
    return cell.metadata.get("nbgrader", {})


def test_every_lesson_has_signatures_listed():
    assert set(LESSONS) <= set(SIGNATURES), "add the new lesson's COURSE.md signatures to SIGNATURES"


@pytest.mark.parametrize("lesson", LESSONS)
def test_template_and_grading_metadata(lesson):
    nb = _nb(lesson)
    nbformat.validate(nb)
    number = lesson[:2]
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith(f"# Lesson {number} ")
    setup = nb.cells[1]
    assert _nbgrader(setup).get("locked") and "seqlab.setup()" in setup.source, "cell 2 is the locked setup cell"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for section in ("Claims ledger", "Glossary", "Review questions", "You will be able to", "Estimated time"):
        assert section in text, f"{lesson}: missing section {section!r}"

    cells = nb.cells
    solutions = [i for i, c in enumerate(cells) if _nbgrader(c).get("solution") and c.cell_type == "code"]
    assert solutions, "no exercises"
    for i in solutions:
        grade_id = _nbgrader(cells[i])["grade_id"]
        assert re.fullmatch(rf"{number}-[a-z0-9-]+", grade_id), grade_id
        assert "### BEGIN SOLUTION" in cells[i].source and "### END SOLUTION" in cells[i].source
        assert "points" not in _nbgrader(cells[i]), "points belong on test cells only"
        if carried_over(grade_id):  # the student's answers of an earlier lesson: no tests of its own
            assert not _nbgrader(cells[i + 1]).get("grade"), f"{grade_id} is not an exercise: no test cell follows it"
            assert int(grade_id[-2:]) < int(number), f"{grade_id}: answers of an earlier lesson"
            continue
        tests = cells[i + 1]
        meta = _nbgrader(tests)
        assert meta.get("grade") and meta.get("locked") and meta["grade_id"] == f"{grade_id}-tests", grade_id
        assert meta["points"] >= 2, f"{grade_id}: at least 2 points per exercise"
        assert "### BEGIN HIDDEN TESTS" in tests.source and "### END HIDDEN TESTS" in tests.source
        visible = tests.source.split("### BEGIN HIDDEN TESTS")[0]
        assert "hint=" in visible or "assert_integer" in visible, f"{grade_id}: visible tests should explain failures"


@pytest.mark.parametrize("lesson", LESSONS)
def test_signatures_match_course_spec(lesson):
    found = {}
    for cell in _nb(lesson).cells:
        if (
            _nbgrader(cell).get("solution")
            and cell.cell_type == "code"
            and not carried_over(_nbgrader(cell)["grade_id"])
        ):
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.FunctionDef):
                    found[node.name] = [a.arg for a in node.args.args]
                elif isinstance(node, ast.ClassDef):  # an exercise module: its methods, without self
                    for method in node.body:
                        if isinstance(method, ast.FunctionDef):
                            found[f"{node.name}.{method.name}"] = [a.arg for a in method.args.args][1:]
    assert found == SIGNATURES[lesson]


@pytest.mark.parametrize("lesson", LESSONS)
def test_stored_outputs_come_from_a_clean_run(lesson):
    nb = _nb(lesson)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), "execute with `seqlab execute` (fresh kernel, top to bottom)"
    assert "widgets" not in nb.metadata
    for cell in nb.cells:
        assert "execution" not in cell.metadata, "timing metadata makes diffs noisy"
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"stored error output in: {cell.source[:60]!r}"
            assert not (output.output_type == "stream" and output.name == "stderr"), (
                f"stderr (a warning or progress bar) stored in: {cell.source[:60]!r}"
            )
            assert "application/vnd.jupyter.widget-view+json" not in output.get("data", {})


def _pytest_notebook(lesson: str, *options: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*python_module("pytest"), "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *options]
        + [str(COURSE.solution(lesson))],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("dispatch", ["this machine", "plain"])
@pytest.mark.parametrize("lesson", LESSONS)
def test_nbval_reproduces_stored_outputs(lesson, dispatch):
    """The stored outputs, under this machine's own dispatch and under another one forced (tests/support.py's
    DISPATCHES: plain code everywhere): the pin of seqlab.numerics must make both give the stored bits."""
    sanitize = str(REPO / "tests" / "nbval_sanitize.cfg")
    env = dispatch_environment(dispatch)
    done = _pytest_notebook(lesson, "--nbval", "--nbval-current-env", "--nbval-sanitize-with", sanitize, env=env)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    assert " passed" in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_assertions_hold_off_the_pinned_path(lesson):
    """Where the pin cannot reach (Apple silicon, another BLAS, a newer PyTorch) the numbers differ in their last
    bits; every cell, and so every assertion of the demonstrations, must still pass.  Simulated by running the
    notebook unpinned (SEQLAB_NUMERICS=native) with ATen's plain kernels and oneMKL's and oneDNN's own choices."""
    env = dispatch_environment("plain", native=True)
    env.update(MKL_CBWR="AUTO", ONEDNN_MAX_CPU_ISA="ALL")
    done = _pytest_notebook(lesson, "--nbval-lax", "--nbval-current-env", env=env)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
