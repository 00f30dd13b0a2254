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


def test_a_drop_counts_only_beyond_the_seeds_noise():
    levels = [0.0, 0.1, 0.2, 0.3]
    seeds = [[99.0, 99.05, 98.95], [98.95, 99.0, 98.9], [98.7, 98.75, 98.65], [98.5, 98.55, 98.45]]
    assert stats.first_drop(levels, seeds) == 0.2                       # 0.05 is within t(4)·0.05·√(2/3)
    assert stats.first_drop(levels, seeds, pooled=(0.3, 40)) == 0.3     # a larger pooled SD: 0.3 is not enough
    assert stats.first_drop(levels, [[99.0, 98.0, 100.0]] * 4) is None
    assert stats.exceeds_noise((1.0, 0.1), (0.5, 0.1)) and not stats.exceeds_noise((1.0, 0.3), (0.5, 0.3))
    with pytest.raises(ValueError):
        stats.first_drop([0.0], [[1.0, 1.1]])


def test_difference_z_counts_standard_errors_of_the_difference():
    assert stats.difference_z((99.0, 0.03), (99.1, 0.04)) == pytest.approx(2.0)
    assert stats.difference_z((99.1, 0.04), (99.0, 0.03)) == pytest.approx(-2.0)
    with pytest.raises(ValueError, match="no noise scale"):
        stats.difference_z((1.0, 0.0), (2.0, 0.0))


def test_a_steady_decline_needs_every_step_down_beyond_the_noise():
    assert stats.steady_decline([[90.0, 90.2, 89.8], [88.0, 88.3, 87.7], [85.0, 85.2, 84.8]])
    assert not stats.steady_decline([[90.0, 90.2, 89.8], [89.9, 90.1, 89.7], [85.0, 85.2, 84.8]])  # in the noise
    assert not stats.steady_decline([[90.0, 90.2, 89.8], [91.0, 91.2, 90.8], [85.0, 85.2, 84.8]])  # a rise
    with pytest.raises(ValueError, match="at least two"):
        stats.steady_decline([[90.0, 90.1]])


def test_mcnemar_counts_only_the_images_the_models_disagree_on():
    assert stats.mcnemar_p(0, 0) == 1.0 and stats.mcnemar_p(5, 5) == 1.0
    assert stats.mcnemar_p(0, 6) == pytest.approx(2 / 64)          # all six disagreements one way
    assert stats.mcnemar_p(10, 30) == stats.mcnemar_p(30, 10) < 0.01 < stats.mcnemar_p(15, 25) < 0.5
    with pytest.raises(ValueError, match=">= 0"):
        stats.mcnemar_p(-1, 3)


def test_t_quantile_is_wider_than_the_normal_for_few_degrees_of_freedom():
    assert stats.t_quantile(2) == pytest.approx(4.303, abs=1e-3)
    assert stats.t_quantile(1000) == pytest.approx(1.962, abs=1e-3)
    with pytest.raises(ValueError, match="degree of freedom"):
        stats.t_quantile(0)


def test_mean_interval_of_three_seeds_uses_two_degrees_of_freedom():
    mean, lo, hi = stats.mean_interval([0.98, 0.99, 1.00])
    assert mean == pytest.approx(0.99) and hi - mean == pytest.approx(4.303 * 0.01 / math.sqrt(3), rel=1e-3)
    # with a pooled SD of 0.01 on 40 degrees of freedom the interval is about half as wide
    _, lo2, hi2 = stats.mean_interval([0.98, 0.99, 1.00], pooled=(0.01, 40))
    assert hi2 - lo2 < (hi - lo) / 2 + 1e-12


def test_pooled_sd_counts_degrees_of_freedom_over_groups():
    sd, df = stats.pooled_sd([[1.0, 3.0], [10.0, 12.0, 14.0], [5.0]])   # a lone value adds nothing
    assert df == 3 and sd == pytest.approx(math.sqrt((2 + 8) / 3))
    with pytest.raises(ValueError, match="at least one group"):
        stats.pooled_sd([[1.0]])


def test_difference_interval_and_resolved():
    d = stats.difference_interval([0.90, 0.91, 0.92], [0.95, 0.96, 0.97])
    assert d[0] == pytest.approx(0.05) and stats.resolved(d) == 1
    assert stats.resolved(stats.difference_interval([0.95, 0.96, 0.97], [0.90, 0.91, 0.92])) == -1
    assert stats.resolved(stats.difference_interval([0.90, 0.95, 0.92], [0.91, 0.96, 0.90])) == 0


def test_paired_interval_removes_what_the_seeds_share():
    a, b = [0.90, 0.95, 0.99], [0.911, 0.959, 1.0]   # b is about a + 0.01 on every seed
    assert stats.resolved(stats.difference_interval(a, b)) == 0      # unpaired: lost in the spread
    paired = stats.paired_interval(a, b)
    assert stats.resolved(paired) == 1                               # paired: resolved
    with pytest.raises(ValueError, match="one a per b"):
        stats.paired_interval([1.0], [1.0, 2.0])


def test_binomial_se_is_test_set_noise():
    assert stats.binomial_se(0.99, 10_000) == pytest.approx(0.000995, rel=1e-3)
    with pytest.raises(ValueError):
        stats.binomial_se(99.0, 100)


def test_holm_steps_down_and_rejects_less_than_uncorrected():
    assert stats.holm([0.01, 0.04, 0.03]) == [True, False, False]      # 0.03 > 0.05 / 2
    assert stats.holm([0.001, 0.02, 0.04]) == [True, True, True]       # 0.02 <= 0.025, 0.04 <= 0.05
    assert stats.holm([0.049] + [0.5] * 8) == [False] * 9               # one p = 0.049 among nine
