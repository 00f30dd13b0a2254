"""Evaluation: accuracy agrees with a direct count, robust accuracy names its budget."""
from functools import partial

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
    from tutorial_lib.evaluate import independent_ensemble, pgd_budget
    x, y = mnist_test[0][:100], mnist_test[1][:100]
    ens = independent_ensemble(standard_model, x, y, eps=0.05, steps=20)
    pgd_acc = robust_accuracy(standard_model, (x, y), attack=pgd_budget(0.05, steps=20)).accuracy
    clean = accuracy(standard_model, (x, y))
    assert ens <= clean and ens <= pgd_acc + 0.03
