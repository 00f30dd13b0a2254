"""How long each chapter takes to re-execute under nbval on this machine, and the whole book.

Usage: python benchmarks/book_time.py [book/03_attacks.ipynb ...]
Goal (issue 11): the whole book <= 15 minutes on 2 cores (stretch: 10). Each chapter runs in its
own pytest process, as CI runs them; the table is also written to
tutorial_lib/results/book_time.json for the instructor guide.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tutorial_lib.lab import course, records  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def code_digest(notebook: Path) -> str:
    """A short hash of a chapter's code cells: a recorded time is this version's while it matches."""
    cells = json.loads(Path(notebook).read_text())["cells"]
    code = "\n\x00".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return hashlib.sha256(code.encode()).hexdigest()[:16]


def time_table(rec: dict) -> str:
    """The instructor guide's table of minutes per chapter, from a book_time record."""
    lines = ["| chapter | minutes on 2 CPU cores |", "|---|---|"]
    lines += [f"| {r['chapter']} | {r['seconds'] / 60:.1f} |" for r in rec["chapters"]]
    lines.append(f"| **whole book** | **{rec['total_seconds'] / 60:.1f}** |")
    return "\n".join(lines) + f"\n\n(measured on {rec['hardware']})"


def with_time_table(page: str, rec: dict) -> str:
    """The guide's text with the table between its book_time markers replaced."""
    return course.with_table(page, "book_time", time_table(rec))


def main() -> int:
    """Time nbval on each chapter; print a table; record it."""
    notebooks = [Path(a) for a in sys.argv[1:]] or sorted((ROOT / "book").glob("[0-9]*.ipynb"))
    env = {**os.environ, "CI": "true", "TUTORIAL_LIB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    env.setdefault("TUTORIAL_LIB_DATA", str(ROOT.parent / "shared" / "data"))
    rows, failed = [], False
    for nb in notebooks:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "--nbval", "--nbval-current-env",
                               "-p", "nbval_tolerance", "-p", "no:cacheprovider", str(nb)],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        failed |= proc.returncode != 0
        rows.append({"chapter": Path(nb).stem, "seconds": round(seconds, 1), "passed": proc.returncode == 0,
                     "code": code_digest(nb)})
        print(f"{Path(nb).stem:<28} {seconds:6.1f} s  {'ok' if proc.returncode == 0 else 'FAILED'}", flush=True)
    total = sum(r["seconds"] for r in rows)
    print(f"{'whole book':<28} {total:6.1f} s  ({total / 60:.1f} min; goal <= 15 min)")
    if len(rows) == len(sorted((ROOT / "book").glob("[0-9]*.ipynb"))):
        rec = records.save("book_time", {"chapters": rows, "total_seconds": round(total, 1)},
                               command="python benchmarks/book_time.py")
        guide = ROOT / "book" / "instructor_guide.md"
        guide.write_text(with_time_table(guide.read_text(), rec))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
