"""The runs behind chapter 7, recorded to tutorial_lib/results/ (resumable: finished runs in the
files are skipped, and each run is saved as soon as it ends).

  figure1.json          standard and honest robust accuracy against training-set size, per
                        training ε, MNIST and Fashion-MNIST, three seeds (Figure 1/6 and the data cost)
  figure7.json          standard accuracy against the training ε on equal budgets, three seeds, for
                        MNIST (ℓ∞ and ℓ2, and ℓ∞ with half of each batch natural) and Fashion-MNIST
  operating_points.json clean and honest robust accuracy (strong_budget + Square Attack, with the
                        gradient attacks' number and any masking flag) at five threats, on a
                        validation and a test half of the test set, for the zoo's MNIST models,
                        TRADES at two β and PGD with half of each batch natural (Appendix B)

Usage: python benchmarks/tradeoff_runs.py [figure1 [--clean-only] | figure7 | points [NAME ...] | seconds REFERENCE.json]
       python benchmarks/tradeoff_runs.py figure7 --worker DIR --claims DIR   (several processes share
         the grid: each claims a run in the claims folder and saves its own runs in DIR; then)
       python benchmarks/tradeoff_runs.py merge figure7|figure1|operating_points DIR*/NAME.json
  (figure7: 47 of its 66 runs were recorded on an H100 by ten such workers in 325 s; each run
  records its machine)
  (figure1: 96 runs, 72 of them recorded by such workers on an H100 (14 workers, about 14
  minutes for 69 adversarial runs); on 2 CPU cores a standard run takes about 30 s, an adversarial
  one with its robust evaluation about 4 minutes; points: two single-threaded workers given disjoint NAMEs
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

from tutorial_lib.lab import tradeoff_runs, recipes, records  # noqa: E402


def _load(name: str, empty: dict) -> dict:
    try:
        return records.load(name)
    except KeyError:
        return empty


FIG1_KEY = ("dataset", "norm", "eps", "train_size", "seed")
FIG7_KEY = ("dataset", "norm", "eps", "seed", "natural_fraction")


def run_grid(name: str, keys: list[tuple], run, key_fields: tuple[str, ...], *,
             worker: Path | None = None, claims: Path | None = None) -> None:
    """Run every key not yet in the record ``name``, saving after each run (resumable). With
    ``worker`` and ``claims`` (folders), several processes share the grid: each claims a key by
    creating a file in ``claims`` and saves its own runs to ``worker``; ``merge`` joins them."""
    folder = worker or records.RESULTS_DIR
    rec = _load(name, {"steps": recipes.FIG1_STEPS, "runs": []})   # the runs already recorded
    done = {tuple(r[f] for f in key_fields) for r in rec["runs"]}
    if worker is not None:
        rec = {"steps": recipes.FIG1_STEPS, "runs": []}
    for k in keys:
        if k in done or (claims is not None and not _claim(claims, k)):
            continue
        r = run(*k)
        rec["runs"].append(r)
        records.save(name, rec, command=f"python benchmarks/tradeoff_runs.py {name}", folder=folder)
        extra = f", robust {r['robust']:.3f}" if "robust" in r else ""
        print(f"{name} {k}: clean {r['clean']:.4f}{extra} in {r['train_seconds']:.0f} s", flush=True)


def _claim(claims: Path, key: tuple) -> bool:
    """True for the one process that creates ``key``'s claim file first."""
    claims.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(claims / "_".join(map(str, key)), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False


def merge(name: str, key_fields: tuple[str, ...], parts: list[Path], *, items: str = "runs") -> None:
    """Add the ``items`` of workers' records (``run_grid`` or ``points`` with ``worker=...``) to
    the record ``name``; each keeps the hardware it ran on. A key already recorded stays, unless
    the recorded run has no robust number and the new one has (a ``--clean-only`` run re-drawn
    with its robust accuracy: the new run replaces it, so each run's numbers come from one model)."""
    rec = _load(name, {"steps": recipes.FIG1_STEPS, items: []} if items == "runs" else
                {"split_n": tradeoff_runs.SPLIT_N, "budget": tradeoff_runs.POINT_BUDGET, items: []})
    key = lambda r: tuple(r[f] for f in key_fields)  # noqa: E731
    for part in parts:
        for r in json.loads(part.read_text())[items]:
            old = [q for q in rec[items] if key(q) == key(r)]
            if old and ("robust" not in r or "robust" in old[0]):
                continue
            rec[items] = [q for q in rec[items] if key(q) != key(r)] + [r]
    if items == "points":
        rec[items].sort(key=lambda p: ORDER.index(p["name"]))
    records.save(name, rec, command=f"python benchmarks/tradeoff_runs.py {name} (workers merged)")
    print(f"{name}: {len(rec[items])} {items} recorded")


def figure1(*, clean_only: bool = False, **workers) -> None:
    """Every Figure 1 point (``tradeoff_runs.figure1_keys``), each saved as it ends; with
    ``clean_only``, standard accuracy alone (no robust evaluation: a quarter of the time on a CPU)."""
    run = (lambda *k: tradeoff_runs.figure1_run(*k, robust_n=0)) if clean_only else tradeoff_runs.figure1_run
    run_grid("figure1", tradeoff_runs.figure1_keys(), run, FIG1_KEY, **workers)


def figure7(**workers) -> None:
    """Every Figure 7 point (``tradeoff_runs.figure7_keys``), each saved as it ends."""
    run_grid("figure7", tradeoff_runs.figure7_keys(), tradeoff_runs.figure7_run, FIG7_KEY, **workers)


def points(names: list[str] | None = None, *, worker: Path | None = None,
           claims: Path | None = None) -> None:
    """Measure the zoo's MNIST models; train and measure the extra recipes (or only ``names``).
    Each point is merged into the file as it ends; with ``worker`` and ``claims``, processes
    share the list as in ``run_grid`` and ``merge operating_points`` joins their files."""
    folder = worker or records.RESULTS_DIR
    todo = names or [*tradeoff_runs.ZOO_POINTS, *recipes.EXTRA_POINTS]
    recorded = {p["name"] for p in _load("operating_points", {"points": []})["points"]}
    for name in todo:
        if name in recorded or (claims is not None and not _claim(claims, (name,))):
            continue
        point = tradeoff_runs.point_run(name)
        point.update(records.stamp())
        try:
            rec = records.load("operating_points", folder)
        except KeyError:
            rec = {"split_n": tradeoff_runs.SPLIT_N, "budget": tradeoff_runs.POINT_BUDGET, "points": []}
        rec["points"] = sorted([*rec["points"], point], key=lambda p: ORDER.index(p["name"]))
        records.save("operating_points", rec, command="python benchmarks/tradeoff_runs.py points",
                folder=folder)
        print(f"point {name}: {point['val']} flags {point['flags']['val']}", flush=True)


ORDER = [*tradeoff_runs.ZOO_POINTS, *recipes.EXTRA_POINTS]


def reference_seconds(reference: str) -> None:
    """Training seconds of the extra points from an earlier record of the same recipes (e.g.
    ``git show REV:tutorial_lib/results/operating_points.json > ref.json``), made on an idle
    machine like the zoo cards' seconds; the seconds measured here stay as ``train_seconds_here``.
    Use it when the points were retrained on a busy machine, so that the chooser's time
    constraint compares like with like."""
    ref_rec = json.loads(Path(reference).read_text())
    ref = {p["name"]: p for p in ref_rec["points"]}
    rec = records.load("operating_points")
    for point in rec["points"]:
        if point["name"] not in recipes.EXTRA_POINTS or "train_seconds_here" in point:
            continue
        old = ref[point["name"]]
        mismatch = {k: (v, point["recipe"][k]) for k, v in old["recipe"].items() if point["recipe"][k] != v}
        if mismatch:
            raise ValueError(f"{point['name']}: the reference trained another recipe: {mismatch}")
        point["train_seconds_here"] = point["train_seconds"]
        point["train_seconds"] = old["train_seconds"]
        point["train_seconds_from"] = old.get("train_seconds_from",   # a reference's own source
                                              f"{ref_rec['command']} on {ref_rec['hardware']}")
    records.save("operating_points", rec, command="python benchmarks/tradeoff_runs.py points, then seconds REF")


def _options(args: list[str]) -> tuple[list[str], dict[str, Path]]:
    """Split ``--worker DIR --claims DIR`` from the other arguments."""
    opts, rest, it = {}, [], iter(args)
    for a in it:
        if a in ("--worker", "--claims"):
            opts[a[2:]] = Path(next(it))
        elif a == "--clean-only":
            opts["clean_only"] = True
        else:
            rest.append(a)
    return rest, opts


if __name__ == "__main__":
    t0 = time.perf_counter()
    stage, (names, opts) = (sys.argv[1] if len(sys.argv) > 1 else None), _options(sys.argv[2:])
    if stage in (None, "figure1"):
        figure1(**opts)
    if stage in (None, "figure7"):
        figure7(**{k: v for k, v in opts.items() if k != "clean_only"})
    if stage in (None, "points"):
        points(names, **{k: v for k, v in opts.items() if k != "clean_only"})
    if stage == "seconds":
        reference_seconds(names[0])
    if stage == "reflag":   # masking flags recomputed from the recorded numbers (rule fixed 2026-12)
        rec = records.load("operating_points")
        rec["points"] = [tradeoff_runs.reflag(p, rec["split_n"]) for p in rec["points"]]
        records.save("operating_points", rec, command=rec["command"] + ", then reflag", machine=rec["hardware"])
    if stage == "merge":
        fields = {"figure1": FIG1_KEY, "figure7": FIG7_KEY, "operating_points": ("name",)}
        merge(names[0], fields[names[0]], [Path(n) for n in names[1:]],
              items="points" if names[0] == "operating_points" else "runs")
    print(f"done in {time.perf_counter() - t0:.0f} s")
