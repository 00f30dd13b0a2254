"""Named pretrained models shipped with the library, each with a card: recipe, metrics, sha256."""
from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tutorial_lib.checkpoint import CheckpointError, atomic_write_json, load_model, save_model

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


def load(name: str, folder: Path = CHECKPOINT_DIR) -> nn.Module:
    """A named zoo model, ready in eval mode, its weights checked against the card's sha256."""
    c = card(name, folder)
    path = folder / f"{name}.pt"
    if not path.is_file():
        raise CheckpointError(f"zoo card {name!r} exists but its weights {path} are missing; "
                              "reinstall tutorial_lib or retrain with the card's command")
    return load_model(path, sha256=c["sha256"], arch=c["arch"])


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
