"""Command line: ``python -m tutorial_lib {train,evaluate,zoo,student-edition,guide,slides,gradebook} ...``, one function
per subcommand (``tutorial_lib/__main__.py`` only calls ``main``)."""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import fields
from functools import partial
from pathlib import Path
from typing import Any

from torch import nn

from tutorial_lib import zoo
from tutorial_lib.attacks import pgd, step_size
from tutorial_lib.budgets import QUICK_TRAVEL
from tutorial_lib.checkpoint import load_model
from tutorial_lib.data import load_dataset
from tutorial_lib.evaluate import accuracy, robust_accuracy
from tutorial_lib.lab import cards, course, gradebook, quiz, records, slides
from tutorial_lib.lab.edition import write_student_edition
from tutorial_lib.lab.recipes import RECIPES
from tutorial_lib.train import TrainConfig, train


def _add_config_args(p: argparse.ArgumentParser) -> None:
    """One option per TrainConfig field, typed from its annotation."""
    for f in fields(TrainConfig):
        flag = f"--{f.name.replace('_', '-')}"
        if str(f.type) == "bool":
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
            continue
        kind = {"int": int, "float": float, "str": str}[str(f.type).split(" ")[0]]
        p.add_argument(flag, type=kind, default=f.default)


def _attack_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--attack-eps", type=float, default=None, help="evaluate under PGD at this eps")
    p.add_argument("--attack-norm", default="linf")
    p.add_argument("--attack-steps", type=int, default=50)
    p.add_argument("--attack-alpha", type=float, default=None,
                   help="PGD step (default: the quick budget's rule, pgd_budget's step for this eps and steps)")
    p.add_argument("--attack-restarts", type=int, default=1)
    p.add_argument("--n", type=int, default=10_000, help="test images to evaluate on")


def _evaluate(model: nn.Module, args: argparse.Namespace) -> dict[str, Any]:
    """Clean accuracy and, with ``--attack-eps``, PGD accuracy on the first ``--n`` test images."""
    x, y = load_dataset(args.dataset, "test")
    x, y = x[: args.n], y[: args.n]
    out: dict[str, Any] = {"clean_accuracy": accuracy(model, (x, y))}
    if args.attack_eps is not None:
        alpha = args.attack_alpha if args.attack_alpha is not None else step_size(
            args.attack_eps, steps=args.attack_steps, travel=QUICK_TRAVEL[args.attack_norm])
        atk = partial(pgd, eps=args.attack_eps, alpha=alpha, steps=args.attack_steps,
                      norm=args.attack_norm, restarts=args.attack_restarts)
        out["robust"] = robust_accuracy(model, (x, y), attack=atk)
    return out


def run_train(args: argparse.Namespace, argv: list[str]) -> int:
    """``train``: train from the options (resumable), evaluate, write the model and its card."""
    cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    result = train(cfg, checkpoint=args.checkpoint or args.out.with_suffix(".ckpt"),
                   progress=args.progress)
    ev = _evaluate(result.model, args)
    info = {"train_seconds": round(result.seconds, 1), "history": result.history,
            "clean_accuracy": ev["clean_accuracy"]}
    if "robust" in ev:
        r = ev["robust"]
        info["robust"] = {"accuracy": r.accuracy, "attack": r.attack, "n": r.n}
    cards.write_entry(args.out.stem, result.model, cfg, info=info, folder=args.out.parent,
                            command="python -m tutorial_lib " + shlex.join(argv))
    print(f"wrote {args.out} and {args.out.with_suffix('.json')}: "
          f"clean {100 * ev['clean_accuracy']:.2f}%" +
          (f", {ev['robust']}" if "robust" in ev else "") + f", {result.seconds:.1f} s")
    return 0


def run_evaluate(args: argparse.Namespace, argv: list[str]) -> int:
    """``evaluate``: clean (and PGD) accuracy of a zoo model or a model file."""
    model = zoo.load(args.model) if args.model in zoo.names() else load_model(args.model)
    ev = _evaluate(model, args)
    print(f"clean accuracy {100 * ev['clean_accuracy']:.2f}% on {min(args.n, 10_000)} images")
    if "robust" in ev:
        print(ev["robust"])
    return 0


def run_zoo(args: argparse.Namespace, argv: list[str]) -> int:
    """``zoo``: list the shipped models, or build / re-measure some from their recipes."""
    if args.action in ("build", "remeasure"):
        for name in args.names or sorted(RECIPES):
            card = (cards.build(name, progress=args.progress) if args.action == "build"
                    else cards.remeasure(name, parts=args.only and tuple(args.only)))
            print(f"{name}: clean {100 * card['clean_accuracy']:.2f}%, "
                  f"{100 * card['robust']['accuracy']:.2f}% under {card['robust']['attack']}, "
                  f"trained in {card['train_seconds']:.0f} s")
    print(zoo.table())
    return 0


def run_student_edition(args: argparse.Namespace, argv: list[str]) -> int:
    """``student-edition``: write every chapter without its worked solutions."""
    for path in write_student_edition(args.book, args.out):
        print(path)
    return 0


def guide_tables(book: Path) -> dict[str, str]:
    """The instructor guide's generated tables: student time and exercises, by marker name (run
    minutes from the recorded ``book_time``)."""
    run = {r["chapter"]: r["seconds"] for r in records.load("book_time")["chapters"]}
    rows = course.student_time(book, run)
    return {"student_time": course.time_table(rows), "exercises": course.exercise_table(rows),
            "quiz_key": quiz.key_table()}


def run_guide(args: argparse.Namespace, argv: list[str]) -> int:
    """``guide``: rewrite the instructor guide's generated tables from the chapters."""
    page = args.guide.read_text()
    for name, table in guide_tables(args.book).items():
        page = course.with_table(page, name, table)
    args.guide.write_text(page)
    print(f"rewrote the student-time and exercise tables of {args.guide}")
    return 0


def run_slides(args: argparse.Namespace, argv: list[str]) -> int:
    """``slides``: one PDF deck per chapter from its sections, equations, figures and claims."""
    notebooks = sorted(args.book.glob("[0-9]*.ipynb"))
    if not notebooks:
        raise SystemExit(f"no chapters (NN_name.ipynb) in {args.book}; pass the course's book/ folder")
    for path in notebooks:
        deck = slides.deck(json.loads(path.read_text()))
        print(slides.write_deck(deck, args.out / f"{path.stem}.pdf"), f"({len(deck)} slides)")
    return 0


def run_gradebook(args: argparse.Namespace, argv: list[str]) -> int:
    """``gradebook``: run each submitted notebook, collect its self-checks, write one CSV row each."""
    rows = gradebook.grade(args.notebooks, timeout=args.timeout)
    gradebook.write(rows, args.out)
    for name, r in rows.items():
        print(f"{name}: {sum(r['verdicts'].values())} of {len(r['verdicts'])} checks passed, "
              f"{r['errors']} cell(s) raised an error" + (f"; stopped early: {r['stopped']}" if r["stopped"] else ""))
        if not r["verdicts"]:
            print("  no check logged: does the notebook call check(...), and is this version of tutorial_lib "
                  "installed where its kernel runs (an older one logs nothing)?")
    print(f"wrote {args.out}")
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line's options, each subcommand bound to its function."""
    p = argparse.ArgumentParser(prog="python -m tutorial_lib")
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train a model (resumable) and save it with a card")
    _add_config_args(t)
    t.add_argument("--out", type=Path, required=True, help="model file to write, e.g. run.pt")
    t.add_argument("--checkpoint", type=Path, default=None,
                   help="resumable state (default: OUT with suffix .ckpt)")
    t.add_argument("--progress", action="store_true")
    _attack_args(t)
    e = sub.add_parser("evaluate", help="clean (and PGD) accuracy of a model file or zoo name")
    e.add_argument("model", help="a zoo name or a path to a .pt written by 'train'")
    e.add_argument("--dataset", default="mnist")
    _attack_args(e)
    z = sub.add_parser("zoo", help="list the shipped models, or (re)build some from their recipes")
    z.add_argument("action", nargs="?", choices=["list", "build", "remeasure"], default="list")
    z.add_argument("names", nargs="*", help="models to build (default: all recipes)")
    z.add_argument("--progress", action="store_true")
    z.add_argument("--only", nargs="+", choices=cards.MEASUREMENTS, default=None,
                   help="remeasure: which of the card's measurements to redo (default: all the card has)")
    st = sub.add_parser("student-edition", help="write every chapter without its worked solutions")
    st.add_argument("--book", type=Path, default=Path("book"), help="the chapters' folder")
    st.add_argument("--out", type=Path, default=Path("student_edition"), help="folder to write to")
    g = sub.add_parser("guide", help="rewrite the instructor guide's student-time and exercise tables")
    g.add_argument("--book", type=Path, default=Path("book"), help="the chapters' folder")
    g.add_argument("--guide", type=Path, default=Path("book/instructor_guide.md"))
    sl = sub.add_parser("slides", help="write one PDF slide deck per chapter")
    sl.add_argument("--book", type=Path, default=Path("book"), help="the chapters' folder")
    sl.add_argument("--out", type=Path, default=Path("_slides"), help="folder to write to")
    gb = sub.add_parser("gradebook", help="run submitted notebooks and write their self-checks as a CSV")
    gb.add_argument("notebooks", nargs="+", type=Path, help="the submitted .ipynb files")
    gb.add_argument("--out", type=Path, default=Path("gradebook.csv"), help="the CSV to write")
    gb.add_argument("--timeout", type=int, default=1800, help="seconds any one cell may run")
    for cmd, run in (("train", run_train), ("evaluate", run_evaluate), ("zoo", run_zoo),
                     ("student-edition", run_student_edition), ("guide", run_guide),
                     ("slides", run_slides), ("gradebook", run_gradebook)):
        sub.choices[cmd].set_defaults(run=run)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m tutorial_lib``."""
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    return args.run(args, argv)
