"""Named attack budgets: the course's own (``pgd_budget``, ``strong_budget``) and the adapter to
an independent library (torchattacks' APGD ensemble) that audits them.

Each budget is a ``functools.partial`` of the one ``pgd`` (or a ``worst_case`` of several), so
``describe_attack`` prints exactly what ran. Step sizes follow ``attacks.step_size`` with the
travel named here.
"""
from __future__ import annotations

import functools
from typing import Any

import torch
from torch import Tensor, nn

from tutorial_lib.attacks import Attack, each_target, eval_mode, margin_loss, pgd, step_size, worst_case
from tutorial_lib.evaluate import robust_accuracy

QUICK_TRAVEL = {"linf": 5 / 3, "l2": 2.5}
"""``pgd_budget``'s travel: eps/30 per step for L∞ at 50 steps (0.01 at eps = 0.3, the MNIST
challenge's setting) and eps/20 for L2 (50 steps can travel 2.5·eps)."""
STRONG_TRAVEL = {"linf": 5.0, "l2": 12.5}
"""``strong_budget``'s travel: eps/10 (L∞) and eps/4 (L2) per step at 50 steps; on robust MNIST
models small L2 steps stall (chapter 3's audit, within 1 point of APGD-CE + APGD-T)."""


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


def torchattacks_attack(name: str, **knobs: Any) -> Attack:
    """An attack from the independent torchattacks library (``"PGD"``, ``"APGD"``, ...) with the
    course's call shape ``attack(model, x, y)``, run with the model in eval mode."""
    try:
        import torchattacks  # optional: only the audits need it
    except ImportError as err:
        raise ImportError("this needs torchattacks: pip install --no-deps torchattacks scipy "
                          "(its requests pin would downgrade requests)") from err

    def attack(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        with eval_mode(model):  # torchattacks runs on the model's device; hand back on x's
            return getattr(torchattacks, name)(model, **knobs)(x, y).to(x.device)

    attack.__name__ = f"torchattacks.{name}({', '.join(f'{k}={v}' for k, v in knobs.items())})"
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


# --- chapter 3's audit: our budgets against an independent library -----------------------------
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
