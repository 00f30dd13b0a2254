"""tutorial_lib: the helper library of *Robustness vs. Accuracy, hands-on*.

Every chapter imports from here; each module holds one concept the course teaches (the table in
README.md → *Library layout*). Imports point one way, from ``devices`` up to ``listing``. What runs
the course rather than teaches it (recorded runs, recipes, zoo builds, grading, slides, the command
line) is the lab, ``tutorial_lib.lab``, which this package never imports.
"""
from tutorial_lib import (attacks, budgets, certify, checkpoint, claims, data, devices, evaluate, listing, models,
                          plotting, stats, train as training, zoo)
from tutorial_lib.attacks import eval_mode, fgsm, pgd, step_size
from tutorial_lib.claims import ClaimFailed, claim
from tutorial_lib.data import DataNotFoundError, balanced_subset, batches, data_root, load_dataset
from tutorial_lib.devices import resolve_device
from tutorial_lib.evaluate import RobustAccuracy, accuracy, predict, robust_accuracy
from tutorial_lib.listing import source
from tutorial_lib.models import build_model, count_parameters
from tutorial_lib.train import TrainConfig, train

__all__ = [
    "ClaimFailed", "DataNotFoundError", "RobustAccuracy", "TrainConfig", "accuracy", "balanced_subset", "batches",
    "build_model", "claim", "count_parameters", "data_root", "eval_mode", "fgsm", "load_dataset", "pgd",
    "predict", "resolve_device", "robust_accuracy", "source", "step_size", "train",
    "attacks", "budgets", "certify", "checkpoint", "claims", "data", "devices", "evaluate", "listing", "models",
    "plotting", "stats", "training", "zoo",
]
__version__ = "0.2.0"
