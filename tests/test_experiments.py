"""Recorded experiments: records carry their provenance, recipes derive from one base."""
import dataclasses
import json

import pytest
import torch

from tutorial_lib import experiments as ex
from tutorial_lib.devices import hardware


def test_save_stamps_command_and_hardware_and_load_reads_it_back(tmp_path):
    rec = ex.save("demo", {"runs": [1, 2]}, command="python demo.py", folder=tmp_path)
    on_disk = json.loads((tmp_path / "demo.json").read_text())
    assert on_disk == rec == {"runs": [1, 2], "command": "python demo.py", "hardware": hardware()}
    assert ex.load("demo", folder=tmp_path) == rec
    assert [p.name for p in tmp_path.iterdir()] == ["demo.json"]  # no temporary file left behind


def test_load_names_what_is_available(tmp_path):
    ex.save("there", {}, command="x", folder=tmp_path)
    with pytest.raises(KeyError, match=r"available: \['there'\]"):
        ex.load("missing", folder=tmp_path)


def test_pgd_recipes_are_the_flagship_but_for_threat_length_and_data():
    """Every PGD recipe (zoo, cost table, failure runs, operating points) is the flagship's with
    only the threat, the attack's steps, the length, the data or the natural share changed."""
    allowed = {"eps", "norm", "steps", "epochs", "dataset", "train_size", "eps_warmup", "natural_fraction"}
    recipes = [*ex.RECIPES.values(), *ex.COST_METHODS.values(), *ex.FAILURE_RUNS.values(),
               *ex.EXTRA_POINTS.values(), ex.figure1_config("l2", 2.0, 600)]
    flagship = dataclasses.asdict(ex.FLAGSHIP)
    for cfg in (c for c in recipes if c.method == "pgd"):
        changed = {k for k, v in dataclasses.asdict(cfg).items() if v != flagship[k]}
        assert changed <= allowed, (cfg, changed - allowed)
    assert {c.eps_warmup for c in ex.RECIPES.values() if c.method == "pgd"} == {ex.WARMUP}


def test_unknown_points_and_starts_are_refused():
    with pytest.raises(KeyError, match="choose one of"):
        ex.point_run("mnist_linf_9")
    with pytest.raises(KeyError, match="choose one of"):
        ex.reuse_config("mnist", "telepathy", train_size=100, epochs=1, seed=0)


def test_figure7_points_train_equal_budgets_over_five_radii_with_three_seeds():
    keys = ex.figure7_keys()
    assert len(keys) == len(set(keys))
    for dataset in ("mnist", "fashion"):
        for norm in ("linf", "l2"):
            radii = sorted({k[2] for k in keys if k[:2] == (dataset, norm) and k[4] == 0} | {0.0})
            assert len(radii) >= 5 and radii[0] == 0.0
    seeds = {}
    for k in keys:
        seeds.setdefault((k[0], k[1], k[2], k[4]), set()).add(k[3])
    assert all(len(s) >= 3 for s in seeds.values())
    configs = [ex.figure7_config(*k) for k in keys]
    steps = {round(c.epochs * (60_000 // c.batch_size)) for c in configs}
    assert steps == {ex.FIG1_STEPS}                       # the same number of optimiser steps for every ε
    assert {c.dataset for c in configs} == {"mnist", "fashion"}
    half = [c for k, c in zip(keys, configs) if k[4]]
    assert half and all(c.natural_fraction == ex.FIG7_HALF and c.eps > 0 for c in half)
    assert all(c.method == "standard" for k, c in zip(keys, configs) if k[2] == 0)


def test_split_halves_is_a_seeded_stratified_partition():
    y = torch.tensor([0] * 7 + [1] * 4 + [2] * 9)
    a, b = ex.split_halves(y)
    assert sorted(torch.cat([a, b]).tolist()) == list(range(len(y)))   # disjoint, covers all
    for c in range(3):
        assert abs(int((y[a] == c).sum()) - int((y[b] == c).sum())) <= 1  # each class halved
    assert torch.equal(a, ex.split_halves(y)[0])                         # seeded
    assert not torch.equal(a, ex.split_halves(y, seed=1)[0])
    assert a.tolist() != list(range(len(a)))                             # not the first half
    assert abs(len(a) - len(b)) <= 1                                     # odd images alternate


def test_an_attempt_is_compared_with_the_card_on_the_same_images_only():
    card = {"not_robust": [0, 1, 2, 7, 12, 40]}             # 40 lies beyond the attempt's images
    attempt = {"n": 20, "honest": 0.85, "not_robust": [1, 3, 5]}
    v = ex.versus_card(attempt, card)
    assert (v["card"], v["attempt"]) == (0.75, 0.85)         # 5 of 20 lost by the card, 3 by the attempt
    assert (v["only_attempt"], v["only_card"]) == (4, 2)     # the card loses 0, 2, 7, 12; the attempt 3, 5
    assert v["p"] == pytest.approx(0.6875)                   # 4 against 2 is no evidence either way



def test_more_images_pool_into_an_attempt_and_the_comparison_follows_them():
    from tutorial_lib.budgets import HonestAccuracy

    attempt = {"n": 4, "honest": 0.5, "gradient": 0.75, "flags": [], "not_robust": [1, 3]}
    more = HonestAccuracy(0.75, 1.0, 1.0, 0.0, 4, "b", (), per_example=torch.tensor([True, False, True, True]))
    pooled = ex.with_more_images(attempt, 10, more)
    assert pooled["n"] == 8 and pooled["images"] == [[0, 4], [10, 14]] and pooled["not_robust"] == [1, 3, 11]
    assert pooled["honest"] == pytest.approx(5 / 8) and pooled["gradient"] == pytest.approx(7 / 8)
    v = ex.versus_card(pooled, {"not_robust": [0, 1, 5, 12, 13]})   # 5 lies outside both ranges
    assert (v["n"], v["card"], v["only_attempt"], v["only_card"]) == (8, 0.5, 3, 2)


def test_an_attempt_meets_the_goal_only_on_all_test_images_and_in_time_on_both_machines():
    goal = {"clean": 0.99, "honest": 0.93, "train_seconds": 300.0}
    a = {"clean": 0.991, "honest": 0.935, "n": 10_000, "train_seconds": 240.0}
    assert all(ex.against_goal(a, flagship_here=250.0, card_seconds=280.0, goal=goal).values())
    slower_card = ex.against_goal(a, flagship_here=200.0, card_seconds=280.0, goal=goal)   # 240 s here is 336 s there
    assert slower_card == {"clean": True, "honest on all 10,000": True, "seconds here": True,
                           "seconds on the card's machine": False}
    assert not ex.against_goal({**a, "n": 1_000}, 250.0, 280.0, goal)["honest on all 10,000"]
    assert not ex.against_goal({**a, "clean": 0.989}, 250.0, 280.0, goal)["clean"]
    assert ex.on_card_machine(240.0, flagship_here=200.0, card_seconds=280.0) == pytest.approx(336.0)
