"""Planning a course from the book: the exercise catalogue and the student time per chapter.

The instructor guide's tables are generated here (``python -m tutorial_lib guide``) and a test
checks that the guide carries them, so they follow the chapters as they change.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutorial_lib.lab.edition import EXERCISE, SOLUTION
from tutorial_lib.lab.grading import CHECKS

READING_WPM = 100
"""Words of prose a student reads per minute in a technical text with equations (a careful
reading pace; popular non-fiction is read at about 250)."""
CODE_LINES_PER_MINUTE = 10
"""Lines of code a student reads (and runs) per minute."""
KINDS = ("conceptual", "coding", "experiment")
"""conceptual: explain or prove, no code needed; coding: write a function or a short computation
and check it; experiment: train or attack models and interpret what comes out."""


@dataclass(frozen=True)
class Exercise:
    """One exercise: its kind (``KINDS``), difficulty (1-3 stars) and expected student minutes."""

    kind: str
    difficulty: int
    minutes: int

    def __post_init__(self) -> None:
        if self.kind not in KINDS or self.difficulty not in (1, 2, 3) or self.minutes <= 0:
            raise ValueError(f"an exercise needs a kind in {KINDS}, a difficulty 1-3 and minutes > 0, "
                             f"got {self}")


EXERCISES: dict[str, Exercise] = {
    "intro-ex-pgd-loop": Exercise("coding", 1, 15),
    "intro-ex-fgsm-eps": Exercise("conceptual", 1, 10),
    "intro-ex-restarts": Exercise("experiment", 1, 20),
    "intro-ex-min-eps": Exercise("coding", 2, 25),
    "toy-ex-closed-form": Exercise("conceptual", 2, 30),
    "toy-ex-change-distribution": Exercise("coding", 3, 40),
    "toy-ex-break-assumption": Exercise("coding", 2, 25),
    "toy-ex-proof": Exercise("conceptual", 2, 20),
    "toy-ex-conditions": Exercise("conceptual", 2, 20),
    "attacks-ex-l1": Exercise("coding", 3, 45),
    "attacks-ex-noclip": Exercise("experiment", 1, 15),
    "attacks-ex-min-eps": Exercise("experiment", 2, 30),
    "eval-ex-masking": Exercise("experiment", 3, 40),
    "eval-ex-converge": Exercise("experiment", 1, 15),
    "eval-ex-schedule": Exercise("experiment", 2, 20),
    "train-ex-steps-vs-epochs": Exercise("experiment", 2, 30),
    "train-ex-detect": Exercise("coding", 1, 15),
    "train-ex-trades": Exercise("experiment", 2, 30),
    "cert-ex-box": Exercise("coding", 1, 15),
    "cert-ex-eps-curve": Exercise("experiment", 1, 15),
    "cert-ex-unstable": Exercise("conceptual", 2, 20),
    "tradeoff-ex-ties": Exercise("coding", 1, 15),
    "tradeoff-ex-noise": Exercise("coding", 2, 20),
    "tradeoff-ex-small-data": Exercise("experiment", 2, 30),
    "tradeoff-ex-own-point": Exercise("experiment", 2, 30),
    "see-ex-smoothgrad": Exercise("coding", 2, 25),
    "see-ex-first-layer-only": Exercise("experiment", 2, 30),
    "see-ex-alignment-vs-robustness": Exercise("experiment", 2, 30),
    "gen-ex-rank": Exercise("experiment", 2, 25),
    "gen-ex-budget": Exercise("experiment", 2, 30),
    "gen-ex-fashion": Exercise("experiment", 2, 25),
}
"""Every exercise of the book by label, in chapter order (a test checks it against the chapters).
Minutes are for a student who has read the chapter, including any training the exercise asks
for on a 2-core CPU (the longest train for a few minutes)."""


def _source(cell: dict[str, Any]) -> str:
    """A cell's source as one string (notebooks store it as a string or a list of lines)."""
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def chapter_contents(path: Path) -> dict[str, Any]:
    """What a student reads in a chapter: words of prose (solutions excluded), lines of code, and
    the labels of its exercises in order."""
    cells = json.loads(Path(path).read_text())["cells"]
    prose = [SOLUTION.sub("", _source(c)) for c in cells if c["cell_type"] == "markdown"]
    code = [_source(c) for c in cells if c["cell_type"] == "code"]
    labels = [re.search(r"`([\w-]+)`", m.group(0)).group(1) for p in prose for m in EXERCISE.finditer(p)]
    return {"chapter": Path(path).stem, "words": sum(len(p.split()) for p in prose),
            "code_lines": sum(1 for c in code for line in c.splitlines() if line.strip()),
            "exercises": labels}


def student_time(book: Path, run_seconds: dict[str, float]) -> list[dict[str, Any]]:
    """Per chapter: minutes to read it (``READING_WPM``, ``CODE_LINES_PER_MINUTE``), to run it
    (``run_seconds`` by chapter), and to do all its exercises (``EXERCISES``)."""
    rows = []
    for path in sorted(Path(book).glob("[0-9]*.ipynb")):
        c = chapter_contents(path)
        unknown = [e for e in c["exercises"] if e not in EXERCISES]
        if unknown:
            raise KeyError(f"{path.name}: exercises {unknown} are not in course.EXERCISES; add them")
        read = c["words"] / READING_WPM + c["code_lines"] / CODE_LINES_PER_MINUTE
        rows.append({**c, "read": read, "run": run_seconds.get(c["chapter"], 0.0) / 60,
                     "exercise_minutes": sum(EXERCISES[e].minutes for e in c["exercises"])})
    return rows


def time_table(rows: list[dict[str, Any]]) -> str:
    """The guide's table of student minutes per chapter."""
    lines = ["| chapter | words | lines of code | read (min) | run (min) | exercises | all exercises (min) | total (h) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        total = r["read"] + r["run"] + r["exercise_minutes"]
        lines.append(f"| {r['chapter']} | {r['words']:,} | {r['code_lines']} | {r['read']:.0f} | {r['run']:.1f} "
                     f"| {len(r['exercises'])} | {r['exercise_minutes']} | {total / 60:.1f} |")
    return "\n".join(lines)


def exercise_table(rows: list[dict[str, Any]]) -> str:
    """The guide's table of every exercise: chapter, kind, difficulty, expected minutes, and
    whether ``grading.check`` has an automatic check for it."""
    lines = ["| exercise | chapter | kind | difficulty | minutes | automatic check |", "|---|---|---|---|---:|---|"]
    for r in rows:
        for label in r["exercises"]:
            e = EXERCISES[label]
            lines.append(f"| `{label}` | {r['chapter']} | {e.kind} | {'★' * e.difficulty} | {e.minutes} "
                         f"| {'yes' if label in CHECKS else ''} |")
    return "\n".join(lines)


def with_table(page: str, name: str, table: str) -> str:
    """``page`` with the text between its ``<!-- name:start -->`` and ``<!-- name:end -->``
    markers replaced by ``table``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in page or end not in page:
        raise ValueError(f"the page has no {start} ... {end} markers; add them where the table goes")
    head, rest = page.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{table}\n{end}{tail}"
