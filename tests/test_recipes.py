"""Every recipe derives from one base with ``dataclasses.replace``; the grids cover what they claim."""
import dataclasses

import pytest

from tutorial_lib.lab import tradeoff_runs, recipes
from tutorial_lib.train import TrainConfig


def test_pgd_recipes_are_the_flagship_but_for_threat_length_and_data():
    """Every PGD recipe (zoo, cost table, failure runs, operating points) is the flagship's with
    only the threat, the attack's steps, the length, the data or the natural share changed."""
    allowed = {"eps", "norm", "steps", "epochs", "dataset", "train_size", "eps_warmup", "natural_fraction"}
    every = [*recipes.RECIPES.values(), *recipes.COST_METHODS.values(), *recipes.FAILURE_RUNS.values(),
               *recipes.EXTRA_POINTS.values(), recipes.figure1_config("l2", 2.0, 600)]
    flagship = dataclasses.asdict(recipes.FLAGSHIP)
    for cfg in (c for c in every if c.method == "pgd"):
        changed = {k for k, v in dataclasses.asdict(cfg).items() if v != flagship[k]}
        assert changed <= allowed, (cfg, changed - allowed)
    assert {c.eps_warmup for c in recipes.RECIPES.values() if c.method == "pgd"} == {recipes.WARMUP}


def test_unknown_points_and_starts_are_refused():
    with pytest.raises(KeyError, match="choose one of"):
        tradeoff_runs.point_run("mnist_linf_9")
    with pytest.raises(KeyError, match="choose one of"):
        recipes.reuse_config("mnist", "telepathy", train_size=100, epochs=1, seed=0)


def test_figure7_points_train_equal_budgets_over_five_radii_with_three_seeds():
    keys = tradeoff_runs.figure7_keys()
    assert len(keys) == len(set(keys))
    for dataset in ("mnist", "fashion"):
        for norm in ("linf", "l2"):
            radii = sorted({k[2] for k in keys if k[:2] == (dataset, norm) and k[4] == 0} | {0.0})
            assert len(radii) >= 5 and radii[0] == 0.0
    seeds = {}
    for k in keys:
        seeds.setdefault((k[0], k[1], k[2], k[4]), set()).add(k[3])
    assert all(len(s) >= 3 for s in seeds.values())
    configs = [recipes.figure7_config(*k) for k in keys]
    steps = {round(c.epochs * (60_000 // c.batch_size)) for c in configs}
    assert steps == {recipes.FIG1_STEPS}                       # the same number of optimiser steps for every ε
    assert {c.dataset for c in configs} == {"mnist", "fashion"}
    half = [c for k, c in zip(keys, configs) if k[4]]
    assert half and all(c.natural_fraction == tradeoff_runs.FIG7_HALF and c.eps > 0 for c in half)
    assert all(c.method == "standard" for k, c in zip(keys, configs) if k[2] == 0)


def test_every_recipe_is_the_base_with_fields_replaced():
    """A recipe states only what differs from ``STANDARD``: every field it does not name is the
    base's (the exercises', the feature-reuse starts' and the zoo's alike)."""
    every = [*recipes.RECIPES.values(), *recipes.COST_METHODS.values(), *recipes.FAILURE_RUNS.values(),
             *recipes.EXTRA_POINTS.values(), *recipes.REUSE_STARTS.values(), *recipes.TRADES_EXERCISE,
             *recipes.SMALL_DATA_EXERCISE, recipes.FIRST_LAYER_START]
    assert all(c.lr == recipes.STANDARD.lr and c.batch_size == recipes.STANDARD.batch_size for c in every)
    assert recipes.TRADES_EXERCISE[0] == dataclasses.replace(recipes.PGD5, epochs=2)
    assert {c.method for c in recipes.TRADES_EXERCISE} == {"pgd", "trades"}
    assert recipes.reuse_config("mnist", recipes.FIRST_LAYER_START, train_size=1000, epochs=10, seed=0) == TrainConfig(
        init_from="mnist_linf_0.3", init_layers=3, freeze=3, train_size=1000, epochs=10)
    assert recipes.reuse_config("mnist", "frozen robust features", train_size=None, epochs=2, seed=0) == TrainConfig(
        init_from="mnist_linf_0.3", init_layers=recipes.FEATURE_LAYERS, freeze=recipes.FEATURE_LAYERS, epochs=2)
