"""How far the book's numbers move on other machines, simulated on this one.

Floating-point training and attacks are not bit-identical across CPU instruction sets and thread
counts. This script re-runs every chapter (and the unit tests' recorded-run comparisons) under
each combination of torch's CPU kernel dispatch (``ATEN_CPU_CAPABILITY``, every level this CPU
supports) and thread count (1, 2, 4), then reports, per notebook cell, the largest distance of each
printed number from the stored output, beside the tolerance the cell declares.

Usage:
    python benchmarks/reproducibility.py run      # every setting, one after another (~13 min each on 2 cores)
    python benchmarks/reproducibility.py run --settings default:1 avx2:4
    python benchmarks/reproducibility.py report   # the spread table, from what `run` saved

Executed notebooks and measurements go to ``_build/reproducibility/<setting>/`` (a rerun skips
what is already there; delete a chapter's file there after changing it). Run the settings one
after another: two runs at once oversubscribe the cores and take several times as long. ``report`` exits non-zero if any spread exceeds a declared tolerance,
or if a cell whose numbers move declares none.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import nbval_tolerance as nt  # noqa: E402

OUT = ROOT / "_build" / "reproducibility"
THREADS = (1, 2, 4)


def cpu_capabilities() -> list[str]:
    """The ATen dispatch levels this CPU can run: always ``default``, then avx2 / avx512."""
    flags = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    levels = ["default"]
    if {"avx2", "fma"} <= flags:
        levels.append("avx2")
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags:
        levels.append("avx512")
    return levels


def all_settings() -> list[str]:
    """Every ``capability:threads`` setting this machine can simulate."""
    return [f"{c}:{t}" for c in cpu_capabilities() for t in THREADS]


def setting_env(setting: str) -> dict[str, str]:
    """The environment that simulates ``setting`` (e.g. ``avx2:4``)."""
    cap, threads = setting.split(":")
    env = {**os.environ, "CI": "true", "TUTORIAL_LIB_OFFLINE": "1", "ATEN_CPU_CAPABILITY": cap,
           "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    env.setdefault("TUTORIAL_LIB_DATA", str(ROOT.parent / "shared" / "data"))
    return env


def notebooks() -> list[Path]:
    """The chapters, in order."""
    return sorted((ROOT / "book").glob("[0-9]*.ipynb"))


def run_setting(setting: str) -> None:
    """Execute every chapter and the recorded-run measurements under ``setting``."""
    folder = OUT / setting.replace(":", "-")
    folder.mkdir(parents=True, exist_ok=True)
    env = setting_env(setting)
    for nb in notebooks():
        target = folder / nb.name
        if target.exists():
            continue
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:  # run away from the repository, as in Colab
            code = ("import sys, nbformat; from nbclient import NotebookClient; "
                    "nb = nbformat.read(sys.argv[1], as_version=4); "
                    "NotebookClient(nb, timeout=1800, kernel_name='python3', allow_errors=True, "
                    "resources={'metadata': {'path': sys.argv[3]}}).execute(); "
                    "nbformat.write(nb, sys.argv[2])")
            partial = folder / f".{nb.name}.tmp"
            subprocess.run([sys.executable, "-c", code, str(nb), str(partial), tmp], env=env,
                           check=True)
            partial.replace(target)
        print(f"{setting:<10} {nb.stem:<28} {time.perf_counter() - start:6.0f} s", flush=True)
    target = folder / "recorded_runs.json"
    if not target.exists():
        start = time.perf_counter()
        subprocess.run([sys.executable, str(Path(__file__)), "measure", str(target)], env=env,
                       check=True)
        print(f"{setting:<10} {'recorded runs':<28} {time.perf_counter() - start:6.0f} s", flush=True)


def rows(pairs) -> list[dict]:  # noqa: ANN001  (quantity, recorded, new) triples
    """Comparison rows of a recorded number and its new measurement."""
    return [{"quantity": q, "recorded": a, "new": b} for q, a, b in pairs]


def per_epoch(fresh: dict, recorded: dict, keys: tuple[str, ...]) -> list[dict]:
    """Rows comparing a fresh run's per-epoch ``keys`` with the recorded run's."""
    return rows((f"epoch {i + 1} {k}", b[k], a[k])
                for i, (a, b) in enumerate(zip(fresh["history"], recorded["history"])) for k in keys)


def training_runs() -> dict[str, list[dict]]:
    """The recorded training runs the unit tests re-run: a failure run, a feature-reuse point and
    the cheapest Figure 1 point (tests/test_costs.py, test_interpret.py, test_tradeoff.py)."""
    from tutorial_lib.lab import training_runs, tradeoff_runs, feature_runs, records  # after sys.path: this checkout's

    rec = next(r for r in records.load("training_failures")["runs"]
               if r["run"] == "FGSM-RS, α = 1.25ε" and r["seed"] == 0)
    out = {"failure run FGSM-RS seed 0": per_epoch(training_runs.failure_run("FGSM-RS, α = 1.25ε", seed=0), rec,
                                                  ("clean", "fgsm", "robust"))}
    rec = next(r for r in records.load("feature_reuse")["runs"]
               if (r["dataset"], r["start"], r["train_size"], r["seed"])
               == ("fashion", "frozen robust features", 1000, 0))
    fresh = feature_runs.reuse_run("fashion", "frozen robust features", train_size=1000, epochs=rec["epochs"], seed=0)
    out["feature reuse point"] = per_epoch(fresh, rec, ("clean", "robust"))
    rec = next(r for r in records.load("figure1")["runs"]
               if (r["eps"], r["train_size"], r["seed"]) == (0.0, tradeoff_runs.FIG1_SIZES[0], 0))
    fresh = tradeoff_runs.figure1_run("mnist", "linf", 0.0, tradeoff_runs.FIG1_SIZES[0], 0)
    out["figure1 point"] = rows([("clean", rec["clean"], fresh["clean"])])
    return out


def shipped_models() -> dict[str, list[dict]]:
    """The numbers of shipped models the unit tests re-measure: one operating point, and every zoo
    card's clean accuracy and PGD-50 on the fixed subset (tests/test_tradeoff.py, test_zoo.py)."""
    from tutorial_lib import zoo  # after sys.path: this checkout's
    from tutorial_lib.budgets import pgd_budget, strong_budget
    from tutorial_lib.data import balanced_subset, load_dataset
    from tutorial_lib.evaluate import accuracy, robust_accuracy
    from tutorial_lib.lab import cards, tradeoff_runs, records
    from tutorial_lib.train import TrainConfig

    rec = next(p for p in records.load("operating_points")["points"] if p["name"] == "mnist_linf_0.1")
    xc, yc, xr, yr = tradeoff_runs.splits()["val"]
    model = zoo.load("mnist_linf_0.1")
    out = {"operating point mnist_linf_0.1": rows([
        ("clean", rec["val"]["clean"], accuracy(model, (xc, yc))),
        ("linf@0.1", rec["val"]["linf@0.1"], robust_accuracy(model, (xr, yr), attack=strong_budget(0.1)).accuracy)])}
    zoo_rows = []
    for name in zoo.names():
        card, model = zoo.card(name), zoo.load(name)
        cfg = TrainConfig(**card["config"])
        x, y = load_dataset(cfg.dataset, "test")
        xs, ys = balanced_subset(x, y, cards.SUBSET_SIZE, seed=card["robust_subset"]["subset_seed"])
        eps, norm = cards.eval_radius(cfg)
        zoo_rows += [(f"{name} clean", card["clean_accuracy"], accuracy(model, (x, y))),
                     (f"{name} PGD-50 subset", card["robust_subset"]["accuracy"],
                      robust_accuracy(model, (xs, ys), attack=pgd_budget(eps, norm)).accuracy)]
    out["zoo cards"] = rows(zoo_rows)
    return out


def measure_recorded_runs(target: Path) -> None:
    """The numbers the unit tests compare with recorded runs or cards, measured here (see tests/)."""
    sys.path.insert(0, str(ROOT))
    target.write_text(json.dumps(training_runs() | shipped_models(), indent=1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute the book under each setting")
    run.add_argument("--settings", nargs="*", default=None, help="e.g. default:1 avx2:4 (default: all)")
    rep = sub.add_parser("report", help="the spread table")
    rep.add_argument("--apply", action="store_true",
                     help="declare the suggested tolerance on every cell whose spread is not covered")
    meas = sub.add_parser("measure", help=argparse.SUPPRESS)
    meas.add_argument("target", type=Path)
    args = parser.parse_args()
    if args.command == "run":
        for s in args.settings or all_settings():
            run_setting(s)
        return 0
    if args.command == "measure":
        measure_recorded_runs(args.target)
        return 0
    return report(apply=args.apply)


IGNORED = ("nbval-ignore-output", "nbval-skip")


def text_outputs(cell) -> list[dict]:  # noqa: ANN001
    """The outputs nbval compares as text, with streams merged as nbval merges them."""
    import copy

    from nbval.plugin import coalesce_streams

    return coalesce_streams(copy.deepcopy(list(cell.get("outputs", []))))  # it merges in place


def compared(cell) -> bool:  # noqa: ANN001
    """Whether nbval compares this cell's outputs at all."""
    tags = cell.get("metadata", {}).get("tags", [])
    marks = "".join(cell.get("source", ""))
    return (cell.get("cell_type") == "code" and not set(tags) & set(IGNORED)
            and "NBVAL_IGNORE_OUTPUT" not in marks and "NBVAL_SKIP" not in marks)


def resolution(stored: str) -> float:
    """The finest step among the printed numbers (0.1 for ``98.9%``, 1 for ``274``)."""
    steps = [10.0 ** -len(m.group().split(".")[1].split("e")[0].split("E")[0]) if "." in m.group() else 1.0
             for m in nt.NUMBER.finditer(stored)]
    return min(steps, default=1.0)


def suggested(spread: float, step: float) -> float:
    """A tolerance that covers twice the measured spread, in whole steps of the printed precision."""
    import math

    return 0.0 if spread == 0 else round(max(1, math.ceil(round(2 * spread / step, 6))) * step, 10)


def raw_text(cell) -> str:  # noqa: ANN001
    """All the text nbval compares of a cell, unmasked."""
    return " ".join("".join(c[k]) if isinstance(c[k], list) else c[k]
                    for o in text_outputs(cell) if o.get("output_type") != "error"
                    for c, k in nt._text_fields(o))


def masked_texts(cell) -> tuple[list[str], list[nt.Printed]]:  # noqa: ANN001
    """What nbval compares of a cell (its text outputs), numbers masked, and the numbers."""
    texts, numbers = [], []
    for output in text_outputs(cell):
        if output.get("output_type") == "error":
            continue
        for container, key in nt._text_fields(output):
            value = container[key]
            masked, found = nt.mask_numbers("".join(value) if isinstance(value, list) else value)
            texts.append(f"{key}: {masked}")
            numbers += found
    return texts, numbers


def cell_spreads(settings: list[str]) -> list[dict]:
    """Per compared cell with numbers: the largest distance of any number from the stored one."""
    import nbformat

    rows = []
    for nb_path in notebooks():
        stored_nb = nbformat.read(nb_path, as_version=4)
        runs = {s: nbformat.read(OUT / s.replace(":", "-") / nb_path.name, as_version=4)
                for s in settings if (OUT / s.replace(":", "-") / nb_path.name).exists()}
        for i, cell in enumerate(stored_nb.cells):
            if not compared(cell) or not cell.get("outputs"):
                continue
            ref_texts, ref_nums = masked_texts(cell)
            row = {"notebook": nb_path.stem, "cell": i, "numbers": len(ref_nums), "spread": 0.0,
                   "spread_pct": 0.0, "spread_num": 0.0, "uncovered": 0,
                   "worst": "", "text_differs": [], "errors": [],
                   "declared": nt.tolerance_of(cell.metadata),
                   "step": resolution(raw_text(cell))}
            for s, run in runs.items():
                new_cell = run.cells[i]
                if any(o.get("output_type") == "error" for o in new_cell.get("outputs", [])):
                    row["errors"].append(s)
                    continue
                texts, nums = masked_texts(new_cell)
                if texts != ref_texts or len(nums) != len(ref_nums):
                    row["text_differs"].append(s)
                    continue
                for a, b in zip(ref_nums, nums):
                    d = abs(a.value - b.value)
                    kind = "spread_pct" if a.percent else "spread_num"
                    row[kind] = max(row[kind], d)
                    if d > row["spread"]:
                        row["spread"], row["worst"] = d, f"{a.value:g} -> {b.value:g} ({s})"
                    tol = row["declared"] or nt.Tolerance()
                    row["uncovered"] += not tol.allows(a, b)
            if row["numbers"] or row["text_differs"] or row["errors"]:
                rows.append(row)
    return rows


def print_cell_spreads(settings: list[str]) -> tuple[int, dict[str, dict[int, dict[str, float]]]]:
    """Print every compared cell's spread; return how many cells fail and the tolerances to declare."""
    bad = 0
    print(f"{'notebook':<24}{'cell':>5}{'numbers':>8}{'max |Δ| %':>11}{'other':>8}   declared "
          "(suggested: 2 x spread)  status  largest move")
    changes: dict[str, dict[int, dict[str, float]]] = {}
    for r in cell_spreads(settings):
        sug = {k: v for k, v in (("percent", suggested(r["spread_pct"], r["step"])),
                                 ("abs", suggested(r["spread_num"], r["step"]))) if v > 0}
        declared = str(r["declared"]) if r["declared"] else "exact"
        status = "ok"
        if r["errors"]:
            status, bad = f"ERROR under {r['errors']}", bad + 1
        elif r["text_differs"]:
            status, bad = f"WORDS DIFFER under {r['text_differs']}", bad + 1
        elif r["uncovered"]:
            status, bad = "NOT COVERED", bad + 1
            changes.setdefault(r["notebook"], {})[r["cell"]] = sug
        if r["spread"] > 0 or r["declared"] or r["errors"] or r["text_differs"]:
            print(f"{r['notebook']:<24}{r['cell']:>5}{r['numbers']:>8}{r['spread_pct']:>11.4g}"
                  f"{r['spread_num']:>8.4g}   {declared} ({sug})  {status}  {r['worst']}")
    return bad, changes


def recorded_spreads(settings: list[str]) -> dict[tuple[str, str], float]:
    """Per (group, quantity) of the recorded-run comparisons: the largest |new - recorded| over the
    settings, and for per-epoch curves the largest |mean over epochs| of each metric."""
    recorded: dict[tuple[str, str], float] = {}
    for s in settings:
        f = OUT / s.replace(":", "-") / "recorded_runs.json"
        if not f.exists():
            continue
        for group, rows in json.loads(f.read_text()).items():
            means: dict[str, list[float]] = {}  # per metric of a per-epoch curve: mean over epochs
            for row in rows:
                key = (group, row["quantity"])
                recorded[key] = max(recorded.get(key, 0.0), abs(row["new"] - row["recorded"]))
                if row["quantity"].startswith("epoch "):
                    means.setdefault(row["quantity"].split()[-1], []).append(row["new"] - row["recorded"])
            for metric, deltas in means.items():
                key = (group, f"mean over epochs of {metric}")
                recorded[key] = max(recorded.get(key, 0.0), abs(sum(deltas) / len(deltas)))
    return recorded


def print_recorded(recorded: dict[tuple[str, str], float]) -> None:
    """Print each group's largest move, and the moves of its per-epoch means."""
    groups: dict[str, list[tuple[str, float]]] = {}
    for (group, q), d in recorded.items():
        groups.setdefault(group, []).append((q, d))
    for group, rows in groups.items():
        per_epoch = [r for r in rows if not r[0].startswith("mean over")]
        worst = max(per_epoch, key=lambda r: r[1])
        print(f"  {group:<34} max |Δ| {worst[1]:.4f} ({worst[0]})")
        for q, d in rows:
            if q.startswith("mean over"):
                print(f"  {'':<34} |Δ| {d:.4f} of the {q}")


def apply_tolerances(changes: dict[str, dict[int, dict[str, float]]]) -> None:
    """Declare the suggested tolerances in the chapters' cell metadata."""
    import nbformat

    for stem, cells in changes.items():
        path = ROOT / "book" / f"{stem}.ipynb"
        nb = nbformat.read(path, as_version=4)
        for i, tol in cells.items():
            nb.cells[i].metadata[nt.KEY] = tol
        nbformat.write(nb, path)
        print(f"declared tolerances in {path.name}: {cells}")


def report(apply: bool = False) -> int:
    """Print the spread of every compared cell and of every recorded-run comparison."""
    settings = [s for s in all_settings() if (OUT / s.replace(":", "-")).exists()]
    print(f"settings measured: {', '.join(settings)} (stored outputs are the reference)\n")
    bad, changes = print_cell_spreads(settings)
    print("\nrecorded runs and cards compared by the unit tests (max |new - recorded| over settings):")
    print_recorded(recorded_spreads(settings))
    if apply:
        apply_tolerances(changes)
    return 1 if bad else 0

if __name__ == "__main__":
    sys.exit(main())
