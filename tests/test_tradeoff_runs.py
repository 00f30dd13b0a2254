"""Chapter 7's validation and test halves of the test set."""
import torch

from tutorial_lib.lab import tradeoff_runs


def test_split_halves_is_a_seeded_stratified_partition():
    y = torch.tensor([0] * 7 + [1] * 4 + [2] * 9)
    a, b = tradeoff_runs.split_halves(y)
    assert sorted(torch.cat([a, b]).tolist()) == list(range(len(y)))   # disjoint, covers all
    for c in range(3):
        assert abs(int((y[a] == c).sum()) - int((y[b] == c).sum())) <= 1  # each class halved
    assert torch.equal(a, tradeoff_runs.split_halves(y)[0])                         # seeded
    assert not torch.equal(a, tradeoff_runs.split_halves(y, seed=1)[0])
    assert a.tolist() != list(range(len(a)))                             # not the first half
    assert abs(len(a) - len(b)) <= 1                                     # odd images alternate


def test_reflag_recomputes_square_flags_from_the_recorded_numbers_and_keeps_zero_gradient_ones():
    point = {"val": {"a": 260 / 300, "b": 0.5}, "test": {"a": 0.9},
             "gradient": {"val": {"a": 266 / 300, "b": 0.5}, "test": {"a": 0.99}},
             "flags": {"val": {"a": ["Square Attack beats ... by 2.0 points"],
                               "b": ["input gradient exactly zero for 3 of 300 images"]}}}
    flags = tradeoff_runs.reflag(point, 300)["flags"]
    assert "a" not in flags["val"]                                     # exactly 2 points: no flag
    assert flags["val"]["b"] == ["input gradient exactly zero for 3 of 300 images"]
    assert flags["test"]["a"][0].startswith("Square Attack beats the gradient attacks by 9.0 points")
