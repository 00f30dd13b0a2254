"""Audit the course's gradient-free attack: torchattacks' Square Attack (what the library calls,
``budgets.square_attack``) against an independent implementation, IBM's Adversarial Robustness
Toolbox (ART), on zoo models, the same images, radius and number of queries.
Writes tutorial_lib/results/square_audit.json.

Needs ART (only here):  pip install --no-deps adversarial-robustness-toolbox scikit-learn \\
                            threadpoolctl joblib narwhals cloudpickle six
Usage: python benchmarks/square_audit.py          (about 10 minutes on 2 cores)
"""
from __future__ import annotations

import os
import time

import numpy as np
import torch

os.environ.setdefault("TUTORIAL_LIB_OFFLINE", "1")

from tutorial_lib import zoo  # noqa: E402
from tutorial_lib.lab import cards, records  # noqa: E402
from tutorial_lib.budgets import square_attack  # noqa: E402
from tutorial_lib.data import balanced_subset, load_dataset  # noqa: E402
from tutorial_lib.evaluate import robust_accuracy  # noqa: E402

QUERIES = 1000
CASES = [("mnist_standard", "linf", 0.1), ("mnist_linf_0.3", "linf", 0.3), ("mnist_linf_0.3", "l2", 2.0),
         ("mnist_l2_2.0", "l2", 2.0), ("mnist_l2_2.0", "linf", 0.3)]


def art_square(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float, norm: str) -> float:
    """Robust accuracy under ART's SquareAttack with ``QUERIES`` iterations."""
    from art.attacks.evasion import SquareAttack  # optional: only this audit needs ART
    from art.estimators.classification import PyTorchClassifier  # optional, as above

    clf = PyTorchClassifier(model=model.eval(), loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 28, 28),
                            nb_classes=10, clip_values=(0.0, 1.0), device_type="cpu")
    attack = SquareAttack(clf, norm=np.inf if norm == "linf" else 2, eps=eps, max_iter=QUERIES,
                          p_init=0.8, nb_restarts=1, batch_size=200, verbose=False)
    np.random.seed(0)
    x_adv = attack.generate(x=x.numpy(), y=y.numpy())
    with torch.no_grad():
        ok = (model(x).argmax(1) == y) & (model(torch.from_numpy(x_adv)).argmax(1) == y)
    return ok.float().mean().item()


def main() -> None:
    """Every case with both implementations; record the agreement."""
    x, y = balanced_subset(*load_dataset("mnist", "test"), cards.HONEST_N, seed=0)
    rows, t0 = [], time.perf_counter()
    for name, norm, eps in CASES:
        model = zoo.load(name, device="cpu")
        ours = robust_accuracy(model, (x, y), attack=square_attack(eps, norm, queries=QUERIES)).accuracy
        art = art_square(model, x, y, eps=eps, norm=norm)
        rows.append({"model": name, "norm": norm, "eps": eps, "torchattacks": ours, "art": art})
        print(f"{name:<15} {norm:>4} {eps:<4} torchattacks {100 * ours:5.1f}%   ART {100 * art:5.1f}%", flush=True)
    records.save("square_audit", {"queries": QUERIES, "n": len(y), "cases": rows,
                                      "total_seconds": round(time.perf_counter() - t0, 1)},
                     command="python benchmarks/square_audit.py")


if __name__ == "__main__":
    main()
