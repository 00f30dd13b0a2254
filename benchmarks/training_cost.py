"""The cost of robustness on this CPU: seconds per epoch and accuracy reached by standard,
FGSM-RS and PGD-k training (the zoo's flagship recipe at 4 epochs), one run each, same machine,
nothing else running. Writes tutorial_lib/results/training_cost.json (chapter 5's cost table).

Usage: python benchmarks/training_cost.py        (about 8 minutes on 2 cores)
"""
from __future__ import annotations

import os
import time

os.environ.setdefault("TUTORIAL_LIB_OFFLINE", "1")

from tutorial_lib.lab import records  # noqa: E402
from tutorial_lib.lab.training_runs import cost_run  # noqa: E402
from tutorial_lib.lab.recipes import COST_METHODS  # noqa: E402


def main() -> None:
    """Run each method once and record it."""
    runs, t0 = [], time.perf_counter()
    for name in COST_METHODS:
        r = cost_run(name)
        print(f"{name:9} {r['seconds_per_epoch']:6.1f} s/epoch  clean {100 * r['clean']:.2f}%  "
              f"strong {100 * r['strong']:.1f}%", flush=True)
        runs.append(r)
    records.save("training_cost", {"runs": runs, "total_seconds": round(time.perf_counter() - t0, 1)},
                     command="python benchmarks/training_cost.py")


if __name__ == "__main__":
    main()
