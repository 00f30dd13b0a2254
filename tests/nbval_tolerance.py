"""An nbval hook: numbers from training or attacks are compared within a tolerance the cell declares.

Floating-point training is not bit-identical across CPU instruction sets, thread counts and torch
versions, so a cell whose printed numbers come from training or an attack declares how far they
may move, in its metadata::

    {"tolerance": {"abs": 1.5}}                  # every number may move by 1.5 (in its printed unit)
    {"tolerance": {"percent": 3.0, "abs": 0.2}}  # numbers printed with "%" by 3 points, others by 0.2
    {"tolerance": {"abs": 0.5, "rel": 0.02}}     # |new - stored| <= abs + rel * |stored|

For such a cell the text outputs are compared with every number masked (the words must still
agree exactly), then the numbers pairwise within the tolerance. Every other cell is compared
exactly, as nbval does. Load it with ``pytest --nbval -p nbval_tolerance`` (this folder on
``PYTHONPATH``); ``.ci/test.sh`` does.
"""
from __future__ import annotations

import copy
import re
import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest

KEY = "tolerance"
"""The cell-metadata key that declares a tolerance."""

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?(?!\w)")
"""A printed number: not part of a name (``l2``, ``linf_0.3``, ``x1`` stay text); thousands
separators (``10,000``), a sign, a fraction and an exponent are part of it."""

MASK = "<n>"


class Printed(NamedTuple):
    """A number as printed: its value, and whether a ``%`` follows it."""

    value: float
    percent: bool = False


@dataclass(frozen=True)
class Tolerance:
    """How far a printed number may move: ``|new - stored| <= abs + rel * |stored|``, with
    ``percent`` in place of ``abs`` for numbers printed with a ``%`` (when it is given)."""

    abs: float = 0.0
    rel: float = 0.0
    percent: float | None = None

    def allows(self, stored: Printed, new: Printed) -> bool:
        """Whether ``new`` is close enough to ``stored``."""
        base = self.percent if stored.percent and self.percent is not None else self.abs
        bound = base + self.rel * abs(stored.value)
        return abs(new.value - stored.value) <= bound * (1 + 1e-9) + 1e-12  # 98.9 -> 99.4 is within 0.5

    def __str__(self) -> str:
        parts = ([f"percent {self.percent:g}"] if self.percent is not None else []) + \
            [f"abs {self.abs:g}"] + ([f"rel {self.rel:g}"] if self.rel else [])
        return ", ".join(parts)


FIELDS = ("abs", "rel", "percent")


def tolerance_of(metadata: dict[str, Any]) -> Tolerance | None:
    """The tolerance a cell declares in its metadata, or None; a malformed one is refused."""
    spec = metadata.get(KEY)
    if spec is None:
        return None
    if not isinstance(spec, dict) or not spec or set(spec) - set(FIELDS):
        raise ValueError(f'cell metadata "{KEY}" must be a dict of {", ".join(FIELDS)}, '
                         f'e.g. {{"percent": 2.0, "abs": 0.1}}; got {spec!r}')
    for k, v in spec.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
            raise ValueError(f'cell metadata "{KEY}": {k} must be a number >= 0, got {v!r}')
    return Tolerance(**{k: float(v) for k, v in spec.items()})


def parse_number(text: str) -> float:
    """The value of a matched number (thousands separators dropped)."""
    return float(text.replace(",", ""))


PADDED = re.compile(r"(?P<pad> *)(?P<num>" + NUMBER.pattern + ")")


def mask_numbers(text: str) -> tuple[str, list[Printed]]:
    """``text`` with every number replaced by ``<n>``, and the numbers in order.

    The spaces that pad a number in a column count as part of it (``accuracy  98.8%`` and
    ``accuracy 100.0%`` have the same words), so a number that gains a digit does not fail.
    """
    numbers = [Printed(parse_number(m.group("num")), text[m.end():m.end() + 1] == "%")
               for m in PADDED.finditer(text)]
    return PADDED.sub(lambda m: (" " if m.group("pad") else "") + MASK, text), numbers


def number_mismatches(stored: list[Printed], new: list[Printed], tol: Tolerance) -> list[str]:
    """One line per number that moved outside ``tol`` (the lists have the same length)."""
    return [f"number {i + 1}: stored {a.value:g}{'%' * a.percent}, new {b.value:g}{'%' * b.percent}, "
            f"moved {abs(b.value - a.value):.4g} > tolerance ({tol})"
            for i, (a, b) in enumerate(zip(stored, new)) if not tol.allows(a, b)]


def _text_fields(output: dict[str, Any]) -> Iterable[tuple[dict[str, Any], str]]:
    """The (container, key) pairs of an output that hold text to compare."""
    if output.get("output_type") == "stream":
        yield output, "text"
    for mime in output.get("data", {}):
        if mime.startswith("text/"):
            yield output["data"], mime


def mask_outputs(outputs: list[Any]) -> tuple[list[Any], list[Printed]]:
    """Copies of ``outputs`` with numbers masked in their text, and all numbers in order."""
    masked, numbers = copy.deepcopy(outputs), []
    for output in masked:
        for container, key in _text_fields(output):
            value = container[key]
            text = "".join(value) if isinstance(value, list) else value
            container[key], found = mask_numbers(text)
            numbers += found
    return masked, numbers


def tolerant_compare(item: Any, test: list[Any], ref: list[Any], skip_compare: Any = None) -> bool:
    """nbval's ``compare_outputs`` for a cell with a tolerance: words exactly, numbers within it."""
    tol = tolerance_of(item.cell.metadata)
    test_m, new = mask_outputs(test)
    ref_m, stored = mask_outputs(ref)
    if not type(item).compare_outputs(item, test_m, ref_m, skip_compare):
        item.comparison_traceback.insert(0, f"(numbers masked as {MASK}: this cell declares a "
                                            f"tolerance, {tol}, so only its words must agree)")
        return False
    problems = number_mismatches(stored, new, tol)
    if problems:
        item.comparison_traceback = [
            f"Cell {item.cell_num}: {len(problems)} number(s) outside the tolerance the cell "
            f"declares ({tol}):", *problems,
            "If the change is real, re-execute the chapter and commit it; if this machine only "
            "differs, widen the tolerance (measured by benchmarks/reproducibility.py)."]
        return False
    return True


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every notebook cell that declares a tolerance the tolerant comparison."""
    for item in items:
        cell = getattr(item, "cell", None)
        if cell is None or not hasattr(item, "compare_outputs"):
            continue
        try:
            tol = tolerance_of(cell.metadata)
        except ValueError as err:
            raise pytest.UsageError(f"{item.nodeid}: {err}") from None
        if tol is not None:
            item.compare_outputs = types.MethodType(tolerant_compare, item)
