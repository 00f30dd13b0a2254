"""PGD-40 (L∞) speed against its floor: 41 forward+backward passes of the same batch.

Usage: python benchmarks/attack_speed.py [--n 1000] [--repeats 5]
Prints the ratio floor_time / pgd_time (goal: >= 0.95), each the fastest of interleaved repeats. The floor is 41 forward passes plus
input-gradient backward passes (``torch.autograd.grad`` w.r.t. the images, parameters frozen) — the least work any
40-step PGD with its first-iterate check must do. If torchattacks is installed (it is not a
dependency), its PGD on the same model and batch is timed too.
"""
from __future__ import annotations

import argparse
import os
import time

import torch
import torch.nn.functional as F

os.environ.setdefault("TUTORIAL_LIB_OFFLINE", "1")

import tutorial_lib as tl  # noqa: E402


def best_times(fns: dict, repeats: int) -> dict[str, float]:
    """The fastest of ``repeats`` timings of each function, interleaved so that machine noise
    hits all of them alike, after one warm-up call each."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: min(ts) for name, ts in times.items()}


def timed_attacks(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float, steps: int
                  ) -> dict:
    """The functions to time: the floor, our PGD and, when installed, torchattacks' PGD, all at
    the training step ``step_size(eps, steps=steps, travel=PGD_TRAVEL)``."""
    alpha = tl.step_size(eps, steps=steps, travel=tl.attacks.PGD_TRAVEL)

    def floor() -> None:
        model.requires_grad_(False)  # the floor needs no parameter gradients either
        for _ in range(steps + 1):
            xi = x.detach().requires_grad_(True)
            torch.autograd.grad(F.cross_entropy(model(xi), y, reduction="none").sum(), xi)
        model.requires_grad_(True)

    def ours() -> None:
        tl.pgd(model, x, y, eps=eps, alpha=alpha, steps=steps, norm="linf", random_start=True)

    fns = {"floor": floor, "ours": ours}
    try:
        import torchattacks  # optional: not a dependency of the library
        atk = torchattacks.PGD(model, eps=eps, alpha=alpha, steps=steps, random_start=True)
        fns["torchattacks"] = lambda: atk(x, y)
    except ImportError:
        pass
    return fns


def main() -> None:
    """Run the benchmark and print the ratio."""
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    torch.manual_seed(0)
    model = tl.build_model("fast_cnn").eval()
    x, y = tl.load_dataset("mnist", "test")
    eps = 0.3
    t = best_times(timed_attacks(model, x[: args.n], y[: args.n], eps=eps, steps=40), args.repeats)
    t_floor, t_ours = t["floor"], t["ours"]
    print(f"threads={torch.get_num_threads()}  batch={args.n}  PGD-40 L∞ eps={eps}")
    print(f"floor (41 fwd+bwd): {t_floor:.3f} s   tutorial_lib.pgd: {t_ours:.3f} s")
    print(f"ratio floor/pgd = {t_floor / t_ours:.3f}   (goal >= 0.95)")
    if "torchattacks" not in t:
        print("torchattacks not installed: library comparison skipped "
              "(pip install --no-deps torchattacks to add it)")
        return
    import torchattacks  # optional, and installed: timed above
    t_ta = t["torchattacks"]
    print(f"torchattacks {torchattacks.__version__} PGD: {t_ta:.3f} s   "
          f"ours/torchattacks time = {t_ours / t_ta:.3f} (<= 1 means not slower)")

if __name__ == "__main__":
    main()
