"""The zoo's build side: train a zoo model from its recipe, measure it, write its card.

``zoo`` (in the teaching library) reads the cards; this module writes them. ``remeasure`` redoes
some of a card's measurements on the shipped weights and stamps each with the command and machine
that re-measured it (``measured``), leaving the training command and hardware as they were.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from tutorial_lib import zoo
from tutorial_lib.budgets import honest_accuracy, independent_ensemble, pgd_budget, strong_budget
from tutorial_lib.certify import certified_accuracy
from tutorial_lib.checkpoint import atomic_write_json, save_model
from tutorial_lib.data import balanced_subset, load_dataset
from tutorial_lib.evaluate import accuracy, reported, robust_accuracy
from tutorial_lib.lab.recipes import RECIPES
from tutorial_lib.lab.records import stamp
from tutorial_lib.train import TrainConfig, train

SUBSET_SIZE, SUBSET_SEED = 500, 0  # the fixed, class-balanced test subset CI re-checks
ENSEMBLE_N = 1000                  # test images for the independent ensemble (it is slow)
HONEST_N = 200                     # the class-balanced subset (seed 0) of the honest numbers
MEASUREMENTS = ("pgd", "independent", "strong", "honest", "honest_full", "certified")
FULL_HONEST = ("mnist_linf_0.3",)  # the cards whose honest number is also measured on every test image
"""What a card records: ``pgd`` (clean accuracy, PGD-50 on the full test set and on the fixed
subset), ``independent`` (torchattacks' APGD ensemble) and ``strong`` (the course's
``strong_budget``), the last two on the first ``ENSEMBLE_N`` test images of robust models, and
``honest`` (``honest_accuracy``: gradient attacks and Square Attack, with the masking flags) at
the trained threat and at the other norm's ``THREAT_RADII``, on ``HONEST_N`` balanced images;
``honest_full``, for the ``FULL_HONEST`` cards only, the honest number at the trained threat on all
the test images, with the indices of the images it is not robust on (so a sample re-checks it);
``certified``, for IBP-trained cards, the share of all test images interval bounds certify at the
model's radius (``certify.certified_accuracy``)."""
PASSES = {"standard": 1, "fgsm": 2, "fgsm_rs": 2, "ibp": 3}
"""Network passes (each a forward and its backward) per training image per step, by method:
PGD-k and TRADES add k attack passes to the training pass; IBP's are the clean pass and the bound's
centre and radius passes."""


def passes_per_image(cfg: TrainConfig) -> int:
    """Network passes spent on each training image over the whole run (``PASSES`` x epochs)."""
    per_step = PASSES.get(cfg.method, cfg.steps + (2 if cfg.method == "trades" else 1))
    return per_step * cfg.epochs
THREAT_RADII = {"mnist": {"linf": 0.3, "l2": 2.0}, "fashion": {"linf": 0.1, "l2": 1.0}}
"""The course's standard radius of each norm per dataset (the paper's MNIST radii)."""


def write_entry(name: str, model: nn.Module, cfg: TrainConfig, *, command: str,
                info: dict[str, Any], folder: Path = zoo.CHECKPOINT_DIR) -> dict[str, Any]:
    """Save a model and its card (atomically, stamped with ``command`` and this machine) under
    ``name``; return the card."""
    sha = save_model(model, folder / f"{name}.pt", arch=cfg.arch, arch_kwargs=cfg.arch_kwargs())
    entry = {"name": name, "arch": cfg.arch, "arch_kwargs": cfg.arch_kwargs(),
             "parameters": sum(p.numel() for p in model.parameters()),  # all, trainable or not
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
                    "budget": h.attack, "flags": list(h.flags)})
    return out


def measure_honest_full(model: nn.Module, cfg: TrainConfig) -> dict[str, Any]:
    """The honest number at the model's own threat on every test image, and where it fails."""
    eps, norm = eval_radius(cfg)
    h = honest_accuracy(model, load_dataset(cfg.dataset, "test"), eps=eps, norm=norm)
    return {"norm": norm, "eps": eps, "accuracy": h.accuracy, "gradient": h.gradient,
            "zero_gradient": h.zero_gradient, "n": h.n, "budget": h.attack, "flags": list(h.flags),
            "not_robust": h.not_robust()}


def card_parts(name: str) -> tuple[str, ...]:
    """The measurements a zoo card records: ``honest_full`` for ``FULL_HONEST`` only, ``certified``
    for IBP-trained models only, all the others for every card."""
    skip = set() if name in FULL_HONEST else {"honest_full"}
    if RECIPES[name].method != "ibp":
        skip.add("certified")
    return tuple(m for m in MEASUREMENTS if m not in skip)


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
    if "certified" in parts:
        out["certified"] = {"accuracy": certified_accuracy(model, (x, y), eps=eps), "n": int(y.numel()),
                            "eps": eps, "bound": "interval bound propagation, last layer folded into the margin"}
    return out


def build(name: str, folder: Path = zoo.CHECKPOINT_DIR, *, progress: bool = False) -> dict[str, Any]:
    """Train a zoo model from its recipe (resuming an interrupted run), measure it, write its card."""
    if name not in RECIPES:
        raise KeyError(f"no recipe {name!r}; recipes: {sorted(RECIPES)}")
    cfg = RECIPES[name]
    ckpt = folder / f".{name}.ckpt"
    result = train(cfg, checkpoint=ckpt, progress=progress)
    info = {"seed": cfg.seed, "epochs": cfg.epochs, "train_seconds": round(result.seconds, 1),
            "passes_per_image": passes_per_image(cfg)}
    write_entry(name, result.model, cfg, command=f"python -m tutorial_lib zoo build {name}",
                info=info, folder=folder)
    ckpt.unlink(missing_ok=True)
    return remeasure(name, folder)


def remeasure(name: str, folder: Path = zoo.CHECKPOINT_DIR, *,
              parts: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Re-measure a shipped model exactly as ``load`` returns it and rewrite its card's numbers
    (``parts``: which measurements; by default ``card_parts(name)``). Each re-measured part is
    stamped under ``measured`` with the command that redoes it and this machine; the card's own
    ``command`` and ``hardware`` stay those of its training."""
    parts = parts or card_parts(name)
    c = zoo.card(name, folder)
    c.update(measure(zoo.load(name, folder), TrainConfig(**c["config"]), parts=parts))
    command = f"python -m tutorial_lib zoo remeasure {name} --only {' '.join(parts)}"
    c["measured"] = {**c.get("measured", {}), **{part: stamp(command) for part in parts}}
    atomic_write_json(folder / f"{name}.json", c)
    return c


def attach_reporting(record: dict[str, Any], folder: Path = zoo.CHECKPOINT_DIR) -> list[str]:
    """Copy the recorded reporting budget (``results/reporting_budget.json``) into each card it
    measured, under ``reporting`` (its number is the worst case with ``strong_budget``; stamped
    with the record's command and machine); return the cards written."""
    written = []
    for name in sorted({r["model"] for r in record["ours"]}):
        c = zoo.card(name, folder)
        c["reporting"] = [{"norm": r["norm"], "eps": r["eps"], "n": r["n"], "accuracy": reported(r),
                           "gradient": r["gradient"], "converged": r["converged"], "queries": r["queries"],
                           "flags": r["flags"], "budget": r["budget"]}
                          for r in record["ours"] if r["model"] == name]
        stamped = stamp(record["command"], machine=record["hardware"])
        c["measured"] = {**c.get("measured", {}), "reporting": stamped}
        atomic_write_json(folder / f"{name}.json", c)
        written.append(name)
    return written
