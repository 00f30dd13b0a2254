"""The zoo's read side: named pretrained models shipped with the library, each with a card
(recipe, metrics, sha256). Building and re-measuring them is the lab's (``tutorial_lib.lab.cards``)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tutorial_lib.attacks import NORM_SYMBOLS
from tutorial_lib.checkpoint import CheckpointError, load_model
from tutorial_lib.devices import resolve_device

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"


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


def reporting_line(r: dict[str, Any]) -> str:
    """One recorded reporting-budget number as the chapters print it: "≤" and "not converged" when
    the doubled Square run still broke images beyond the noise, and the masking flag if raised."""
    norm = NORM_SYMBOLS[r["norm"]]
    verdict = (f"converged at {r['queries']:,} queries" if r["converged"]
               else f"not converged at {r['queries']:,} queries: an upper bound")
    return (f"{norm} ε = {r['eps']:g}, {r['n']:,} images: {'' if r['converged'] else '≤ '}"
            f"{100 * r['accuracy']:.{1 if r['n'] <= 1000 else 2}f}% ({verdict}; gradient attacks alone "
            f"{100 * r['gradient']:.1f}%)" + ("   FLAGGED: Square beat the gradient attacks" if r["flags"] else ""))


def robust_summary(c: dict[str, Any]) -> str:
    """A card's robust number for the table: the reporting budget at the model's own threat, on the
    most images it ran on ("≤" when not converged), else the quick PGD-50 as the upper bound it is."""
    own = [r for r in c.get("reporting", []) if r["norm"] == c["config"]["norm"]]
    if own:
        r = max(own, key=lambda r: r["n"])
        bound = "" if r["converged"] else "≤ "
        return (f"{bound}{100 * r['accuracy']:.1f}% reporting budget, {NORM_SYMBOLS[r['norm']]} {r['eps']:g}, "
                f"{r['n']:,} images" + (", flagged" if r["flags"] else ""))
    rob = c.get("robust")
    return f"≤ {100 * rob['accuracy']:.2f}% {rob['attack']} (quick)" if rob else "-"


def table(folder: Path = CHECKPOINT_DIR) -> str:
    """The zoo as a plain-text table."""
    rows = [("name", "arch", "params", "clean", "robust", "train s")]
    for n in names(folder):
        c = card(n, folder)
        rows.append((n, c["arch"], f"{c['parameters']:,}", f"{100 * c['clean_accuracy']:.2f}%",
                     robust_summary(c), f"{c.get('train_seconds', float('nan')):.0f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows)
