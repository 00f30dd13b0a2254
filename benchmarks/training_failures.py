"""How adversarial training fails: PGD at ε = 0.3 without a warm-up, and FGSM's catastrophic
overfitting, over three seeds, with clean / FGSM / PGD-20 accuracy after every epoch.
Writes tutorial_lib/results/training_failures.json (chapter 5's curves).

Usage: python benchmarks/training_failures.py    (about 5 minutes on 2 cores)
"""
from __future__ import annotations

import os
import time

os.environ.setdefault("TUTORIAL_LIB_OFFLINE", "1")

from tutorial_lib.lab import records  # noqa: E402
from tutorial_lib.lab.training_runs import failure_run  # noqa: E402
from tutorial_lib.lab.recipes import FAILURE_RUNS  # noqa: E402

SEEDS = (0, 1, 2)


def main() -> None:
    """Run every recipe with every seed and record the per-epoch curves."""
    runs, t0 = [], time.perf_counter()
    for name in FAILURE_RUNS:
        for seed in SEEDS:
            r = failure_run(name, seed=seed)
            last = r["history"][-1]
            print(f"{name:20} seed {seed}: clean {last['clean']:.3f} fgsm {last['fgsm']:.3f} "
                  f"pgd {last['robust']:.3f}", flush=True)
            runs.append(r)
    records.save("training_failures", {"seeds": list(SEEDS), "runs": runs,
                                           "total_seconds": round(time.perf_counter() - t0, 1)},
                     command="python benchmarks/training_failures.py")


if __name__ == "__main__":
    main()
