"""Checks a student runs in the notebook: is my answer to an exercise right, within tolerance?

``check(label, answer)`` prints ✔ or ✘ with a hint that does not give the solution away, and
returns whether the answer passed. Each check computes its reference from the library and the
course's recorded runs, never from a stored answer. ``CHECKS`` lists the exercises that have one.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from tutorial_lib import experiments, interpret, toy, zoo
from tutorial_lib.attacks import NORMS, PGD_TRAVEL, eval_mode, input_gradient, pgd, step_size
from tutorial_lib.budgets import pgd_budget
from tutorial_lib.data import balanced_subset, load_dataset
from tutorial_lib.evaluate import predict, robust_accuracy
from tutorial_lib.models import quantized
from tutorial_lib.stats import wilson_interval
from tutorial_lib.tradeoff import Need, OperatingPoint, choose, load_points, threat
from tutorial_lib.train import collapse_epoch

Verdict = tuple[bool, str]


CHAPTER2_DIST = toy.ToyDistribution.with_eta_sqrt_d(p=0.95, c=3, d=100)
"""Chapter 2's toy distribution, the one its exercises use."""


def _chapter3_images() -> tuple[Tensor, Tensor]:
    """Chapter 3's 200 class-balanced test images (``xa, ya`` there)."""
    return balanced_subset(*load_dataset("mnist", "test"), 200, seed=0)


def _close(answer: float, reference: float, tol: float, what: str) -> Verdict:
    """Whether a number is within ``tol`` of the reference, and a hint that does not give it away."""
    ok = abs(float(answer) - reference) <= tol
    return ok, "" if ok else f"{what} is off by more than {tol:g}: recheck your computation"


def equal_budget_epochs(answer: int) -> Verdict:
    """``train-ex-steps-vs-epochs``: epochs of FGSM-RS that cost as much as 4 of PGD-10."""
    runs = {r["method"]: r["seconds_per_epoch"] for r in experiments.load("training_cost")["runs"]}
    return _close(answer, 4 * runs["PGD-10"] / runs["FGSM-RS"], 0.5,
                  "E (use the cost table's seconds per epoch)")


def collapse_epochs(answer: dict[tuple[str, int], int | None]) -> Verdict:
    """``train-ex-detect``: {(run, seed): epoch the PGD collapse rule fires, or None} for every
    recorded training-failure run."""
    runs = experiments.load("training_failures")["runs"]
    reference = {(r["run"], r["seed"]): collapse_epoch([h["robust"] for h in r["history"]]) for r in runs}
    if set(answer) != set(reference):
        return False, f"give an entry for each of the {len(reference)} recorded (run, seed) pairs"
    wrong = sum(answer[k] != v for k, v in reference.items())
    return wrong == 0, "" if not wrong else f"{wrong} of {len(reference)} entries differ: replay the rule epoch by epoch"


def graded_feature(answer: tuple[float, float]) -> Verdict:
    """``toy-ex-change-distribution``: robust accuracy of sign(x1) and of the averaging classifier
    at ε = 2η, with x1 ~ N(μy, 1), μ = 1.645, on the chapter's distribution (η = 0.3, d = 100)."""
    dist, mu = CHAPTER2_DIST, 1.645
    eps = 2 * dist.eta
    sign_ok = _close(answer[0], toy.normal_cdf(mu - eps), 0.005, "sign(x1)'s robust accuracy")
    avg_ok = _close(answer[1], toy.averaging_accuracy(dist, eps), 0.005, "the averaging classifier's")
    return sign_ok[0] and avg_ok[0], " ".join(h for _, h in (sign_ok, avg_ok) if h)


def tie_breaking_images(answer: int) -> Verdict:
    """``tradeoff-ex-noise``: images per robust number for the recorded flagship and half-natural
    ε = 0.3 points' validation intervals at ℓ∞ 0.2 to stop overlapping."""
    points = {p.name: p for p in load_points(experiments.load("operating_points"))}
    a, b = (points[n].val[threat("linf", 0.2)] for n in ("mnist_linf_0.3", "half_natural_linf_0.3"))
    hi, lo = max(a, b), min(a, b)
    n = next(n for n in range(100, 100_001, 100)   # to the hundred: rounding makes finer steps jitter
             if wilson_interval(round(hi * n), n)[0] > wilson_interval(round(lo * n), n)[1])
    return _close(answer, n, 0.1 * n, "your number of images")


def _fraction(v: float) -> float:
    """An accuracy or share given in [0, 1] or in percent, as a fraction."""
    return float(v) / 100 if float(v) > 1 else float(v)


def restarts(answer: tuple[nn.Module, tuple[float, float, float]]) -> Verdict:
    """``intro-ex-restarts``: (your model, accuracy under PGD-10 at ε = 0.05 on the first 500 test
    images without random start, with one, with one and 5 restarts), each within 1.5 points."""
    model, accs = answer
    x, y = load_dataset("mnist", "test")
    kw = dict(eps=0.05, alpha=step_size(0.05, steps=10, travel=PGD_TRAVEL), steps=10)
    variants = (dict(random_start=False), dict(random_start=True), dict(random_start=True, restarts=5))
    ref = [robust_accuracy(model, (x[:500], y[:500]), attack=lambda m, a, b, v=v: pgd(
        m, a, b, **kw, **v, generator=torch.Generator().manual_seed(0))).accuracy for v in variants]
    off = [name for name, a, r in zip(("no start", "random start", "restarts"), accs, ref)
           if abs(_fraction(a) - r) > 0.015]
    return not off, "" if not off else f"off by more than 1.5 points: {', '.join(off)}"


def _pgd_unclipped(model: nn.Module, x: Tensor, y: Tensor, *, eps: float, alpha: float, steps: int) -> Tensor:
    """The reference: ℓ∞ PGD without the clip to [0, 1] (seeded random start)."""
    n = NORMS["linf"]
    with eval_mode(model):
        x_adv = n.random_start(x, eps, torch.Generator().manual_seed(0))
        for _ in range(steps):
            grad, _ = input_gradient(model, x_adv, y)
            x_adv = n.project_(n.step_(x_adv, grad, alpha), x, eps)
    return x_adv.detach()


@functools.lru_cache(maxsize=1)
def _unclipped_reference() -> tuple[float, float]:
    """Accuracy and share of pixels outside [0, 1] of unclipped PGD-50 (ε = 0.3, α = 0.01) on the
    robust ℓ∞ model and chapter 3's 200 images (computed once per session)."""
    model = zoo.load("mnist_linf_0.3")
    x, y = _chapter3_images()
    xa = _pgd_unclipped(model, x, y, eps=0.3, alpha=0.01, steps=50)
    return (predict(model, xa) == y).float().mean().item(), ((xa < 0) | (xa > 1)).float().mean().item()


def unclipped(answer: tuple[float, float]) -> Verdict:
    """``attacks-ex-noclip``: (accuracy the unclipped PGD-50 reports on the robust ℓ∞ model at ε = 0.3
    on chapter 3's 200 images, share of its pixels outside [0, 1]), each within 2 points."""
    acc, outside = _unclipped_reference()
    ok = abs(_fraction(answer[0]) - acc) <= 0.02 and abs(_fraction(answer[1]) - outside) <= 0.02
    return ok, "" if ok else "one of the two numbers is off by more than 2 points: check eps, alpha, steps and the images"


@functools.lru_cache(maxsize=1)
def _smoothgrad_reference() -> tuple[float, float]:
    """Mean stroke fraction and class-contrast cosine of the standard model's SmoothGrad (50 copies,
    σ = 0.15, clipped, seed 0) on chapter 6's 500 images (computed once per session)."""
    model = zoo.load("mnist_standard")
    x_test, y_test = load_dataset("mnist", "test")
    xs, ys = balanced_subset(x_test, y_test, 500, seed=0)
    gen = torch.Generator().manual_seed(0)
    g = sum(interpret.loss_gradients(model, (xs + 0.15 * torch.randn(xs.shape, generator=gen)).clamp(0, 1), ys)
            for _ in range(50)) / 50
    means = interpret.class_means(*load_dataset("mnist", "train"))
    cosine = interpret.class_contrast_cosine(g, ys, interpret.runner_up(model, xs, ys), means)
    return interpret.stroke_fraction(g, xs).mean().item(), cosine.mean().item()


def smoothgrad(answer: tuple[float, float]) -> Verdict:
    """``see-ex-smoothgrad``: (mean stroke fraction, mean class-contrast cosine) of the standard
    model's SmoothGrad on chapter 6's 500 images, each within 0.02."""
    ok = all(abs(float(a) - r) <= 0.02 for a, r in zip(answer, _smoothgrad_reference()))
    return ok, "" if ok else "one of the two means is off by more than 0.02: check σ, the clip, the 50 copies and the images"


@functools.lru_cache(maxsize=1)
def _masking_reference() -> tuple[float, float]:
    """PGD's accuracy on the rounded standard model at ℓ∞ 0.3 and BPDA's, on chapter 3's 200 images."""
    standard = zoo.load("mnist_standard")
    x, y = _chapter3_images()
    masked = quantized(standard, levels=2)   # rounded to {0, 1}, as the exercise builds it
    pgd_acc = robust_accuracy(masked, (x, y), attack=pgd_budget(0.3)).accuracy
    x_adv = pgd_budget(0.3)(quantized(standard, levels=2, bpda=True), x, y)
    with torch.no_grad():
        return pgd_acc, (masked(x_adv).argmax(1) == y).float().mean().item()


def masking(answer: tuple[float, float]) -> Verdict:
    """``attacks-ex-masking``: (PGD's accuracy against the rounded standard model at ℓ∞ 0.3, the
    rounded model's accuracy on BPDA's adversarial images), on chapter 3's 200 images, within 3 points."""
    ok = all(abs(_fraction(a) - r) <= 0.03 for a, r in zip(answer, _masking_reference()))
    return ok, "" if ok else "one of the two accuracies is off by more than 3 points: attack the real model, through the identity"


def _minimal_eps(model: nn.Module, x: Tensor, y: Tensor, *, hi: float = 0.3, tol: float = 0.005) -> float:
    """The reference: bisection on ε for the smallest at which seeded PGD-40 fools ``model``."""
    lo = 0.0
    while hi - lo > tol:
        mid = (lo + hi) / 2
        xa = pgd(model, x, y, eps=mid, alpha=step_size(mid, steps=40, travel=PGD_TRAVEL), steps=40,
                 generator=torch.Generator().manual_seed(0))
        lo, hi = (lo, mid) if predict(model, xa).item() != y.item() else (mid, hi)
    return hi


def minimal_eps(answer: tuple[nn.Module, list[float]]) -> Verdict:
    """``intro-ex-min-eps``: (your model, the smallest ε fooling it for each of the first 20 test
    images). PGD is random, so 16 of 20 must be within 0.015 of the reference bisection."""
    model, eps = answer
    if len(eps) != 20:
        return False, f"give one ε per image for the first 20 test images, got {len(eps)}"
    x, y = load_dataset("mnist", "test")
    ref = [_minimal_eps(model, x[i:i + 1], y[i:i + 1]) for i in range(20)]
    close = sum(abs(float(e) - r) <= 0.015 for e, r in zip(eps, ref))
    return close >= 16, "" if close >= 16 else f"only {close} of 20 agree with a bisection to within 0.015"


def broken_bound(answer: Tensor) -> Verdict:
    """``toy-ex-break-assumption``: the weights (d + 1 of them) of a linear classifier whose
    robust accuracy at ε = η beats Theorem 2.1's bound, on the chapter's distribution."""
    dist = CHAPTER2_DIST
    w = torch.as_tensor(answer, dtype=torch.float32).flatten()
    if len(w) != dist.d + 1:
        return False, f"give {dist.d + 1} weights (x1 first, then the {dist.d} weak features)"
    std, rob = toy.linear_accuracy(w, dist), toy.linear_accuracy(w, dist, dist.eta)
    ok = rob > toy.theorem_2_1_bound(std, dist.p)
    return ok, "" if ok else f"its robust accuracy {rob:.3f} does not beat the bound for its standard accuracy"


def tie_break(answer: list[OperatingPoint]) -> Verdict:
    """``tradeoff-ex-ties``: operating points at which, for ``Need(eps=0.2)``, two or more tie on
    the top robust accuracy, so that the tie-break decides."""
    best = choose(answer, Need(eps=0.2)).point
    if best is None:
        return False, "no point qualifies for Need(eps=0.2): give each clean and linf@0.2 numbers"
    top = [p for p in answer if p.val.get("linf@0.2") == best.val["linf@0.2"]]
    return len(top) >= 2, "" if len(top) >= 2 else "only one point has the top robust accuracy: no tie to break"


def _l1_projection(d: Tensor, eps: float, rounds: int = 60) -> Tensor:
    """The reference: each row of ``d`` projected onto the ℓ1 ball of radius ``eps`` by
    soft-thresholding, the threshold found by bisection (not by sorting, as a student might)."""
    lo, hi = torch.zeros(len(d), 1), d.abs().amax(1, keepdim=True)
    for _ in range(rounds):
        mid = (lo + hi) / 2
        over = (d.abs() - mid).clamp_min(0).sum(1, keepdim=True) > eps
        lo, hi = torch.where(over, mid, lo), torch.where(over, hi, mid)
    inside = d.abs().sum(1, keepdim=True) <= eps
    return torch.where(inside, d, d.sign() * (d.abs() - hi).clamp_min(0))


def l1_pieces(answer: tuple[Callable, Callable]) -> Verdict:
    """``attacks-ex-l1``: (``l1_step_``, ``l1_project_``). The step must ascend (positive inner
    product with the gradient) by at most ``alpha`` in ℓ1; the projection must match the exact
    ℓ1-ball projection on random perturbations, inside and outside the ball."""
    step, project = answer
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 1, 28, 28, generator=g)
    grad = torch.randn(6, 1, 28, 28, generator=g)
    moved = step(x.clone(), grad, 1.0) - x
    if not ((moved * grad).flatten(1).sum(1) > 0).all() or (moved.flatten(1).abs().sum(1) > 1 + 1e-4).any():
        return False, "the step must go uphill along the gradient and move at most alpha in ℓ1"
    delta = torch.randn(6, 1, 28, 28, generator=g) * torch.tensor([0.001, 0.005, 0.01, 0.05, 0.1, 0.3]).view(6, 1, 1, 1)
    out = project((x + delta).clone(), x, 10.0) - x
    ref = _l1_projection(delta.flatten(1), 10.0).view_as(delta)
    ok = (out - ref).abs().max().item() <= 1e-3
    return ok, "" if ok else "the projection is not the closest point of the ℓ1 ball (try points inside and far outside)"


CHECKS: dict[str, Callable[[Any], Verdict]] = {
    "intro-ex-restarts": restarts,
    "attacks-ex-masking": masking,
    "see-ex-smoothgrad": smoothgrad,
    "attacks-ex-noclip": unclipped,
    "attacks-ex-l1": l1_pieces,
    "intro-ex-min-eps": minimal_eps,
    "toy-ex-break-assumption": broken_bound,
    "tradeoff-ex-ties": tie_break,
    "toy-ex-change-distribution": graded_feature,
    "train-ex-steps-vs-epochs": equal_budget_epochs,
    "train-ex-detect": collapse_epochs,
    "tradeoff-ex-noise": tie_breaking_images,
}
"""The exercises with an automatic check, by label."""


def check(label: str, answer: Any) -> bool:
    """Check ``answer`` to exercise ``label``: print ✔ or ✘ (with a hint), return whether it passed."""
    if label not in CHECKS:
        raise KeyError(f"no automatic check for {label!r}; exercises with one: {sorted(CHECKS)}")
    ok, hint = CHECKS[label](answer)
    print(f"✔ {label}: right" if ok else f"✘ {label}: not yet. {hint}")
    return ok
