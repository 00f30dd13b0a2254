"""Chapter 7's recorded runs: Figure 1 (accuracy against training-set size), Figure 7 (accuracy
against ε on equal budgets, with seeds) and the operating points measured on a validation and a
test half of the test set. The recipes are ``recipes.figure1_config``, ``figure7_config`` and
``EXTRA_POINTS``."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch
from torch import Tensor, nn

from tutorial_lib import zoo
from tutorial_lib.budgets import honest_accuracy, masking_flags
from tutorial_lib.data import balanced_subset, load_dataset
from tutorial_lib.evaluate import accuracy
from tutorial_lib.lab.cards import SUBSET_SEED
from tutorial_lib.lab.recipes import EXTRA_POINTS, figure1_config, figure7_config
from tutorial_lib.lab.records import stamp
from tutorial_lib.tradeoff import threat
from tutorial_lib.train import train

# --- Figure 1 ---------------------------------------------------------------------------------------
FIG1_SIZES = (600, 3000, 12_000, 60_000)          # 1%, 5%, 20%, 100% of the training set, class-balanced
FIG1_EPS = {"mnist": (("linf", 0.0), ("linf", 0.1), ("linf", 0.3), ("l2", 2.0)),
            "fashion": (("linf", 0.0), ("linf", 0.05), ("linf", 0.1), ("l2", 1.0))}
"""Figure 1's training threats per dataset (Fashion-MNIST's radii are smaller: ``cards.THREAT_RADII``)."""
FIG1_SEEDS = (0, 1, 2)
FIG1_ROBUST_N = 500
"""Robust accuracy of each adversarially trained Figure 1 model: ``honest_accuracy`` at its own
training threat, on this many class-balanced test images (seed ``SUBSET_SEED``)."""


def figure1_keys() -> list[tuple[str, str, float, int, int]]:
    """Every (dataset, norm, eps, train_size, seed) of Figure 1: MNIST first, then Fashion-MNIST."""
    return [(dataset, norm, eps, size, seed) for dataset, grid in FIG1_EPS.items()
            for seed in FIG1_SEEDS for norm, eps in grid for size in FIG1_SIZES]


def figure1_run(dataset: str, norm: str, eps: float, train_size: int, seed: int = 0, *,
                robust_n: int = FIG1_ROBUST_N) -> dict[str, Any]:
    """Train one Figure 1 point; its standard accuracy on all the test images and, for an
    adversarially trained model and ``robust_n`` > 0, its honest robust accuracy at the training
    threat on ``robust_n`` balanced test images."""
    cfg = figure1_config(norm, eps, train_size, seed, dataset)
    result = train(cfg)
    x, y = load_dataset(dataset, "test")
    run = {"dataset": dataset, "norm": norm, "eps": eps, "train_size": train_size, "seed": seed,
           "clean": accuracy(result.model, (x, y)), "train_seconds": round(result.seconds, 1),
           **stamp(), "config": asdict(cfg)}
    if eps > 0 and robust_n > 0:
        h = honest_accuracy(result.model, balanced_subset(x, y, robust_n, seed=SUBSET_SEED),
                            eps=eps, norm=norm, warn=False)
        run.update(robust=h.accuracy, robust_gradient=h.gradient, robust_n=h.n,
                   robust_flags=list(h.flags), robust_budget=h.attack)
    return run


# --- Figure 7 on equal budgets, with seeds ------------------------------------------------------------
FIG7_EPS = {"mnist": {"linf": (0.0, 0.05, 0.1, 0.2, 0.3), "l2": (0.0, 0.5, 1.0, 2.0, 3.0)},
            "fashion": {"linf": (0.0, 0.025, 0.05, 0.1, 0.2), "l2": (0.0, 0.25, 0.5, 1.0, 2.0)}}
"""Figure 7's training radii per dataset and norm; 0 is standard training (one set of runs serves
both norms). Fashion-MNIST's grid is half MNIST's, as its robust radii are (``cards.THREAT_RADII``)."""
FIG7_SEEDS = (0, 1, 2)
FIG7_HALF = 0.5
"""Appendix B's variant: half of each batch natural (run for the MNIST ℓ∞ grid)."""


def figure7_keys() -> list[tuple[str, str, float, int, float]]:
    """Every (dataset, norm, eps, seed, natural_fraction) of the figure, in the order they run:
    MNIST, then the half-natural MNIST ℓ∞ runs, then Fashion-MNIST."""
    keys = []
    for dataset, half in (("mnist", 0.0), ("mnist", FIG7_HALF), ("fashion", 0.0)):
        for norm, grid in FIG7_EPS[dataset].items():
            if half and norm != "linf":
                continue
            for eps in grid:
                if (eps == 0 and (half or norm != "linf")):
                    continue  # standard training: once per dataset, filed under linf
                keys += [(dataset, norm, eps, seed, half) for seed in FIG7_SEEDS]
    return keys


def figure7_run(dataset: str, norm: str, eps: float, seed: int = 0,
                natural_fraction: float = 0.0) -> dict[str, Any]:
    """Train one Figure 7 point and measure its standard accuracy on all of the dataset's test images."""
    cfg = figure7_config(dataset, norm, eps, seed, natural_fraction)
    result = train(cfg)
    x, y = load_dataset(dataset, "test")
    return {"dataset": dataset, "norm": norm, "eps": eps, "seed": seed,
            "natural_fraction": natural_fraction, "clean": accuracy(result.model, (x, y)),
            "train_seconds": round(result.seconds, 1), **stamp(), "config": asdict(cfg)}


# --- the operating points, chosen on validation images and reported on test images --------------------
ZOO_POINTS = ("mnist_standard", "mnist_linf_0.1", "mnist_linf_0.2", "mnist_linf_0.3",
              "mnist_l2_1.0", "mnist_l2_2.0")
THREATS = (("linf", 0.1), ("linf", 0.2), ("linf", 0.3), ("l2", 1.0), ("l2", 2.0))
SPLIT_N = 300   # robust accuracy on this many class-balanced images of each half of the test set
POINT_BUDGET = "honest_accuracy: strong_budget + square_attack(1000 queries), per-example worst case"
SPLIT_SEED = 0


def split_halves(y: Tensor, *, seed: int = SPLIT_SEED) -> tuple[Tensor, Tensor]:
    """A random stratified split into two halves: each class's indices shuffled (``seed``) and cut
    in two, so both halves hold every class in the same proportion (to one image); the odd images
    of odd-sized classes go to each half in turn, so the halves differ in size by at most one."""
    g = torch.Generator().manual_seed(seed)
    first, second, extra = [], [], 0
    for c in y.unique():
        idx = (y == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        cut = len(idx) // 2 + extra * (len(idx) % 2)
        extra ^= len(idx) % 2
        first.append(idx[:cut])
        second.append(idx[cut:])
    return torch.cat(first).sort().values, torch.cat(second).sort().values


def splits() -> dict[str, tuple[Tensor, Tensor, Tensor, Tensor]]:
    """Validation and test halves of the MNIST test set (``split_halves``; the models trained on
    all 60,000 training images): full halves for clean accuracy, ``SPLIT_N`` for robust."""
    x, y = load_dataset("mnist", "test")
    out = {}
    for name, idx in zip(("val", "test"), split_halves(y)):
        xs, ys = x[idx], y[idx]
        out[name] = (xs, ys, *balanced_subset(xs, ys, SPLIT_N, seed=0))
    return out


def measure_point(model: nn.Module) -> dict[str, Any]:
    """Clean accuracy and honest accuracy (``honest_accuracy``) at every threat, on both splits,
    with the gradient attacks' number and any masking flag beside each."""
    out: dict[str, Any] = {"gradient": {}, "flags": {}}
    for split, (xc, yc, xr, yr) in splits().items():
        row, grad, flags = {"clean": accuracy(model, (xc, yc))}, {}, {}
        for norm, eps in THREATS:
            h = honest_accuracy(model, (xr, yr), eps=eps, norm=norm, warn=False)
            key = threat(norm, eps)
            row[key], grad[key] = h.accuracy, h.gradient
            if h.flags:
                flags[key] = list(h.flags)
        out[split], out["gradient"][split], out["flags"][split] = row, grad, flags
    return out


def reflag(point: dict[str, Any], n: int) -> dict[str, Any]:
    """A recorded point's masking flags recomputed from its recorded numbers by ``masking_flags``
    (on ``n`` robust images), keeping any zero-gradient flag it was recorded with."""
    flags: dict[str, dict[str, list[str]]] = {"val": {}, "test": {}}
    for split in flags:
        for key, grad in point["gradient"][split].items():
            kept = [f for f in point["flags"].get(split, {}).get(key, []) if f.startswith("input gradient")]
            new = list(masking_flags(point[split][key], grad, 0.0, n)) + kept
            if new:
                flags[split][key] = new
    return {**point, "flags": flags}


def point_run(name: str) -> dict[str, Any]:
    """One operating point: a zoo model as shipped, or an ``EXTRA_POINTS`` recipe trained here."""
    if name in EXTRA_POINTS:
        result = train(EXTRA_POINTS[name])
        model, seconds, recipe = result.model, round(result.seconds, 1), asdict(EXTRA_POINTS[name])
    elif name in ZOO_POINTS:
        card = zoo.card(name)
        model, seconds, recipe = zoo.load(name), card["train_seconds"], card["config"]
    else:
        raise KeyError(f"unknown point {name!r}; choose one of {[*ZOO_POINTS, *EXTRA_POINTS]}")
    return {"name": name, "train_seconds": seconds, "recipe": recipe, **measure_point(model)}
