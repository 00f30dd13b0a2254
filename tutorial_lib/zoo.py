"""Named pretrained models shipped with the library, each with a card: recipe, metrics, sha256."""
from __future__ import annotations

import json
import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tutorial_lib.checkpoint import CheckpointError, atomic_write_json, load_model, save_model
from tutorial_lib.data import balanced_subset, load_dataset
from tutorial_lib.devices import resolve_device
from tutorial_lib.evaluate import (accuracy, independent_ensemble, pgd_budget, robust_accuracy,
                                  strong_budget)
from tutorial_lib.train import TrainConfig, train

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"

# The flagship: PGD-5 adversarial training at L∞ eps = 0.3, 16 epochs, one-cycle peak 3e-3
# (benchmarks/time_to_robust.py). The ε warm-up over the first 30% of steps is what keeps PGD
# training at 0.3 from stalling near chance at the start.
FLAGSHIP = TrainConfig(method="pgd", eps=0.3, steps=5, eps_warmup=0.3, epochs=16)
# Sweep members (for the tradeoff chapter) use the same recipe at half the epochs.
SWEEP = dict(method="pgd", steps=5, eps_warmup=0.3, epochs=8)

RECIPES: dict[str, TrainConfig] = {
    "mnist_standard": TrainConfig(method="standard", epochs=4),
    "mnist_linf_0.3": FLAGSHIP,
    "mnist_linf_0.1": TrainConfig(eps=0.1, **SWEEP),
    "mnist_linf_0.2": TrainConfig(eps=0.2, **SWEEP),
    "mnist_l2_1.0": TrainConfig(norm="l2", eps=1.0, **SWEEP),
    "mnist_l2_2.0": TrainConfig(norm="l2", eps=2.0, **SWEEP),
    "fashion_standard": TrainConfig(method="standard", dataset="fashion", epochs=4),
    # an independent judge for chapter 7: no convolutions, another seed, standard training
    "mnist_mlp_standard": TrainConfig(method="standard", arch="mlp", epochs=4, seed=1),
    "fashion_linf_0.1": TrainConfig(dataset="fashion", eps=0.1, **SWEEP),
}
"""Every zoo model's recipe; ``python -m tutorial_lib zoo build NAME`` retrains it and its card."""

SUBSET_SIZE, SUBSET_SEED = 500, 0  # the fixed, class-balanced test subset CI re-checks
ENSEMBLE_N = 1000                  # test images for the independent ensemble (it is slow)


def names(folder: Path = CHECKPOINT_DIR) -> list[str]:
    """The names of the models in the zoo."""
    return sorted(p.stem for p in folder.glob("*.json"))


def card(name: str, folder: Path = CHECKPOINT_DIR) -> dict[str, Any]:
    """The card of a named model: how it was trained and what it measured."""
    path = folder / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"no model {name!r} in the zoo ({folder}); available: {names(folder)}")
    return json.loads(path.read_text())


def load(name: str, folder: Path = CHECKPOINT_DIR, *, device: str | torch.device = "auto"
         ) -> nn.Module:
    """A named zoo model, ready in eval mode on ``device`` (``"auto"``: the GPU when there is one,
    else the CPU), its weights checked against the card's sha256."""
    c = card(name, folder)
    path = folder / f"{name}.pt"
    if not path.is_file():
        raise CheckpointError(f"zoo card {name!r} exists but its weights {path} are missing; "
                              "reinstall tutorial_lib or retrain with the card's command")
    return load_model(path, sha256=c["sha256"], arch=c["arch"]).to(resolve_device(device))


def hardware() -> str:
    """A one-line description of this machine: CPU model and the threads torch uses."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} GPU, {cpu}"
    return f"{cpu}, {torch.get_num_threads()} torch threads"


def write_entry(name: str, model: nn.Module, *, arch: str, arch_kwargs: dict[str, int],
                info: dict[str, Any], folder: Path = CHECKPOINT_DIR) -> dict[str, Any]:
    """Save a model and its card (atomically) under ``name``; return the card."""
    sha = save_model(model, folder / f"{name}.pt", arch=arch, arch_kwargs=arch_kwargs)
    params = sum(p.numel() for p in model.parameters())
    entry = {"name": name, "arch": arch, "arch_kwargs": arch_kwargs, "parameters": params,
             **info, "sha256": sha}
    atomic_write_json(folder / f"{name}.json", entry)
    return entry


def table(folder: Path = CHECKPOINT_DIR) -> str:
    """The zoo as a plain-text table."""
    rows = [("name", "arch", "params", "clean", "robust", "train s")]
    for n in names(folder):
        c = card(n, folder)
        rob = c.get("robust", {})
        rows.append((n, c["arch"], f"{c['parameters']:,}", f"{100 * c['clean_accuracy']:.2f}%",
                     f"{100 * rob['accuracy']:.2f}% {rob['attack']}" if rob else "-",
                     f"{c.get('train_seconds', float('nan')):.0f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows)


def eval_radius(cfg: TrainConfig) -> tuple[float, str]:
    """The radius and norm a model is evaluated at: its training ones (standard MNIST models at
    L∞ 0.3, standard Fashion-MNIST at L∞ 0.1, so that they compare with their robust siblings)."""
    if cfg.method != "standard":
        return cfg.eps, cfg.norm
    return (0.1 if cfg.dataset == "fashion" else 0.3), "linf"


MEASUREMENTS = ("pgd", "independent", "strong")
"""What a card records: ``pgd`` (clean accuracy, PGD-50 on the full test set and on the fixed
subset), ``independent`` (torchattacks' APGD ensemble) and ``strong`` (the course's
``strong_budget``), the last two on the first ``ENSEMBLE_N`` test images of robust models."""


def measure(model: nn.Module, cfg: TrainConfig, *,
            parts: tuple[str, ...] = MEASUREMENTS) -> dict[str, Any]:
    """The card's numbers, for the chosen ``parts`` of ``MEASUREMENTS``."""
    unknown = set(parts) - set(MEASUREMENTS)
    if unknown:
        raise ValueError(f"unknown measurements {sorted(unknown)}; choose from {MEASUREMENTS}")
    x, y = load_dataset(cfg.dataset, "test")
    eps, norm = eval_radius(cfg)
    out: dict[str, Any] = {}
    if "pgd" in parts:
        full = robust_accuracy(model, (x, y), attack=pgd_budget(eps, norm))
        xs, ys = balanced_subset(x, y, SUBSET_SIZE, seed=SUBSET_SEED)
        sub = robust_accuracy(model, (xs, ys), attack=pgd_budget(eps, norm))
        out["clean_accuracy"] = accuracy(model, (x, y))
        out["robust"] = {"accuracy": full.accuracy, "attack": full.attack, "n": full.n}
        out["robust_subset"] = {"accuracy": sub.accuracy, "attack": sub.attack, "n": sub.n,
                                "subset_seed": SUBSET_SEED}
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
    return out


def build(name: str, folder: Path = CHECKPOINT_DIR, *, progress: bool = False) -> dict[str, Any]:
    """Train a zoo model from its recipe (resuming an interrupted run), measure it, write its card."""
    if name not in RECIPES:
        raise KeyError(f"no recipe {name!r}; recipes: {sorted(RECIPES)}")
    cfg = RECIPES[name]
    ckpt = folder / f".{name}.ckpt"
    result = train(cfg, checkpoint=ckpt, progress=progress)
    info = {"command": f"python -m tutorial_lib zoo build {name}", "config": asdict(cfg),
            "seed": cfg.seed, "epochs": cfg.epochs, "train_seconds": round(result.seconds, 1),
            "hardware": hardware()}
    write_entry(name, result.model, arch=cfg.arch, arch_kwargs=cfg.arch_kwargs(), info=info,
                folder=folder)
    ckpt.unlink(missing_ok=True)
    return remeasure(name, folder)


def remeasure(name: str, folder: Path = CHECKPOINT_DIR, *,
              parts: tuple[str, ...] = MEASUREMENTS) -> dict[str, Any]:
    """Re-measure a shipped model exactly as ``load`` returns it and rewrite its card's numbers."""
    c = card(name, folder)
    c.update(measure(load(name, folder), TrainConfig(**c["config"]), parts=parts))
    atomic_write_json(folder / f"{name}.json", c)
    return c
