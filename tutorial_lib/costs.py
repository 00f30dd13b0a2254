"""What robustness costs: timed training runs of each method, and the ways training can fail.

The runs are long for a notebook; ``benchmarks/training_cost.py`` and
``benchmarks/training_failures.py`` record them (``tutorial_lib/results``) and chapter 4 plots them.
"""
from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from tutorial_lib.data import load_dataset
from tutorial_lib.evaluate import (accuracy, epoch_probe, probe_training_time, robust_accuracy,
                                   strong_budget)
from tutorial_lib.train import TrainConfig, train

EPS = 0.3
COST_EPOCHS = 4
COST_METHODS: dict[str, TrainConfig] = {
    "standard": TrainConfig(method="standard", epochs=COST_EPOCHS),
    "FGSM-RS": TrainConfig(method="fgsm_rs", eps=EPS, eps_warmup=0.3, epochs=COST_EPOCHS),
    "PGD-2": TrainConfig(method="pgd", eps=EPS, steps=2, eps_warmup=0.3, epochs=COST_EPOCHS),
    "PGD-5": TrainConfig(method="pgd", eps=EPS, steps=5, eps_warmup=0.3, epochs=COST_EPOCHS),
    "PGD-10": TrainConfig(method="pgd", eps=EPS, steps=10, eps_warmup=0.3, epochs=COST_EPOCHS),
}
"""The cost table's recipes: the zoo's flagship recipe at 4 epochs, with the attack varied."""

STRONG_N = 1000


def cost_run(name: str, *, seed: int = 0) -> dict[str, Any]:
    """Train one ``COST_METHODS`` recipe on all of MNIST; record seconds per epoch (probing time
    excluded), per-epoch probes, and the final clean (10,000) and strong-budget (1,000) accuracy."""
    if name not in COST_METHODS:
        raise KeyError(f"unknown method {name!r}; choose one of {list(COST_METHODS)}")
    cfg = replace(COST_METHODS[name], seed=seed)
    result = train(cfg, on_epoch_end=epoch_probe(eps=EPS))
    history = probe_training_time(result.history)
    x, y = load_dataset("mnist", "test")
    strong = robust_accuracy(result.model, (x[:STRONG_N], y[:STRONG_N]), attack=strong_budget(EPS))
    return {"method": name, "config": asdict(cfg), "history": history,
            "seconds_per_epoch": round(history[-1]["train_seconds"] / cfg.epochs, 2),
            "clean": accuracy(result.model, (x, y)), "strong": strong.accuracy,
            "strong_attack": f"strong_budget(eps={EPS}) on the first {STRONG_N} test images"}


FAILURE_RUNS: dict[str, TrainConfig] = {
    "PGD-5, ε warm-up": TrainConfig(method="pgd", eps=EPS, steps=5, eps_warmup=0.3, epochs=10,
                                    train_size=10_000),
    "PGD-5, no warm-up": TrainConfig(method="pgd", eps=EPS, steps=5, epochs=10, train_size=10_000),
    "FGSM-RS, α = 1.25ε": TrainConfig(method="fgsm_rs", eps=EPS, eps_warmup=0.3, epochs=10,
                                      train_size=10_000),
    "FGSM-RS, α = 2ε": TrainConfig(method="fgsm_rs", eps=EPS, alpha=2 * EPS, eps_warmup=0.3,
                                   epochs=10, train_size=10_000),
}
"""Recipes that can go wrong: PGD at ε = 0.3 with and without the warm-up, FGSM with the usual
and with a too-large step. 10,000 training images and 10 epochs give a curve per 1/6 of MNIST."""


def failure_run(name: str, *, seed: int) -> dict[str, Any]:
    """Train one ``FAILURE_RUNS`` recipe, probing clean, FGSM and PGD-20 accuracy every epoch."""
    if name not in FAILURE_RUNS:
        raise KeyError(f"unknown run {name!r}; choose one of {list(FAILURE_RUNS)}")
    cfg = replace(FAILURE_RUNS[name], seed=seed)
    result = train(cfg, on_epoch_end=epoch_probe(eps=EPS, fgsm=True))
    return {"run": name, "seed": seed, "config": asdict(cfg),
            "history": probe_training_time(result.history)}
