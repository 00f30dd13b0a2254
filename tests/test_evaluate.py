"""Evaluation: accuracy agrees with a direct count, robust accuracy names its budget."""
from functools import partial

import pytest
import torch

from tutorial_lib import accuracy, pgd, robust_accuracy
from tutorial_lib.data import batches


def test_accuracy_matches_a_direct_count_for_tensors_and_loaders(standard_model, mnist_test):
    x, y = mnist_test
    with torch.no_grad():
        direct = (standard_model(x).argmax(1) == y).sum().item() / y.numel()
    assert accuracy(standard_model, (x, y), batch_size=64) == direct
    assert accuracy(standard_model, list(batches(x, y, 100))) == direct


def test_robust_accuracy_is_below_clean_and_reports_its_budget(standard_model, mnist_test):
    x, y = mnist_test[0][:200], mnist_test[1][:200]
    attack = partial(pgd, eps=0.1, alpha=0.01, steps=20, norm="linf")
    r = robust_accuracy(standard_model, (x, y), attack=attack)
    assert r.accuracy < r.clean_accuracy - 0.2
    assert r.n == 200 and "eps=0.1" in r.attack and "steps=20" in r.attack
    assert "robust on 200 images under pgd(" in str(r)


def test_robust_accuracy_at_zero_eps_is_clean_accuracy(standard_model, mnist_test):
    x, y = mnist_test[0][:200], mnist_test[1][:200]
    r = robust_accuracy(standard_model, (x, y), attack=partial(pgd, eps=0.0, alpha=0.01, steps=2))
    assert r.accuracy == r.clean_accuracy == accuracy(standard_model, (x, y))


def test_independent_ensemble_is_at_least_as_strong_as_one_pgd_run(standard_model, mnist_test):
    from tutorial_lib.budgets import independent_ensemble, pgd_budget
    x, y = mnist_test[0][:100], mnist_test[1][:100]
    ens = independent_ensemble(standard_model, x, y, eps=0.05, steps=20)
    pgd_acc = robust_accuracy(standard_model, (x, y), attack=pgd_budget(0.05, steps=20)).accuracy
    clean = accuracy(standard_model, (x, y))
    assert ens <= clean and ens <= pgd_acc + 0.03


def test_worst_case_fools_an_example_if_any_of_its_attacks_does(standard_model, mnist_test):
    from tutorial_lib.attacks import worst_case
    x, y = mnist_test[0][:300], mnist_test[1][:300]

    def only(parity: int):
        """PGD at eps=0.3 on the examples whose label has this parity; the others untouched.
        The two attacks fool disjoint sets by construction, on any machine."""
        def attack(model, x, y):
            out, pick = x.clone(), y % 2 == parity
            out[pick] = pgd(model, x[pick], y[pick], eps=0.3, alpha=0.05, steps=10, random_start=False)
            return out
        return attack

    a, b = only(0), only(1)
    xa, xb, xw = (atk(standard_model, x, y) for atk in (a, b, worst_case(a, b)))
    with torch.no_grad():
        ok_a, ok_b, ok = (standard_model(z).argmax(1) == y for z in (xa, xb, xw))
    assert (~ok_a[y % 2 == 0]).any() and (~ok_b[y % 2 == 1]).any()  # each attack fools some
    assert torch.equal(ok, ok_a & ok_b)
    assert ok.sum() < min(ok_a.sum(), ok_b.sum())


def test_each_target_equals_the_union_of_the_nine_targeted_runs(standard_model, mnist_test):
    from tutorial_lib.attacks import each_target
    x, y = mnist_test[0][:100], mnist_test[1][:100]
    targeted = partial(pgd, eps=0.04, alpha=0.01, steps=8, targeted=True, random_start=False)
    x_each = each_target(targeted)(standard_model, x, y)
    runs = [targeted(standard_model, x, (y + k) % 10) for k in range(1, 10)]
    with torch.no_grad():
        ok = standard_model(x_each).argmax(1) == y
        manual = standard_model(x).argmax(1) == y
        for z in runs:
            manual &= standard_model(z).argmax(1) == y
    assert torch.equal(ok, manual)


def test_strong_budget_is_at_least_as_strong_as_the_pgd_budget(standard_model, mnist_test):
    from tutorial_lib.budgets import pgd_budget, strong_budget
    x, y = mnist_test[0][:300], mnist_test[1][:300]
    weak = robust_accuracy(standard_model, (x, y), attack=pgd_budget(0.05))
    strong = robust_accuracy(standard_model, (x, y), attack=strong_budget(0.05))
    assert strong.accuracy <= weak.accuracy
    assert "margin_loss" in strong.attack and "restarts=5" in strong.attack


def test_gradient_passes_are_counted_per_image(standard_model, mnist_test):
    from tutorial_lib.evaluate import count_gradient_passes
    x, y = mnist_test[0][:40], mnist_test[1][:40]
    with count_gradient_passes(standard_model) as c:
        pgd(standard_model, x, y, eps=0.1, alpha=0.02, steps=7)
        accuracy(standard_model, (x, y))  # no gradient: not counted
    assert c["images"] == 7 * 40


def test_audit_counts_the_gradient_passes_of_each_attack(standard_model, mnist_test):
    from tutorial_lib.evaluate import audit, audit_table, robust_accuracies
    x, y = mnist_test[0][:50], mnist_test[1][:50]
    attacks = {"PGD-3": partial(pgd, eps=0.1, alpha=0.05, steps=3, random_start=False),
               "PGD-7": partial(pgd, eps=0.1, alpha=0.02, steps=7, random_start=False)}
    table = audit(standard_model, (x, y), attacks)
    assert [round(g) for _, g in table.values()] == [3, 7]
    assert [a / 100 for a, _ in table.values()] == pytest.approx(
        robust_accuracies(standard_model, (x, y), attacks.values()))
    text = audit_table({"standard": table}, title="attack")
    assert "PGD-7" in text and f"{table['PGD-7'][0]:.1f}% (   7 g)" in text


def test_audit_table_keeps_its_columns_aligned_under_a_long_attack_name():
    from tutorial_lib.evaluate import audit_table
    long = "strong_budget (larger step, CE × 5 + margin × 5)"
    text = audit_table({"a": {"PGD": (90.0, 50), long: (80.0, 486)}, "b": {"PGD": (70.0, 50), long: (60.0, 486)}},
                       title="attack")
    starts = {line.index("%") for line in text.splitlines()[1:]}
    assert len(starts) == 1, text   # every row's first number ends in the same column
    assert all(line.startswith(long) or len(line.split("  ")[0]) < len(long) for line in text.splitlines()[1:])


def test_reporting_table_names_the_threat_with_its_norm_symbol():
    from tutorial_lib.evaluate import reporting_table
    row = {"model": "m", "norm": "linf", "eps": 0.3, "n": 1000, "accuracy": 0.9, "gradient": 0.91,
           "converged": True, "queries": 10_000, "flags": [], "old_honest": 0.92, "strong_budget_breaks_more": 0}
    text = reporting_table([row])
    assert "ℓ∞ 0.3" in text and "linf" not in text


def test_audit_table_states_the_width_of_its_intervals_when_told_the_image_count():
    from tutorial_lib.evaluate import audit_table
    text = audit_table({"a": {"PGD": (50.0, 50)}}, title="attack", n=200)
    assert text.splitlines()[-1] == "(on 200 images a 95% interval is about ±6.9 points near 50%, ±3.1 near 95%)"
    assert "interval" not in audit_table({"a": {"PGD": (50.0, 50)}}, title="attack")
