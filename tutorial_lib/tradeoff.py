"""The tradeoff as a set of operating points, its Pareto front, and a chooser for a user's need.

The points themselves are measured by ``tutorial_lib.lab.tradeoff_runs`` (chapter 7's recorded runs)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tutorial_lib.attacks import NORM_SYMBOLS
from tutorial_lib.stats import difference_interval, mean_interval, wilson_interval


@dataclass(frozen=True)
class OperatingPoint:
    """A trained model's numbers: clean accuracy, robust accuracy per threat ``"norm@eps"``, and
    training seconds — measured on a validation split (``val``) and a test split (``test``); with
    the gradient attacks' numbers and the masking flags per split when the budget was honest."""

    name: str
    train_seconds: float
    val: dict[str, float]            # {"clean": ..., "linf@0.2": ...}
    test: dict[str, float] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)
    gradient: dict[str, dict[str, float]] = field(default_factory=dict)   # {"val": {threat: ...}}
    flags: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # {"val": {threat: [...]}}
    counts: dict[str, int] = field(default_factory=dict)  # images behind each number, per split
    converged: dict[str, dict[str, bool]] = field(default_factory=dict)  # {"val": {threat: bool}}

    def interval(self, key: str, split: str = "val") -> tuple[float, float]:
        """The 95% Wilson interval of the number ``key`` on ``split`` (needs ``counts[key]``)."""
        if key not in self.counts:
            raise KeyError(f"operating point {self.name!r} has no image count for {key!r}, so no "
                           f"interval; counts are known for {sorted(self.counts)}")
        n = self.counts[key]
        return wilson_interval(round(getattr(self, split)[key] * n), n)

    def shown(self, key: str, split: str = "val", digits: int = 1) -> str:
        """``key``'s accuracy on ``split`` with its 95% interval, in %, as a page prints it."""
        lo, hi = self.interval(key, split)
        return f"{100 * getattr(self, split)[key]:.{digits}f}% [{100 * lo:.{digits}f}, {100 * hi:.{digits}f}]"

    def flagged(self, key: str, split: str = "val") -> tuple[str, ...]:
        """The masking flags raised on this point's number at threat ``key`` (none: ``()``)."""
        return tuple(self.flags.get(split, {}).get(key, ()))

    def converged_at(self, key: str, split: str = "val") -> bool | None:
        """Whether the robust number at ``key`` converged (``None``: its budget never checked)."""
        return self.converged.get(split, {}).get(key)


def threat(norm: str, eps: float) -> str:
    """The key of a threat in an operating point's numbers: ``"linf@0.2"``."""
    return f"{norm}@{eps:g}"


def threat_words(key: str) -> str:
    """A threat key as a reader reads it: ``"linf@0.2"`` → ``"ℓ∞ ε = 0.2"``."""
    norm, eps = key.split("@")
    return f"{NORM_SYMBOLS[norm]} ε = {eps}"


_RECIPE_WORDS = {"mnist": "PGD", "half_natural": "half-natural", "trades_beta1": "TRADES β = 1",
                 "trades_beta6": "TRADES β = 6"}
_RECORDED_NAME = re.compile(rf"({'|'.join(_RECIPE_WORDS)})_({'|'.join(NORM_SYMBOLS)})_(\d+(?:\.\d+)?)")


def display_name(name: str) -> str:
    """A recorded point's name as a reader reads it, for figures and tables: ``"mnist_linf_0.3"`` →
    ``"PGD ℓ∞ 0.3"``, ``"half_natural_linf_0.2"`` → ``"half-natural ℓ∞ 0.2"``,
    ``"mnist_standard"`` → ``"standard"``; a name of any other form unchanged."""
    if name == "mnist_standard":
        return "standard"
    m = _RECORDED_NAME.fullmatch(name)
    return name if m is None else f"{_RECIPE_WORDS[m[1]]} {NORM_SYMBOLS[m[2]]} {float(m[3]):g}"


@dataclass(frozen=True)
class Need:
    """What a user needs: constraints and what to maximise among the points that meet them."""

    norm: str = "linf"
    eps: float = 0.3
    min_clean: float = 0.0                # clean accuracy at least this
    min_robust: float = 0.0               # robust accuracy at (norm, eps) at least this
    max_train_seconds: float = float("inf")
    maximise: str = "robust"              # "robust" or "clean"

    def __post_init__(self) -> None:
        if self.maximise not in ("robust", "clean"):
            raise ValueError(f"maximise must be 'robust' or 'clean', got {self.maximise!r}")
        if self.eps < 0:
            raise ValueError(f"eps must be >= 0, got {self.eps}")
        for k in ("min_clean", "min_robust"):
            if not 0 <= getattr(self, k) <= 1:
                raise ValueError(f"{k} is an accuracy in [0, 1], got {getattr(self, k)}")
        if self.max_train_seconds <= 0:
            raise ValueError(f"max_train_seconds must be > 0, got {self.max_train_seconds}")


@dataclass(frozen=True)
class Choice:
    """The chooser's answer: a point (or None) and why."""

    point: OperatingPoint | None
    why: str
    binding: tuple[str, ...] = ()     # the constraints that rule out the rest (or everything)
    ties: tuple[str, ...] = ()        # other feasible points statistically tied with the choice


def _value(p: OperatingPoint, key: str) -> float:
    if key not in p.val:
        raise KeyError(f"operating point {p.name!r} has no measurement {key!r}; it has {sorted(p.val)}")
    return p.val[key]


def pareto_front(points: list[OperatingPoint], key: str, *, cost: bool = True
                 ) -> list[OperatingPoint]:
    """The points no other point beats on clean accuracy, on ``key`` and (with ``cost``) on
    training time at once, sorted by clean accuracy."""
    def scores(p: OperatingPoint) -> tuple[float, ...]:
        return (_value(p, "clean"), _value(p, key)) + ((-p.train_seconds,) if cost else ())

    def beats(a: OperatingPoint, b: OperatingPoint) -> bool:
        sa, sb = scores(a), scores(b)
        return all(x >= y for x, y in zip(sa, sb)) and any(x > y for x, y in zip(sa, sb))
    front = [p for p in points if not any(beats(q, p) for q in points)]
    return sorted(front, key=lambda p: _value(p, "clean"))


def _tied(feasible: list[OperatingPoint], main: str, other: str
          ) -> tuple[OperatingPoint, list[OperatingPoint]]:
    """The top point on ``main`` (ties broken by cost, then ``other``) and every point tied with
    it: those whose 95% interval on ``main`` overlaps the top one's (just the top when the points
    carry no image counts), best first."""
    order = lambda p: (_value(p, main), -p.train_seconds, _value(p, other), p.name)  # noqa: E731
    top = max(feasible, key=order)
    if not all(main in p.counts for p in feasible):
        return top, [top]
    low = top.interval(main)[0]
    return top, sorted((p for p in feasible if p.interval(main)[1] >= low), key=order, reverse=True)


def _why(best: OperatingPoint, top: OperatingPoint, ties: tuple[str, ...], main: str, key: str,
         points: list[OperatingPoint], feasible: list[OperatingPoint]) -> str:
    """The chooser's reason, in one sentence, in words (``display_name``, ``threat_words``)."""
    ruled_out = len(points) - len(feasible)
    masked = sum(bool(p.flagged(key)) for p in points)
    refused = f", {masked} of them for a masking flag" if masked else ""
    on = "clean accuracy" if main == "clean" else f"robust accuracy at {threat_words(main)}"
    lead = (f"highest {on} ({_value(best, main):.2%})" if not ties else
            f"cheapest of {len(ties) + 1} points tied on {on} (95% intervals overlapping the best, "
            f"{display_name(top.name)} {_value(top, main):.2%}; tied: {', '.join(map(display_name, ties))})")
    return (f"{display_name(best.name)}: {lead} among {len(feasible)} of {len(points)} points that meet the need "
            f"({ruled_out} ruled out{refused}); clean {_value(best, 'clean'):.2%}, robust at {threat_words(key)} "
            f"{_value(best, key):.2%}, trained in {best.train_seconds:.0f} s")


def choose(points: list[OperatingPoint], need: Need) -> Choice:
    """The best operating point for ``need`` on the validation numbers, with the reason; or no
    point, naming the constraint(s) that rule every point out. A point whose number at the need's
    threat did not converge is refused: it is only an upper bound. A masking flag is refused only
    where convergence was never checked (the older budget's numbers); beside a converged number it
    is a warning, not a refusal.

    Ties on the maximised number go to the cheaper training, then to the higher other accuracy.
    When the points carry image counts, a tie is statistical: every feasible point whose 95%
    interval on the maximised number overlaps the top-scoring point's interval is tied with it,
    and the cheapest of them is chosen (the others are listed in ``ties``).
    """
    if not points:
        raise ValueError("no operating points to choose from")
    key = threat(need.norm, need.eps)
    checks = {
        f"clean >= {need.min_clean:.2%}": lambda p: _value(p, "clean") >= need.min_clean,
        f"robust at {threat_words(key)} >= {need.min_robust:.2%}": lambda p: _value(p, key) >= need.min_robust,
        f"training <= {need.max_train_seconds:g} s": lambda p: p.train_seconds <= need.max_train_seconds,
        f"no masking flag at {threat_words(key)}": lambda p: not p.flagged(key) or p.converged_at(key) is True,
        f"converged at {threat_words(key)}": lambda p: p.converged_at(key) is not False,
    }
    feasible = [p for p in points if all(c(p) for c in checks.values())]
    if not feasible:
        # a constraint binds if dropping it alone would leave some point feasible
        binding = tuple(name for name in checks if any(
            all(c(p) for n, c in checks.items() if n != name) for p in points))
        failing = binding or tuple(name for name, c in checks.items() if not all(c(p) for p in points))
        return Choice(None, "no operating point meets the need; "
                      + ("relaxing any one of these would: " if binding else "every point fails: ")
                      + "; ".join(failing), failing)
    main, other = (key, "clean") if need.maximise == "robust" else ("clean", key)
    top, tied = _tied(feasible, main, other)
    best = max(tied, key=lambda p: (-p.train_seconds, _value(p, other), _value(p, main), p.name))
    ties = tuple(p.name for p in tied if p is not best)
    why = _why(best, top, ties, main, key, points, feasible)
    return Choice(best, why, ties=ties)


CLEAN_N = 5000
"""Images behind each clean number of the recorded points (a half of the MNIST test set)."""


def load_points(recorded: dict[str, Any]) -> list[OperatingPoint]:
    """Operating points from the recorded file, with the image count behind each number: a half of
    the test set for clean accuracy, ``split_n`` images for each robust one."""
    def counts(p: dict[str, Any]) -> dict[str, int]:
        return {k: CLEAN_N if k == "clean" else recorded["split_n"] for k in p["val"]}
    return [OperatingPoint(p["name"], p["train_seconds"], p["val"], p["test"], p.get("recipe", {}),
                           p.get("gradient", {}), p.get("flags", {}), counts(p), p.get("converged", {}))
            for p in recorded["points"]]


def _mean_and_half(values: list[float]) -> tuple[float, float]:
    """The mean of a few seeds and the half-width of its 95% interval (t, k − 1 degrees of freedom)."""
    mean, _, hi = mean_interval(values)
    return mean, hi - mean


def seeds_by_size(runs: list[dict[str, Any]], *, dataset: str, metric: str = "clean"
                  ) -> dict[tuple[str, float], dict[int, list[float]]]:
    """Figure 1's runs: per training threat (``("standard", 0.0)`` for standard training), per
    training-set size, every seed's ``metric`` in % — ``"clean"``, or ``"robust"`` (each
    adversarial model at its own training threat)."""
    curves: dict[tuple[str, float], dict[int, list[float]]] = {}
    for r in runs:
        if r["dataset"] != dataset or metric not in r:
            continue
        key = ("standard", 0.0) if r["eps"] == 0 else (r["norm"], r["eps"])
        curves.setdefault(key, {}).setdefault(r["train_size"], []).append(100 * r[metric])
    if not curves:
        raise ValueError(f"no {dataset} runs with a {metric!r} number in the record; run "
                         "`python benchmarks/tradeoff_runs.py figure1`")
    order = sorted(curves, key=lambda k: (k[0] != "standard", k[0] != "linf", k[1]))
    return {key: dict(sorted(curves[key].items())) for key in order}


def accuracy_by_size(runs: list[dict[str, Any]], *, dataset: str, metric: str = "clean"
                     ) -> dict[tuple[str, float], dict[int, tuple[float, float]]]:
    """Figure 1's curves: ``seeds_by_size`` as (mean, half-width of its 95% t interval) over seeds."""
    return {key: {size: _mean_and_half(v) for size, v in by_size.items()}
            for key, by_size in seeds_by_size(runs, dataset=dataset, metric=metric).items()}


def seeds_by_eps(runs: list[dict[str, Any]], *, dataset: str, norm: str,
                 natural_fraction: float = 0.0) -> dict[float, list[float]]:
    """Figure 7's runs: per training ε, every seed's clean accuracy in %. Standard training (ε = 0,
    filed under ℓ∞) starts every curve."""
    by_eps: dict[float, list[float]] = {}
    for r in runs:
        if r["dataset"] != dataset:
            continue
        standard = r["eps"] == 0
        if standard or (r["norm"] == norm and r["natural_fraction"] == natural_fraction):
            by_eps.setdefault(r["eps"], []).append(100 * r["clean"])
    if 0.0 not in by_eps or len(by_eps) < 2:
        raise ValueError(f"no standard runs or no ε > 0 runs for {dataset} {norm} "
                         f"(natural_fraction {natural_fraction}) in the record")
    return dict(sorted(by_eps.items()))


def accuracy_by_eps(runs: list[dict[str, Any]], *, dataset: str, norm: str,
                    natural_fraction: float = 0.0) -> list[tuple[float, float, float, int]]:
    """Figure 7's curve: ``seeds_by_eps`` as (ε, mean, half-width of its 95% t interval, seeds)."""
    return [(eps, *_mean_and_half(v), len(v)) for eps, v in
            seeds_by_eps(runs, dataset=dataset, norm=norm, natural_fraction=natural_fraction).items()]




def images_to_reach(curve: dict[int, tuple[float, float]], accuracy: float) -> int | None:
    """The smallest training-set size whose mean accuracy (a ``accuracy_by_size`` curve) reaches
    ``accuracy`` (in %), or None when even the largest does not: a sample-complexity reading."""
    return next((size for size, (mean, _) in sorted(curve.items()) if mean >= accuracy), None)


def differences_from_standard(by_size: dict[tuple[str, float], dict[int, list[float]]]
                              ) -> dict[tuple[str, float], dict[int, tuple[float, float, float]]]:
    """Per adversarial model and size of a ``seeds_by_size`` table: its mean minus standard
    training's, with the 95% t interval of that difference (``stats.difference_interval``)."""
    standard = by_size[("standard", 0.0)]
    return {key: {size: difference_interval(standard[size], v) for size, v in sizes.items()}
            for key, sizes in by_size.items() if key[0] != "standard"}


def difference_lines(name: str, diffs: dict[tuple[str, float], dict[int, tuple[float, float, float]]]) -> str:
    """``differences_from_standard`` as text: one line per model, each size's difference and interval."""
    return "\n".join(f"{name} {NORM_SYMBOLS[norm]} ε = {eps} minus standard training: "
                     + "  ".join(f"{size:,}: {d:+.2f} [{lo:+.2f}, {hi:+.2f}]" for size, (d, lo, hi) in sizes.items())
                     for (norm, eps), sizes in diffs.items())
