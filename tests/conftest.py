"""Shared fixtures: data from ../shared/data (never downloaded) and one quickly trained model."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("TUTORIAL_LIB_DATA", str(REPO.parent / "shared" / "data"))
os.environ["TUTORIAL_LIB_OFFLINE"] = "1"

from tutorial_lib import TrainConfig, load_dataset, train  # noqa: E402


@pytest.fixture(scope="session")
def mnist_test() -> tuple[torch.Tensor, torch.Tensor]:
    """The first 500 MNIST test images and labels."""
    x, y = load_dataset("mnist", "test")
    return x[:500], y[:500]


@pytest.fixture(scope="session")
def standard_model() -> torch.nn.Module:
    """The fast CNN after one epoch of standard training (about 3 s, ~98% clean accuracy)."""
    return train(TrainConfig(epochs=1, seed=0)).model
