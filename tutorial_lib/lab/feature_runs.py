"""Chapter 8's recorded runs: the fast CNN trained from each ``recipes.REUSE_STARTS`` start (random
weights, or a zoo model's features, frozen or fine-tuned), probed after every epoch; and the zoo's
MNIST recipes re-trained at other seeds, to measure the seed noise of the alignment measures."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from torch import Tensor

from tutorial_lib import zoo
from tutorial_lib.interpret import alignment
from tutorial_lib.lab.recipes import RECIPES, reuse_config
from tutorial_lib.models import count_parameters
from tutorial_lib.train import TrainConfig, epoch_probe, probe_training_time, train


def reuse_run(dataset: str, start: str | TrainConfig, *, train_size: int | None, epochs: int, seed: int,
              eval_n: int = 2000, robust_n: int = 500, eps: float = 0.1) -> dict[str, Any]:
    """Train the fast CNN on ``dataset`` from ``start`` (a ``REUSE_STARTS`` name or a recipe;
    standard training); after every epoch record seconds, clean accuracy on ``eval_n`` test images
    and accuracy under PGD-20 (``epoch_probe``) at L∞ ``eps`` on ``robust_n``."""
    cfg = reuse_config(dataset, start, train_size=train_size, epochs=epochs, seed=seed)
    probe = epoch_probe(dataset, eps=eps, clean_n=eval_n, robust_n=robust_n)
    result = train(cfg, on_epoch_end=probe)
    return {"dataset": dataset, "start": start, "train_size": train_size, "epochs": epochs,
            "seed": seed, "trainable_parameters": count_parameters(result.model), "eps": eps,
            "history": probe_training_time(result.history)}


def summarise_reuse(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean, SD and standard error over seeds of each (dataset, train_size, start): final clean and
    robust accuracy, training seconds, and the per-epoch curve of clean accuracy (mean and SD over
    seeds) with its mean seconds."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["dataset"], r["train_size"], r["start"]), []).append(r)
    rows = []
    for (dataset, size, start), rs in groups.items():
        final = torch.tensor([[r["history"][-1][k] for k in ("clean", "robust", "train_seconds")]
                              for r in rs], dtype=torch.float64)
        per_seed = torch.tensor([[[row["train_seconds"], row["clean"]] for row in r["history"]]
                                 for r in rs], dtype=torch.float64)
        curve = per_seed.mean(0)
        curve_sd = per_seed[:, :, 1].std(0) if len(rs) > 1 else torch.zeros(len(curve), dtype=torch.float64)
        sd = final.std(0) if len(rs) > 1 else torch.zeros(3, dtype=torch.float64)
        rows.append({"dataset": dataset, "train_size": size, "start": start, "seeds": len(rs),
                     "clean": float(final[:, 0].mean()), "clean_sd": float(sd[0]),
                     "clean_se": float(sd[0]) / len(rs) ** 0.5,
                     "robust": float(final[:, 1].mean()), "robust_sd": float(sd[1]),
                     "robust_se": float(sd[1]) / len(rs) ** 0.5,
                     "seconds": float(final[:, 2].mean()), "trainable": rs[0]["trainable_parameters"],
                     "curve_seconds": curve[:, 0].tolist(), "curve_clean": curve[:, 1].tolist(),
                     "curve_clean_sd": curve_sd.tolist()})
    return rows


ALIGNMENT_MODELS = ("mnist_standard", "mnist_linf_0.1", "mnist_linf_0.2", "mnist_linf_0.3",
                    "mnist_l2_1.0", "mnist_l2_2.0")
"""Chapter 8's six MNIST models (its alignment measures, at three training seeds: seed 0 is the zoo model)."""


def alignment_seed_run(name: str, seed: int, x: Tensor, y: Tensor, means: Tensor) -> dict[str, Any]:
    """Both alignment measures (``interpret.alignment``) of zoo model ``name``'s recipe trained at
    ``seed``: for seed 0 the shipped checkpoint itself, otherwise a fresh run of the recipe."""
    if seed == 0:
        model, seconds = zoo.load(name), None
    else:
        result = train(replace(RECIPES[name], seed=seed))
        model, seconds = result.model, round(result.seconds, 1)
    measures = alignment(model, x, y, means)
    return {"model": name, "seed": seed, "train_seconds": seconds,
            **{k: round(mean, 5) for k, (mean, _) in measures.items()}}


def alignment_by_model(runs: list[dict[str, Any]]) -> dict[str, dict[str, list[float]]]:
    """Per model, each measure's values over the recorded seeds (in seed order)."""
    out: dict[str, dict[str, list[float]]] = {}
    for r in sorted(runs, key=lambda r: (r["model"], r["seed"])):
        for k in ("stroke", "contrast"):
            out.setdefault(r["model"], {}).setdefault(k, []).append(r[k])
    return out
