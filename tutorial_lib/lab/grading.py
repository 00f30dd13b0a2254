"""Checks a student runs in the notebook: is my answer to an exercise right, within tolerance?

``check(label, answer)`` prints ✔ or ✘ with a hint that does not give the solution away, and
returns whether the answer passed. Each check computes its reference from the library and the
course's recorded runs; the exercises that train or generate for minutes are checked against the
worked solution's numbers, recorded once by ``python benchmarks/exercise_references.py``
(``REFERENCES`` says how) and re-checked by the tests. ``CHECKS`` lists the exercises that have one.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from tutorial_lib import certify, generate, interpret, toy, zoo
from tutorial_lib.attacks import NORMS, PGD_TRAVEL, cross_entropy, eval_mode, input_gradient, pgd, pgd_steps, step_size
from tutorial_lib.budgets import honest_accuracy, pgd_budget, strong_budget
from tutorial_lib.data import balanced_subset, load_dataset
from tutorial_lib.evaluate import accuracy, predict, robust_accuracy
from tutorial_lib.lab import feature_runs, records, tradeoff_runs
from tutorial_lib.lab.gradebook import log_verdict
from tutorial_lib.lab.recipes import (FIRST_LAYER_START, OWN_POINT_EXERCISE, SMALL_DATA_SEEDS, TRADES_EXERCISE,
                                      figure1_config)
from tutorial_lib.models import quantized
from tutorial_lib.stats import wilson_interval
from tutorial_lib.tradeoff import Need, OperatingPoint, choose, load_points, threat
from tutorial_lib.train import TrainConfig, collapse_epoch, train

Verdict = tuple[bool, str]


CHAPTER2_DIST = toy.ToyDistribution.with_eta_sqrt_d(p=0.95, c=3, d=100)
"""Chapter 2's toy distribution, the one its exercises use."""

# The exercises' training runs (``TRADES_EXERCISE``, ``SMALL_DATA_SEEDS``, ``FIRST_LAYER_START``)
# are recipes like every other: ``tutorial_lib.lab.recipes``.


def _chapter3_images() -> tuple[Tensor, Tensor]:
    """Chapter 3's 200 class-balanced test images (``xa, ya`` there)."""
    return balanced_subset(*load_dataset("mnist", "test"), 200, seed=0)


def _close(answer: float, reference: float, tol: float, what: str) -> Verdict:
    """Whether a number is within ``tol`` of the reference, and a hint that does not give it away."""
    ok = abs(float(answer) - reference) <= tol
    return ok, "" if ok else f"{what} is off by more than {tol:g}: recheck your computation"


def equal_budget_epochs(answer: int) -> Verdict:
    """``train-ex-steps-vs-epochs``: epochs of FGSM-RS that cost as much as 4 of PGD-10."""
    runs = {r["method"]: r["seconds_per_epoch"] for r in records.load("training_cost")["runs"]}
    return _close(answer, 4 * runs["PGD-10"] / runs["FGSM-RS"], 0.5,
                  "E (use the cost table's seconds per epoch)")


def reference_steps_vs_epochs() -> Table:
    """The worked solution of ``train-ex-steps-vs-epochs``: {"E": [epochs], "FGSM-RS": [clean on
    the 10,000 test images, strong-budget accuracy on the first 1,000]}."""
    runs = {r["method"]: r["seconds_per_epoch"] for r in records.load("training_cost")["runs"]}
    epochs = round(4 * runs["PGD-10"] / runs["FGSM-RS"])
    m = train(TrainConfig(method="fgsm_rs", eps=0.3, eps_warmup=0.3, epochs=epochs)).model
    x, y = load_dataset("mnist", "test")
    return {"E": [epochs], "FGSM-RS": [accuracy(m, (x, y)),
                                       robust_accuracy(m, (x[:1000], y[:1000]), attack=strong_budget(0.3)).accuracy]}


def collapse_epochs(answer: dict[tuple[str, int], int | None]) -> Verdict:
    """``train-ex-detect``: {(run, seed): epoch the PGD collapse rule fires, or None} for every
    recorded training-failure run."""
    runs = records.load("training_failures")["runs"]
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
    points = {p.name: p for p in load_points(records.load("operating_points"))}
    a, b = (points[n].val[threat("linf", 0.2)] for n in ("mnist_linf_0.3", "half_natural_linf_0.3"))
    hi, lo = max(a, b), min(a, b)
    n = next(n for n in range(100, 100_001, 100)   # to the hundred: rounding makes finer steps jitter
             if wilson_interval(round(hi * n), n)[0] > wilson_interval(round(lo * n), n)[1])
    return _close(answer, n, 0.1 * n, "your number of images")


def _fractions(values) -> list[float]:
    """Accuracies or shares given in [0, 1] or in percent, as fractions. The unit is decided once per
    answer, not per value: if any value exceeds 1 all are percentages (so 0.5% stays 0.005)."""
    values = [float(v) for v in values]
    if any(v > 1 for v in values) and any(0 < v <= 1 for v in values):
        print("note: one value exceeds 1, so all are read as percentages; give every value in one unit")
    return [v / 100 for v in values] if any(v > 1 for v in values) else values


def _pgd_loop_batch() -> tuple[nn.Module, Tensor, Tensor, Tensor]:
    """The standard zoo model, its first 64 test images and a seeded random start in the ℓ∞ 0.1 ball."""
    x, y = load_dataset("mnist", "test")
    x, y = x[:64], y[:64]
    start = NORMS["linf"].random_start(x, 0.1, torch.Generator().manual_seed(0)).clamp(0, 1)
    return zoo.load("mnist_standard"), x, y, start


def pgd_loop(answer: Callable[..., Tensor]) -> Verdict:
    """``intro-ex-pgd-loop``: ``my_pgd_steps(model, x, y, x_adv, *, eps, alpha, steps)``, PGD's loop.
    Run from one random start (ℓ∞ ε = 0.1, α = 0.025, 10 steps), it must stay in the ε-ball and in
    [0, 1], and fool the standard model on the same number of the 64 images as the library's loop,
    within 2 (signs of tiny gradients may differ)."""
    model, x, y, start = _pgd_loop_batch()
    kw = dict(eps=0.1, alpha=0.025, steps=10)
    with eval_mode(model):
        mine = answer(model, x, y, start.clone(), **kw)
    if not isinstance(mine, torch.Tensor):
        return False, f"your function returned {type(mine).__name__}: end it with `return x_adv`"
    mine = mine.detach()
    if mine.shape != x.shape:
        return False, f"return the adversarial images, shape {tuple(x.shape)}; got {tuple(mine.shape)}"
    if (mine - x).abs().max().item() > 0.1 + 1e-5:
        return False, "some pixels moved by more than ε: project back into the ball after every step"
    if mine.min().item() < 0 or mine.max().item() > 1:
        return False, "some pixels left [0, 1]: clip after projecting, at every step"
    with eval_mode(model):
        reference = pgd_steps(model, x, y, start.clone(), **kw, norm=NORMS["linf"], loss_fn=cross_entropy)
    fooled = [int((predict(model, a) != y).sum()) for a in (mine, reference)]
    ok = abs(fooled[0] - fooled[1]) <= 2
    return ok, "" if ok else (f"your loop fools {fooled[0]} of 64 images, PGD {fooled[1]}: "
                              "step along the gradient's sign, uphill, by alpha")


def restarts(answer: tuple[nn.Module, tuple[float, float, float]]) -> Verdict:
    """``intro-ex-restarts``: (your model, accuracy under PGD-10 at ε = 0.05 on the first 500 test
    images without random start, with one, with one and 5 restarts), each within 1.5 points."""
    model, accs = answer
    x, y = load_dataset("mnist", "test")
    kw = dict(eps=0.05, alpha=step_size(0.05, steps=10, travel=PGD_TRAVEL), steps=10)
    variants = (dict(random_start=False), dict(random_start=True), dict(random_start=True, restarts=5))
    ref = [robust_accuracy(model, (x[:500], y[:500]), attack=lambda m, a, b, v=v: pgd(
        m, a, b, **kw, **v, generator=torch.Generator().manual_seed(0))).accuracy for v in variants]
    off = [name for name, a, r in zip(("no start", "random start", "restarts"), _fractions(accs), ref)
           if abs(a - r) > 0.015]
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
    given_acc, given_outside = _fractions(answer)
    ok = abs(given_acc - acc) <= 0.02 and abs(given_outside - outside) <= 0.02
    return ok, "" if ok else "one of the two numbers is off by more than 2 points: check eps, alpha, steps and the images"


@functools.lru_cache(maxsize=1)
def _smoothgrad_reference() -> tuple[float, float]:
    """Mean stroke fraction and class-contrast cosine of the standard model's SmoothGrad (50 copies,
    σ = 0.15, clipped, seed 0) on chapter 8's 500 images (computed once per session)."""
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
    model's SmoothGrad on chapter 8's 500 images, each within 0.02."""
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
    """``eval-ex-masking``: (PGD's accuracy against the rounded standard model at ℓ∞ 0.3, the
    rounded model's accuracy on BPDA's adversarial images), on chapter 3's 200 images, within 3 points."""
    ok = all(abs(a - r) <= 0.03 for a, r in zip(_fractions(answer), _masking_reference()))
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
    """``tradeoff-ex-ties``: three or more operating points of which, for ``Need(eps=0.2)``, two or
    more tie on the top robust accuracy (equal numbers, or overlapping intervals where the points
    carry image counts, as the chooser decides ties) and differ in what the tie-break reads."""
    if len(answer) < 3:
        return False, f"the exercise asks for three operating points; you gave {len(answer)}"
    chosen = choose(answer, Need(eps=0.2))
    if chosen.point is None:
        return False, "no point qualifies for Need(eps=0.2): give each clean and linf@0.2 numbers"
    tied = ([chosen.point] + [p for p in answer if p.name in chosen.ties] if chosen.ties else  # by intervals
            [p for p in answer if p.val.get("linf@0.2") == chosen.point.val["linf@0.2"]])   # equal numbers
    if len(tied) < 2:
        return False, "only one point has the top robust accuracy: no tie to break"
    if len({(p.train_seconds, p.val.get("clean")) for p in tied}) < 2:
        return False, "the tied points are identical in training seconds and clean accuracy: the tie-break decides nothing"
    return True, ""


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


# --- the exercises that train or generate: references recorded by benchmarks/exercise_references.py
Table = dict[str, list[float]]


def _recorded(label: str) -> Table:
    """The recorded reference table of exercise ``label`` (the worked solution's numbers)."""
    return records.load("exercise_references")["references"][label]


def _table(answer: dict, label: str, tols: tuple[float, ...], hint: str) -> Verdict:
    """A table {key: numbers} against the recorded one, key by key, each number within its
    tolerance (accuracies already as fractions)."""
    reference = _recorded(label)
    answer = {str(k): v for k, v in answer.items()}
    if set(answer) != set(reference):
        return False, f"give one entry for each of {sorted(reference)}"
    off = [k for k, ref in reference.items() if any(abs(float(a) - r) > t for a, r, t in zip(answer[k], ref, tols))]
    return not off, "" if not off else f"outside the tolerance: {', '.join(off)}. {hint}"


SPOT = range(0, 200, 10)
"""The images of chapter 3's 200 on which ``attacks-ex-min-eps`` is spot-checked."""


def reference_min_eps() -> Table:
    """Each robust-or-not model's smallest fooling ε on the ``SPOT`` images (bisection in [0, 0.5]
    to 0.5/2⁸, seeded PGD-40)."""
    x, y = _chapter3_images()
    return {n: [_minimal_eps(zoo.load(n), x[i:i + 1], y[i:i + 1], hi=0.5, tol=0.5 / 2 ** 8) for i in SPOT]
            for n in ("mnist_standard", "mnist_linf_0.3")}


def minimal_eps_pair(answer: tuple[Tensor, Tensor]) -> Verdict:
    """``attacks-ex-min-eps``: (the standard model's, the robust ℓ∞ model's) smallest fooling ε on
    chapter 3's 200 images. Spot-checked on every tenth image: 16 of 20 within 0.015, per model."""
    for values, (name, ref) in zip(answer, _recorded("attacks-ex-min-eps").items()):
        values = torch.as_tensor(values, dtype=torch.float32).flatten()
        if len(values) != 200:
            return False, f"give 200 values per model (one per image), got {len(values)}"
        close = sum(abs(float(values[i]) - r) <= 0.015 for i, r in zip(SPOT, ref))
        if close < 16:
            return False, f"{name}: only {close} of 20 spot-checked images agree with a bisection to within 0.015"
    return True, ""


TRADES_NAMES = ("PGD-5", "TRADES β = 1", "TRADES β = 6")


def reference_trades() -> Table:
    """Clean accuracy (10,000 test images) and strong-budget accuracy (first 1,000) of each
    ``TRADES_EXERCISE`` run."""
    x, y = load_dataset("mnist", "test")
    models = [train(cfg).model for cfg in TRADES_EXERCISE]
    return {n: [accuracy(m, (x, y)), robust_accuracy(m, (x[:1000], y[:1000]), attack=strong_budget(0.3)).accuracy]
            for n, m in zip(TRADES_NAMES, models)}


def trades_runs(answer: list[tuple[float, float]]) -> Verdict:
    """``train-ex-trades``: (clean accuracy on the 10,000 test images, strong-budget accuracy on the
    first 1,000) for PGD-5, TRADES β = 1 and TRADES β = 6, in that order; within 1 point (clean)
    and 4 points (robust) of the recorded runs."""
    if len(answer) != len(TRADES_NAMES):
        return False, f"give {len(TRADES_NAMES)} (clean, robust) pairs, in the order {', '.join(TRADES_NAMES)}"
    flat = _fractions(v for pair in answer for v in pair)
    return _table({n: flat[2 * i:2 * i + 2] for i, n in enumerate(TRADES_NAMES)}, "train-ex-trades",
                  (0.01, 0.04), "Check the recipe (2 epochs, PGD-5, warm-up 0.3), β and the test images.")


def reference_small_data() -> Table:
    """{"seed k": [standard, ℓ∞ 0.1]}: standard accuracy on the 10,000 test images of both 300-image
    runs (``figure1_config``) for each of ``SMALL_DATA_SEEDS``."""
    x, y = load_dataset("mnist", "test")
    return {f"seed {s}": [accuracy(train(figure1_config("linf", eps, 300, seed=s)).model, (x, y)) for eps in (0.0, 0.1)]
            for s in SMALL_DATA_SEEDS}


def reference_own_point() -> Table:
    """``tradeoff-ex-own-point``'s worked solution: the half-natural ℓ∞ 0.25 point on the validation
    half — [clean accuracy, the 1,000-query budget at ℓ∞ 0.2, the gradient attacks' number there,
    training seconds]."""
    result = train(OWN_POINT_EXERCISE)
    xc, yc, xr, yr = tradeoff_runs.splits()["val"]
    h = honest_accuracy(result.model, (xr, yr), eps=0.2, norm="linf", warn=False)
    return {"point": [accuracy(result.model, (xc, yc)), h.accuracy, h.gradient, round(result.seconds, 1)]}


def own_point(answer: OperatingPoint) -> Verdict:
    """``tradeoff-ex-own-point``: the ``OperatingPoint`` of the half-natural ℓ∞ 0.25 run, with the image
    counts of the validation half (5,000 clean, 300 robust); clean accuracy within 0.5 points of the
    recorded run, the 1,000-query budget at ℓ∞ 0.2 within 4 (12 of the 300 images)."""
    key = "linf@0.2"
    if not isinstance(answer, OperatingPoint) or not {"clean", key} <= set(answer.val):
        return False, f"pass the tr.OperatingPoint you built, with val numbers for 'clean' and '{key}'"
    if answer.counts.get("clean") != 5000 or answer.counts.get(key) != 300:
        return False, "give it counts: 5,000 images for clean accuracy and 300 for the robust number (the validation half)"
    if max(answer.val["clean"], answer.val[key]) > 1:
        return False, "an OperatingPoint holds accuracies as fractions in [0, 1], not percentages"
    return _table({"point": (answer.val["clean"], answer.val[key])}, "tradeoff-ex-own-point", (0.005, 0.04),
                  "Train recipes.OWN_POINT_EXERCISE; measure on tradeoff_runs.splits()['val'], ℓ∞ 0.2.")


def small_data(answer: tuple[float, float]) -> Verdict:
    """``tradeoff-ex-small-data``: standard accuracy of the standard and the ℓ∞ 0.1 models trained
    on 300 images (``figure1_config``): one seed's or the mean of several. Each must lie within the
    recorded seeds' range widened by 2 points, and the ℓ∞ 0.1 model must be ahead where every
    recorded seed puts it ahead (the exercise's finding)."""
    given = _fractions(answer)
    seeds = list(_recorded("tradeoff-ex-small-data").values())
    off = [name for i, (name, a) in enumerate(zip(("standard", "ℓ∞ 0.1"), given))
           if not min(r[i] for r in seeds) - 0.02 <= a <= max(r[i] for r in seeds) + 0.02]
    if off:
        return False, (f"outside the seeds' range: {', '.join(off)}. Use figure1_config with 300 images "
                       "and all 10,000 test images.")
    gains = [r[1] - r[0] for r in seeds]
    same_sign = all(g > 0 for g in gains) or all(g < 0 for g in gains)
    if same_sign and (given[1] - given[0]) * gains[0] <= 0:
        return False, "every recorded seed orders the two models the other way: check which is which"
    return True, ""


def reference_first_layer() -> Table:
    """PGD-20 accuracy after the first-layer-only feature-reuse run (MNIST, 1,000 images, 10 epochs, seed 0)."""
    run = feature_runs.reuse_run("mnist", FIRST_LAYER_START, train_size=1000, epochs=10, seed=0)
    return {"robust": [run["history"][-1]["robust"]]}


def first_layer_only(answer: float) -> Verdict:
    """``see-ex-first-layer-only``: the final PGD-20 accuracy of the run with only the robust first
    convolution (seed 0), within 3 points of the recorded run."""
    return _table({"robust": _fractions([answer])}, "see-ex-first-layer-only", (0.03,),
                  "Start from FIRST_LAYER_START's layers: 1,000 images, 10 epochs, seed 0.")


"""The six MNIST models of chapter 8, by zoo name."""


def reference_strong_at_0_2() -> Table:
    """Each chapter 8 model's accuracy under the strong budget at ℓ∞ 0.2 on the first 200 of
    chapter 8's 500 images."""
    xs, ys = balanced_subset(*load_dataset("mnist", "test"), 500, seed=0)
    return {n: [robust_accuracy(zoo.load(n), (xs[:200], ys[:200]), attack=strong_budget(0.2)).accuracy]
            for n in feature_runs.ALIGNMENT_MODELS}


def alignment_vs_robustness(answer: dict[str, float]) -> Verdict:
    """``see-ex-alignment-vs-robustness``: {zoo name: strong-budget accuracy at ℓ∞ 0.2 on the first
    200 of chapter 8's images} for its six models, each within 3 points."""
    return _table({n: (a,) for n, a in zip(answer, _fractions(answer.values()))}, "see-ex-alignment-vs-robustness", (0.03,),
                  "Use budgets.strong_budget(0.2) and xs[:200], ys[:200].")


CLASSES = torch.arange(10).repeat_interleave(8)
"""Chapter 9's targets: eight generations per class."""


def class_free_seeds(x_train: Tensor, y_train: Tensor) -> Tensor:
    """Chapter 9's class-free seeds: one rank-20 Gaussian fitted to all training images, seed 1."""
    anything = generate.fit_class_gaussians(x_train, torch.zeros_like(y_train), rank=20, classes=1)
    return generate.sample_seeds(anything, torch.zeros_like(CLASSES), generator=torch.Generator().manual_seed(1))


def reference_rank() -> Table:
    """(diversity, kNN agreement) of the robust ℓ2 model's generations from per-class Gaussians of
    rank 0, 5, 20, 50 (seed 0, ℓ2 ε 6, 60 steps)."""
    (x, y), model, out = load_dataset("mnist", "train"), zoo.load("mnist_l2_2.0"), {}
    for rank in (0, 5, 20, 50):
        seeds = generate.sample_seeds(generate.fit_class_gaussians(x, y, rank=rank), CLASSES,
                                      generator=torch.Generator().manual_seed(0))
        made = generate.generate(model, seeds, CLASSES, eps=6.0, steps=60)
        knn, diversity, _ = generate.judge_scores(made, CLASSES, x, y, per_class=8)
        out[str(rank)] = [diversity, knn]
    return out


def seed_rank(answer: dict[int, tuple[float, float]]) -> Verdict:
    """``gen-ex-rank``: {rank: (diversity, kNN judge agreement)} for ranks 0, 5, 20, 50; diversity
    within 0.4 (5%: the trailing principal directions, and so the seeds, move with the machine's
    arithmetic: 8.0 here, 8.2 under two test workers), agreement within 5 points, and diversity
    rising with the rank, the exercise's finding: ranks 20 and 50 differ by less than the tolerance
    (0.2), so rank 50 may fall short of rank 20 by 0.1 at most, half the recorded gap."""
    agreement = _fractions(k for _, k in answer.values())
    table = {int(r): (float(d), k) for (r, (d, _)), k in zip(answer.items(), agreement)}
    ok, hint = _table(table, "gen-ex-rank", (0.4, 0.05),
                      "Fit the Gaussians on all training images, seed the draws with 0, ε = 6, 60 steps.")
    diversity = [table[r][0] for r in sorted(table)]
    if ok and any(b <= a - 0.1 * (r >= 50) for a, b, r in zip(diversity, diversity[1:], sorted(table)[1:])):
        return False, "your diversities do not rise with the rank: check which number belongs to which rank"
    return ok, hint


def reference_budget() -> Table:
    """(kNN agreement, distance to the nearest training image) of the robust ℓ2 model's generations
    from the class-free seeds at ℓ2 ε 2, 4, 6, 10 (60 steps)."""
    (x, y), model = load_dataset("mnist", "train"), zoo.load("mnist_l2_2.0")
    seeds = class_free_seeds(x, y)
    made = {eps: generate.generate(model, seeds, CLASSES, eps=eps, steps=60) for eps in (2.0, 4.0, 6.0, 10.0)}
    return {str(eps): list(generate.judge_scores(m, CLASSES, x, y, per_class=8)[::2]) for eps, m in made.items()}


def generation_budget(answer: dict[float, tuple[float, float]]) -> Verdict:
    """``gen-ex-budget``: {ε: (kNN judge agreement, mean distance to the nearest training image)}
    for ε 2, 4, 6, 10; agreement within 5 points, distance within 0.2."""
    agreement = _fractions(k for k, _ in answer.values())
    return _table({float(e): (k, float(d)) for (e, (_, d)), k in zip(answer.items(), agreement)}, "gen-ex-budget", (0.05, 0.2),
                  "Generate from the class-free seeds with the robust ℓ2 model, 60 steps.")


def reference_fashion() -> Table:
    """kNN agreement of class-free generation (ℓ2 ε 6, 60 steps) by two Fashion-MNIST zoo models."""
    x, y = load_dataset("fashion", "train")
    seeds = class_free_seeds(x, y)
    made = {n: generate.generate(zoo.load(n), seeds, CLASSES, eps=6.0, steps=60) for n in ("fashion_standard", "fashion_linf_0.1")}
    return {n: list(generate.judge_scores(m, CLASSES, x, y, per_class=8)[:1]) for n, m in made.items()}


def fashion_generation(answer: dict[str, float]) -> Verdict:
    """``gen-ex-fashion``: {zoo name: kNN judge agreement} of class-free generation by
    ``fashion_standard`` and ``fashion_linf_0.1``, each within 5 points."""
    return _table({n: (a,) for n, a in zip(answer, _fractions(answer.values()))}, "gen-ex-fashion", (0.05,),
                  "Fit the class-free Gaussian on Fashion-MNIST's training images (seed 1), ℓ2 ε = 6, 60 steps.")


def affine_box(answer: Callable[[nn.Linear, Tensor, Tensor], tuple[Tensor, Tensor]]) -> Verdict:
    """``cert-ex-box``: ``my_affine_box(layer, lo, hi)``, the box of ``layer(z)`` for z in the box
    ``[lo, hi]``, on random Linear layers (negative weights included) against ``certify.affine_box``."""
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        layer = nn.Linear(6, 4)
        with torch.no_grad():
            layer.weight.copy_(torch.randn(4, 6, generator=gen)), layer.bias.copy_(torch.randn(4, generator=gen))
        lo = torch.rand(5, 6, generator=gen)
        hi = lo + torch.rand(5, 6, generator=gen)
        with torch.no_grad():
            want, got = certify.affine_box(layer, lo, hi), answer(layer, lo, hi)
        if not (isinstance(got, tuple) and len(got) == 2):
            return False, "Return a pair (lower, upper) of tensors shaped like the layer's output."
        if torch.allclose(got[0], layer(lo).detach()) and not torch.allclose(got[0], want[0], atol=1e-5):
            return False, ("A negative weight takes its lower output from the upper end of its input: split W "
                           "into its positive and negative parts, or push the box's centre and radius through.")
        if not all(torch.allclose(g, w, atol=1e-5) for g, w in zip(got, want)):
            return False, "Each bound must be the least (greatest) value of W z + b over the box, attained at a corner."
    return True, ""


CERT_EPS = (0.1, 0.2, 0.3, 0.4)
"""``cert-ex-eps-curve``'s radii."""


def certified_curve(answer: dict[float, float]) -> Verdict:
    """``cert-ex-eps-curve``: {ε: certified accuracy of ``mnist_ibp_0.3`` on the first 1,000 test
    images} for ``CERT_EPS``, each within 0.2 points (interval bounds are deterministic)."""
    if sorted(answer) != list(CERT_EPS):
        return False, f"Give one certified accuracy for each ε in {CERT_EPS}."
    x, y = load_dataset("mnist", "test")
    model = zoo.load("mnist_ibp_0.3", device="cpu")
    for eps, got in zip(answer, _fractions(answer.values())):
        if abs(got - certify.certified_accuracy(model, (x[:1000], y[:1000]), eps=eps)) > 0.002:
            return False, (f"Not the certified accuracy at ε = {eps}: use certify.certified_accuracy on the first "
                           "1,000 test images (a certified image must also be classified correctly).")
    return True, ""


REFERENCES: dict[str, Callable[[], Table]] = {
    "attacks-ex-min-eps": reference_min_eps,
    "train-ex-steps-vs-epochs": reference_steps_vs_epochs,
    "train-ex-trades": reference_trades,
    "tradeoff-ex-small-data": reference_small_data,
    "tradeoff-ex-own-point": reference_own_point,
    "see-ex-first-layer-only": reference_first_layer,
    "see-ex-alignment-vs-robustness": reference_strong_at_0_2,
    "gen-ex-rank": reference_rank,
    "gen-ex-budget": reference_budget,
    "gen-ex-fashion": reference_fashion,
}
"""How each recorded reference is computed: the worked solution's code, run once by
``python benchmarks/exercise_references.py``."""


CHECKS: dict[str, Callable[[Any], Verdict]] = {
    "intro-ex-pgd-loop": pgd_loop,
    "intro-ex-restarts": restarts,
    "eval-ex-masking": masking,
    "see-ex-smoothgrad": smoothgrad,
    "attacks-ex-noclip": unclipped,
    "attacks-ex-l1": l1_pieces,
    "intro-ex-min-eps": minimal_eps,
    "toy-ex-break-assumption": broken_bound,
    "tradeoff-ex-ties": tie_break,
    "cert-ex-box": affine_box,
    "cert-ex-eps-curve": certified_curve,
    "toy-ex-change-distribution": graded_feature,
    "train-ex-steps-vs-epochs": equal_budget_epochs,
    "train-ex-detect": collapse_epochs,
    "tradeoff-ex-noise": tie_breaking_images,
    "attacks-ex-min-eps": minimal_eps_pair,
    "train-ex-trades": trades_runs,
    "tradeoff-ex-small-data": small_data,
    "tradeoff-ex-own-point": own_point,
    "see-ex-first-layer-only": first_layer_only,
    "see-ex-alignment-vs-robustness": alignment_vs_robustness,
    "gen-ex-rank": seed_rank,
    "gen-ex-budget": generation_budget,
    "gen-ex-fashion": fashion_generation,
}
"""The exercises with an automatic check, by label."""


def check(label: str, answer: Any) -> bool:
    """Check ``answer`` to exercise ``label``: print ✔ or ✘ (with a hint), return whether it passed."""
    if label not in CHECKS:
        raise KeyError(f"no automatic check for {label!r}; exercises with one: {sorted(CHECKS)}")
    ok, hint = CHECKS[label](answer)
    print(f"✔ {label}: right" if ok else f"✘ {label}: not yet. {hint}")
    log_verdict("exercise", label, ok, hint)
    return ok
