"""Can robust features make learning cheaper? Train the fast CNN's classifier head on frozen
features of the robust (L∞ 0.3) or the standard zoo model, fine-tune the robust one, or train
from scratch — on MNIST and on Fashion-MNIST (transfer), with 1,000 or all training images,
over three seeds. Writes tutorial_lib/results/feature_reuse.json (chapter 6 plots it).

Usage: python benchmarks/feature_reuse.py        (about 6 minutes on 2 cores)
"""
from __future__ import annotations

import os
import time

os.environ.setdefault("TUTORIAL_LIB_OFFLINE", "1")

from tutorial_lib import experiments  # noqa: E402
from tutorial_lib.experiments import REUSE_STARTS, reuse_run  # noqa: E402

SIZES = {1000: 10, None: 2}  # train_size: epochs (100 and 1,200 optimiser steps)
SEEDS = (0, 1, 2)


def main() -> None:
    """Run every (dataset, start, size, seed) and record the per-epoch histories."""
    runs, t0 = [], time.perf_counter()
    for dataset in ("mnist", "fashion"):
        for size, epochs in SIZES.items():
            for start in REUSE_STARTS:
                for seed in SEEDS:
                    r = reuse_run(dataset, start, train_size=size, epochs=epochs, seed=seed)
                    last = r["history"][-1]
                    print(f"{dataset:8} {str(size):5} {start:26} seed {seed}: clean {last['clean']:.4f} "
                          f"robust {last['robust']:.4f} in {last['train_seconds']:.1f} s", flush=True)
                    runs.append(r)
    experiments.save("feature_reuse", {
        "sizes": {str(k): v for k, v in SIZES.items()}, "seeds": list(SEEDS),
        "starts": {k: dict(v) for k, v in REUSE_STARTS.items()}, "runs": runs,
        "total_seconds": round(time.perf_counter() - t0, 1)},
        command="python benchmarks/feature_reuse.py")


if __name__ == "__main__":
    main()
