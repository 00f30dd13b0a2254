"""Clean and robust accuracy, with the attack budget reported beside every robust number."""
from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from tutorial_lib.attacks import eval_mode
from tutorial_lib.data import batches
from tutorial_lib.devices import model_device, to_model_device

Attack = Callable[[nn.Module, Tensor, Tensor], Tensor]
Data = tuple[Tensor, Tensor] | Iterable[tuple[Tensor, Tensor]]


def _batches(data: Data, batch_size: int) -> Iterator[tuple[Tensor, Tensor]]:
    """Mini-batches from an ``(x, y)`` pair of tensors or from any iterable of batches."""
    if isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], Tensor):
        yield from batches(data[0], data[1], batch_size)
    else:
        yield from data


def accuracy(model: nn.Module, data: Data, *, batch_size: int = 1000) -> float:
    """The fraction of examples the model classifies correctly."""
    was_training = model.training
    model.eval()
    correct = total = 0
    dev = model_device(model)
    with torch.no_grad():
        for x, y in _batches(data, batch_size):
            correct += (model(x.to(dev)).argmax(1) == y.to(dev)).sum().item()
            total += y.numel()
    model.train(was_training)
    return correct / total


def predict(model: nn.Module, x: Tensor, *, batch_size: int = 1000) -> Tensor:
    """The predicted class of each image (computed on the model's device, returned on ``x``'s)."""
    dev = model_device(model)
    with eval_mode(model), torch.no_grad():
        out = [model(xb.to(dev)).argmax(1) for xb in x.split(batch_size)]
    return torch.cat(out).to(x.device) if out else torch.zeros(0, dtype=torch.long, device=x.device)


def describe_attack(attack: Attack) -> str:
    """A readable budget such as ``pgd(eps=0.3, alpha=0.01, steps=50, norm=linf)``."""
    if isinstance(attack, functools.partial):
        knobs = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in attack.keywords.items() if k != "generator")
        loss = attack.keywords.get("loss_fn")
        knobs = knobs.replace(f"loss_fn={loss}", f"loss={getattr(loss, '__name__', loss)}")
        return f"{getattr(attack.func, '__name__', 'attack')}({knobs})"
    return getattr(attack, "__name__", repr(attack))


@dataclass(frozen=True)
class RobustAccuracy:
    """Accuracy under an attack, with the attack it was measured under."""

    accuracy: float
    attack: str
    n: int
    clean_accuracy: float = field(default=float("nan"))

    def __str__(self) -> str:
        return f"{100 * self.accuracy:.2f}% robust on {self.n} images under {self.attack}"


def robust_accuracy(model: nn.Module, data: Data, *, attack: Attack,
                    batch_size: int = 1000) -> RobustAccuracy:
    """Accuracy on attacked inputs; an example counts only if it is also classified correctly."""
    dev = model_device(model)
    robust = clean = total = 0
    for x, y in _batches(data, batch_size):
        x, y = x.to(dev), y.to(dev)
        x_adv = attack(model, x, y)
        with torch.no_grad():
            ok = model(x).argmax(1) == y
            robust += (ok & (model(x_adv).argmax(1) == y)).sum().item()
        clean += ok.sum().item()
        total += y.numel()
    return RobustAccuracy(robust / total, describe_attack(attack), total, clean / total)


@contextmanager
def timer() -> Iterator[dict[str, float]]:
    """Measure wall-clock seconds: ``with timer() as t: ...; t["seconds"]``."""
    out: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield out
    finally:
        out["seconds"] = time.perf_counter() - start


def pgd_budget(eps: float, norm: str = "linf", *, steps: int = 50, restarts: int = 1,
               seed: int = 0) -> Callable[..., Tensor]:
    """The course's quick evaluation attack: PGD-50 with a random start.

    Step size eps/30 for L∞ (0.01 at eps = 0.3, the MNIST-challenge setting) and eps/20 for L2
    (50 steps can travel 2.5·eps). With other ``steps`` the step is scaled so that the attack
    still travels as far (PGD-10: eps/6 for L∞). A seeded generator makes it reproducible.
    """
    from tutorial_lib.attacks import pgd

    alpha = (eps / 30 if norm == "linf" else eps / 20) * 50 / steps
    return functools.partial(pgd, eps=eps, alpha=alpha, steps=steps, norm=norm,
                             random_start=True, restarts=restarts,
                             generator=torch.Generator().manual_seed(seed))


def torchattacks_attack(name: str, **knobs: Any) -> Attack:
    """An attack from the independent torchattacks library (``"PGD"``, ``"APGD"``, ...) with the
    course's call shape ``attack(model, x, y)``, run with the model in eval mode."""
    try:
        import torchattacks
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


# --- composing attacks: the worst case over several, and a stronger named budget ---------------
def worst_case(*attacks: Attack) -> Attack:
    """One attack from several, AutoAttack-style: each runs on the examples the previous ones
    failed to fool, and each example keeps the first adversarial image found."""
    if not attacks:
        raise ValueError("worst_case needs at least one attack")

    def attack(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        home = x.device
        x, y = to_model_device(model, x, y)
        x_adv = x.detach().clone()
        with eval_mode(model), torch.no_grad():
            alive = model(x).argmax(1) == y
        for a in attacks:
            idx = alive.nonzero().squeeze(1)
            if idx.numel() == 0:
                break
            xa = a(model, x[idx], y[idx])
            with eval_mode(model), torch.no_grad():
                fooled = model(xa).argmax(1) != y[idx]
            x_adv[idx[fooled]] = xa[fooled]
            alive[idx[fooled]] = False
        return x_adv.to(home)

    attack.__name__ = " + ".join(describe_attack(a) for a in attacks)
    return attack


def each_target(attack: Attack, *, classes: int = 10) -> Attack:
    """An untargeted attack built from a targeted one: aim at every other class in turn."""
    def toward(k: int) -> Attack:
        def a(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
            return attack(model, x, (y + k) % classes)
        return a

    combined = worst_case(*[toward(k) for k in range(1, classes)])
    combined.__name__ = f"each of {classes - 1} targets: {describe_attack(attack)}"
    return combined


def strong_budget(eps: float, norm: str = "linf", *, steps: int = 50, restarts: int = 5,
                  seed: int = 0) -> Attack:
    """The course's stronger evaluation: PGD-50 with 5 random restarts on cross-entropy, then on
    the margin loss, worst case per example (at most 500 gradient evaluations per image).

    Step sizes eps/10 (L∞) and eps/4 (L2) are larger than ``pgd_budget``'s: on robust MNIST
    models small L2 steps stall (chapter 3's audit, within 1 point of APGD-CE + APGD-T).
    """
    from tutorial_lib.attacks import margin_loss, pgd

    alpha = eps / 10 if norm == "linf" else eps / 4
    knobs = dict(eps=eps, alpha=alpha, steps=steps, norm=norm, restarts=restarts)
    ce = functools.partial(pgd, **knobs, generator=torch.Generator().manual_seed(seed))
    mg = functools.partial(pgd, **knobs, loss_fn=margin_loss,
                           generator=torch.Generator().manual_seed(seed + 1))
    return worst_case(ce, mg)


@contextmanager
def count_gradient_passes(model: nn.Module) -> Iterator[dict[str, int]]:
    """Count image-gradient evaluations: images that enter ``model``
    requiring a gradient.

    Works for any attack library (it hooks the model, not the attack): ``with
    count_gradient_passes(model) as c: ...; c["images"]``.
    """
    counts = {"images": 0}

    def hook(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        if torch.is_grad_enabled() and inputs[0].requires_grad:
            counts["images"] += inputs[0].shape[0]

    handle = model.register_forward_hook(hook)
    try:
        yield counts
    finally:
        handle.remove()


def epoch_probe(dataset: str = "mnist", *, eps: float, norm: str = "linf", clean_n: int = 2000,
                robust_n: int = 500, steps: int = 20, fgsm: bool = False
                ) -> Callable[[nn.Module], dict[str, float]]:
    """An ``on_epoch_end`` hook for ``train``: clean accuracy on ``clean_n`` and PGD accuracy
    (``steps`` steps of 2.5·eps/steps, random start, seed 0) on ``robust_n`` fixed test images,
    (with ``fgsm``, FGSM accuracy on the same images too), plus ``train_seconds``: the run's seconds so far *minus* the time spent in earlier probes
    (add the row's ``seconds`` to it; ``probe_training_time`` does that for a finished run)."""
    from tutorial_lib.attacks import fgsm as fgsm_attack
    from tutorial_lib.attacks import pgd
    from tutorial_lib.data import balanced_subset, load_dataset

    x, y = load_dataset(dataset, "test")
    xc, yc = balanced_subset(x, y, clean_n, seed=0)
    xr, yr = balanced_subset(x, y, robust_n, seed=0)
    spent = [0.0]

    def probe(model: nn.Module) -> dict[str, float]:
        t0 = time.perf_counter()
        attack = functools.partial(pgd, eps=eps, alpha=2.5 * eps / steps, steps=steps, norm=norm,
                                   generator=torch.Generator().manual_seed(0))
        row = {"clean": accuracy(model, (xc, yc)),
               "robust": robust_accuracy(model, (xr, yr), attack=attack).accuracy,
               "train_seconds": -spent[0]}
        if fgsm:
            one_step = functools.partial(fgsm_attack, eps=eps, norm=norm)
            row["fgsm"] = robust_accuracy(model, (xr, yr), attack=one_step).accuracy
        spent[0] += time.perf_counter() - t0
        return row

    return probe


def probe_training_time(history: list[dict[str, float]], *, digits: int = 4) -> list[dict[str, float]]:
    """Rows of a probed run with ``train_seconds`` made final (probing time taken out), every
    value rounded to ``digits`` (the precision recorded results keep)."""
    rows = [{**{k: v for k, v in row.items() if k != "seconds"},
             "train_seconds": row["train_seconds"] + row["seconds"]} for row in history]
    return [{k: round(v, digits) for k, v in row.items()} for row in rows]
