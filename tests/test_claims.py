"""Claims the lessons' ledgers make from runs too long for a notebook's 90 s, stored by `seqlab store-runs`.

A notebook loads the stored run (seqlab.stored) and re-trains its first steps live; here the stored runs are checked
against their recipes: the file belongs to the current recipe, it was made on the pinned numerical paths, its first
steps are reproduced bit for bit by the current code, and the claims the ledgers draw from it hold.
"""

from __future__ import annotations

import pytest

from seqlab import stored, train

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", sorted(stored.RECIPES))
def test_stored_run_is_reproduced_by_the_current_code(name):
    run = stored.load_run(name)
    assert run.made_by["pinned"], f"{name} was made off the pinned numerical paths"
    assert run.made_by["command"].startswith("seqlab store-runs")
    assert stored.rerun_prefix(run, 30) == run.losses[:30], f"{name}: re-make it with `seqlab store-runs {name}`"


def test_lesson_04_lstm_learns_the_adding_problem_at_t300_given_more_steps():
    """Lesson 04, section 8: "LSTMs lose long-term memory beyond 300 steps" — it depends on the budget.

    With the shared budget (2000 steps) the LSTM of section 4 stays at the baseline at T = 300; the very same run
    (same seed, same batches) continued to 3000 steps learns the task.
    """
    run = stored.load_run("lstm-adding-T300")
    shared = train.ADDING_BUDGET.steps
    assert sum(run.losses[shared - 100 : shared]) / 100 > 0.1, "at the shared budget: still at the baseline"
    assert run.test_mse_after[shared] > 0.1
    assert run.test_mse_after[run.recipe.budget.steps] < 0.01, "3000 steps: learned"
