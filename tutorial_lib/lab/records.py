"""Recorded results: small JSON files in ``tutorial_lib/results``, each stamped with the command
that made it and the machine it ran on (``stamp``, the one place that builds that record)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tutorial_lib.checkpoint import atomic_write_json
from tutorial_lib.devices import hardware

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"


def stamp(command: str | None = None, *, machine: str | None = None) -> dict[str, str]:
    """The provenance every record carries: the command that made it and the machine it ran on,
    this one unless ``machine`` names another (a record copied from a run elsewhere); for one run
    of a grid recorded on several machines, the machine alone."""
    machine = {"hardware": machine or hardware()}
    return machine if command is None else {"command": command, **machine}


def save(name: str, data: dict[str, Any], *, command: str, folder: Path = RESULTS_DIR,
         machine: str | None = None) -> dict[str, Any]:
    """Write a result stamped with ``command`` and this machine (or ``machine``, for a record only
    re-derived here), atomically (a crash leaves the old file, never half a new one); return it."""
    folder.mkdir(parents=True, exist_ok=True)
    record = {**data, **stamp(command, machine=machine)}
    atomic_write_json(folder / f"{name}.json", record)
    return record


def load(name: str, folder: Path = RESULTS_DIR) -> dict[str, Any]:
    """A recorded result by name (``feature_reuse`` ...), with the command that made it."""
    path = folder / f"{name}.json"
    if not path.is_file():
        have = sorted(p.stem for p in folder.glob("*.json"))
        raise KeyError(f"no recorded result {name!r} in {folder}; available: {have}")
    return json.loads(path.read_text())
