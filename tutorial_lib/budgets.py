"""Named attack budgets: the course's own (``pgd_budget``, ``strong_budget``) and the adapter to
an independent library (torchattacks' APGD ensemble) that audits them.

Each budget is a ``functools.partial`` of the one ``pgd`` (or a ``worst_case`` of several), so
``describe_attack`` prints exactly what ran. Step sizes follow ``attacks.step_size`` with the
travel named here.
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from tutorial_lib.attacks import (NORMS, Attack, check_attack_inputs, describe_attack, each_target, eval_mode,
                                  input_gradient, margin_loss, pgd, step_size, worst_case)
from tutorial_lib.devices import to_model_device
from tutorial_lib.evaluate import Data, RobustAccuracy, predict, robust_accuracy, robust_mask
from tutorial_lib.stats import mcnemar_p

QUICK_TRAVEL = {"linf": 5 / 3, "l2": 2.5}
"""``pgd_budget``'s travel: eps/30 per step for L∞ at 50 steps (0.01 at eps = 0.3, the MNIST
challenge's setting) and eps/20 for L2 (50 steps can travel 2.5·eps)."""
STRONG_TRAVEL = {"linf": 5.0, "l2": 12.5}
"""``strong_budget``'s travel: eps/10 (L∞) and eps/4 (L2) per step at 50 steps; on robust MNIST
models small L2 steps stall (chapter 4's audit, within 1 point of APGD-CE + APGD-T)."""


def pgd_budget(eps: float, norm: str = "linf", *, steps: int = 50, restarts: int = 1,
               seed: int = 0) -> Attack:
    """The course's quick evaluation attack: PGD-50 with a random start, step
    ``step_size(eps, steps=steps, travel=QUICK_TRAVEL[norm])`` (PGD-10: eps/6 for L∞).
    A seeded generator makes it reproducible."""
    alpha = step_size(eps, steps=steps, travel=QUICK_TRAVEL[norm])
    return functools.partial(pgd, eps=eps, alpha=alpha, steps=steps, norm=norm,
                             random_start=True, restarts=restarts,
                             generator=torch.Generator().manual_seed(seed))


def strong_budget(eps: float, norm: str = "linf", *, steps: int = 50, restarts: int = 5,
                  seed: int = 0) -> Attack:
    """The course's stronger evaluation: PGD-50 with 5 random restarts on cross-entropy, then on
    the margin loss, worst case per example (at most 500 gradient evaluations per image), with
    the larger steps of ``STRONG_TRAVEL``."""
    alpha = step_size(eps, steps=steps, travel=STRONG_TRAVEL[norm])
    knobs = dict(eps=eps, alpha=alpha, steps=steps, norm=norm, restarts=restarts)
    ce = functools.partial(pgd, **knobs, generator=torch.Generator().manual_seed(seed))
    mg = functools.partial(pgd, **knobs, loss_fn=margin_loss,
                           generator=torch.Generator().manual_seed(seed + 1))
    return worst_case(ce, mg)


def torchattacks_attack(name: str, *, targeted: bool = False, **knobs: Any) -> Attack:
    """An attack from the independent torchattacks library (``"PGD"``, ``"APGD"``, ...) with the
    course's call shape ``attack(model, x, y)``, run with the model in eval mode; ``targeted``:
    ``y`` holds the target classes."""
    try:
        import torchattacks  # optional: only the audits need it
    except ImportError as err:
        raise ImportError("this needs torchattacks: pip install --no-deps torchattacks scipy "
                          "(its requests pin would downgrade requests)") from err

    def attack(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        with eval_mode(model):  # torchattacks runs on the model's device; hand back on x's
            atk = getattr(torchattacks, name)(model, **knobs)
            if targeted:
                atk.set_mode_targeted_by_label(quiet=True)
            return atk(x, y).to(x.device)

    shown = ", ".join(f"{k}={v}" for k, v in {**knobs, **({"targeted": True} if targeted else {})}.items())
    attack.__name__ = f"torchattacks.{name}({shown})"
    return attack


def independent_attack(eps: float, norm: str = "linf", *, steps: int = 100) -> Attack:
    """An independent library's AutoAttack-style ensemble: torchattacks' APGD (cross-entropy),
    then APGD-T (targeted, 9 targets) on what it left, worst case per example."""
    tnorm = {"linf": "Linf", "l2": "L2"}[norm]
    return worst_case(torchattacks_attack("APGD", norm=tnorm, eps=eps, steps=steps, loss="ce", seed=0),
                      torchattacks_attack("APGDT", norm=tnorm, eps=eps, steps=steps, n_classes=10, seed=0))


def independent_ensemble(model: nn.Module, x: Tensor, y: Tensor, *, eps: float,
                         norm: str = "linf", steps: int = 100, batch_size: int = 500) -> float:
    """Robust accuracy under ``independent_attack``."""
    attack = independent_attack(eps, norm, steps=steps)
    return robust_accuracy(model, (x, y), attack=attack, batch_size=batch_size).accuracy


# --- the gradient-free attack and the honest evaluation -----------------------------------------
SQUARE_QUERIES = 1000
"""Square Attack's queries per image in the quick honest budget. Not enough everywhere: the ℓ∞
models at ℓ2 ε = 2 keep falling well past it (chapter 4); the reporting budget uses AutoAttack's
5,000 and checks convergence (``reporting_accuracy``)."""
MASKING_MARGIN = 0.02
"""How far (2 points) the gradient-free attack may beat the gradient attacks before the honest
evaluation flags gradient masking."""


def square_attack(eps: float, norm: str = "linf", *, queries: int = SQUARE_QUERIES,
                  restarts: int = 1, seed: int = 0, targeted: bool = False,
                  rescale: bool = True) -> Attack:
    """Square Attack (Andriushchenko et al., 2020), torchattacks' implementation: a random search
    that changes one square of pixels at a time and keeps the change when the margin loss drops.
    It never asks the model for a gradient, so gradient masking cannot hide from it. Checks its
    inputs like ``pgd``; the global random state is restored afterwards. ``targeted``: ``y`` holds
    the target classes, and an image is done when the model predicts its target. ``rescale``:
    torchattacks' default, the square-size schedule squeezed into ``queries``; AutoAttack's
    standard run keeps the schedule written for 10,000 queries (``rescale=False``, p_init 0.8)."""
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; use one of {sorted(NORMS)}")
    if queries < 1:
        raise ValueError(f"queries must be at least 1, got {queries}")
    inner = torchattacks_attack("Square", norm={"linf": "Linf", "l2": "L2"}[norm], eps=eps,
                                n_queries=queries, n_restarts=restarts, loss="margin", seed=seed,
                                p_init=0.8, resc_schedule=rescale, targeted=targeted)

    def attack(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        check_attack_inputs(model, *to_model_device(model, x, y), eps=eps, norm=norm)
        with torch.random.fork_rng(devices=[]):  # torchattacks seeds the global generator
            return inner(model, x, y)

    attack.__name__ = (f"square(eps={eps:g}, norm={norm}, queries={queries}, seed={seed}"
                       + (", targeted" if targeted else "") + ("" if rescale else ", schedule not rescaled")
                       + ")")
    return attack


def honest_budget(eps: float, norm: str = "linf", *, queries: int = SQUARE_QUERIES,
                  seed: int = 0) -> Attack:
    """The course's reporting budget: ``strong_budget`` (gradient attacks), then Square Attack on
    the images it left, worst case per example."""
    return worst_case(strong_budget(eps, norm, seed=seed),
                      square_attack(eps, norm, queries=queries, seed=seed))


def transfer_attack(source: nn.Module, attack: Attack) -> Attack:
    """``attack`` crafted on ``source`` and applied to whatever model is evaluated: a transfer
    attack, which needs no gradient of the attacked model at all."""
    def transferred(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        return attack(source, x, y)

    transferred.__name__ = f"transfer of {describe_attack(attack)}"
    return transferred


def noise_baseline(eps: float, norm: str = "linf", *, seed: int = 0) -> Attack:
    """Random noise of the attack's full size (ℓ∞: every pixel ±``eps``; ℓ2: a random direction of
    length ``eps``), then clipped to [0, 1] — which shortens it where pixels sit at 0 or 1, as most of
    MNIST's do: Carlini et al.'s baseline, which an attack should beat by far."""
    def noise(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        check_attack_inputs(model, x, y, eps=eps, norm=norm)
        g = torch.Generator().manual_seed(seed)
        if norm == "linf":
            d = (torch.randint(0, 2, x.shape, generator=g) * 2 - 1).to(x) * eps
        else:
            d = torch.randn(x.shape, generator=g).to(x)
            d = d * eps / d.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (x.dim() - 1)))
        return (x + d).clamp(0, 1)

    noise.__name__ = f"noise_baseline(eps={eps:g}, norm={norm})"
    return noise


class GradientMaskingWarning(UserWarning):
    """The gradient attacks cannot be trusted on this model: see ``HonestAccuracy.flags``."""


@dataclass(frozen=True)
class HonestAccuracy(RobustAccuracy):
    """A ``RobustAccuracy`` (the worst case of gradient attacks and Square Attack, its budget in
    ``attack``) with the gradient attacks' part beside it, the flags that say when the gradient
    attacks alone would have overstated robustness, and whether it converged."""

    gradient: float = float("nan")  # the gradient attacks alone
    zero_gradient: float = 0.0      # share of images whose input gradient is exactly 0 at a random start
    flags: tuple[str, ...] = ()
    per_example: Tensor | None = field(default=None, repr=False, compare=False)  # robust or not, per image
    converged: bool | None = None  # None: never checked; False: an upper bound, printed "≤"
    queries: int | None = None     # Square Attack's largest budget that ran

    @property
    def shown(self) -> str:
        """The number as a page should print it: ``92.5%`` when converged, else ``≤ 54.0%`` (an
        attack's number is an upper bound until a bigger budget no longer lowers it; 0% is exact)."""
        return f"{'' if self.converged or self.accuracy == 0 else '≤ '}{100 * self.accuracy:.1f}%"

    def not_robust(self, start: int = 0) -> list[int]:
        """The images it is not robust on, as test-set indices when the images began at ``start``."""
        if self.per_example is None:
            raise ValueError("this HonestAccuracy has no per_example mask (it was built by hand); "
                             "measure it with honest_accuracy(...) to list the images it loses")
        return [start + int(i) for i in (~self.per_example).nonzero().flatten().tolist()]

    def __str__(self) -> str:
        flagged = f"  FLAGS: {'; '.join(self.flags)}" if self.flags else ""
        label = {True: "honest (converged)", False: "NOT converged (an upper bound)",
                 None: "(an upper bound: convergence not checked)"}[self.converged]
        return (f"{self.shown} {label}, {100 * self.gradient:.1f}% under the gradient "
                f"attacks alone, on {self.n} images, {self.attack}{flagged}")


def zero_gradient_share(model: nn.Module, x: Tensor, y: Tensor, *, eps: float, norm: str = "linf",
                        seed: int = 0) -> float:
    """The share of images whose margin-loss input gradient is exactly zero at a random point of
    the ball (AutoAttack's zero-gradient check): there a gradient attack cannot even start."""
    x, y = to_model_device(model, x, y)
    start = NORMS[norm].random_start(x, eps, torch.Generator().manual_seed(seed)).clamp(0, 1)
    with eval_mode(model):
        grad, _ = input_gradient(model, start, y, margin_loss)
    return (grad.flatten(1).abs().amax(1) == 0).float().mean().item()


def masking_flags(honest: float, gradient: float, zero_gradient: float, n: int) -> tuple[str, ...]:
    """AutoAttack-style warnings: the gradient-free attack beats the gradient attacks by more than
    ``MASKING_MARGIN``, or some input gradients are exactly zero."""
    flags = []
    if round(gradient - honest, 9) > MASKING_MARGIN:   # rounded: 6 of 300 images is 2 points, not 2.0000000001
        flags.append(f"Square Attack beats the gradient attacks by {100 * (gradient - honest):.1f} "
                     "points: gradient masking; trust the worst case, try BPDA or more queries")
    return tuple(flags) + zero_gradient_flag(zero_gradient, n)


def zero_gradient_flag(zero_gradient: float, n: int) -> tuple[str, ...]:
    """AutoAttack's zero-gradient warning, when some input gradients are exactly zero."""
    if zero_gradient > 0:
        return (f"input gradient exactly zero for {round(zero_gradient * n)} of {n} images: "
                "gradient attacks cannot move them",)
    return ()


def honest_accuracy(model: nn.Module, data: Data, *, eps: float, norm: str = "linf",
                    queries: int = SQUARE_QUERIES, seed: int = 0, batch_size: int = 500,
                    warn: bool = True) -> HonestAccuracy:
    """Robust accuracy under ``honest_budget``, with the gradient attacks' number and the flags;
    with ``warn``, a ``GradientMaskingWarning`` for each flag raised (they are always recorded)."""
    x, y = data if isinstance(data, tuple) else map(torch.cat, zip(*data))
    clean, grad_ok = robust_mask(model, (x, y), attack=strong_budget(eps, norm, seed=seed),
                                 batch_size=batch_size)
    keep = grad_ok.to(x.device)
    square = square_attack(eps, norm, queries=queries, seed=seed)
    _, free_ok = robust_mask(model, (x[keep], y[keep]), attack=square, batch_size=batch_size)
    n = len(y)
    per_example = keep.clone()
    per_example[keep] = free_ok.to(keep.device)
    honest, gradient = free_ok.sum().item() / n, grad_ok.sum().item() / n
    zero = zero_gradient_share(model, x, y, eps=eps, norm=norm, seed=seed)
    flags = masking_flags(honest, gradient, zero, n)
    for flag in flags if warn else ():
        warnings.warn(flag, GradientMaskingWarning, stacklevel=2)
    budget = f"strong_budget + square({queries} queries), eps={eps:g}, {norm}"
    return HonestAccuracy(honest, budget, n, clean.sum().item() / n, gradient=gradient, zero_gradient=zero,
                          flags=flags, per_example=per_example.cpu())


# --- the reporting budget: AutoAttack's standard strength, and whether it has converged ---------
AUTOATTACK_QUERIES = 5000
"""Square Attack's queries in AutoAttack's standard run (``autoattack.py``: p_init 0.8,
``resc_schedule=False``, one restart)."""
AUTOATTACK_MARGIN = 0.002
"""AutoAttack's own check (``checks.py``, ``check_square_sr``): Square Attack lowering robust
accuracy by more than 0.2 points below the other attacks means the evaluation may be unreliable."""
SIGNIFICANCE = 0.05
"""An exact paired test (McNemar) on the images one attack breaks and the other does not: below
this p-value the difference is more than the images' noise."""


def apgd_attack(eps: float, norm: str = "linf", *, targeted: bool = False, steps: int = 100,
                seed: int = 0) -> Attack:
    """torchattacks' APGD as AutoAttack's standard run uses it: APGD-CE (cross-entropy), or with
    ``targeted`` APGD-T (the targeted DLR loss, a rescaled margin, toward each of the 9 other
    classes), one restart, ``steps`` iterations, rho 0.75."""
    tnorm = {"linf": "Linf", "l2": "L2"}[norm]
    if targeted:
        return torchattacks_attack("APGDT", norm=tnorm, eps=eps, steps=steps, n_classes=10,
                                   n_restarts=1, rho=0.75, seed=seed)
    return torchattacks_attack("APGD", norm=tnorm, eps=eps, steps=steps, loss="ce",
                               n_restarts=1, rho=0.75, seed=seed)


def reporting_stages(eps: float, norm: str = "linf", *, queries: int = AUTOATTACK_QUERIES,
                     seed: int = 0) -> dict[str, Attack]:
    """AutoAttack's standard sequence: APGD-CE, APGD-T, then Square Attack with its settings."""
    return {"APGD-CE": apgd_attack(eps, norm, seed=seed),
            "APGD-T": apgd_attack(eps, norm, targeted=True, seed=seed),
            f"Square ({queries} queries)": square_attack(eps, norm, queries=queries, seed=seed,
                                                         rescale=False)}


def surviving(model: nn.Module, x: Tensor, y: Tensor, alive: Tensor, attack: Attack, *,
              batch_size: int = 1000) -> Tensor:
    """``alive`` after ``attack`` ran on the images still alive (AutoAttack's sequence)."""
    alive = alive.clone()
    idx = alive.nonzero().squeeze(1)
    if idx.numel():
        _, ok = robust_mask(model, (x[idx], y[idx]), attack=attack, batch_size=batch_size)
        alive[idx] = ok.to(alive.device)
    return alive


def beyond_noise(broken: int) -> bool:
    """Whether ``broken`` images lost to a second attack (and none the other way) are more than
    the images' noise: the exact McNemar test at ``SIGNIFICANCE``."""
    return mcnemar_p(broken, 0) < SIGNIFICANCE


def square_flag(gradient: int, final: int, n: int) -> tuple[str, ...]:
    """AutoAttack's check, kept only when the paired test says the gap is more than noise."""
    gap = gradient - final
    if gap / n > AUTOATTACK_MARGIN and beyond_noise(gap):
        return (f"Square Attack breaks {gap} of {n} images the gradient attacks left "
                f"({100 * gap / n:.1f} points, AutoAttack warns above 0.2): gradient masking; "
                "the worst case is the measurement",)
    return ()


def reporting_accuracy(model: nn.Module, data: Data, *, eps: float, norm: str = "linf",
                       queries: int = AUTOATTACK_QUERIES, max_queries: int = 2 * AUTOATTACK_QUERIES,
                       seed: int = 0, batch_size: int = 1000, warn: bool = True) -> HonestAccuracy:
    """Robust accuracy at AutoAttack's strength (``reporting_stages``), checked for convergence:
    Square Attack runs again on the survivors at twice the queries (another seed), doubling up to
    ``max_queries`` while the longer run breaks more images than the noise. Not converged at the
    cap: an upper bound (``converged=False``). Flags as ``square_flag`` and the zero-gradient check."""
    x, y = data if isinstance(data, tuple) else map(torch.cat, zip(*data))
    x, y = to_model_device(model, x, y)
    check_attack_inputs(model, x, y, eps=eps, norm=norm)
    if not 1 <= queries <= max_queries:
        raise ValueError(f"need 1 <= queries <= max_queries, got queries={queries}, max_queries={max_queries}")
    stages = list(reporting_stages(eps, norm, queries=queries, seed=seed).values())
    clean = predict(model, x, batch_size=batch_size) == y
    alive = clean
    for attack in stages[:2]:
        alive = surviving(model, x, y, alive, attack, batch_size=batch_size)
    gradient = int(alive.sum())
    alive = surviving(model, x, y, alive, stages[2], batch_size=batch_size)
    ran, converged = queries, None
    while 2 * ran <= max_queries and not converged:
        ran, before = 2 * ran, int(alive.sum())
        longer = square_attack(eps, norm, queries=ran, seed=seed + ran // queries, rescale=False)
        alive = surviving(model, x, y, alive, longer, batch_size=batch_size)
        converged = not beyond_noise(before - int(alive.sum()))
    n = len(y)
    flags = square_flag(gradient, int(alive.sum()), n)
    zero = zero_gradient_share(model, x, y, eps=eps, norm=norm, seed=seed)
    flags += zero_gradient_flag(zero, n)
    for flag in flags if warn else ():
        warnings.warn(flag, GradientMaskingWarning, stacklevel=2)
    checked = "convergence not checked" if converged is None else f"checked at {ran} queries"
    budget = (f"APGD-CE + APGD-T (9 targets, 100 steps) + square({queries} queries, AutoAttack's "
              f"schedule), {checked}, eps={eps:g}, {norm}")
    return HonestAccuracy(int(alive.sum()) / n, budget, n, int(clean.sum()) / n, gradient=gradient / n,
                          zero_gradient=zero, flags=flags, per_example=alive.cpu(), converged=converged,
                          queries=ran)


# --- chapter 4's audit: our budgets against an independent library -----------------------------
def audit_attacks(eps: float, norm: str) -> dict[str, Attack]:
    """The audit's first round: our PGD-50 against torchattacks' PGD-50 with the same step, its
    APGD-CE, and its APGD-CE + APGD-T ensemble."""
    tnorm = {"linf": "Linf", "l2": "L2"}[norm]
    small = step_size(eps, steps=50, travel=QUICK_TRAVEL[norm])
    return {"ours: PGD-50 (pgd_budget)": pgd_budget(eps, norm),
            "torchattacks PGD-50, same step": torchattacks_attack(
                "PGD" if norm == "linf" else "PGDL2", eps=eps, alpha=small, steps=50),
            "torchattacks APGD-CE": torchattacks_attack(
                "APGD", norm=tnorm, eps=eps, steps=100, loss="ce", seed=0),
            "torchattacks APGD-CE + APGD-T": independent_attack(eps, norm)}


def closing_attacks(eps: float, norm: str) -> dict[str, Attack]:
    """The audit's second round: what closes the gap to the ensemble — restarts, the margin loss,
    every target, a larger step, and all of them together (``strong_budget``)."""
    small = step_size(eps, steps=50, travel=QUICK_TRAVEL[norm])
    big = step_size(eps, steps=50, travel=STRONG_TRAVEL[norm])

    def pgd50(alpha: float, seed: int = 0, **knobs: Any) -> Attack:
        return functools.partial(pgd, eps=eps, steps=50, norm=norm, alpha=alpha, **knobs,
                                 generator=torch.Generator().manual_seed(seed))

    return {
        "PGD-50 × 5 restarts": pgd50(small, restarts=5),
        "PGD-50, margin loss": pgd50(small, loss_fn=margin_loss),
        "PGD-50 targeted at each class": each_target(pgd50(small, targeted=True, loss_fn=margin_loss)),
        "PGD-50, larger step": pgd50(big),
        "strong_budget (larger step, CE × 5 + margin × 5)": strong_budget(eps, norm),
    }
