"""How strong is the prose check? Mutation testing of tests/test_claims_in_prose.py.

Every percentage the check reads (in a chapter's, the landing page's or the guide's prose, outside
a cited paragraph) is shifted by ±1 and ±2 in its last digit, one at a time; a mutant is *killed*
when the check then reports it. A check that accepts any number printed anywhere above kills only
the mutants that no output happens to match. The statistics issue asks for at least 95%.
Usage: python benchmarks/prose_mutants.py [--show N]   (a few seconds; no torch)
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
    """The number with its last digit moved by -2, -1, +1, +2 (staying a digit)."""
    last = int(number[-1])
    return [number[:-1] + str(last + k) for k in (-2, -1, 1, 2) if 0 <= last + k <= 9]


def checked_occurrences(page: Path):
    """(cell index, start, end, number) of every percentage the check reads on ``page``."""
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
                moved = source[:m.start(g)] + "X" + source[m.end(g):]
                read = check.prose(moved) != check.prose(source)   # inside prose, not code or a solution
                para = next((p for p in check.paragraphs(check.prose(moved)) if "X" in p), "")
                if read and not check.CITATION.search(para):
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
    killed, total = 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for page in check.PAGES:
            before = len(check.unsupported_percentages(page))
            for cell, start, end, number in checked_occurrences(page):
                for m in mutants(number):
                    total += 1
                    if len(check.unsupported_percentages(mutated(page, cell, start, end, m, Path(tmp)))) > before:
                        killed += 1
                    else:
                        survivors.append(f"{page.name} cell {cell}: {number}% → {m}%")
    return killed, total


def main() -> None:
    """Print the rate over every checked page and some survivors."""
    p = argparse.ArgumentParser()
    p.add_argument("--show", type=int, default=10, help="survivors to print")
    show = p.parse_args().show
    survivors: list[str] = []
    killed, total = kill_rate(survivors)
    print(f"killed {killed} of {total} mutants ({100 * killed / total:.1f}%) on {len(check.PAGES)} pages")
    print("\n".join(survivors[:show]))


if __name__ == "__main__":
    main()
