"""Uncertainty: mean and standard error over seeds, an interval for an accuracy measured on n
images, and whether a difference exceeds the noise — so a chapter states differences it can resolve."""
from __future__ import annotations

import math
from collections.abc import Sequence


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (sample standard deviation / √n) of at least two values."""
    n = len(values)
    if n < 2:
        raise ValueError(f"a standard error needs at least two values (seeds), got {n}")
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def wilson_interval(correct: int, n: int, *, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95% for z = 1.96) for an accuracy of ``correct`` out of ``n``."""
    if n < 1 or not 0 <= correct <= n:
        raise ValueError(f"need 0 <= correct <= n and n >= 1, got correct={correct}, n={n}")
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_z(a: tuple[float, float], b: tuple[float, float]) -> float:
    """How many standard errors of the difference ``b`` lies above ``a`` (negative: below), for two
    independent (mean, standard error) pairs."""
    se = math.hypot(a[1], b[1])
    if se == 0:
        raise ValueError("both standard errors are zero: the difference has no noise scale")
    return (b[0] - a[0]) / se


def mcnemar_p(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar p-value for two models measured on the same images: ``only_a``
    images only the first gets right, ``only_b`` only the second (a sign test on the disagreements)."""
    if only_a < 0 or only_b < 0:
        raise ValueError(f"counts of disagreements must be >= 0, got {only_a} and {only_b}")
    n, k = only_a + only_b, min(only_a, only_b)
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def exceeds_noise(a: tuple[float, float], b: tuple[float, float], *, z: float = 2.0) -> bool:
    """Whether two (mean, standard error) pairs differ by more than ``z`` standard errors of the
    difference (independent estimates)."""
    return abs(a[0] - b[0]) > z * math.hypot(a[1], b[1])


def steady_decline(estimates: Sequence[tuple[float, float]], *, z: float = 2.0) -> bool:
    """Whether every (mean, se) lies below the one before it by more than the noise."""
    if len(estimates) < 2:
        raise ValueError("a decline needs at least two (mean, se) estimates")
    return all(b[0] < a[0] and exceeds_noise(a, b, z=z) for a, b in zip(estimates, estimates[1:]))


def first_drop(levels: Sequence[float], estimates: Sequence[tuple[float, float]], *,
               z: float = 2.0) -> float | None:
    """The first level (after the first, the baseline) whose (mean, se) lies below the baseline's
    by more than the noise; None when none does."""
    if len(levels) != len(estimates) or len(levels) < 2:
        raise ValueError("need one (mean, se) per level, and at least two levels")
    base = estimates[0]
    for level, est in zip(levels[1:], estimates[1:]):
        if est[0] < base[0] and exceeds_noise(base, est, z=z):
            return level
    return None
