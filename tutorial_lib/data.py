"""Where the data lives, the MNIST / Fashion-MNIST loaders, and class-balanced subsets."""
from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor

DATA_ENV = "TUTORIAL_LIB_DATA"
"""Environment variable naming the dataset root (torchvision layout: ``<root>/MNIST/raw/...``)."""
OFFLINE_ENV = "TUTORIAL_LIB_OFFLINE"
"""Set to ``1`` to forbid downloads (tests and CI do)."""

DATASETS = {"mnist": "MNIST", "fashion": "FashionMNIST"}
SPLITS = {"train": "train", "test": "t10k"}


class DataNotFoundError(FileNotFoundError):
    """The dataset is not on disk and may not be downloaded."""


def data_root() -> Path:
    """The dataset root: ``$TUTORIAL_LIB_DATA`` if set, else a per-user cache folder."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "tutorial_lib" / "data"


def downloads_allowed() -> bool:
    """Whether the loaders may download missing data (off when ``$TUTORIAL_LIB_OFFLINE=1``)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in {"1", "true", "yes"}


def _raw_files(root: Path, folder: str, split: str) -> list[Path]:
    raw = root / folder / "raw"
    prefix = SPLITS[split]
    return [raw / f"{prefix}-images-idx3-ubyte", raw / f"{prefix}-labels-idx1-ubyte"]


def _check_args(name: str, split: str) -> None:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose 'train' or 'test'")


def load_dataset(name: str = "mnist", split: str = "train", *,
                 download: bool | None = None) -> tuple[Tensor, Tensor]:
    """Images ``(N, 1, 28, 28)`` as float32 in [0, 1] and labels ``(N,)`` as int64."""
    _check_args(name, split)
    root = data_root().resolve()
    allowed = downloads_allowed() if download is None else download
    files = _raw_files(root, DATASETS[name], split)
    on_disk = all(f.exists() or f.with_name(f.name + ".gz").exists() for f in files)
    if not on_disk and not allowed:
        raise DataNotFoundError(
            f"{DATASETS[name]} ({split}) not found: looked for {files[0].name} and {files[1].name} "
            f"in {files[0].parent}. Point ${DATA_ENV} at a folder holding {DATASETS[name]}/raw/ "
            f"(torchvision's layout), or allow the download by unsetting ${OFFLINE_ENV} "
            f"(or pass download=True)."
        )
    return _load_cached(name, split, str(root), allowed)


@functools.lru_cache(maxsize=8)
def _load_cached(name: str, split: str, root: str, download: bool) -> tuple[Tensor, Tensor]:
    import torchvision  # slow to import (~1 s): only when a split is first read

    cls = getattr(torchvision.datasets, DATASETS[name])
    try:
        ds = cls(root, train=(split == "train"), download=download)
    except RuntimeError as err:  # torchvision: "Dataset not found" or a failed download
        raise DataNotFoundError(
            f"could not load {DATASETS[name]} ({split}) from {root}: {err} "
            f"Set ${DATA_ENV} to a folder with the data, or connect to the network and retry."
        ) from err
    x = ds.data.unsqueeze(1).float().div_(255.0)
    y = ds.targets.long()
    return x, y


def balanced_indices(y: Tensor, size: int, *, seed: int = 0) -> Tensor:
    """The indices of a class-balanced random subset of ``size`` labels (classes differ by at most one)."""
    classes = torch.unique(y)
    if size < 1 or size > y.numel():
        raise ValueError(f"size must be between 1 and {y.numel()} (the examples available), got {size}")
    gen = torch.Generator().manual_seed(seed)
    base, extra = divmod(size, len(classes))
    picks = []
    for i, c in enumerate(classes.tolist()):
        idx = torch.nonzero(y == c).flatten()
        want = base + (1 if i < extra else 0)
        if want > idx.numel():
            raise ValueError(f"class {c} has only {idx.numel()} examples, {want} needed for size {size}")
        picks.append(idx[torch.randperm(idx.numel(), generator=gen)[:want]])
    chosen = torch.cat(picks)
    return chosen[torch.randperm(chosen.numel(), generator=gen)]


def balanced_subset(x: Tensor, y: Tensor, size: int, *, seed: int = 0) -> tuple[Tensor, Tensor]:
    """A class-balanced random subset of ``size`` examples (``balanced_indices``)."""
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x has {x.shape[0]} examples but y has {y.shape[0]}; pass matching tensors")
    chosen = balanced_indices(y, size, seed=seed)
    return x[chosen], y[chosen]


def validation_split(x: Tensor, y: Tensor, size: int, *, seed: int = 0
                     ) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
    """``(train, validation)``: a seeded class-balanced ``size`` of the examples held out, and the
    rest to train on. Choices (recipe, epoch, operating point) are made on the held-out part."""
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x has {x.shape[0]} examples but y has {y.shape[0]}; pass matching tensors")
    held = balanced_indices(y, size, seed=seed)
    keep = torch.ones(y.numel(), dtype=torch.bool)
    keep[held] = False
    return (x[keep], y[keep]), (x[held], y[held])


def batches(x: Tensor, y: Tensor, batch_size: int, *, shuffle: bool = False,
            generator: torch.Generator | None = None) -> Iterator[tuple[Tensor, Tensor]]:
    """Yield ``(x, y)`` mini-batches straight from tensors (much faster than a DataLoader here)."""
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x has {x.shape[0]} examples but y has {y.shape[0]}; pass matching tensors")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = torch.randperm(x.shape[0], generator=generator) if shuffle else torch.arange(x.shape[0])
    for start in range(0, x.shape[0], batch_size):
        idx = order[start:start + batch_size]
        yield x[idx], y[idx]
