"""The runs behind chapter 5, recorded to tutorial_lib/results/ (resumable: finished runs in the
files are skipped, and each run is saved as soon as it ends).

  figure1.json          standard accuracy against training-set size, per training ε (Figure 1/6)
  operating_points.json clean and strong-budget robust accuracy at five threats, on a validation
                        and a test half of the test set, for the zoo's MNIST models, TRADES at two
                        β and PGD with half of each batch natural (Appendix B)

Usage: python benchmarks/tradeoff_runs.py [figure1|points]   (about 30 minutes on 2 cores)
"""
from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("TUTORIAL_LIB_OFFLINE", "1")

from tutorial_lib import experiments as ex  # noqa: E402


def _load(name: str, empty: dict) -> dict:
    try:
        return ex.load(name)
    except KeyError:
        return empty


def figure1() -> None:
    """Every (norm, eps, size) point, seed 0; standard training at 1% also with seeds 1 and 2."""
    rec = _load("figure1", {"steps": ex.FIG1_STEPS, "runs": []})
    done = {(r["norm"], r["eps"], r["train_size"], r["seed"]) for r in rec["runs"]}
    for norm, eps in ex.FIG1_EPS:
        for size in ex.FIG1_SIZES:
            for seed in ((0, 1, 2) if size == ex.FIG1_SIZES[0] and eps == 0 else (0,)):
                if (norm, eps, size, seed) in done:
                    continue
                r = ex.figure1_run(norm, eps, size, seed)
                rec["runs"].append(r)
                ex.save("figure1", rec, command="python benchmarks/tradeoff_runs.py figure1")
                print(f"figure1 {norm} {eps} {size:6d} seed {seed}: clean {r['clean']:.4f} "
                      f"in {r['train_seconds']:.0f} s", flush=True)


def points() -> None:
    """Measure the zoo's MNIST models; train and measure the extra recipes."""
    rec = _load("operating_points", {"split_n": ex.SPLIT_N, "points": []})
    done = {p["name"] for p in rec["points"]}
    for name in [*ex.ZOO_POINTS, *ex.EXTRA_POINTS]:
        if name in done:
            continue
        rec["points"].append(ex.point_run(name))
        ex.save("operating_points", rec, command="python benchmarks/tradeoff_runs.py points")
        print(f"point {name}: {rec['points'][-1]['val']}", flush=True)


if __name__ == "__main__":
    t0 = time.perf_counter()
    which = sys.argv[1:] or ["figure1", "points"]
    for stage in which:
        {"figure1": figure1, "points": points}[stage]()
    print(f"done in {time.perf_counter() - t0:.0f} s")
