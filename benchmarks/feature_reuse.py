"""Can robust features make learning cheaper? Train the fast CNN's classifier head on frozen
features of the robust (L∞ 0.3) or the standard zoo model, fine-tune the robust one, or train
from scratch — on MNIST and on Fashion-MNIST (transfer), with 1,000 or all training images,
over three seeds. Writes tutorial_lib/results/feature_reuse.json (chapter 8 plots it).

Usage: python benchmarks/feature_reuse.py        (resumable; about 6 minutes on 2 cores for all)
"""
from __future__ import annotations

import os
import time

os.environ.setdefault("TUTORIAL_LIB_OFFLINE", "1")

from tutorial_lib.lab import records  # noqa: E402
from tutorial_lib.lab.feature_runs import reuse_run  # noqa: E402
from tutorial_lib.lab.recipes import REUSE_STARTS  # noqa: E402

SIZES = {1000: 10, None: 2}  # train_size: epochs (100 and 1,200 optimiser steps)
SEEDS = (0, 1, 2)


def main() -> None:
    """Run every (dataset, start, size, seed) not yet recorded, saving after each (resumable)."""
    try:
        rec = records.load("feature_reuse")
    except KeyError:
        rec = {"runs": [], "total_seconds": 0.0}
    done = {(r["dataset"], r["start"], r["train_size"], r["seed"]) for r in rec["runs"]}
    for dataset in ("mnist", "fashion"):
        for size, epochs in SIZES.items():
            for start in REUSE_STARTS:
                for seed in SEEDS:
                    if (dataset, start, size, seed) in done:
                        continue
                    t0 = time.perf_counter()
                    r = reuse_run(dataset, start, train_size=size, epochs=epochs, seed=seed)
                    r.update(records.stamp())
                    last = r["history"][-1]
                    print(f"{dataset:8} {str(size):5} {start:30} seed {seed}: clean {last['clean']:.4f} "
                          f"robust {last['robust']:.4f} in {last['train_seconds']:.1f} s", flush=True)
                    rec["runs"].append(r)
                    rec.update({"sizes": {str(k): v for k, v in SIZES.items()}, "seeds": list(SEEDS),
                                "starts": {k: dict(v) for k, v in REUSE_STARTS.items()},
                                "total_seconds": round(rec["total_seconds"] + time.perf_counter() - t0, 1)})
                    records.save("feature_reuse", {k: v for k, v in rec.items()
                                                       if k not in ("command", "hardware")},
                                     command="python benchmarks/feature_reuse.py")


if __name__ == "__main__":
    main()
