"""Checked claims: a claim that holds shows its sentence; one that does not fails, quoting it."""
import numpy as np
import pytest
import torch

import tutorial_lib as tl
from tutorial_lib.claims import MARK, ClaimFailed, claim


def test_a_claim_that_holds_displays_its_sentence_as_markdown():
    gaps = {0.1: 24.2, 0.15: 26.2, 0.3: 1.0}
    c = claim("FGSM's gap to PGD peaks between ε = 0.1 and 0.15", max(gaps, key=gaps.get) in (0.1, 0.15))
    assert c._repr_markdown_() == f"{MARK} FGSM's gap to PGD peaks between ε = 0.1 and 0.15"
    assert repr(c) == c._repr_markdown_()


def test_a_claim_that_stops_holding_fails_quoting_the_sentence_and_the_evidence():
    with pytest.raises(ClaimFailed) as err:
        claim("the robust model keeps above 80%", 0.62 > 0.80, accuracy=0.62)
    msg = str(err.value)
    assert "'the robust model keeps above 80%'" in msg and "accuracy = 0.62" in msg
    assert isinstance(err.value, AssertionError)  # so pytest and nbval report it as a failed check


def test_numpy_and_torch_truth_values_are_accepted_and_ambiguous_ones_refused():
    assert claim("numpy", np.float64(2.0) > 1).text == "numpy"
    assert claim("torch", torch.tensor(3) > 2).text == "torch"
    with pytest.raises(ClaimFailed):
        claim("torch false", torch.tensor(1) > 2)
    with pytest.raises(TypeError, match="single truth value"):
        claim("several at once", torch.tensor([1.0, 2.0]) > 0)


def test_a_claim_needs_a_sentence():
    with pytest.raises(ValueError, match="non-empty"):
        claim("  ", True)


def test_the_library_exports_claim():
    assert tl.claim is claim and tl.ClaimFailed is ClaimFailed
