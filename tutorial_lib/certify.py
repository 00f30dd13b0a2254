"""Certified robustness: a proof instead of an attack.

Interval bound propagation (IBP; Gowal et al., 2018) pushes the box ``[x - eps, x + eps]`` through
the network one layer at a time and bounds every logit margin over the whole ball; an image is
*certified* when even the worst margin is positive. Exact verification (Tjeng et al., 2019) writes
a small ReLU network as a mixed-integer linear program and finds the worst margin itself.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import Bounds, LinearConstraint, milp
from torch import Tensor, nn

from tutorial_lib.devices import model_device
from tutorial_lib.evaluate import Data, _batches, robust_mask
from tutorial_lib.models import Normalize

Box = tuple[Tensor, Tensor]


def input_box(x: Tensor, eps: float) -> Box:
    """The ℓ∞ ball of radius ``eps`` around ``x``, intersected with the pixel range [0, 1]."""
    if not eps >= 0:
        raise ValueError(f"eps must be >= 0 (an ℓ∞ radius on the [0, 1] pixel scale), got {eps}")
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"images must lie in [0, 1], got values in [{x.min():.3g}, {x.max():.3g}]; "
                         "pass unnormalised pixels (normalisation belongs inside the model)")
    return (x - eps).clamp(0, 1), (x + eps).clamp(0, 1)


def affine_box(layer: nn.Linear | nn.Conv2d, lo: Tensor, hi: Tensor) -> Box:
    """The box of ``W z + b`` over the box ``[lo, hi]``: centre through the layer, radius through ``|W|``."""
    mid, rad = (hi + lo) / 2, (hi - lo) / 2
    centre = layer(mid)
    if isinstance(layer, nn.Linear):
        spread = F.linear(rad, layer.weight.abs())
    else:
        spread = F.conv2d(rad, layer.weight.abs(), None, layer.stride, layer.padding,
                          layer.dilation, layer.groups)
    return centre - spread, centre + spread


def layer_box(layer: nn.Module, lo: Tensor, hi: Tensor) -> Box:
    """The box one layer maps ``[lo, hi]`` into (exact for monotone elementwise layers)."""
    if isinstance(layer, (nn.Linear, nn.Conv2d)):
        return affine_box(layer, lo, hi)
    if isinstance(layer, nn.ReLU):
        return lo.clamp_min(0), hi.clamp_min(0)
    if isinstance(layer, Normalize):
        return layer(lo), layer(hi)  # std > 0: increasing
    if isinstance(layer, nn.Flatten):
        return layer(lo), layer(hi)
    raise TypeError(f"interval bounds know Linear, Conv2d, ReLU, Normalize and Flatten layers, not "
                    f"{type(layer).__name__}; certify a plain nn.Sequential of those")


def _layers(model: nn.Module) -> list[nn.Module]:
    """The model's layers, refusing what the bounds cannot follow."""
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"certification follows an nn.Sequential layer by layer, got {type(model).__name__}")
    layers = list(model)
    if not layers or not isinstance(layers[-1], nn.Linear):
        raise TypeError("the model must end with an nn.Linear layer (the logits)")
    return layers


def interval_bounds(model: nn.Module, x: Tensor, *, eps: float) -> Box:
    """Lower and upper bounds on every logit over the ℓ∞ ball of radius ``eps`` around each image."""
    lo, hi = input_box(x.to(model_device(model)), eps)
    for layer in _layers(model):
        lo, hi = layer_box(layer, lo, hi)
    return lo, hi


def margin_bounds(model: nn.Module, x: Tensor, y: Tensor, *, eps: float) -> Tensor:
    """A lower bound, per image and class j, on ``logit_y - logit_j`` over the ball (0 at j = y).

    The last layer is folded into the margin before bounding (Gowal et al.'s elementary
    specification): bounding ``(w_y - w_j) z`` directly is tighter than subtracting two boxes.
    """
    layers = _layers(model)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x holds {x.shape[0]} images but y holds {y.shape[0]} labels")
    x, y = x.to(model_device(model)), y.to(model_device(model))
    lo, hi = input_box(x, eps)
    for layer in layers[:-1]:
        lo, hi = layer_box(layer, lo, hi)
    last = layers[-1]
    if y.numel() and (y.min() < 0 or y.max() >= last.out_features):
        raise ValueError(f"labels must lie in 0..{last.out_features - 1}, got {int(y.min())}..{int(y.max())}")
    w = last.weight[y][:, None, :] - last.weight[None]           # (n, classes, features)
    b = last.bias[y][:, None] - last.bias[None]                  # (n, classes)
    mid, rad = (hi + lo) / 2, (hi - lo) / 2
    return (w @ mid[:, :, None]).squeeze(2) - (w.abs() @ rad[:, :, None]).squeeze(2) + b


def layer_widths(model: nn.Module, x: Tensor, *, eps: float) -> list[tuple[str, float]]:
    """The mean width ``hi - lo`` of the box after each layer (averaged over images and units):
    how fast the bounds loosen on their way to the logits."""
    lo, hi = input_box(x.to(model_device(model)), eps)
    widths = [("input", float((hi - lo).mean()))]
    with torch.no_grad():
        for layer in _layers(model):
            lo, hi = layer_box(layer, lo, hi)
            widths.append((type(layer).__name__, float((hi - lo).mean())))
    return widths


def worst_logits(model: nn.Module, x: Tensor, y: Tensor, *, eps: float) -> Tensor:
    """Logits no point of the ball can beat: ``-margin_bounds``; their cross-entropy is IBP's loss."""
    return -margin_bounds(model, x, y, eps=eps)


def certified(model: nn.Module, x: Tensor, y: Tensor, *, eps: float) -> Tensor:
    """Per image: is every margin provably positive over the whole ball (so no attack can win)?"""
    with torch.no_grad():
        m = margin_bounds(model, x, y, eps=eps)
    m = m.scatter(1, y.to(m.device)[:, None], float("inf"))
    return (m > 0).all(1).cpu()


def certified_accuracy(model: nn.Module, data: Data, *, eps: float, batch_size: int = 500) -> float:
    """The fraction of images that are certified at ``eps`` (each one also correctly classified)."""
    was_training = model.training
    model.eval()
    hits = total = 0
    for x, y in _batches(data, batch_size):
        hits += certified(model, x, y, eps=eps).sum().item()
        total += y.numel()
    model.train(was_training)
    return hits / total


# --- exact verification of a small ReLU network ---------------------------------------------------
@dataclass(frozen=True)
class Verification:
    """The worst margin over the ball for each other class (the solver's proven lower bound, within
    1e-4 of the exact minimum; an interval bound for classes ``prune`` skipped), and the MILPs' time."""

    margins: Tensor          # (classes,), +inf at the label
    seconds: float
    unstable: int            # ReLUs whose interval bounds straddle 0: one binary variable each

    @property
    def robust(self) -> bool:
        """No point of the ball is classified as another class (every worst margin > 1e-6, a margin
        for the solver's and float32's rounding)."""
        return bool((self.margins > 1e-6).all())


def _affine_layers(model: nn.Module, x: Tensor, eps: float) -> tuple[Box, list[nn.Linear]]:
    """The input box after the leading Normalize/Flatten layers, and the Linear/ReLU stack after them."""
    layers = _layers(model)
    lo, hi = input_box(x[None], eps)
    while layers and isinstance(layers[0], (Normalize, nn.Flatten)):
        lo, hi = layer_box(layers.pop(0), lo, hi)
    linears = layers[0::2]
    if lo.dim() != 2 or not all(isinstance(m, nn.Linear) for m in linears) or \
            not all(isinstance(m, nn.ReLU) for m in layers[1::2]):
        raise TypeError("exact verification handles Normalize, Flatten, then alternating Linear and "
                        "ReLU layers (an MLP); bound convolutional models with interval_bounds")
    return (lo[0], hi[0]), linears


class _Program:
    """A mixed-integer linear program under construction: bounded variables, rows ``lo <= A v <= hi``."""

    def __init__(self) -> None:
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.integer: list[int] = []
        self.rows: list[tuple[np.ndarray, np.ndarray, float, float]] = []

    def variables(self, lo: np.ndarray, hi: np.ndarray, *, integer: bool = False) -> np.ndarray:
        """New variables with these bounds; their indices."""
        start = len(self.lo)
        self.lo += list(lo); self.hi += list(hi); self.integer += [int(integer)] * len(lo)
        return np.arange(start, len(self.lo))

    def add(self, index: np.ndarray, coef: np.ndarray, lo: float, hi: float) -> None:
        """The row ``lo <= sum(coef * v[index]) <= hi``."""
        self.rows.append((np.asarray(index), np.asarray(coef, dtype=float), lo, hi))

    def minimum(self, index: np.ndarray, coef: np.ndarray) -> float:
        """A proven lower bound on the least value of ``sum(coef * v[index])`` subject to everything
        added: HiGHS's dual bound (within its gap, 1e-4 relative, of the best point it found)."""
        n = len(self.lo)
        c = np.zeros(n); c[index] = coef
        a = np.zeros((len(self.rows), n))
        for r, (i, k, _, _) in enumerate(self.rows):
            a[r, i] = k
        res = milp(c, integrality=np.array(self.integer), bounds=Bounds(self.lo, self.hi),
                   constraints=LinearConstraint(a, [r[2] for r in self.rows], [r[3] for r in self.rows]))
        if not res.success:
            raise RuntimeError(f"the MILP did not solve: {res.message}")
        return float(res.mip_dual_bound if res.mip_dual_bound is not None else res.fun)


def relu_program(linears: list[nn.Linear], lo: np.ndarray, hi: np.ndarray
                 ) -> tuple[_Program, np.ndarray, int]:
    """The MILP whose feasible points are exactly the hidden activations the box can produce.

    Each ReLU ``a = max(z, 0)`` whose interval bounds straddle zero (``l < 0 < u``) gets a binary
    ``d`` and four inequalities: ``a >= 0, a >= z, a <= z - l (1 - d), a <= u d`` (Tjeng et al.,
    2019). Returns the program, the indices of the last hidden layer's activations, and the count
    of such unstable ReLUs.
    """
    prog = _Program()
    prev = prog.variables(lo, hi)
    unstable = 0
    for layer in linears[:-1]:
        w, b = layer.weight.detach().double().cpu().numpy(), layer.bias.detach().double().cpu().numpy()
        mid, rad = (hi + lo) / 2, (hi - lo) / 2
        zl, zu = w @ mid + b - np.abs(w) @ rad, w @ mid + b + np.abs(w) @ rad
        z = prog.variables(zl, zu)
        a = prog.variables(np.zeros_like(zl), np.maximum(zu, 0))
        for i in range(len(b)):
            prog.add(np.r_[z[i], prev], np.r_[1.0, -w[i]], b[i], b[i])           # z = W a_prev + b
            if zu[i] <= 0:
                prog.add(a[i:i + 1], [1.0], 0, 0)                                 # always off
            elif zl[i] >= 0:
                prog.add(np.r_[a[i], z[i]], [1.0, -1.0], 0, 0)                   # always on
            else:
                d = prog.variables([0.0], [1.0], integer=True)[0]
                prog.add(np.r_[a[i], z[i]], [1.0, -1.0], 0, np.inf)
                prog.add(np.r_[a[i], z[i], d], [1.0, -1.0, -zl[i]], -np.inf, -zl[i])
                prog.add(np.r_[a[i], d], [1.0, -zu[i]], -np.inf, 0)
                unstable += 1
        prev, lo, hi = a, np.maximum(zl, 0), np.maximum(zu, 0)
    return prog, prev, unstable


def verify(model: nn.Module, x: Tensor, y: int, *, eps: float, prune: bool = True) -> Verification:
    """The exact worst margin ``logit_y - logit_j`` over the ℓ∞ ball around one image ``x``, one
    MILP per class j ≠ y: no attack can find a point whose margin is lower. With ``prune``, a class
    whose interval bound is already positive is not solved; its margin is that bound (a lower
    bound, and proof enough)."""
    t0 = time.perf_counter()
    with torch.no_grad():
        (lo, hi), linears = _affine_layers(model, x, eps)
        bounds = margin_bounds(model, x[None], torch.tensor([y]), eps=eps)[0].double().cpu()
        prog, last, unstable = relu_program(linears, lo.double().cpu().numpy(), hi.double().cpu().numpy())
        w, b = linears[-1].weight.double().cpu().numpy(), linears[-1].bias.double().cpu().numpy()
    margins = torch.full((len(b),), float("inf"), dtype=torch.float64)
    for j in range(len(b)):
        if j != y:
            proven = prune and bounds[j] > 0
            margins[j] = bounds[j] if proven else prog.minimum(last, w[y] - w[j]) + b[y] - b[j]
    return Verification(margins, time.perf_counter() - t0, unstable)


def bracket(model: nn.Module, x: Tensor, y: Tensor, *, eps: float, attack: Callable[..., Tensor]
            ) -> dict[str, float]:
    """On a few images of a small ReLU network: how many interval bounds certify, how many are
    exactly robust (``verify``) and how many ``attack`` fails on — lower <= exact <= upper — with
    the solver's seconds and the mean count of unstable ReLUs per image."""
    checks = [verify(model, xi, int(yi), eps=eps, prune=False) for xi, yi in zip(x, y)]
    return {"interval": int(certified(model, x, y, eps=eps).sum()),
            "exact": sum(v.robust for v in checks),
            "attack": int(robust_mask(model, (x, y), attack=attack)[1].sum()),
            "unstable": sum(v.unstable for v in checks) / len(checks),
            "seconds": sum(v.seconds for v in checks)}
