"""Chapter 6's validation and test halves of the test set."""
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
