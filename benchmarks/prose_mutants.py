"""How strong is the prose check? Mutation testing of tests/test_claims_in_prose.py.

Every number the check reads (in a chapter's, the landing page's or the guide's prose, less what it
lists as left out) is moved by one unit in its last digit, down and up, one at a time; a mutant is
*killed* when the check then reports it: nothing its paragraph may quote supports it, or the number
it was bound to does not. The statistics issue asks for at least 95%.

Usage: python benchmarks/prose_mutants.py [--show N] [--every K]   (a minute or two; no torch)
       python benchmarks/prose_mutants.py --bind   (bind each stated number to the printed number it
                                                    quotes, keeping bindings that hold; review the diff)
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
import test_claims_in_prose as check  # noqa: E402

SENTINEL = "987654.125"
"""A number no page prints: put in a number's place, it shows whether the check reads that place."""


def mutants(number: str) -> list[str]:
    """The number moved by one unit in its last digit, down and up, at its precision and in its
    format ("92.25" → "92.24", "92.26"; "10,000" → "9,999", "10,001"; never below zero)."""
    plain = number.replace(",", "")
    places = len(plain.split(".")[1]) if "." in plain else 0
    moved = (round(float(plain) + k * 10 ** -places, places) for k in (-1, 1))
    return [f"{x:,.{places}f}" if "," in number else f"{x:.{places}f}" for x in moved if x >= 0]


class Pages:
    """The checked pages held in memory, so that a mutant is one edit of one cell, not a file."""

    def __init__(self) -> None:
        self.cells = {page.name: check.cells_of(page) for page in check.PAGES}
        self.reader = check.cells_of
        check.cells_of = lambda page: self.cells.get(page.name) or self.reader(page)

    def close(self) -> None:
        """Let the check read the pages from disk again."""
        check.cells_of = self.reader

    def replaced(self, page: Path, cell: int, start: int, end: int, text: str):
        """A context in which one span of one markdown cell reads ``text``."""
        pages = self

        class Edit:
            def __enter__(self):
                self.source = pages.cells[page.name][cell]["source"]
                joined = "".join(self.source)
                pages.cells[page.name][cell] = {**pages.cells[page.name][cell], "source": joined[:start] + text + joined[end:]}

            def __exit__(self, *exc):
                pages.cells[page.name][cell] = {**pages.cells[page.name][cell], "source": self.source}
        return Edit()


def reported(page: Path, cell: int, bindings: dict | None) -> int:
    """How many complaints the check makes about one cell of a page (without ``bindings``: only that
    nothing in reach supports a number)."""
    unsupported = len(check.unsupported_numbers(page, only=cell))
    return unsupported + (len(check.misquoted_numbers(page, bindings.get(page.name, {}), only=cell)) if bindings else 0)


def stated_in(page: Path, cell: int) -> list[str]:
    """The numbers the check reads in one cell."""
    return [s[2] for s in check.stated_numbers(page, only=cell)]


def checked_occurrences(pages: Pages, page: Path):
    """(cell index, start, end, number) of every number the check reads on ``page``."""
    for i, cell in enumerate(pages.cells[page.name]):
        if cell["cell_type"] != "markdown":
            continue
        source, count = "".join(cell["source"]), len(stated_in(page, i))
        for m in check.STATED.finditer(source):
            with pages.replaced(page, i, m.start(), m.end(), SENTINEL):
                read = stated_in(page, i)
            if SENTINEL in read and len(read) == count:
                yield i, m.start(), m.end(), m.group()


def kill_rate(survivors: list[str] | None = None, every: int = 1, *, bound: bool = True) -> tuple[int, int]:
    """(killed, total) mutants of every ``every``-th checked number; survivors go to ``survivors``.
    With ``bound=False`` only the support check counts: how many mutants no source in reach would
    support, which the bindings then turn into failures (and which a careless ``--bind`` would not)."""
    survivors = [] if survivors is None else survivors
    bindings = json.loads(check.BINDINGS.read_text())
    pages, killed, total = Pages(), 0, 0
    try:
        for page in check.PAGES:
            for k, (cell, start, end, number) in enumerate(checked_occurrences(pages, page)):
                if k % every:
                    continue
                before = reported(page, cell, bindings if bound else None)
                for m in mutants(number):
                    total += 1
                    with pages.replaced(page, cell, start, end, m):
                        caught = reported(page, cell, bindings if bound else None) > before
                    killed += caught
                    if not caught:
                        survivors.append(f"{page.name} cell {cell}: {number} → {m}")
    finally:
        pages.close()
    return killed, total


def left_out() -> dict[str, int]:
    """How many stated numbers each of the check's exclusions leaves out, over every checked page."""
    totals: dict[str, int] = {}
    for page in check.PAGES:
        for name, n in check.left_out(page).items():
            totals[name] = totals.get(name, 0) + n
    return totals


def write_bindings() -> None:
    """Bind every stated number to the printed number it quotes (tests/prose_sources.json), keeping
    each binding that still holds (so one corrected by hand stays)."""
    kept = json.loads(check.BINDINGS.read_text()) if check.BINDINGS.exists() else {}
    bindings = {page.name: check.bind(page, kept.get(page.name)) for page in check.PAGES}
    check.BINDINGS.write_text(json.dumps(bindings, indent=1, ensure_ascii=False) + "\n")
    rows = [b for page in bindings.values() for row in page.values() for b in row]
    unbound = sum(b[0] is None for b in rows)
    print(f"bound {len(rows) - unbound} stated numbers; {unbound} unsupported")


def main() -> None:
    """Print the rate over every checked page, what is left out, and some survivors."""
    p = argparse.ArgumentParser()
    p.add_argument("--show", type=int, default=10, help="survivors to print")
    p.add_argument("--every", type=int, default=1, help="mutate every k-th checked number only")
    p.add_argument("--bind", action="store_true", help="rewrite tests/prose_sources.json")
    a = p.parse_args()
    if a.bind:
        return write_bindings()
    survivors: list[str] = []
    killed, total = kill_rate(survivors, a.every)
    print(f"killed {killed} of {total} mutants ({100 * killed / total:.1f}%) on {len(check.PAGES)} pages")
    support, _ = kill_rate(None, a.every, bound=False)
    print(f"without the bindings (support in reach only): {support} of {total} ({100 * support / total:.1f}%)")
    print("left out:", ", ".join(f"{k} {v}" for k, v in left_out().items()))
    print("\n".join(survivors[:a.show]))


if __name__ == "__main__":
    main()
