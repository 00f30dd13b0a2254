"""The toy model: closed forms agree with Monte Carlo, Theorem 2.1 holds and is tight, SVMs behave."""
import math

import pytest
import torch

from tutorial_lib import toy

DIST = toy.ToyDistribution.with_eta_sqrt_d(p=0.95, c=4, d=100)  # Theorem 2.2's regime
EPS = 2 * DIST.eta


def _classifiers():
    gen = torch.Generator().manual_seed(0)
    random = [torch.randn(DIST.d + 1, generator=gen, dtype=torch.float64) + 0.3 for _ in range(5)]
    angles = [toy.best_linear(DIST, e, grid=801)[0] for e in (0.0, 0.2, EPS)]
    return [toy.averaging_weights(DIST), toy.robust_feature_weights(DIST),
            toy.bayes_weights(DIST)] + random + angles


@pytest.mark.parametrize("eps", [0.0, 0.2, EPS])
def test_closed_forms_agree_with_monte_carlo(eps):
    for w in _classifiers()[:6]:
        exact = toy.linear_accuracy(w, DIST, eps)
        mc, half = toy.monte_carlo_accuracy(w, DIST, 100_000, eps, seed=1)
        assert abs(mc - exact) <= max(half, 3e-4), (exact, mc, half)


def test_averaging_classifier_closed_form_is_phi_of_eta_sqrt_d():
    d3 = toy.ToyDistribution.with_eta_sqrt_d(0.95, 3, 400)
    assert toy.averaging_accuracy(d3) == pytest.approx(toy.normal_cdf(3))
    assert toy.averaging_accuracy(d3, 2 * d3.eta) == pytest.approx(toy.normal_cdf(-3))
    assert toy.normal_cdf(3) > 0.99 and toy.normal_cdf(-3) < 0.01  # the paper's ">99%" and "<1%"
    assert toy.linear_accuracy(toy.averaging_weights(d3), d3, 2 * d3.eta) == pytest.approx(toy.normal_cdf(-3))


def test_theorem_2_1_holds_for_every_classifier_tried():
    for w in _classifiers():
        std, rob = toy.linear_accuracy(w, DIST), toy.linear_accuracy(w, DIST, EPS)
        assert rob <= toy.theorem_2_1_bound(std, DIST.p) + 1e-9


def test_theorem_2_1_is_tight_for_the_robust_feature_classifier():
    w = toy.robust_feature_weights(DIST)
    std, rob = toy.linear_accuracy(w, DIST), toy.linear_accuracy(w, DIST, EPS)
    assert std == pytest.approx(0.95) and rob == pytest.approx(0.95)
    assert toy.theorem_2_1_bound(std, DIST.p) == pytest.approx(rob)


def test_the_papers_numeric_example_99_percent_forces_at_most_19_percent():
    assert toy.theorem_2_1_bound(0.99, 0.95) == pytest.approx(0.19)


def test_worst_case_linf_lowers_every_margin_by_eps_times_l1_norm():
    x, y = toy.sample(DIST, 50, generator=torch.Generator().manual_seed(0))
    w = torch.randn(DIST.d + 1, dtype=torch.float64)
    before, after = y * (x @ w), y * (toy.worst_case_linf(x, y, w, 0.3) @ w)
    assert torch.allclose(before - after, torch.full_like(before, 0.3 * w.abs().sum().item()))


def test_adversarial_svm_puts_its_weight_on_the_robust_feature():
    x, y = toy.sample(DIST, 20_000, generator=torch.Generator().manual_seed(0))
    (w_std, _), (w_adv, _) = toy.train_hinge(x, y), toy.train_hinge(x, y, eps=EPS)
    assert toy.linear_accuracy(w_std, DIST) > 0.99 and toy.linear_accuracy(w_std, DIST, EPS) < 0.01
    assert w_std[1:].pow(2).sum() >= 0.5  # Lemma D.2: at least half the squared norm is non-robust
    assert abs(w_adv[0]) > 0.99 and w_adv[1:].norm() < 0.1
    assert toy.linear_accuracy(w_adv, DIST) == pytest.approx(DIST.p, abs=1e-3)
    assert toy.linear_accuracy(w_adv, DIST, EPS) == pytest.approx(DIST.p, abs=1e-3)


@pytest.mark.parametrize("kw,msg", [(dict(p=0.4), "must lie in"), (dict(p=1.2), "must lie in"),
                                    (dict(eta=0.0), "eta"), (dict(eta=-1.0), "eta"),
                                    (dict(d=0), "integer >= 1")])
def test_bad_distribution_parameters_are_refused(kw, msg):
    with pytest.raises(ValueError, match=msg):
        toy.ToyDistribution(**kw)


def test_bad_arguments_elsewhere_are_refused():
    with pytest.raises(ValueError, match="eps must be >= 0"):
        toy.linear_accuracy(toy.averaging_weights(DIST), DIST, -0.1)
    with pytest.raises(ValueError, match="d \\+ 1 = 101 entries"):
        toy.linear_accuracy(torch.ones(5), DIST)
    with pytest.raises(ValueError, match="standard_accuracy"):
        toy.theorem_2_1_bound(1.5, 0.95)
    assert math.isinf(toy.theorem_2_1_bound(0.9, 1.0))


def test_on_two_mnist_digits_box_attack_is_exact_and_fewer_pixels_are_more_robust():
    from tutorial_lib import load_dataset
    x, y = load_dataset("mnist", "train")
    xb, yb = toy.binary_digits(x[:6000], y[:6000], 3, 7)
    w, b = toy.train_hinge(xb, yb, bias=True, steps=150)
    assert toy.box_linf_accuracy(w, b, xb, yb, 0.0) > 0.95
    # the closed-form worst case is at least as strong as any random sign perturbation
    rand = (xb + 0.1 * torch.sign(torch.randn_like(xb))).clamp(0, 1)
    assert toy.box_linf_accuracy(w, b, xb, yb, 0.1) <= ((rand @ w + b) * yb > 0).double().mean().item()
    few = toy.top_correlated_pixels(xb, yb, 20)
    w_few, b_few = toy.train_hinge(xb[:, few], yb, bias=True, steps=150)
    assert toy.box_linf_accuracy(w_few, b_few, xb[:, few], yb, 0.1) > toy.box_linf_accuracy(w, b, xb, yb, 0.1)


def _digit_pair(n: int = 200):
    from tutorial_lib.data import load_dataset
    x, y = load_dataset("mnist", "test")
    xb, yb = toy.binary_digits(x[:2000], y[:2000], 3, 7)
    w, b = toy.train_hinge(xb, yb, steps=100)
    return xb[:n], yb[:n], w, b


@pytest.mark.parametrize("norm,eps", [("linf", 0.1), ("l2", 1.5)])
def test_linear_worst_case_is_feasible_and_beats_random_feasible_perturbations(norm, eps):
    x, y, w, b = _digit_pair()
    x_adv = toy.linear_worst_case(x, y, w, eps=eps, norm=norm)
    d = x_adv - x
    size = d.abs().amax(1) if norm == "linf" else d.norm(dim=1)
    assert size.max() <= eps + 1e-9 and x_adv.min() >= 0 and x_adv.max() <= 1
    worst = y * (x_adv @ w)
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):  # random feasible perturbations, pushed to the ball's edge, then boxed
        r = torch.randn(x.shape, generator=gen, dtype=x.dtype)
        r = eps * (r.sign() if norm == "linf" else r / r.norm(dim=1, keepdim=True))
        other = y * ((x + r).clamp(0, 1) @ w)
        assert (worst <= other + 1e-9).all()


def test_linear_worst_case_l2_spends_the_whole_budget_when_the_box_allows():
    x, y, w, _ = _digit_pair(50)
    x_adv = toy.linear_worst_case(x, y, w, eps=1.0, norm="l2")
    assert torch.allclose((x_adv - x).norm(dim=1), torch.ones(len(x), dtype=x.dtype), atol=1e-6)
    free = x - y[:, None] * w[None, :] / w.norm()  # the box-free optimum lowers the margin more
    assert ((y * (free @ w)) <= (y * (x_adv @ w)) + 1e-9).all()


@pytest.mark.parametrize("norm,eps,tol", [("linf", 0.1, 1e-5), ("l2", 1.0, 5e-3)])
def test_pgd_on_the_binary_linear_model_reaches_the_exact_boxed_optimum(norm, eps, tol):
    from tutorial_lib import pgd
    from tutorial_lib.models import binary_linear
    x, y, w, b = _digit_pair(100)
    model = binary_linear(w, b)
    x_adv = pgd(model, x.float().view(-1, 1, 28, 28), (y > 0).long(), eps=eps,
                alpha=eps / 10 if norm == "linf" else eps / 20, steps=60, norm=norm,
                random_start=False).flatten(1).double()
    exact = toy.linear_worst_case(x, y, w, eps=eps, norm=norm)
    assert ((y * (x_adv @ w + b)) - (y * (exact @ w + b))).abs().max() < tol


def test_binary_linear_model_classifies_as_the_sign_of_its_margin():
    from tutorial_lib.models import binary_linear
    x, y, w, b = _digit_pair(100)
    with torch.no_grad():
        pred = binary_linear(w, b)(x.float()).argmax(1)
    assert torch.equal(pred == 1, (x @ w + b) > 0)


def test_linear_worst_case_refuses_bad_budgets():
    x, y, w, _ = _digit_pair(5)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        toy.linear_worst_case(x, y, w, eps=-0.1)
    with pytest.raises(ValueError, match="unknown norm"):
        toy.linear_worst_case(x, y, w, eps=0.1, norm="l1")


def test_sign_accuracy_is_the_box_accuracy_at_eps_zero_and_images_are_28_by_28():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(40, 784, generator=g), torch.randint(0, 2, (40,), generator=g) * 2 - 1
    w = torch.randn(784, generator=g)
    assert toy.sign_accuracy(w, 0.1, x, y) == toy.box_linf_accuracy(w, 0.1, x, y, 0.0)
    assert toy.as_images(x.double()).shape == (40, 1, 28, 28)


def test_symmetric_family_runs_from_the_robust_feature_to_the_average_and_best_linear_is_its_maximum():
    t, acc = toy.symmetric_family(DIST, EPS, grid=801)
    assert float(t[0]) == 0 and abs(float(t[-1]) - math.pi / 2) < 1e-12
    assert abs(float(acc[0]) - DIST.p) < 1e-12                                       # sign(x1): p, robustly
    assert abs(float(acc[-1]) - toy.averaging_accuracy(DIST, EPS)) < 1e-9             # the average
    w, best = toy.best_linear(DIST, EPS, grid=801)
    assert best == float(acc.max()) and abs(toy.linear_accuracy(w, DIST, EPS) - best) < 1e-9
    with pytest.raises(ValueError, match="eps"):
        toy.symmetric_family(DIST, -0.1)


def test_the_symmetric_family_falls_far_below_theorem_2_1_and_mixtures_reach_it():
    _, std = toy.symmetric_family(DIST, 0.0, grid=801)
    _, rob = toy.symmetric_family(DIST, EPS, grid=801)
    gaps = [toy.theorem_2_1_bound(float(s), DIST.p) - float(r) for s, r in zip(std, rob)]
    assert min(gaps) > -1e-9 and max(gaps) > 0.5          # never above the bound, often far below
    a = (DIST.p, DIST.p)
    b = (toy.averaging_accuracy(DIST), toy.averaging_accuracy(DIST, EPS))
    for share in (0.0, 0.3, 0.7):
        s, r = toy.mixture(a, b, share)
        assert toy.theorem_2_1_bound(s, DIST.p) - r < 0.01
    with pytest.raises(ValueError, match="share_b"):
        toy.mixture(a, b, 1.5)


def test_weight_support_counts_the_coordinates_that_carry_a_share_of_the_mass():
    assert toy.weight_support(torch.tensor([0.0, -3.0, 1.0, 0.0]), 0.75) == 1
    assert toy.weight_support(torch.tensor([0.0, -3.0, 1.0, 0.0]), 0.9) == 2
    assert toy.weight_support(torch.zeros(5)) == 0
    with pytest.raises(ValueError, match="share"):
        toy.weight_support(torch.ones(3), 0.0)
