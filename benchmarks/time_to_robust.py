"""Time to a robust MNIST model on this CPU: train the zoo's flagship recipe from scratch, then
measure it. Also trains the standard recipe the same way and prints the time ratio.

Usage: python benchmarks/time_to_robust.py [--ensemble-n 10000] [--skip-standard]
Goal (issue 4): >= 99.0% clean, >= 94% under PGD-50 (step 0.01, random start, all 10,000 test
images), >= 92% under the independent APGD-CE + APGD-T ensemble, in <= 300 s of training.
"""
from __future__ import annotations

import argparse
import os
import time

import torch

os.environ.setdefault("TUTORIAL_LIB_OFFLINE", "1")

from tutorial_lib import experiments  # noqa: E402
from tutorial_lib.budgets import independent_ensemble, pgd_budget  # noqa: E402
from tutorial_lib.data import load_dataset  # noqa: E402
from tutorial_lib.devices import hardware  # noqa: E402
from tutorial_lib.evaluate import accuracy, robust_accuracy  # noqa: E402
from tutorial_lib.train import train  # noqa: E402


def main() -> None:
    """Train, measure, print."""
    p = argparse.ArgumentParser()
    p.add_argument("--ensemble-n", type=int, default=experiments.ENSEMBLE_N)
    p.add_argument("--skip-standard", action="store_true")
    args = p.parse_args()
    cfg = experiments.FLAGSHIP
    print(f"torch {torch.__version__}, {hardware()}")
    print(f"flagship recipe: {cfg}")
    start = time.perf_counter()
    model = train(cfg).model
    seconds = time.perf_counter() - start
    x, y = load_dataset("mnist", "test")
    clean = accuracy(model, (x, y))
    pgd50 = robust_accuracy(model, (x, y), attack=pgd_budget(0.3, "linf"))
    ens = independent_ensemble(model, x[: args.ensemble_n], y[: args.ensemble_n], eps=0.3)
    print(f"training wall-clock: {seconds:.1f} s")
    print(f"clean accuracy (10,000 test images): {100 * clean:.2f}%")
    print(f"PGD-50 accuracy: {pgd50}")
    print(f"APGD-CE + APGD-T (torchattacks, worst case) on the first {args.ensemble_n} test "
          f"images: {100 * ens:.2f}%")
    if not args.skip_standard:
        start = time.perf_counter()
        std_model = train(experiments.RECIPES["mnist_standard"]).model
        std_seconds = time.perf_counter() - start
        print(f"standard recipe: {std_seconds:.1f} s, clean {100 * accuracy(std_model, (x, y)):.2f}%"
              f" -> robust training costs {seconds / std_seconds:.1f}x the standard time")


if __name__ == "__main__":
    main()
