"""IBP recipes chosen on validation: for each radius, the training ball (first cut at 10 epochs),
then the length (``IBP_EPOCHS``, doubled beyond them while the longest run still certifies more
of the 5,000 held-out training images than the one before, beyond noise; at most ``MAX_EPOCHS``). Resumable: finished runs stay in the record.
Writes tutorial_lib/results/ibp_runs.json (the certified-robustness chapter and the zoo recipes).

Usage: python benchmarks/ibp_runs.py [--eps 0.1 0.3]    (about 15 minutes per radius on 2 cores)
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("TUTORIAL_LIB_OFFLINE", "1")

from tutorial_lib.lab import records  # noqa: E402
from tutorial_lib.train import TrainConfig  # noqa: E402
from tutorial_lib.lab.certified_runs import best_run, ibp_run, length_curve, still_rising  # noqa: E402
from tutorial_lib.lab.recipes import IBP_EPOCHS, IBP_SCALES, ibp_config  # noqa: E402

NAME, COMMAND = "ibp_runs", "python benchmarks/ibp_runs.py"
MAX_EPOCHS = 160


def run_or_reuse(cfg, runs: list[dict]) -> dict:
    """The recorded run of ``cfg``, or a fresh one, recorded at once (a crash loses one run at most)."""
    for r in runs:
        if TrainConfig(**r["config"]) == cfg:   # fields added later take their defaults
            return r
    r = ibp_run(cfg)
    runs.append(r)
    records.save(NAME, {"runs": runs}, command=COMMAND)
    print(f"eps {cfg.eps} scale {cfg.eps_train_scale:.3g} epochs {cfg.epochs}: clean "
          f"{r['validation_clean']:.4f} certified {r['validation_certified']:.4f} "
          f"({r['train_seconds']:.0f} s)", flush=True)
    return r


def main() -> None:
    """First cut over the training balls at 10 epochs, then every length with the best of them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eps", type=float, nargs="+", default=sorted(IBP_SCALES))
    args = parser.parse_args()
    try:
        runs = records.load(NAME)["runs"]
    except KeyError:
        runs = []
    for eps in args.eps:
        first = [run_or_reuse(ibp_config(eps, epochs=10, scale=s), runs) for s in IBP_SCALES[eps]]
        scale = best_run(first)["config"]["eps_train_scale"]
        for epochs in IBP_EPOCHS:
            run_or_reuse(ibp_config(eps, epochs=epochs, scale=scale), runs)
        epochs = IBP_EPOCHS[-1]
        while still_rising(length_curve(runs, eps)) and epochs < MAX_EPOCHS:  # longer, until it stops paying
            epochs *= 2
            run_or_reuse(ibp_config(eps, epochs=epochs, scale=scale), runs)


if __name__ == "__main__":
    main()
