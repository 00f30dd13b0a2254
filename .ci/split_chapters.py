"""Share the chapters in the current folder among WORKERS pytest processes, balanced by the
seconds each took: in this CI run's first nbval pass when its log is given (pytest's --durations
lines), else when last timed by benchmarks/book_time.py. Print one group per line.

Usage: python split_chapters.py BOOK_TIME_JSON WORKERS [NBVAL_LOG]
(each group also runs the interpreter check)
"""
import json
import re
import sys
from pathlib import Path


def seconds_from_log(path: str) -> dict[str, float]:
    """Seconds per chapter summed over the cells of a pytest --durations=0 report."""
    out: dict[str, float] = {}
    text = Path(path).read_text(errors="replace") if Path(path).is_file() else ""
    for secs, chapter in re.findall(r"^([\d.]+)s \w+\s+(\S+)\.ipynb::", text, flags=re.M):
        out[chapter] = out.get(chapter, 0.0) + float(secs)
    return out


recorded = {r["chapter"]: r["seconds"] for r in json.loads(Path(sys.argv[1]).read_text())["chapters"]}
seconds = (seconds_from_log(sys.argv[3]) if len(sys.argv) > 3 else {}) or recorded
workers = int(sys.argv[2])
load, groups = [0.0] * workers, [[] for _ in range(workers)]
chapters = sorted((p for p in Path(".").glob("*.ipynb") if not p.name.startswith("00_")),   # the lab notes too
                  key=lambda p: -seconds.get(p.stem, 60.0))
for nb in chapters:
    k = load.index(min(load))  # the least loaded worker takes the longest chapter left
    groups[k].append(nb.name)
    load[k] += seconds.get(nb.stem, 60.0)
for g in groups:
    print(" ".join(["00_interpreter_check.ipynb"] + sorted(g)))
