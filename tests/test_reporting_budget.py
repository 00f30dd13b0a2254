"""The reporting budget: AutoAttack's standard settings through the torchattacks adapter, a
convergence check that tells a converged number from an upper bound, and the recorded run."""
import json

import pytest
import torch
import torchattacks

from tutorial_lib import zoo
from tutorial_lib.budgets import (AUTOATTACK_QUERIES, HonestAccuracy, beyond_noise, reporting_accuracy,
                                  reporting_stages, square_flag)
from tutorial_lib.data import balanced_indices, balanced_subset, load_dataset
from tutorial_lib.evaluate import recorded_row
from tutorial_lib.lab.records import RESULTS_DIR, load
from tutorial_lib.stats import mcnemar_p


class _Recorder:
    """Stands in for a torchattacks class: records its settings, returns the images unchanged."""

    made: list[tuple[str, dict]] = []

    def __init__(self, name):
        self.name = name

    def __call__(self, model, **knobs):
        _Recorder.made.append((self.name, knobs))
        return lambda x, y: x


def test_reporting_stages_use_autoattacks_standard_settings(monkeypatch, standard_model, mnist_test):
    for name in ("APGD", "APGDT", "Square"):
        monkeypatch.setattr(torchattacks, name, _Recorder(name))
    _Recorder.made.clear()
    x, y = mnist_test[0][:4], mnist_test[1][:4]
    for attack in reporting_stages(0.3, "linf").values():
        attack(standard_model, x, y)
    made = dict(_Recorder.made)
    assert made["APGD"] == {"norm": "Linf", "eps": 0.3, "steps": 100, "loss": "ce", "n_restarts": 1,
                            "rho": 0.75, "seed": 0}
    assert made["APGDT"]["n_classes"] == 10 and made["APGDT"]["steps"] == 100  # 9 target classes
    square = made["Square"]
    # autoattack.py: SquareAttack(p_init=.8, n_queries=5000, n_restarts=1, resc_schedule=False)
    assert (square["p_init"], square["n_queries"], square["n_restarts"], square["resc_schedule"]) == \
        (0.8, AUTOATTACK_QUERIES, 1, False)
    assert square["loss"] == "margin"


def test_an_upper_bound_prints_as_one():
    bound = HonestAccuracy(0.54, "test", 100, 0.99, gradient=0.90, converged=False, queries=2000)
    assert bound.shown == "≤ 54.0%" and "NOT converged" in str(bound)
    done = HonestAccuracy(0.92, "test", 100, 0.99, gradient=0.93, converged=True)
    assert done.shown == "92.0%" and "honest (converged)" in str(done)
    unchecked = HonestAccuracy(0.92, "test", 100, 0.99, gradient=0.93)   # the 1,000-query budget
    assert unchecked.shown == "≤ 92.0%" and "honest" not in str(unchecked)
    assert HonestAccuracy(0.0, "test", 100, 0.99, gradient=0.5).shown == "0.0%"   # nothing left to lower


def test_beyond_noise_is_the_exact_paired_test_at_five_percent():
    # two-sided exact McNemar with no images the other way: p = 2 * 0.5**k
    assert not beyond_noise(5) and beyond_noise(6)


def test_square_flag_needs_autoattacks_margin_and_more_than_noise():
    assert square_flag(920, 900, 1000)            # 2 points, 20 images: both
    assert not square_flag(1000, 997, 1000)       # 0.3 points but 3 images: noise
    assert not square_flag(9000, 8990, 10_000)    # 10 images: beyond noise, but 0.1 points < 0.2


@pytest.fixture(scope="module")
def balanced_100():
    return balanced_subset(*load_dataset("mnist", "test"), 100, seed=0)


@pytest.mark.slow
def test_convergence_check_marks_the_linf_model_at_l2_unconverged_at_1000_queries(balanced_100):
    r = reporting_accuracy(zoo.load("mnist_linf_0.3", device="cpu"), balanced_100, eps=2.0, norm="l2",
                           queries=1000, max_queries=2000, warn=False)
    assert r.converged is False and r.queries == 2000 and r.shown.startswith("≤")


@pytest.mark.slow
def test_convergence_check_marks_the_flagship_converged_at_its_own_threat(balanced_100):
    r = reporting_accuracy(zoo.load("mnist_linf_0.3", device="cpu"), balanced_100, eps=0.3, norm="linf",
                           queries=1000, max_queries=2000, warn=False)
    assert r.converged is True and r.accuracy >= 0.85


def test_recorded_reporting_budget_agrees_with_the_independent_implementation():
    """The Done-when check, one-sided: ours − ART's ≤ 1.5 points wherever both ran."""
    record = json.loads((RESULTS_DIR / "reporting_budget.json").read_text())
    ours = {(r["model"], r["norm"], r["n"]): r for r in record["ours"]}
    checked = 0
    for art in record["art"]:
        mine = ours[(art["model"], art["norm"], art["n"])]
        assert mine["accuracy"] - art["independent"] <= 0.015, (art["model"], art["norm"])
        checked += 1
    assert checked >= 3


def test_recorded_reporting_budget_marks_unconverged_numbers_and_lists_lost_images():
    record = json.loads((RESULTS_DIR / "reporting_budget.json").read_text())
    for r in record["ours"]:
        assert r["converged"] in (True, False) and r["queries"] >= 2 * AUTOATTACK_QUERIES
        assert len(r["not_robust"]) == round((1 - r["accuracy"]) * r["n"])
    linf_at_l2 = next(r for r in record["ours"] if (r["model"], r["norm"]) == ("mnist_linf_0.3", "l2"))
    assert linf_at_l2["converged"] is False  # the case: Square had not converged at 1,000 queries


def test_reporting_accuracy_refuses_bad_radius(standard_model, mnist_test):
    with pytest.raises(ValueError, match="eps must be >= 0"):
        reporting_accuracy(standard_model, (mnist_test[0][:8], mnist_test[1][:8]), eps=-0.1,
                           queries=10, max_queries=10)


def test_reporting_accuracy_leaves_the_model_as_it_found_it(standard_model, mnist_test):
    standard_model.train()
    reporting_accuracy(standard_model, (mnist_test[0][:8], mnist_test[1][:8]), eps=0.05,
                       queries=5, max_queries=10, warn=False)
    assert standard_model.training and all(p.grad is None for p in standard_model.parameters())
    standard_model.eval()
    assert torch.is_grad_enabled()


def test_cards_carry_the_recorded_reporting_budget():
    from tutorial_lib.evaluate import reported
    record = json.loads((RESULTS_DIR / "reporting_budget.json").read_text())
    for row in record["ours"]:
        entry = [e for e in zoo.card(row["model"]).get("reporting", [])
                 if (e["norm"], e["n"]) == (row["norm"], row["n"])]
        assert len(entry) == 1 and entry[0]["accuracy"] == reported(row)
        assert entry[0]["converged"] == row["converged"]


def test_zoo_table_prints_the_reporting_budget_and_marks_upper_bounds():
    rows = {line.split()[0]: line for line in zoo.table().splitlines()[1:]}
    assert "≤ 89.3% reporting budget" in rows["mnist_linf_0.3"]   # all 10,000 images, not converged
    assert "96.6% reporting budget" in rows["mnist_linf_0.1"] and "≤" not in rows["mnist_linf_0.1"]
    assert "(quick)" in rows["mnist_standard"] and "≤" in rows["mnist_standard"]  # PGD-50: an upper bound


def test_a_cards_reporting_line_says_converged_or_upper_bound():
    lines = [zoo.reporting_line(r) for r in zoo.card("mnist_linf_0.3")["reporting"]]
    own, full, other = lines
    assert own.startswith("ℓ∞ ε = 0.3, 1,000 images: 90.0% (converged at 10,000 queries") and "FLAGGED" in own
    assert "≤ 89.27%" in full and "an upper bound" in full
    assert "≤ 13.8%" in other and "not converged" in other


SAMPLE = ("mnist_linf_0.3", "linf", 0.3, 100)
"""CI's re-check of the record: the flagship at its own threat, the first 100 of the record's 1,000 images."""


def test_a_sample_of_the_recorded_reporting_budget_is_reproduced():
    """Like with like: the recorded budget (its queries and cap) on the same images, re-run on this
    machine; the images only one of the two runs breaks are few and not lopsided beyond noise."""
    name, norm, eps, k = SAMPLE
    row = recorded_row(load("reporting_budget")["ours"], name, norm, 1000)
    x, y = load_dataset("mnist", "test")
    idx = balanced_indices(y, 1000, seed=0)[:k]
    r = reporting_accuracy(zoo.load(name), (x[idx], y[idx]), eps=eps, norm=norm, max_queries=row["queries"],
                           warn=False)
    recorded = set(row["not_robust"])
    then = {i for i in idx.tolist() if i in recorded}
    now = {i for i, ok in zip(idx.tolist(), r.per_example.tolist()) if not ok}
    assert abs(len(now) - len(then)) <= 3, (sorted(then), sorted(now))
    assert mcnemar_p(len(then - now), len(now - then)) > 0.05, (sorted(then), sorted(now))
