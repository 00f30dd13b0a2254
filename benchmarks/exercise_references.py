"""Reference answers for the exercises whose worked solution trains or generates for minutes:
the worked solution's code (``tutorial_lib.lab.grading.REFERENCES``) run once here and recorded, so
that a student's check in Colab takes no time. The tests re-run the worked solutions against it.

Writes tutorial_lib/results/exercise_references.json, one exercise at a time (an interrupted run
keeps what it finished; ``--only LABEL ...`` re-records some).
Usage: python benchmarks/exercise_references.py [--only LABEL ...]   (about 15 minutes on 2 cores)
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TUTORIAL_LIB_OFFLINE", "1")

from tutorial_lib.lab import grading, records  # noqa: E402

COMMAND = "python benchmarks/exercise_references.py"


def main() -> None:
    """Compute each reference and record it."""
    p = argparse.ArgumentParser()
    p.add_argument("--only", nargs="+", choices=sorted(grading.REFERENCES), default=list(grading.REFERENCES))
    labels = p.parse_args().only
    try:
        record = records.load("exercise_references")
    except KeyError:
        record = {"references": {}, "seconds": {}}
    for label in labels:
        start = time.perf_counter()
        record["references"][label] = grading.REFERENCES[label]()
        record["seconds"][label] = round(time.perf_counter() - start, 1)
        record.setdefault("machines", {})[label] = records.stamp()["hardware"]   # "hardware": the last save's
        record = records.save("exercise_references", record, command=COMMAND)
        print(f"{label}: {record['references'][label]}  ({record['seconds'][label]} s)", flush=True)


if __name__ == "__main__":
    main()
