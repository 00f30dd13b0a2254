"""Every training recipe of the course: one base, ``STANDARD``, changed with ``dataclasses.replace``.

The zoo's recipes, chapter 5's cost and failure runs, chapter 7's Figure 1, Figure 7 and extra
operating points, chapter 8's feature-reuse starts, and the exercises' runs that ``grading``
checks: two equal configs give equal weights, so a recipe here is the run it names.
"""
from __future__ import annotations

from dataclasses import replace

from tutorial_lib.train import TrainConfig

STANDARD = TrainConfig(method="standard", epochs=4)
"""The base recipe: standard training of the fast CNN, 4 epochs, one-cycle Adam."""
WARMUP = 0.3
"""ε grows from 0 over the first 30% of steps: it keeps PGD training at 0.3 from stalling near
chance at the start (chapter 5's failure runs)."""
PGD5 = replace(STANDARD, method="pgd", eps=0.3, steps=5, eps_warmup=WARMUP)
"""PGD-5 adversarial training at L∞ 0.3 with the warm-up."""
FGSM_RS = replace(STANDARD, method="fgsm_rs", eps=0.3, eps_warmup=WARMUP)
"""FGSM with random start (Wong et al.) at L∞ 0.3 with the warm-up."""
FLAGSHIP = replace(PGD5, epochs=16)
"""The flagship: PGD-5 at L∞ 0.3, 16 epochs (benchmarks/time_to_robust.py)."""
SWEEP = replace(PGD5, epochs=8)
"""Sweep members (the tradeoff chapter): the flagship's recipe at half the epochs."""

# --- certified robustness: interval bound propagation ------------------------------------------------
IBP_WARMUP = 0.5
"""IBP's ε (and the weight of its bound loss) grows over the first half of training: bounds at the
full radius on an untrained network are too loose to learn from (Gowal et al. ramp over ~1/6 of
100 epochs, after a natural start)."""
IBP_VALIDATION = 5000
"""Training images held out (class-balanced, seed 0) to choose IBP's recipe and length on."""


def ibp_config(eps: float, *, epochs: int, scale: float = 1.0, validation: int = IBP_VALIDATION,
               seed: int = 0) -> TrainConfig:
    """IBP training of the fast CNN for certificates at ℓ∞ ``eps``: bounds of the ball of
    ``scale * eps`` in training, κ from 1 to 0.5, ε warm-up over half of training."""
    return replace(STANDARD, method="ibp", eps=eps, eps_train_scale=scale, epochs=epochs,
                   eps_warmup=IBP_WARMUP, validation=validation, seed=seed)


IBP_SCALES = {0.1: (1.0, 2.0), 0.3: (1.0, 4 / 3)}
"""The training balls tried per radius (first cut, 10 epochs): the radius itself, and Gowal et
al.'s larger one (0.2 for 0.1, 0.4 for 0.3)."""
IBP_EPOCHS = (5, 10, 20, 40)
"""The lengths tried with the first cut's scale: until more epochs no longer raise validation
certified accuracy."""

# --- the zoo ---------------------------------------------------------------------------------------
RECIPES: dict[str, TrainConfig] = {
    "mnist_standard": STANDARD,
    "mnist_linf_0.3": FLAGSHIP,
    "mnist_linf_0.1": replace(SWEEP, eps=0.1),
    "mnist_linf_0.2": replace(SWEEP, eps=0.2),
    "mnist_l2_1.0": replace(SWEEP, norm="l2", eps=1.0),
    "mnist_l2_2.0": replace(SWEEP, norm="l2", eps=2.0),
    "fashion_standard": replace(STANDARD, dataset="fashion"),
    # an independent judge for chapter 9: no convolutions, another seed, standard training
    "mnist_mlp_standard": replace(STANDARD, arch="mlp", seed=1),
    "fashion_linf_0.1": replace(SWEEP, dataset="fashion", eps=0.1),
    # certified: IBP, the training ball and length chosen on validation (benchmarks/ibp_runs.py),
    # retrained on all the training images
    "mnist_ibp_0.1": ibp_config(0.1, epochs=40, scale=2.0, validation=0),
    "mnist_ibp_0.3": ibp_config(0.3, epochs=40, validation=0),
}
"""Every zoo model's recipe; ``python -m tutorial_lib zoo build NAME`` retrains it and its card."""

# --- chapter 5: what robustness costs, and how training fails ----------------------------------------
COST_METHODS: dict[str, TrainConfig] = {
    "standard": STANDARD,
    "FGSM-RS": FGSM_RS,
    "PGD-2": replace(PGD5, steps=2),
    "PGD-5": PGD5,
    "PGD-10": replace(PGD5, steps=10),
}
"""The cost table's recipes: the zoo's flagship recipe at 4 epochs, with the attack varied."""

FAILURE_RUNS: dict[str, TrainConfig] = {
    "PGD-5, ε warm-up": replace(PGD5, epochs=10, train_size=10_000),
    "PGD-5, no warm-up": replace(PGD5, eps_warmup=0.0, epochs=10, train_size=10_000),
    "FGSM-RS, α = 1.25ε": replace(FGSM_RS, epochs=10, train_size=10_000),
    "FGSM-RS, α = 2ε": replace(FGSM_RS, alpha=2 * FGSM_RS.eps, epochs=10, train_size=10_000),
}
"""Recipes that can go wrong: PGD at ε = 0.3 with and without the warm-up, FGSM with the usual
and with a too-large step. 10,000 training images and 10 epochs give a curve per 1/6 of MNIST."""

TRADES_EXERCISE = (replace(PGD5, epochs=2), replace(PGD5, method="trades", beta=1.0, epochs=2),
                   replace(PGD5, method="trades", beta=6.0, epochs=2))
"""Chapter 5's ``train-ex-trades`` runs: PGD-5, TRADES β = 1, TRADES β = 6 (2 epochs, warm-up)."""

# --- chapter 7: Figure 1, Figure 7 and the operating points beyond the zoo ---------------------------
FIG1_STEPS = 2400
"""Optimiser steps of every Figure 1 and Figure 7 run (batches of 100 images), whatever the size."""


def figure1_config(norm: str, eps: float, train_size: int, seed: int = 0,
                   dataset: str = "mnist") -> TrainConfig:
    """The recipe of one Figure 1 point: the zoo's PGD-5 recipe with warm-up (standard training
    at eps = 0) for ``FIG1_STEPS`` steps of 100 images on a balanced subset of ``train_size``."""
    epochs = max(1, round(FIG1_STEPS * 100 / train_size))
    size = None if train_size >= 60_000 else train_size  # 100%: the whole training set
    if eps == 0:
        return replace(STANDARD, epochs=epochs, train_size=size, seed=seed, dataset=dataset)
    return replace(PGD5, norm=norm, eps=eps, epochs=epochs, train_size=size, seed=seed,
                   dataset=dataset)


def figure7_config(dataset: str, norm: str, eps: float, seed: int = 0,
                   natural_fraction: float = 0.0) -> TrainConfig:
    """One Figure 7 point: Figure 1's full-data recipe (``FIG1_STEPS`` steps of 100 images, the
    same for every ε) on ``dataset``, optionally with part of each batch natural."""
    cfg = figure1_config(norm, eps, 60_000, seed, dataset)
    return replace(cfg, natural_fraction=natural_fraction) if eps > 0 else cfg


EXTRA_POINTS: dict[str, TrainConfig] = {
    "trades_beta1_linf_0.3": replace(SWEEP, method="trades", beta=1.0),
    "trades_beta6_linf_0.3": replace(SWEEP, method="trades", beta=6.0),
    "half_natural_linf_0.1": replace(SWEEP, eps=0.1, natural_fraction=0.5),
    "half_natural_linf_0.2": replace(SWEEP, eps=0.2, natural_fraction=0.5),
    "half_natural_linf_0.3": replace(SWEEP, eps=0.3, natural_fraction=0.5),
}
"""Operating points beyond the zoo: TRADES at two β, and PGD with half of each batch natural."""

OWN_POINT_EXERCISE = replace(SWEEP, eps=0.25, natural_fraction=0.5)
"""Chapter 7's ``tradeoff-ex-own-point``: a point between the recorded half-natural ones, ε = 0.25."""

SMALL_DATA_EXERCISE = tuple(figure1_config("linf", eps, 300) for eps in (0.0, 0.1))
"""Chapter 7's ``tradeoff-ex-small-data`` runs: standard and ℓ∞ 0.1 on 300 images, seed 0."""

SMALL_DATA_SEEDS = (0, 1, 2)
"""The seeds of the ``tradeoff-ex-small-data`` runs its check records (the solution suggests all three)."""

# --- chapter 8: reusing robust features ----------------------------------------------------------------
FEATURE_LAYERS = 5
"""Layers of the fast CNN that make its features: normalisation, conv, ReLU, conv, ReLU."""


def _frozen(name: str, layers: int = FEATURE_LAYERS) -> TrainConfig:
    """The base recipe started from zoo model ``name``'s first ``layers`` layers, kept fixed."""
    return replace(STANDARD, init_from=name, init_layers=layers, freeze=layers)


REUSE_STARTS: dict[str, TrainConfig] = {
    "scratch": STANDARD,
    "frozen standard features": _frozen("mnist_standard"),
    "frozen robust features": _frozen("mnist_linf_0.3"),
    "fine-tuned robust features": replace(STANDARD, init_from="mnist_linf_0.3", init_layers=FEATURE_LAYERS),
    **{f"frozen {label} features": _frozen(name)
       for label, name in (("ℓ∞ 0.1", "mnist_linf_0.1"), ("ℓ2 1.0", "mnist_l2_1.0"),
                           ("ℓ2 2.0", "mnist_l2_2.0"))},
}
"""How a feature-reuse run starts: random weights, or a zoo model's feature layers (frozen or
fine-tuned) under a freshly initialised classifier head. "Robust features" are the ℓ∞ 0.3
model's; the last three starts freeze the features of robust models at other radii and the
other norm."""

FIRST_LAYER_START = _frozen("mnist_linf_0.3", layers=3)
"""``see-ex-first-layer-only``'s start: the robust ℓ∞ model's first convolution, frozen."""


def reuse_config(dataset: str, start: str | TrainConfig, *, train_size: int | None, epochs: int,
                 seed: int) -> TrainConfig:
    """The recipe of a feature-reuse run: ``REUSE_STARTS[start]`` (or ``start`` itself, a recipe
    such as ``FIRST_LAYER_START``) on ``dataset`` with the given size, epochs and seed."""
    if isinstance(start, str) and start not in REUSE_STARTS:
        raise KeyError(f"unknown start {start!r}; choose one of {sorted(REUSE_STARTS)}")
    base = REUSE_STARTS[start] if isinstance(start, str) else start
    return replace(base, dataset=dataset, train_size=train_size, epochs=epochs, seed=seed)
