"""How much do chapter 8's alignment measures move with the training seed? Each MNIST zoo recipe
(standard, ℓ∞ 0.1/0.2/0.3, ℓ2 1/2) re-trained at seeds 1 and 2 (seed 0 is the shipped model) and
measured on the chapter's 500 images. Writes tutorial_lib/results/alignment_seeds.json.

Usage: python benchmarks/alignment_seeds.py        (resumable; about 40 minutes on 2 cores)
"""
from __future__ import annotations

import os

os.environ.setdefault("TUTORIAL_LIB_OFFLINE", "1")

from tutorial_lib import data, interpret  # noqa: E402
from tutorial_lib.lab import records  # noqa: E402
from tutorial_lib.lab.feature_runs import ALIGNMENT_MODELS, alignment_seed_run  # noqa: E402

SEEDS = (0, 1, 2)
COMMAND = "python benchmarks/alignment_seeds.py"


def main() -> None:
    """Measure every (model, seed) not yet recorded, saving after each (resumable)."""
    try:
        rec = records.load("alignment_seeds")
    except KeyError:
        rec = {"runs": []}
    done = {(r["model"], r["seed"]) for r in rec["runs"]}
    x_test, y_test = data.load_dataset("mnist", "test")
    xs, ys = data.balanced_subset(x_test, y_test, 500, seed=0)
    means = interpret.class_means(*data.load_dataset("mnist", "train"))
    for seed in SEEDS:
        for name in ALIGNMENT_MODELS:
            if (name, seed) in done:
                continue
            r = alignment_seed_run(name, seed, xs, ys, means)
            print(f"{name:15} seed {seed}: stroke {r['stroke']:.3f}  contrast {r['contrast']:+.3f}  "
                  f"({r['train_seconds']} s)", flush=True)
            rec["runs"].append({**r, **records.stamp()})
            rec["seeds"], rec["images"] = list(SEEDS), "balanced_subset(test, 500, seed=0)"
            rec = records.save("alignment_seeds", {k: v for k, v in rec.items() if k not in ("command", "hardware")},
                               command=COMMAND)


if __name__ == "__main__":
    main()
