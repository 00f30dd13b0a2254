"""Uncertainty helpers: standard errors, Wilson intervals, and differences beyond the noise."""
import math

import pytest

from tutorial_lib import stats


def test_mean_and_standard_error_of_seeds():
    m, se = stats.mean_se([0.98, 0.99, 1.00])
    assert m == pytest.approx(0.99) and se == pytest.approx(0.01 / math.sqrt(3))
    with pytest.raises(ValueError, match="at least two"):
        stats.mean_se([0.99])


def test_wilson_interval_contains_the_estimate_and_shrinks_with_n():
    lo, hi = stats.wilson_interval(90, 100)
    assert lo < 0.9 < hi and 0.82 < lo < 0.84 and 0.94 < hi < 0.95
    lo2, hi2 = stats.wilson_interval(900, 1000)
    assert hi2 - lo2 < (hi - lo) / 2
    assert stats.wilson_interval(0, 50)[0] == 0.0 and stats.wilson_interval(50, 50)[1] == 1.0
    with pytest.raises(ValueError, match="correct"):
        stats.wilson_interval(5, 3)


def test_a_drop_counts_only_beyond_the_noise():
    levels = [0.0, 0.1, 0.2, 0.3]
    est = [(99.0, 0.05), (98.95, 0.05), (98.7, 0.05), (98.5, 0.05)]
    assert stats.first_drop(levels, est) == 0.2            # 0.05 < 2·0.07; 0.3 > 0.14
    assert stats.first_drop(levels, [(99.0, 0.3)] * 4) is None
    assert stats.exceeds_noise((1.0, 0.1), (0.5, 0.1)) and not stats.exceeds_noise((1.0, 0.3), (0.5, 0.3))
    with pytest.raises(ValueError):
        stats.first_drop([0.0], [(1.0, 0.1)])


def test_difference_z_counts_standard_errors_of_the_difference():
    assert stats.difference_z((99.0, 0.03), (99.1, 0.04)) == pytest.approx(2.0)
    assert stats.difference_z((99.1, 0.04), (99.0, 0.03)) == pytest.approx(-2.0)
    with pytest.raises(ValueError, match="no noise scale"):
        stats.difference_z((1.0, 0.0), (2.0, 0.0))


def test_a_steady_decline_needs_every_step_down_beyond_the_noise():
    assert stats.steady_decline([(90.0, 0.1), (88.0, 0.2), (85.0, 0.2)])
    assert not stats.steady_decline([(90.0, 0.1), (89.9, 0.2), (85.0, 0.2)])   # a step in the noise
    assert not stats.steady_decline([(90.0, 0.1), (91.0, 0.1), (85.0, 0.2)])   # a rise
    with pytest.raises(ValueError, match="at least two"):
        stats.steady_decline([(90.0, 0.1)])


def test_mcnemar_counts_only_the_images_the_models_disagree_on():
    assert stats.mcnemar_p(0, 0) == 1.0 and stats.mcnemar_p(5, 5) == 1.0
    assert stats.mcnemar_p(0, 6) == pytest.approx(2 / 64)          # all six disagreements one way
    assert stats.mcnemar_p(10, 30) == stats.mcnemar_p(30, 10) < 0.01 < stats.mcnemar_p(15, 25) < 0.5
    with pytest.raises(ValueError, match=">= 0"):
        stats.mcnemar_p(-1, 3)
