"""Chapter 5's recorded runs: what robustness costs (``cost_run``), how training fails
(``failure_run``), and the attempts at a better flagship compared with its card and its goal."""
from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from tutorial_lib.budgets import HonestAccuracy, strong_budget
from tutorial_lib.data import load_dataset
from tutorial_lib.evaluate import accuracy, robust_accuracy
from tutorial_lib.lab.recipes import COST_METHODS, FAILURE_RUNS
from tutorial_lib.stats import mcnemar_p
from tutorial_lib.train import epoch_probe, probe_training_time, train

EPS = 0.3
"""The radius chapter 5 probes and measures every run at, whatever it was trained at."""
STRONG_N = 1000
"""Test images (the first ones) of the cost table's strong-budget accuracy."""


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


def failure_run(name: str, *, seed: int) -> dict[str, Any]:
    """Train one ``FAILURE_RUNS`` recipe, probing clean, FGSM and PGD-20 accuracy every epoch."""
    if name not in FAILURE_RUNS:
        raise KeyError(f"unknown run {name!r}; choose one of {list(FAILURE_RUNS)}")
    cfg = replace(FAILURE_RUNS[name], seed=seed)
    result = train(cfg, on_epoch_end=epoch_probe(eps=EPS, fgsm=True))
    return {"run": name, "seed": seed, "config": asdict(cfg),
            "history": probe_training_time(result.history)}


# --- the flagship's successors (benchmarks/time_to_robust.py) against its card and its goal ----------
FLAGSHIP_GOAL = {"clean": 0.990, "honest": 0.930, "train_seconds": 300.0}
"""What a successor of the flagship must reach (benchmarks/time_to_robust.py): clean and 1,000-query-budget
(ℓ∞ 0.3) accuracy on all 10,000 test images, and training seconds on two CPU cores: the
machine's own and, scaled by the flagship's time there, the card's two Intel cores (``against_goal``)."""


def attempt_images(attempt: dict[str, Any]) -> set[int]:
    """The test images a recorded attempt's honest number covers: its ``images`` ranges, else the first ``n``."""
    return {i for start, stop in attempt.get("images", [[0, attempt["n"]]]) for i in range(start, stop)}


def with_more_images(attempt: dict[str, Any], start: int, honest: HonestAccuracy) -> dict[str, Any]:
    """The attempt's honest numbers pooled with ``honest``, measured on test images from ``start`` on."""
    n, m = attempt["n"], honest.n
    return {**attempt, "n": n + m, "images": attempt.get("images", [[0, n]]) + [[start, start + m]],
            "honest": (attempt["honest"] * n + honest.accuracy * m) / (n + m),
            "gradient": (attempt["gradient"] * n + honest.gradient * m) / (n + m),
            "flags": attempt["flags"] + list(honest.flags),
            "not_robust": attempt["not_robust"] + honest.not_robust(start)}


UNSEEN_BY_THE_SEARCH = range(3_000, 9_000)
"""Test images no choice of the search looked at: it screened on the first 1,000, chose the wide
recipe for all 10,000 after a 3,000-image run, and early-stopped two runs on images 9,000-9,999."""


def versus_card(attempt: dict[str, Any], full: dict[str, Any], within: range | None = None) -> dict[str, Any]:
    """A recorded attempt (``flagship_attempts``) against the card's model (``full``: its
    ``honest_full``) on the same test images (those of them ``within``, if given): each one's honest
    accuracy there, the images only one of them keeps, and the exact McNemar p-value of that split."""
    images = attempt_images(attempt) & set(within if within is not None else attempt_images(attempt))
    if not images:
        raise ValueError(f"attempt {attempt['label']!r} was measured on none of the images {within}")
    n = len(images)
    lost_here, lost_card = set(attempt["not_robust"]) & images, set(full["not_robust"]) & images
    only_attempt, only_card = len(lost_card - lost_here), len(lost_here - lost_card)
    return {"n": n, "attempt": 1 - len(lost_here) / n, "card": 1 - len(lost_card) / n,
            "only_attempt": only_attempt, "only_card": only_card, "p": mcnemar_p(only_attempt, only_card)}


def on_card_machine(seconds: float, flagship_here: float, card_seconds: float) -> float:
    """Training seconds measured on one machine, scaled to the card's by the flagship's time on
    both (``flagship_here`` there, ``card_seconds`` on the card's machine): an estimate."""
    return seconds * card_seconds / flagship_here


def against_goal(attempt: dict[str, Any], flagship_here: float, card_seconds: float,
                 goal: dict[str, float] = FLAGSHIP_GOAL) -> dict[str, bool]:
    """Which parts of ``goal`` a recorded attempt meets. Its seconds count twice: as measured on its
    own machine, and scaled to the card's (``on_card_machine``)."""
    scaled = on_card_machine(attempt["train_seconds"], flagship_here, card_seconds)
    return {"clean": attempt["clean"] >= goal["clean"],
            "1,000-query budget on all 10,000": attempt["n"] == 10_000 and attempt["honest"] >= goal["honest"],
            "seconds here": attempt["train_seconds"] <= goal["train_seconds"],
            "seconds on the card's machine": scaled <= goal["train_seconds"]}
