"""Share the chapters in the current folder among WORKERS pytest processes, balanced by the
seconds each took when last timed (benchmarks/book_time.py); print one group per line.

Usage: python split_chapters.py BOOK_TIME_JSON WORKERS   (each group also runs the interpreter check)
"""
import json
import sys
from pathlib import Path

seconds = {r["chapter"]: r["seconds"] for r in json.loads(Path(sys.argv[1]).read_text())["chapters"]}
workers = int(sys.argv[2])
load, groups = [0.0] * workers, [[] for _ in range(workers)]
chapters = sorted((p for p in Path(".").glob("[0-9]*.ipynb") if not p.name.startswith("00_")),
                  key=lambda p: -seconds.get(p.stem, 60.0))
for nb in chapters:
    k = load.index(min(load))  # the least loaded worker takes the longest chapter left
    groups[k].append(nb.name)
    load[k] += seconds.get(nb.stem, 60.0)
for g in groups:
    print(" ".join(["00_interpreter_check.ipynb"] + sorted(g)))
