"""Uncertainty: intervals for a mean of a few seeds (the t distribution), for a difference of two
such means, paired over seeds or images, for an accuracy measured on n images, and a correction for
many tests — so a chapter states differences it can resolve."""
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
    independent (mean, standard error) pairs over many images (not a few seeds: see
    ``difference_interval``)."""
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
    difference (independent estimates over many images; for a few seeds use ``difference_interval``)."""
    return abs(a[0] - b[0]) > z * math.hypot(a[1], b[1])


# --- a few seeds: the t distribution, a pooled SD, paired comparisons, many tests ---------------
def t_quantile(df: int, *, level: float = 0.95) -> float:
    """The two-sided ``level`` quantile of Student's t with ``df`` degrees of freedom (4.30 for
    two, against the normal's 1.96)."""
    if df < 1:
        raise ValueError(f"the t distribution needs at least 1 degree of freedom, got {df}")
    from scipy.stats import t  # scipy only where a quantile is needed: it is slow to import
    return float(t.ppf(0.5 + level / 2, df))


def pooled_sd(groups: Sequence[Sequence[float]]) -> tuple[float, int]:
    """The within-group standard deviation pooled over many groups (e.g. three seeds at each of
    many points), and its degrees of freedom, the sum of each group's size minus one."""
    groups = [list(g) for g in groups if len(g) >= 2]
    df = sum(len(g) - 1 for g in groups)
    if df < 1:
        raise ValueError("a pooled SD needs at least one group of two or more values")
    ss = sum(sum((v - sum(g) / len(g)) ** 2 for v in g) for g in groups)
    return math.sqrt(ss / df), df


def mean_interval(values: Sequence[float], *, pooled: tuple[float, int] | None = None,
                  level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the ``level`` interval for the mean of a few seeds, from their own SD with
    k − 1 degrees of freedom, or from ``pooled`` = (SD, df) when given."""
    k = len(values)
    if k < 1 or (pooled is None and k < 2):
        raise ValueError(f"an interval from the values' own spread needs at least two, got {k}")
    mean = sum(values) / k
    sd, df = pooled if pooled is not None else (math.sqrt(sum((v - mean) ** 2 for v in values) / (k - 1)), k - 1)
    half = t_quantile(df, level=level) * sd / math.sqrt(k)
    return mean, mean - half, mean + half


def difference_interval(a: Sequence[float], b: Sequence[float], *, pooled: tuple[float, int] | None = None,
                        level: float = 0.95) -> tuple[float, float, float]:
    """(difference, low, high): mean(b) − mean(a) for independent seeds, with the ``level`` interval
    from a pooled SD (``pooled``, or the two samples' own, pooled) and its degrees of freedom."""
    if pooled is None:
        pooled = pooled_sd([a, b])
    sd, df = pooled
    diff = sum(b) / len(b) - sum(a) / len(a)
    half = t_quantile(df, level=level) * sd * math.sqrt(1 / len(a) + 1 / len(b))
    return diff, diff - half, diff + half


def paired_interval(a: Sequence[float], b: Sequence[float], *, level: float = 0.95
                    ) -> tuple[float, float, float]:
    """(difference, low, high): the mean of b − a over shared seeds (a paired t interval, k − 1
    degrees of freedom)."""
    if len(a) != len(b):
        raise ValueError(f"paired values need one a per b, got {len(a)} and {len(b)}")
    return mean_interval([y - x for x, y in zip(a, b)], level=level)


def resolved(interval: tuple[float, float, float]) -> int:
    """+1 when an interval for a difference lies wholly above zero, −1 wholly below, 0 when it
    contains zero (the seeds cannot tell)."""
    _, lo, hi = interval
    return 1 if lo > 0 else -1 if hi < 0 else 0


def binomial_se(accuracy: float, n: int) -> float:
    """The standard error of an accuracy measured on ``n`` test images (test-set sampling noise)."""
    if n < 1 or not 0 <= accuracy <= 1:
        raise ValueError(f"need 0 <= accuracy <= 1 and n >= 1, got accuracy={accuracy}, n={n}")
    return math.sqrt(accuracy * (1 - accuracy) / n)


def holm(pvalues: Sequence[float], *, alpha: float = 0.05) -> list[bool]:
    """Which of many tests reject at family-wise level ``alpha`` (Holm's step-down correction)."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    reject = [False] * len(pvalues)
    for rank, i in enumerate(order):
        if pvalues[i] > alpha / (len(pvalues) - rank):
            break
        reject[i] = True
    return reject


def steady_decline(groups: Sequence[Sequence[float]], *, pooled: tuple[float, int] | None = None,
                   level: float = 0.95) -> bool:
    """Whether each group of seeds lies below the one before it beyond the noise: every step's
    ``difference_interval`` wholly below zero."""
    if len(groups) < 2:
        raise ValueError("a decline needs at least two groups of seeds")
    return all(resolved(difference_interval(a, b, pooled=pooled, level=level)) == -1
               for a, b in zip(groups, groups[1:]))


def first_drop(levels: Sequence[float], groups: Sequence[Sequence[float]], *,
               pooled: tuple[float, int] | None = None, level: float = 0.95) -> float | None:
    """The first level (after the first, the baseline) whose seeds lie below the baseline's beyond
    the noise (``difference_interval`` wholly below zero); None when none does."""
    if len(levels) != len(groups) or len(levels) < 2:
        raise ValueError("need one group of seeds per level, and at least two levels")
    for lvl, g in zip(levels[1:], groups[1:]):
        if resolved(difference_interval(groups[0], g, pooled=pooled, level=level)) == -1:
            return lvl
    return None
