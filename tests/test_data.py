"""Data: shapes and ranges, class-balanced subsets, and the offline error message."""
import pytest
import torch

from tutorial_lib.data import (DATA_ENV, DataNotFoundError, balanced_indices, balanced_subset, batches, load_dataset,
                               validation_split)


@pytest.mark.parametrize("name", ["mnist", "fashion"])
def test_load_dataset_shapes_and_range(name):
    x, y = load_dataset(name, "test")
    assert x.shape == (10_000, 1, 28, 28) and x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert y.shape == (10_000,) and set(y.unique().tolist()) == set(range(10))


def test_mnist_test_label_counts_match_the_data_readme():
    _, y = load_dataset("mnist", "test")
    assert torch.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_missing_data_offline_names_folder_and_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    with pytest.raises(DataNotFoundError) as err:
        load_dataset("mnist", "train")
    msg = str(err.value)
    assert str(tmp_path) in msg and DATA_ENV in msg and "download" in msg


def test_unknown_dataset_and_split_are_refused():
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("cifar", "train")
    with pytest.raises(ValueError, match="unknown split"):
        load_dataset("mnist", "val")


def test_balanced_subset_is_balanced_and_seeded():
    x, y = load_dataset("mnist", "train")
    xs, ys = balanced_subset(x, y, 1003, seed=3)
    counts = torch.bincount(ys, minlength=10)
    assert xs.shape[0] == 1003 and counts.max() - counts.min() <= 1
    xs2, _ = balanced_subset(x, y, 1003, seed=3)
    assert torch.equal(xs, xs2)
    xs3, _ = balanced_subset(x, y, 1003, seed=4)
    assert not torch.equal(xs, xs3)
    idx = balanced_indices(y, 1003, seed=3)   # the same subset, as indices into the full set
    assert torch.equal(x[idx], xs) and idx.unique().numel() == 1003


def test_balanced_subset_refuses_impossible_sizes():
    x, y = torch.zeros(20, 1, 28, 28), torch.arange(20) % 2
    with pytest.raises(ValueError, match="between 1 and 20"):
        balanced_subset(x, y, 21)
    with pytest.raises(ValueError, match="matching"):
        balanced_subset(x, y[:5], 4)


def test_batches_cover_every_example_once():
    x, y = torch.arange(10.0).view(10, 1), torch.arange(10)
    seen = torch.cat([yb for _, yb in batches(x, y, 3, shuffle=True, generator=torch.Generator().manual_seed(0))])
    assert sorted(seen.tolist()) == list(range(10))


def test_a_validation_split_is_balanced_disjoint_and_seeded():
    x, y = torch.arange(100.0)[:, None], torch.arange(100) % 10
    (xt, yt), (xv, yv) = validation_split(x, y, 20)
    assert len(xv) == 20 and len(xt) == 80 and torch.bincount(yv).tolist() == [2] * 10
    assert not set(xv.flatten().tolist()) & set(xt.flatten().tolist())
    assert torch.equal(validation_split(x, y, 20)[1][0], xv)
