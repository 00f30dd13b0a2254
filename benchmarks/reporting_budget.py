"""Every robust zoo model at both norms under the reporting budget (AutoAttack's standard strength:
APGD-CE, APGD-T over 9 targets, Square Attack at 5,000 queries, in sequence on the survivors),
with Square run again at twice the queries until it no longer breaks more images than the noise
(``budgets.reporting_accuracy``), on 1,000 class-balanced test images (seed 0); the flagship also
on all 10,000. Beside each: the course's old honest number, ``strong_budget`` on the same images
(does it break any image the reporting budget left?), and, in a second process, an independent
implementation (IBM's ART: AutoProjectedGradientDescent, then SquareAttack at 5,000 queries).

Writes JSON lines to OUT (default tutorial_lib/results/) as each case finishes, so a run stopped
by its deadline keeps what it measured; ``merge`` turns them into results/reporting_budget.json.

Usage:  python benchmarks/reporting_budget.py ours [--n 1000] [--deadline SECONDS] [--out DIR]
        python benchmarks/reporting_budget.py art  [--n 1000] [--deadline SECONDS] [--out DIR]
        python benchmarks/reporting_budget.py merge DIR
        python benchmarks/reporting_budget.py add DIR    (a later --only run's cases into the record)
        python benchmarks/reporting_budget.py cards      (copy the record into the zoo cards)
A GPU makes it minutes (it was recorded on one); on 2 CPU cores it takes hours.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

os.environ.setdefault("TUTORIAL_LIB_OFFLINE", "1")

from tutorial_lib import zoo  # noqa: E402
from tutorial_lib.lab import cards, records  # noqa: E402
from tutorial_lib.checkpoint import atomic_write_json  # noqa: E402
from tutorial_lib.budgets import reporting_accuracy, strong_budget  # noqa: E402
from tutorial_lib.data import balanced_indices, load_dataset  # noqa: E402
from tutorial_lib.evaluate import robust_mask  # noqa: E402

FLAGSHIP = "mnist_linf_0.3"
CAP = int(os.environ.get("REPORTING_CAP", 20_000))  # Square doubled up to this (5,000 -> 10,000 -> 20,000)


def cases() -> list[tuple[str, str, float]]:
    """(model, norm, eps) for every robust zoo model: all own threats first, then the other norms."""
    threats = [[(name, h["norm"], h["eps"]) for h in zoo.card(name).get("honest", [])]
               for name in zoo.names()]
    return [t[0] for t in threats if t] + [c for t in threats for c in t[1:]]


def images(name: str, n: int) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """The first ``n`` class-balanced test images (seed 0) of the model's dataset, and their indices."""
    x, y = load_dataset(zoo.card(name)["config"]["dataset"], "test")
    idx = torch.arange(len(y)) if n >= len(y) else balanced_indices(y, n, seed=0)
    return x[idx], y[idx], idx.tolist()


def old_honest(name: str, norm: str, n: int) -> float | None:
    """The card's honest number at this norm (the 1,000-query budget, on 200 images, or on all
    test images when ``n`` is all of them)."""
    card = zoo.card(name)
    if n >= 10_000 and "honest_full" in card:
        return card["honest_full"]["accuracy"]
    return next((h["accuracy"] for h in card.get("honest", []) if h["norm"] == norm), None)


def ours(name: str, norm: str, eps: float, n: int, device: str) -> dict:
    """One case under the reporting budget, with strong_budget's extra breaks beside it."""
    model = zoo.load(name, device=device)
    x, y, idx = images(name, n)
    t0 = time.perf_counter()
    r = reporting_accuracy(model, (x, y), eps=eps, norm=norm, max_queries=CAP, batch_size=10_000,
                           warn=False)
    seconds = time.perf_counter() - t0
    _, strong_ok = robust_mask(model, (x, y), attack=strong_budget(eps, norm), batch_size=10_000)
    extra = int((r.per_example & ~strong_ok.cpu()).sum())
    return {"model": name, "norm": norm, "eps": eps, "n": r.n, "clean": r.clean_accuracy,
            "accuracy": r.accuracy, "gradient": r.gradient, "converged": r.converged,
            "queries": r.queries, "flags": list(r.flags), "budget": r.attack,
            "strong_budget_breaks_more": extra, "old_honest": old_honest(name, norm, n),
            "not_robust": [idx[i] for i in (~r.per_example).nonzero().flatten().tolist()],
            "seconds": round(seconds, 1)}


def art(name: str, norm: str, eps: float, n: int, device: str) -> dict:
    """One case under ART's APGD (cross-entropy) then ART's Square Attack (5,000 queries)."""
    from art.attacks.evasion import AutoProjectedGradientDescent, SquareAttack  # only this audit
    from art.estimators.classification import PyTorchClassifier  # only this audit

    model = zoo.load(name, device=device).eval()
    x, y, _ = images(name, n)
    clf = PyTorchClassifier(model=model, loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 28, 28),
                            nb_classes=10, clip_values=(0.0, 1.0),
                            device_type="gpu" if device == "cuda" else "cpu")
    order = np.inf if norm == "linf" else 2
    np.random.seed(1)
    t0 = time.perf_counter()
    xn, yn = x.numpy(), y.numpy()
    alive = clf.predict(xn).argmax(1) == yn
    for attack in (AutoProjectedGradientDescent(clf, norm=order, eps=eps, eps_step=eps, max_iter=100,
                                                nb_random_init=1, batch_size=1000,
                                                loss_type="cross_entropy", verbose=False),
                   SquareAttack(clf, norm=order, eps=eps, max_iter=5000, p_init=0.8, nb_restarts=1,
                                batch_size=1000, verbose=False)):
        i = np.flatnonzero(alive)
        if len(i):
            adv = attack.generate(x=xn[i], y=yn[i])
            alive[i] = clf.predict(adv).argmax(1) == yn[i]
    return {"model": name, "norm": norm, "eps": eps, "n": len(yn), "independent": float(alive.mean()),
            "budget": "ART AutoProjectedGradientDescent (CE, 100 steps) + SquareAttack (5000 queries)",
            "seconds": round(time.perf_counter() - t0, 1)}


def run(kind: str, n: int, deadline: float, out: Path, only: list[str]) -> None:
    """Every case (for ``ours``, the flagship on all test images after the own threats), or the
    ``only`` ones (``MODEL:NORM:EPS``), until the deadline."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    todo = [(c, n) for c in cases()]
    if only:
        todo = [((m, nm, float(e)), n) for m, nm, e in (o.split(":") for o in only)]
    elif kind == "ours":  # the flagship's full test set right after the own threats
        own = sum(1 for name in zoo.names() if zoo.card(name).get("honest"))
        todo.insert(own, ((FLAGSHIP, "linf", 0.3), 10_000))
    start, path = time.perf_counter(), out / f"reporting_{kind}.jsonl"
    for (name, norm, eps), size in todo:
        if time.perf_counter() - start > deadline:
            print(f"deadline: skipped {name} {norm} {eps} on {size}", flush=True)
            continue
        row = (ours if kind == "ours" else art)(name, norm, eps, size, device)
        row |= records.stamp()
        with path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print({k: v for k, v in row.items() if k != "not_robust"}, flush=True)


def merge(folder: Path) -> None:
    """The JSON lines of both runs into results/reporting_budget.json."""
    rows = {k: [json.loads(line) for line in (folder / f"reporting_{k}.jsonl").read_text().splitlines()]
            for k in ("ours", "art") if (folder / f"reporting_{k}.jsonl").exists()}
    command = ("python benchmarks/reporting_budget.py ours --n 1000 --deadline 370 "
               "(and art, --deadline 330, beside it); the other norms' cases the deadline skipped: "
               "... ours --n 1000 --only MODEL:NORM:EPS ...")
    atomic_write_json(records.RESULTS_DIR / "reporting_budget.json",
                      {"cap": CAP, **rows, **records.stamp(command, machine=rows["ours"][0]["hardware"])})


def add(folder: Path) -> None:
    """Add the cases in a folder's JSON lines (a later ``--only`` run) to the record, replacing
    the rows of the same model, norm and image count; the record's command says how."""
    record = records.load("reporting_budget")
    for kind in ("ours", "art"):
        path = folder / f"reporting_{kind}.jsonl"
        new = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        keys = {(r["model"], r["norm"], r["n"]) for r in new}
        record[kind] = [r for r in record.get(kind, []) if (r["model"], r["norm"], r["n"]) not in keys] + new
        if new:
            cases = " ".join(f"{r['model']}:{r['norm']}:{r['eps']:g}" for r in new)
            record["command"] += f"; later, ... {kind} --n {new[0]['n']} --only {cases} (add DIR)"
    atomic_write_json(records.RESULTS_DIR / "reporting_budget.json", record)


def main() -> None:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("kind", choices=["ours", "art", "merge", "add", "cards"])
    p.add_argument("folder", nargs="?", default=str(records.RESULTS_DIR))
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--deadline", type=float, default=float("inf"), help="seconds; later cases are skipped")
    p.add_argument("--only", nargs="*", default=[], help="cases as MODEL:NORM:EPS")
    a = p.parse_args()
    if a.kind == "merge":
        merge(Path(a.folder))
    elif a.kind == "add":
        add(Path(a.folder))
    elif a.kind == "cards":
        print("cards written:", *cards.attach_reporting(records.load("reporting_budget")))
    else:
        run(a.kind, a.n, a.deadline, Path(a.folder), a.only)


if __name__ == "__main__":
    main()
