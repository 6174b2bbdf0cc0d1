"""seqlab.stored: training runs too long for a notebook, made by `seqlab store-runs` and loaded by the lessons."""

from __future__ import annotations

from dataclasses import replace

import pytest

from seqlab import stored, train


def _tiny_recipe():
    return stored.Recipe("gru", replace(train.ADDING_BUDGET, length=6, steps=12, test_size=8), 3, (4, 8), "tiny")


def test_stored_run_round_trip_and_prefix(tmp_path, monkeypatch):
    monkeypatch.setitem(stored.RECIPES, "tiny", _tiny_recipe())
    run = stored.make_run("tiny", command="seqlab store-runs tiny")
    assert len(run.losses) == 12 and sorted(run.test_mse_after) == [4, 8, 12]
    assert run.made_by["pinned"] and run.made_by["command"] == "seqlab store-runs tiny"
    path = stored.save_run(run, tmp_path / "tiny.json")
    loaded = stored.load_run("tiny", path)
    assert loaded.losses == run.losses and loaded.test_mse_after == run.test_mse_after
    assert stored.rerun_prefix(loaded, 5) == run.losses[:5], "the same first steps, bit for bit"
    with pytest.raises(ValueError, match="steps should be"):
        stored.rerun_prefix(loaded, 13)


def test_stored_run_refuses_another_recipe_and_unknown_names(tmp_path, monkeypatch):
    monkeypatch.setitem(stored.RECIPES, "tiny", _tiny_recipe())
    path = stored.save_run(stored.make_run("tiny"), tmp_path / "tiny.json")
    monkeypatch.setitem(stored.RECIPES, "tiny", replace(_tiny_recipe(), init_seed=4))
    with pytest.raises(ValueError, match="another recipe"):
        stored.load_run("tiny", path)
    with pytest.raises(ValueError, match="no stored run named"):
        stored.load_run("nonexistent")
