"""Measuring a model: predictions, clean and robust accuracy (with the attack's budget reported
beside every robust number), and the gradient passes an attack spends."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from tutorial_lib.attacks import NORM_SYMBOLS, Attack, describe_attack, eval_mode
from tutorial_lib.data import batches
from tutorial_lib.devices import model_device
from tutorial_lib.stats import wilson_interval

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


@dataclass(frozen=True)
class RobustAccuracy:
    """Accuracy under an attack, with the attack it was measured under."""

    accuracy: float
    attack: str
    n: int
    clean_accuracy: float = field(default=float("nan"))

    def __str__(self) -> str:
        return f"{100 * self.accuracy:.2f}% robust on {self.n} images under {self.attack}"


def robust_mask(model: nn.Module, data: Data, *, attack: Attack, batch_size: int = 1000
                ) -> tuple[Tensor, Tensor]:
    """Per example: classified correctly, and still correctly after ``attack`` (an example counts
    as robust only if it is also classified correctly). Both on the model's device."""
    dev = model_device(model)
    clean, robust = [], []
    for x, y in _batches(data, batch_size):
        x, y = x.to(dev), y.to(dev)
        x_adv = attack(model, x, y)
        with torch.no_grad():
            ok = model(x).argmax(1) == y
            robust.append(ok & (model(x_adv.to(dev)).argmax(1) == y))
        clean.append(ok)
    empty = torch.zeros(0, dtype=torch.bool, device=dev)
    return (torch.cat(clean) if clean else empty), (torch.cat(robust) if robust else empty)


def robust_accuracy(model: nn.Module, data: Data, *, attack: Attack,
                    batch_size: int = 1000) -> RobustAccuracy:
    """Accuracy on attacked inputs; an example counts only if it is also classified correctly."""
    clean, robust = robust_mask(model, data, attack=attack, batch_size=batch_size)
    total = robust.numel()
    return RobustAccuracy(robust.sum().item() / total, describe_attack(attack), total,
                          clean.sum().item() / total)


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


def robust_accuracies(model: nn.Module, data: Data, attacks: Iterable[Attack]) -> list[float]:
    """Robust accuracy under each attack in turn (a sweep over one knob of a budget)."""
    return [robust_accuracy(model, data, attack=a).accuracy for a in attacks]


def audit(model: nn.Module, data: Data, attacks: dict[str, Attack], *,
          count_on: nn.Module | None = None) -> dict[str, tuple[float, float]]:
    """Per named attack: robust accuracy (%) and image-gradient evaluations per image it spent
    (counted on ``count_on``, the network whose gradients are paid for; default: the model)."""
    n = sum(len(y) for _, y in _batches(data, 1000))
    out = {}
    for name, attack in attacks.items():
        with count_gradient_passes(count_on or model) as c:
            acc = robust_accuracy(model, data, attack=attack).accuracy
        out[name] = (100 * acc, c["images"] / n)
    return out


def audit_table(audits: dict[str, dict[str, tuple[float, float]]], *, title: str, n: int | None = None) -> str:
    """Audits of several settings side by side: a row per attack, ``accuracy% (passes g)``; with
    ``n``, the images behind each number, a last line saying how wide their 95% intervals are."""
    rows = list(next(iter(audits.values())))
    width = max(38, 2 + max(len(k) for k in [title, *rows]))  # long attack names never push a row out
    lines = [f"{title:<{width}}" + "".join(f"{s:>20}" for s in audits)]
    for k in rows:
        lines.append(f"{k:<{width}}" + "".join(f"{a[k][0]:>9.1f}% ({a[k][1]:>4.0f} g)" for a in audits.values()))
    if n is not None:
        lines.append(interval_note(n))
    return "\n".join(lines)


def interval_note(n: int) -> str:
    """How wide a 95% (Wilson) interval is for an accuracy measured on ``n`` images, near 50% and
    near 95% — the line under a table of such accuracies."""
    half = {share: 50 * (hi - lo) for share in (0.5, 0.95) for lo, hi in [wilson_interval(round(share * n), n)]}
    return f"(on {n:,} images a 95% interval is about ±{half[0.5]:.1f} points near 50%, ±{half[0.95]:.1f} near 95%)"


def reporting_table(rows: Iterable[dict], independent: Iterable[dict] = ()) -> str:
    """Recorded reporting-budget rows as a table: the worst case of the reporting budget and of
    ``strong_budget`` per image ("≤" when not converged), the gradient attacks alone, the old
    1,000-query number, a flag mark, and an independent implementation's number if run."""
    other = {(r["model"], r["norm"], r["n"]): r["independent"] for r in independent}
    lines = [f"{'model':<17}{'threat':>10}{'images':>8}{'reported':>11}{'APGD only':>11}"
             f"{'old 1,000-q':>12}{'ART':>8}  converged at"]
    for r in rows:
        worst = reported(r)
        shown = f"{'≤ ' if not r['converged'] else ''}{100 * worst:.1f}%" + (" !" if r["flags"] else "")
        art = other.get((r["model"], r["norm"], r["n"]))
        lines.append(f"{r['model']:<17}{NORM_SYMBOLS[r['norm']] + ' ' + format(r['eps'], 'g'):>10}{r['n']:>8,}{shown:>11}"
                     f"{100 * r['gradient']:>10.1f}%{'≤ ' + format(100 * r['old_honest'], '.1f') + '%':>12}"
                     f"{'' if art is None else format(100 * art, '.1f') + '%':>8}  "
                     + (f"{r['queries']:,} queries" if r["converged"] else f"no: still falling at {r['queries']:,}"))
    return "\n".join(lines)


def reported(row: dict) -> float:
    """A recorded row's number to report: the worst case per image of the reporting budget and of
    ``strong_budget`` (which the record lists as the images only it broke)."""
    return row["accuracy"] - row["strong_budget_breaks_more"] / row["n"]


def recorded_row(rows: Iterable[dict], model: str, norm: str, n: int) -> dict:
    """The one recorded row of ``model`` at ``norm`` on ``n`` images."""
    hits = [r for r in rows if (r["model"], r["norm"], r["n"]) == (model, norm, n)]
    if len(hits) != 1:
        raise KeyError(f"{len(hits)} recorded rows for {model} at {norm} on {n} images; expected one")
    return hits[0]
