"""Recorded results of experiments too long for a notebook: small JSON files with their recipe."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tutorial_lib.checkpoint import atomic_write_json

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def load(name: str, folder: Path = RESULTS_DIR) -> dict[str, Any]:
    """A recorded result by name (``feature_reuse`` ...), with the command that made it."""
    path = folder / f"{name}.json"
    if not path.is_file():
        have = sorted(p.stem for p in folder.glob("*.json"))
        raise KeyError(f"no recorded result {name!r} in {folder}; available: {have}")
    return json.loads(path.read_text())


def save(name: str, data: dict[str, Any], folder: Path = RESULTS_DIR) -> Path:
    """Write a result atomically (a crash leaves the old file, never half a new one)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    atomic_write_json(path, data)
    return path
