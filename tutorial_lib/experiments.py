"""Recorded experiments: every run too long for a notebook, in one place.

The zoo's recipes and builds (chapters 3–7 load the models), the cost and failure runs of
chapter 4, the Figure 1 runs and operating points of chapter 5, and the feature-reuse runs of
chapter 6. Results are small JSON files in ``tutorial_lib/results``; ``save`` stamps each with the
command that made it and the machine it ran on, as ``write_entry`` stamps each zoo card. Every
recipe is the base recipe ``STANDARD`` changed with ``dataclasses.replace``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from tutorial_lib import zoo
from tutorial_lib.budgets import HonestAccuracy, honest_accuracy, independent_ensemble, pgd_budget, strong_budget
from tutorial_lib.checkpoint import atomic_write_json, save_model
from tutorial_lib.data import balanced_subset, load_dataset
from tutorial_lib.devices import hardware
from tutorial_lib.evaluate import accuracy, robust_accuracy
from tutorial_lib.stats import mcnemar_p
from tutorial_lib.tradeoff import threat
from tutorial_lib.train import TrainConfig, epoch_probe, probe_training_time, train

RESULTS_DIR = Path(__file__).resolve().parent / "results"


# --- the record: provenance, saving and loading ---------------------------------------------------
def stamp(command: str | None = None) -> dict[str, str]:
    """The provenance every record carries: the command that made it and this machine (for one
    run of a grid recorded on several machines: this machine alone)."""
    machine = {"hardware": hardware()}
    return machine if command is None else {"command": command, **machine}


def save(name: str, data: dict[str, Any], *, command: str, folder: Path = RESULTS_DIR
         ) -> dict[str, Any]:
    """Write a result stamped with ``command`` and this machine, atomically (a crash leaves the
    old file, never half a new one); return the record as written."""
    folder.mkdir(parents=True, exist_ok=True)
    record = {**data, **stamp(command)}
    atomic_write_json(folder / f"{name}.json", record)
    return record


def load(name: str, folder: Path = RESULTS_DIR) -> dict[str, Any]:
    """A recorded result by name (``feature_reuse`` ...), with the command that made it."""
    path = folder / f"{name}.json"
    if not path.is_file():
        have = sorted(p.stem for p in folder.glob("*.json"))
        raise KeyError(f"no recorded result {name!r} in {folder}; available: {have}")
    return json.loads(path.read_text())


# --- recipes: one base, changed with replace ------------------------------------------------------
STANDARD = TrainConfig(method="standard", epochs=4)
"""The base recipe: standard training of the fast CNN, 4 epochs, one-cycle Adam."""
WARMUP = 0.3
"""ε grows from 0 over the first 30% of steps: it keeps PGD training at 0.3 from stalling near
chance at the start (chapter 4's failure runs)."""
PGD5 = replace(STANDARD, method="pgd", eps=0.3, steps=5, eps_warmup=WARMUP)
"""PGD-5 adversarial training at L∞ 0.3 with the warm-up."""
FGSM_RS = replace(STANDARD, method="fgsm_rs", eps=0.3, eps_warmup=WARMUP)
"""FGSM with random start (Wong et al.) at L∞ 0.3 with the warm-up."""
FLAGSHIP = replace(PGD5, epochs=16)
"""The flagship: PGD-5 at L∞ 0.3, 16 epochs (benchmarks/time_to_robust.py)."""
FLAGSHIP_GOAL = {"clean": 0.990, "honest": 0.930, "train_seconds": 300.0}
"""What a successor of the flagship must reach (benchmarks/time_to_robust.py): clean and honest
(ℓ∞ 0.3) accuracy on all 10,000 test images, and training seconds on two CPU cores: the
machine's own and, scaled by the flagship's time there, the card's two Intel cores (``against_goal``)."""
SWEEP = replace(PGD5, epochs=8)
"""Sweep members (the tradeoff chapter): the flagship's recipe at half the epochs."""

RECIPES: dict[str, TrainConfig] = {
    "mnist_standard": STANDARD,
    "mnist_linf_0.3": FLAGSHIP,
    "mnist_linf_0.1": replace(SWEEP, eps=0.1),
    "mnist_linf_0.2": replace(SWEEP, eps=0.2),
    "mnist_l2_1.0": replace(SWEEP, norm="l2", eps=1.0),
    "mnist_l2_2.0": replace(SWEEP, norm="l2", eps=2.0),
    "fashion_standard": replace(STANDARD, dataset="fashion"),
    # an independent judge for chapter 7: no convolutions, another seed, standard training
    "mnist_mlp_standard": replace(STANDARD, arch="mlp", seed=1),
    "fashion_linf_0.1": replace(SWEEP, dataset="fashion", eps=0.1),
}
"""Every zoo model's recipe; ``python -m tutorial_lib zoo build NAME`` retrains it and its card."""


# --- the zoo's build side --------------------------------------------------------------------------
SUBSET_SIZE, SUBSET_SEED = 500, 0  # the fixed, class-balanced test subset CI re-checks
ENSEMBLE_N = 1000                  # test images for the independent ensemble (it is slow)
HONEST_N = 200                     # the class-balanced subset (seed 0) of the honest numbers
MEASUREMENTS = ("pgd", "independent", "strong", "honest", "honest_full")
FULL_HONEST = ("mnist_linf_0.3",)  # the cards whose honest number is also measured on every test image
"""What a card records: ``pgd`` (clean accuracy, PGD-50 on the full test set and on the fixed
subset), ``independent`` (torchattacks' APGD ensemble) and ``strong`` (the course's
``strong_budget``), the last two on the first ``ENSEMBLE_N`` test images of robust models, and
``honest`` (``honest_accuracy``: gradient attacks and Square Attack, with the masking flags) at
the trained threat and at the other norm's ``THREAT_RADII``, on ``HONEST_N`` balanced images;
``honest_full``, for the ``FULL_HONEST`` cards only, the honest number at the trained threat on all
the test images, with the indices of the images it is not robust on (so a sample re-checks it)."""
THREAT_RADII = {"mnist": {"linf": 0.3, "l2": 2.0}, "fashion": {"linf": 0.1, "l2": 1.0}}
"""The course's standard radius of each norm per dataset (the paper's MNIST radii)."""


def write_entry(name: str, model: nn.Module, cfg: TrainConfig, *, command: str,
                info: dict[str, Any], folder: Path = zoo.CHECKPOINT_DIR) -> dict[str, Any]:
    """Save a model and its card (atomically, stamped with ``command`` and this machine) under
    ``name``; return the card."""
    sha = save_model(model, folder / f"{name}.pt", arch=cfg.arch, arch_kwargs=cfg.arch_kwargs())
    params = sum(p.numel() for p in model.parameters())
    entry = {"name": name, "arch": cfg.arch, "arch_kwargs": cfg.arch_kwargs(), "parameters": params,
             **stamp(command), "config": asdict(cfg), **info, "sha256": sha}
    atomic_write_json(folder / f"{name}.json", entry)
    return entry


def eval_radius(cfg: TrainConfig) -> tuple[float, str]:
    """The radius and norm a model is evaluated at: its training ones (standard MNIST models at
    L∞ 0.3, standard Fashion-MNIST at L∞ 0.1, so that they compare with their robust siblings)."""
    if cfg.method != "standard":
        return cfg.eps, cfg.norm
    return (0.1 if cfg.dataset == "fashion" else 0.3), "linf"


def measure_pgd(model: nn.Module, x: Tensor, y: Tensor, eps: float, norm: str) -> dict[str, Any]:
    """A card's clean accuracy and PGD-50 accuracy on the full test set and the fixed subset."""
    full = robust_accuracy(model, (x, y), attack=pgd_budget(eps, norm))
    xs, ys = balanced_subset(x, y, SUBSET_SIZE, seed=SUBSET_SEED)
    sub = robust_accuracy(model, (xs, ys), attack=pgd_budget(eps, norm))
    return {"clean_accuracy": accuracy(model, (x, y)),
            "robust": {"accuracy": full.accuracy, "attack": full.attack, "n": full.n},
            "robust_subset": {"accuracy": sub.accuracy, "attack": sub.attack, "n": sub.n,
                              "subset_seed": SUBSET_SEED}}


def honest_threats(cfg: TrainConfig) -> list[tuple[str, float]]:
    """The threats a card's honest numbers are measured at: the model's own, then the other
    norm at the dataset's standard radius."""
    eps, norm = eval_radius(cfg)
    other = "l2" if norm == "linf" else "linf"
    return [(norm, eps), (other, THREAT_RADII[cfg.dataset][other])]


def measure_honest(model: nn.Module, cfg: TrainConfig) -> list[dict[str, Any]]:
    """A card's honest numbers, one entry per ``honest_threats``, on the fixed balanced subset."""
    x, y = balanced_subset(*load_dataset(cfg.dataset, "test"), HONEST_N, seed=SUBSET_SEED)
    out = []
    for norm, eps in honest_threats(cfg):
        h = honest_accuracy(model, (x, y), eps=eps, norm=norm)
        out.append({"norm": norm, "eps": eps, "accuracy": h.accuracy, "gradient": h.gradient,
                    "zero_gradient": h.zero_gradient, "n": h.n, "subset_seed": SUBSET_SEED,
                    "budget": h.budget, "flags": list(h.flags)})
    return out


def measure_honest_full(model: nn.Module, cfg: TrainConfig) -> dict[str, Any]:
    """The honest number at the model's own threat on every test image, and where it fails."""
    eps, norm = eval_radius(cfg)
    h = honest_accuracy(model, load_dataset(cfg.dataset, "test"), eps=eps, norm=norm)
    return {"norm": norm, "eps": eps, "accuracy": h.accuracy, "gradient": h.gradient,
            "zero_gradient": h.zero_gradient, "n": h.n, "budget": h.budget, "flags": list(h.flags),
            "not_robust": h.not_robust()}


def card_parts(name: str) -> tuple[str, ...]:
    """The measurements a zoo card records: all of them for ``FULL_HONEST``, else all but ``honest_full``."""
    return MEASUREMENTS if name in FULL_HONEST else tuple(m for m in MEASUREMENTS if m != "honest_full")


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


def versus_card(attempt: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
    """A recorded attempt (``flagship_attempts``) against the card's model (``full``: its
    ``honest_full``) on the same test images: each one's honest accuracy there, the images only
    one of them keeps, and the exact McNemar p-value of that split."""
    images = attempt_images(attempt)
    n = len(images)
    lost_here, lost_card = set(attempt["not_robust"]), set(full["not_robust"]) & images
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
            "honest on all 10,000": attempt["n"] == 10_000 and attempt["honest"] >= goal["honest"],
            "seconds here": attempt["train_seconds"] <= goal["train_seconds"],
            "seconds on the card's machine": scaled <= goal["train_seconds"]}


def measure(model: nn.Module, cfg: TrainConfig, *,
            parts: tuple[str, ...] = MEASUREMENTS) -> dict[str, Any]:
    """The card's numbers, for the chosen ``parts`` of ``MEASUREMENTS``."""
    unknown = set(parts) - set(MEASUREMENTS)
    if unknown:
        raise ValueError(f"unknown measurements {sorted(unknown)}; choose from {MEASUREMENTS}")
    x, y = load_dataset(cfg.dataset, "test")
    eps, norm = eval_radius(cfg)
    out: dict[str, Any] = measure_pgd(model, x, y, eps, norm) if "pgd" in parts else {}
    if cfg.method == "standard":
        return out
    xe, ye = x[:ENSEMBLE_N], y[:ENSEMBLE_N]
    if "independent" in parts:
        acc = independent_ensemble(model, xe, ye, eps=eps, norm=norm)
        out["independent"] = {"accuracy": acc, "n": ENSEMBLE_N,
                              "attack": f"torchattacks APGD-CE + APGD-T (100 steps), eps={eps}, {norm}"}
    if "strong" in parts:
        strong = robust_accuracy(model, (xe, ye), attack=strong_budget(eps, norm))
        out["strong"] = {"accuracy": strong.accuracy, "n": strong.n,
                         "attack": f"strong_budget(eps={eps}, norm={norm})"}
    if "honest" in parts:
        out["honest"] = measure_honest(model, cfg)
    if "honest_full" in parts:
        out["honest_full"] = measure_honest_full(model, cfg)
    return out


def build(name: str, folder: Path = zoo.CHECKPOINT_DIR, *, progress: bool = False) -> dict[str, Any]:
    """Train a zoo model from its recipe (resuming an interrupted run), measure it, write its card."""
    if name not in RECIPES:
        raise KeyError(f"no recipe {name!r}; recipes: {sorted(RECIPES)}")
    cfg = RECIPES[name]
    ckpt = folder / f".{name}.ckpt"
    result = train(cfg, checkpoint=ckpt, progress=progress)
    info = {"seed": cfg.seed, "epochs": cfg.epochs, "train_seconds": round(result.seconds, 1)}
    write_entry(name, result.model, cfg, command=f"python -m tutorial_lib zoo build {name}",
                info=info, folder=folder)
    ckpt.unlink(missing_ok=True)
    return remeasure(name, folder)


def remeasure(name: str, folder: Path = zoo.CHECKPOINT_DIR, *,
              parts: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Re-measure a shipped model exactly as ``load`` returns it and rewrite its card's numbers
    (``parts``: which measurements; by default ``card_parts(name)``)."""
    c = zoo.card(name, folder)
    c.update(measure(zoo.load(name, folder), TrainConfig(**c["config"]), parts=parts or card_parts(name)))
    atomic_write_json(folder / f"{name}.json", c)
    return c


# --- chapter 4: what robustness costs, and how training fails --------------------------------------
EPS = 0.3
COST_METHODS: dict[str, TrainConfig] = {
    "standard": STANDARD,
    "FGSM-RS": FGSM_RS,
    "PGD-2": replace(PGD5, steps=2),
    "PGD-5": PGD5,
    "PGD-10": replace(PGD5, steps=10),
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
    "PGD-5, ε warm-up": replace(PGD5, epochs=10, train_size=10_000),
    "PGD-5, no warm-up": replace(PGD5, eps_warmup=0.0, epochs=10, train_size=10_000),
    "FGSM-RS, α = 1.25ε": replace(FGSM_RS, epochs=10, train_size=10_000),
    "FGSM-RS, α = 2ε": replace(FGSM_RS, alpha=2 * EPS, epochs=10, train_size=10_000),
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


# --- chapter 5: Figure 1 and the operating points ---------------------------------------------------
FIG1_SIZES = (600, 3000, 12_000, 60_000)          # 1%, 5%, 20%, 100% of the training set, class-balanced
FIG1_EPS = {"mnist": (("linf", 0.0), ("linf", 0.1), ("linf", 0.3), ("l2", 2.0)),
            "fashion": (("linf", 0.0), ("linf", 0.05), ("linf", 0.1), ("l2", 1.0))}
"""Figure 1's training threats per dataset (Fashion-MNIST's radii are smaller: THREAT_RADII)."""
FIG1_STEPS = 2400                                 # optimiser steps per run, whatever the size
FIG1_SEEDS = (0, 1, 2)
FIG1_ROBUST_N = 500
"""Robust accuracy of each adversarially trained Figure 1 model: ``honest_accuracy`` at its own
training threat, on this many class-balanced test images (seed ``SUBSET_SEED``)."""


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
                   robust_flags=list(h.flags), robust_budget=h.budget)
    return run


# --- chapter 5: Figure 7 on equal budgets, with seeds -----------------------------------------------
FIG7_EPS = {"mnist": {"linf": (0.0, 0.05, 0.1, 0.2, 0.3), "l2": (0.0, 0.5, 1.0, 2.0, 3.0)},
            "fashion": {"linf": (0.0, 0.025, 0.05, 0.1, 0.2), "l2": (0.0, 0.25, 0.5, 1.0, 2.0)}}
"""Figure 7's training radii per dataset and norm; 0 is standard training (one set of runs serves
both norms). Fashion-MNIST's grid is half MNIST's, as its robust radii are (``THREAT_RADII``)."""
FIG7_SEEDS = (0, 1, 2)
FIG7_HALF = 0.5
"""Appendix B's variant: half of each batch natural (run for the MNIST ℓ∞ grid)."""


def figure7_config(dataset: str, norm: str, eps: float, seed: int = 0,
                   natural_fraction: float = 0.0) -> TrainConfig:
    """One Figure 7 point: Figure 1's full-data recipe (``FIG1_STEPS`` steps of 100 images, the
    same for every ε) on ``dataset``, optionally with part of each batch natural."""
    cfg = figure1_config(norm, eps, 60_000, seed, dataset)
    return replace(cfg, natural_fraction=natural_fraction) if eps > 0 else cfg


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


EXTRA_POINTS: dict[str, TrainConfig] = {
    "trades_beta1_linf_0.3": replace(SWEEP, method="trades", beta=1.0),
    "trades_beta6_linf_0.3": replace(SWEEP, method="trades", beta=6.0),
    "half_natural_linf_0.1": replace(SWEEP, eps=0.1, natural_fraction=0.5),
    "half_natural_linf_0.2": replace(SWEEP, eps=0.2, natural_fraction=0.5),
    "half_natural_linf_0.3": replace(SWEEP, eps=0.3, natural_fraction=0.5),
}
"""Operating points beyond the zoo: TRADES at two β, and PGD with half of each batch natural."""
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


# --- chapter 6: reusing robust features --------------------------------------------------------------
FEATURE_LAYERS = 5
"""Layers of the fast CNN that make its features: normalisation, conv, ReLU, conv, ReLU."""

REUSE_STARTS: dict[str, dict[str, Any]] = {
    "scratch": {},
    "frozen standard features": {"init_from": "mnist_standard", "init_layers": FEATURE_LAYERS,
                                 "freeze": FEATURE_LAYERS},
    "frozen robust features": {"init_from": "mnist_linf_0.3", "init_layers": FEATURE_LAYERS,
                               "freeze": FEATURE_LAYERS},
    "fine-tuned robust features": {"init_from": "mnist_linf_0.3", "init_layers": FEATURE_LAYERS},
    **{f"frozen {label} features": {"init_from": name, "init_layers": FEATURE_LAYERS,
                                    "freeze": FEATURE_LAYERS}
       for label, name in (("ℓ∞ 0.1", "mnist_linf_0.1"), ("ℓ2 1.0", "mnist_l2_1.0"),
                           ("ℓ2 2.0", "mnist_l2_2.0"))},
}
"""How a feature-reuse run starts: random weights, or a zoo model's feature layers (frozen or
fine-tuned) under a freshly initialised classifier head. "Robust features" are the ℓ∞ 0.3
model's; the last three starts freeze the features of robust models at other radii and the
other norm."""


def reuse_config(dataset: str, start: str | dict[str, Any], *, train_size: int | None, epochs: int,
                 seed: int) -> TrainConfig:
    """The recipe of a feature-reuse run: the base recipe from ``REUSE_STARTS[start]``, or from
    ``start`` itself when it is a dict of the same kind (``init_from``, ``init_layers``, ``freeze``)."""
    if isinstance(start, str) and start not in REUSE_STARTS:
        raise KeyError(f"unknown start {start!r}; choose one of {sorted(REUSE_STARTS)}")
    return replace(STANDARD, dataset=dataset, train_size=train_size, epochs=epochs, seed=seed,
                   **(REUSE_STARTS[start] if isinstance(start, str) else start))


def reuse_run(dataset: str, start: str | dict[str, Any], *, train_size: int | None, epochs: int, seed: int,
              eval_n: int = 2000, robust_n: int = 500, eps: float = 0.1) -> dict[str, Any]:
    """Train the fast CNN on ``dataset`` from ``start`` (standard training); after every epoch
    record seconds, clean accuracy on ``eval_n`` test images and accuracy under PGD-20
    (``epoch_probe``) at L∞ ``eps`` on ``robust_n``."""
    cfg = reuse_config(dataset, start, train_size=train_size, epochs=epochs, seed=seed)
    probe = epoch_probe(dataset, eps=eps, clean_n=eval_n, robust_n=robust_n)
    result = train(cfg, on_epoch_end=probe)
    trainable = sum(p.numel() for p in result.model.parameters() if p.requires_grad)
    return {"dataset": dataset, "start": start, "train_size": train_size, "epochs": epochs,
            "seed": seed, "trainable_parameters": trainable, "eps": eps,
            "history": probe_training_time(result.history)}


def summarise_reuse(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and spread over seeds of each (dataset, train_size, start): final clean and robust
    accuracy, training seconds, and the mean per-epoch curve of clean accuracy against seconds."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["dataset"], r["train_size"], r["start"]), []).append(r)
    rows = []
    for (dataset, size, start), rs in groups.items():
        final = torch.tensor([[r["history"][-1][k] for k in ("clean", "robust", "train_seconds")]
                              for r in rs], dtype=torch.float64)
        curve = torch.tensor([[[row["train_seconds"], row["clean"]] for row in r["history"]]
                              for r in rs], dtype=torch.float64).mean(0)
        sd = final.std(0) if len(rs) > 1 else torch.zeros(3, dtype=torch.float64)
        rows.append({"dataset": dataset, "train_size": size, "start": start, "seeds": len(rs),
                     "clean": float(final[:, 0].mean()), "clean_sd": float(sd[0]),
                     "robust": float(final[:, 1].mean()), "robust_sd": float(sd[1]),
                     "seconds": float(final[:, 2].mean()), "trainable": rs[0]["trainable_parameters"],
                     "curve_seconds": curve[:, 0].tolist(), "curve_clean": curve[:, 1].tolist()})
    return rows
