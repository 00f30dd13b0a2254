"""How strong is the prose check? Mutation testing of tests/test_claims_in_prose.py.

Every percentage the check reads (in a chapter's, the landing page's or the guide's prose, outside
a cited paragraph and the other exclusions it lists) is moved by one unit in its last digit, down
and up, one at a time; a mutant is *killed* when the check then reports it: no output its paragraph
may quote supports it, or the output line it was bound to does not say it. The statistics issue
asks for at least 95%.

Usage: python benchmarks/prose_mutants.py [--show N]   (a few seconds; no torch)
       python benchmarks/prose_mutants.py --bind       (bind each stated percentage to the nearest
                                                        printed number that supports it; review the diff)
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
import test_claims_in_prose as check  # noqa: E402


def mutants(number: str) -> list[str]:
    """The number moved by one unit in its last digit, down and up, at its precision ("92.25" →
    "92.24", "92.26"; "10" → "9", "11"; never below zero)."""
    places = len(number.split(".")[1]) if "." in number else 0
    moved = (round(float(number) + k * 10 ** -places, places) for k in (-1, 1))
    return [f"{x:.{places}f}" for x in moved if x >= 0]


def checked_occurrences(page: Path):
    """(cell index, start, end, number) of every percentage the check reads on ``page`` (in prose,
    outside a sentence that cites its source)."""
    cells = json.loads(page.read_text())["cells"] if page.suffix == ".ipynb" else [
        {"cell_type": "markdown", "source": page.read_text()}]
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"])
        for m in check.PERCENT.finditer(source):
            for g in (1, 2):
                if m.group(g) is None:
                    continue
                moved = source[:m.start(g)] + "⟦n⟧" + source[m.end(g):]
                read = check.prose(moved) != check.prose(source)   # inside prose, not code or a solution
                para = next((p for p in check.paragraphs(check.prose(moved)) if "⟦n⟧" in p), "")
                if read and "⟦n⟧" in check.uncited(para):
                    yield i, m.start(g), m.end(g), m.group(g)


def mutated(page: Path, cell: int, start: int, end: int, number: str, folder: Path) -> Path:
    """A copy of ``page`` with one number replaced."""
    if page.suffix == ".ipynb":
        nb = json.loads(page.read_text())
        src = "".join(nb["cells"][cell]["source"])
        nb["cells"][cell]["source"] = src[:start] + number + src[end:]
        text = json.dumps(nb)
    else:
        src = page.read_text()
        text = src[:start] + number + src[end:]
    out = folder / page.name
    out.write_text(text)
    return out


def kill_rate(survivors: list[str] | None = None) -> tuple[int, int]:
    """(killed, total) mutants over every checked page; survivors are appended to ``survivors``."""
    survivors = [] if survivors is None else survivors
    bindings = json.loads(check.BINDINGS.read_text())
    killed, total = 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for page in check.PAGES:
            def reported(p: Path) -> int:
                return len(check.unsupported_percentages(p)) + len(check.misquoted_percentages(p, bindings[page.name]))
            before = reported(page)
            for cell, start, end, number in checked_occurrences(page):
                for m in mutants(number):
                    total += 1
                    if reported(mutated(page, cell, start, end, m, Path(tmp))) > before:
                        killed += 1
                    else:
                        survivors.append(f"{page.name} cell {cell}: {number}% → {m}%")
    return killed, total


def excluded() -> dict[str, int]:
    """How many percentages each of the check's exclusions leaves out, over every checked page."""
    totals: dict[str, int] = {}
    for page in check.PAGES:
        for cell in check.cells_of(page):
            if cell["cell_type"] == "markdown":
                for name, n in check.excluded_percentages("".join(cell["source"])).items():
                    totals[name] = totals.get(name, 0) + n
    return totals


def write_bindings() -> None:
    """Bind every stated percentage to the printed number it quotes (tests/prose_sources.json), keeping
    each binding that still holds (so one corrected by hand stays)."""
    kept = json.loads(check.BINDINGS.read_text()) if check.BINDINGS.exists() else {}
    bindings = {page.name: check.bind(page, kept.get(page.name)) for page in check.PAGES}
    check.BINDINGS.write_text(json.dumps(bindings, indent=1, ensure_ascii=False) + "\n")
    unbound = sum(key is None for b in bindings.values() for key, _, _ in b)
    print(f"bound {sum(map(len, bindings.values())) - unbound} stated percentages; {unbound} unsupported")


def main() -> None:
    """Print the rate over every checked page and some survivors."""
    p = argparse.ArgumentParser()
    p.add_argument("--show", type=int, default=10, help="survivors to print")
    p.add_argument("--bind", action="store_true", help="rewrite tests/prose_sources.json")
    a = p.parse_args()
    if a.bind:
        return write_bindings()
    show = a.show
    survivors: list[str] = []
    killed, total = kill_rate(survivors)
    print(f"killed {killed} of {total} mutants ({100 * killed / total:.1f}%) on {len(check.PAGES)} pages")
    print("left out:", ", ".join(f"{k} {v}" for k, v in excluded().items()))
    print("\n".join(survivors[:show]))


if __name__ == "__main__":
    main()
