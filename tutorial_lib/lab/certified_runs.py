"""The certified-robustness chapter's recorded runs: IBP recipes compared on held-out training
images (``benchmarks/ibp_runs.py``), the choice made there, never on the test set."""
from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from tutorial_lib.certify import certified_accuracy
from tutorial_lib.data import load_dataset, validation_split
from tutorial_lib.evaluate import accuracy
from tutorial_lib.lab.records import stamp
from tutorial_lib.stats import binomial_se
from tutorial_lib.train import TrainConfig, train


def validation_images(cfg: TrainConfig) -> tuple:
    """The training images ``cfg`` holds out (its ``validation`` split), to choose on."""
    if not cfg.validation:
        raise ValueError("this recipe holds out no validation images; set validation > 0")
    return validation_split(*load_dataset(cfg.dataset, "train"), cfg.validation)[1]


def ibp_run(cfg: TrainConfig) -> dict[str, Any]:
    """Train one IBP recipe on the training set less its validation split; record the validation
    images' clean and certified accuracy at the recipe's radius, and the training seconds."""
    result = train(cfg)
    xv, yv = validation_images(cfg)
    return {"config": asdict(cfg), "train_seconds": round(result.seconds, 1),
            "validation_clean": accuracy(result.model, (xv, yv)),
            "validation_certified": certified_accuracy(result.model, (xv, yv), eps=cfg.eps),
            "n": int(yv.numel()), **stamp()}


def best_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the highest validation certified accuracy (ties: the cheaper run)."""
    return max(runs, key=lambda r: (r["validation_certified"], -r["train_seconds"]))


def length_curve(runs: list[dict[str, Any]], eps: float) -> dict[int, dict[str, Any]]:
    """{epochs: run} of the radius's runs with the scale its first cut chose (``best_run`` at 10 epochs)."""
    mine = [r for r in runs if r["config"]["eps"] == eps]
    first = [r for r in mine if r["config"]["epochs"] == 10]
    if not first:
        raise KeyError(f"no recorded IBP runs at eps={eps}; run benchmarks/ibp_runs.py --eps {eps}")
    scale = best_run(first)["config"]["eps_train_scale"]
    chosen = [r for r in mine if r["config"]["eps_train_scale"] == scale]
    return {r["config"]["epochs"]: r for r in sorted(chosen, key=lambda r: r["config"]["epochs"])}


def runs_table(runs: list[dict[str, Any]]) -> str:
    """Every recorded IBP run: radius, training ball, epochs, seconds, validation clean and certified."""
    lines = [f"{'ε':>4} {'trained at':>10} {'epochs':>6} {'seconds':>7} {'val clean':>9} {'val certified':>13}"]
    for r in sorted(runs, key=lambda r: (r["config"]["eps"], r["config"]["eps_train_scale"], r["config"]["epochs"])):
        c = r["config"]
        lines.append(f"{c['eps']:>4g} {c['eps'] * c['eps_train_scale']:>10.2g} {c['epochs']:>6} "
                     f"{r['train_seconds']:>7.0f} {100 * r['validation_clean']:>8.2f}% "
                     f"{100 * r['validation_certified']:>12.2f}%")
    return "\n".join(lines)


def last_gain(curve: dict[int, dict[str, Any]]) -> tuple[float, float]:
    """The longest run's validation certified accuracy minus the next longest's, and the noise it
    is judged against: two binomial standard errors of the unpaired difference."""
    *_, (_, before), (_, last) = curve.items()
    a, b = last["validation_certified"], before["validation_certified"]
    return a - b, 2 * math.hypot(binomial_se(a, last["n"]), binomial_se(b, before["n"]))


def still_rising(curve: dict[int, dict[str, Any]]) -> bool:
    """Did the longest run certify more validation images than the next longest, beyond the
    noise (``last_gain``)? If not, training was long enough."""
    gain, noise = last_gain(curve)
    return gain > noise
