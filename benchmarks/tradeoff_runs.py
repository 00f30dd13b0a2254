"""The runs behind chapter 5, recorded to tutorial_lib/results/ (resumable: finished runs in the
files are skipped, and each run is saved as soon as it ends).

  figure1.json          standard accuracy against training-set size, per training ε (Figure 1/6)
  figure7.json          standard accuracy against the training ε on equal budgets, three seeds, for
                        MNIST (ℓ∞ and ℓ2, and ℓ∞ with half of each batch natural) and Fashion-MNIST
  operating_points.json clean and honest robust accuracy (strong_budget + Square Attack, with the
                        gradient attacks' number and any masking flag) at five threats, on a
                        validation and a test half of the test set, for the zoo's MNIST models,
                        TRADES at two β and PGD with half of each batch natural (Appendix B)

Usage: python benchmarks/tradeoff_runs.py [figure1 | figure7 | points [NAME ...] | seconds REFERENCE.json]
  (figure1 about 30 minutes on 2 cores; points: two single-threaded workers given disjoint NAMEs
  share the file — on a busy 2-core AMD EPYC they took 70 and 80 minutes; then `seconds` takes the
  training seconds from an idle machine's earlier record, see reference_seconds)
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

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


def figure7() -> None:
    """Every point of ``experiments.figure7_keys``; each saved as it ends (resumable)."""
    rec = _load("figure7", {"steps": ex.FIG1_STEPS, "runs": []})
    key = lambda r: (r["dataset"], r["norm"], r["eps"], r["seed"], r["natural_fraction"])  # noqa: E731
    done = {key(r) for r in rec["runs"]}
    for k in ex.figure7_keys():
        if k in done:
            continue
        r = ex.figure7_run(*k)
        rec["runs"].append(r)
        ex.save("figure7", rec, command="python benchmarks/tradeoff_runs.py figure7")
        print(f"figure7 {k}: clean {r['clean']:.4f} in {r['train_seconds']:.0f} s", flush=True)


def points(names: list[str] | None = None) -> None:
    """Measure the zoo's MNIST models; train and measure the extra recipes (or only ``names``).
    Each point is merged into the file as it ends, so two workers may share the file."""
    todo = names or [*ex.ZOO_POINTS, *ex.EXTRA_POINTS]
    for name in todo:
        if name in {p["name"] for p in _load("operating_points", {"points": []})["points"]}:
            continue
        point = ex.point_run(name)
        rec = _load("operating_points", {"split_n": ex.SPLIT_N, "budget": ex.POINT_BUDGET,
                                         "points": []})
        rec["points"] = sorted([*rec["points"], point], key=lambda p: ORDER.index(p["name"]))
        ex.save("operating_points", rec, command="python benchmarks/tradeoff_runs.py points")
        print(f"point {name}: {point['val']} flags {point['flags']['val']}", flush=True)


ORDER = [*ex.ZOO_POINTS, *ex.EXTRA_POINTS]


def reference_seconds(reference: str) -> None:
    """Training seconds of the extra points from an earlier record of the same recipes (e.g.
    ``git show REV:tutorial_lib/results/operating_points.json > ref.json``), made on an idle
    machine like the zoo cards' seconds; the seconds measured here stay as ``train_seconds_here``.
    Use it when the points were retrained on a busy machine, so that the chooser's time
    constraint compares like with like."""
    ref_rec = json.loads(Path(reference).read_text())
    ref = {p["name"]: p for p in ref_rec["points"]}
    rec = ex.load("operating_points")
    for point in rec["points"]:
        if point["name"] not in ex.EXTRA_POINTS or "train_seconds_here" in point:
            continue
        old = ref[point["name"]]
        mismatch = {k: (v, point["recipe"][k]) for k, v in old["recipe"].items() if point["recipe"][k] != v}
        if mismatch:
            raise ValueError(f"{point['name']}: the reference trained another recipe: {mismatch}")
        point["train_seconds_here"] = point["train_seconds"]
        point["train_seconds"] = old["train_seconds"]
        point["train_seconds_from"] = f"{ref_rec['command']} on {ref_rec['hardware']}"
    ex.save("operating_points", rec, command="python benchmarks/tradeoff_runs.py points, then seconds REF")


if __name__ == "__main__":
    t0 = time.perf_counter()
    stage, names = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else (None, [])
    if stage in (None, "figure1"):
        figure1()
    if stage in (None, "figure7"):
        figure7()
    if stage in (None, "points"):
        points(names)
    if stage == "seconds":
        reference_seconds(names[0])
    print(f"done in {time.perf_counter() - t0:.0f} s")
