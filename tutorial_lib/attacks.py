"""FGSM and the one PGD loop that serves attacks, adversarial training and generation, with the
step-size rule and the combinators that build stronger attacks from it.

Each norm is three tiny functions, as in MadryLab's ``attack_steps.py``: where to start
(``random_start``), which way to move (``step_``) and how to get back into the ball
(``project_``). The trailing underscore is PyTorch's sign of an in-place operation: they
overwrite ``x_adv`` (which PGD owns) instead of allocating a new image batch at every step.
All budgets (``eps``, ``alpha``) are on the [0, 1] pixel scale. The attacks run on the model's
device and return images on the device ``x`` came from (``tutorial_lib.devices``).
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tutorial_lib.devices import to_model_device

LossFn = Callable[[Tensor, Tensor], Tensor]
"""``loss_fn(logits, y)`` returns one loss per example; the attack ascends it (descends if targeted)."""


def _flat_norm(v: Tensor, p: float) -> Tensor:
    """Per-example norm of ``v``, shaped to broadcast against ``v``."""
    return v.flatten(1).norm(p=p, dim=1).clamp_min(1e-12).view(-1, *([1] * (v.dim() - 1)))


def _noise(sample: Callable[..., Tensor], shape: torch.Size | tuple[int, ...], like: Tensor,
           generator: torch.Generator | None) -> Tensor:
    """``torch.rand``/``randn`` on the generator's device, moved to ``like``'s (a CPU generator
    then gives the same random start on a GPU, as on a Colab GPU runtime)."""
    device = generator.device if generator is not None else like.device
    return sample(shape, generator=generator, device=device, dtype=like.dtype).to(like.device)


# --- L-infinity: a box around x -----------------------------------------------------------------
def linf_random_start(x: Tensor, eps: float, generator: torch.Generator | None) -> Tensor:
    """A uniform point in the L∞ ball of radius ``eps`` around ``x``."""
    u = _noise(torch.rand, x.shape, x, generator)
    return x + (2 * u - 1) * eps


def linf_step_(x_adv: Tensor, grad: Tensor, alpha: float) -> Tensor:
    """The steepest L∞ ascent step, in place: ``alpha`` times the sign of the gradient."""
    # grad is scratch: sign it in place, unless autograd handed back a broadcast (overlapping) view
    dense = grad.is_contiguous() or (grad.dim() == 4 and grad.is_contiguous(memory_format=torch.channels_last))
    return x_adv.add_(grad.sign_() if dense else grad.sign(), alpha=alpha)


def linf_project_(x_adv: Tensor, x: Tensor, eps: float) -> Tensor:
    """The nearest point of the L∞ ball, in place: clip each pixel's change to [-eps, eps]."""
    return x_adv.sub_(x).clamp_(-eps, eps).add_(x)


# --- L2: a sphere around x ----------------------------------------------------------------------
def l2_random_start(x: Tensor, eps: float, generator: torch.Generator | None) -> Tensor:
    """A uniform point in the L2 ball of radius ``eps`` around ``x``."""
    g = _noise(torch.randn, x.shape, x, generator)
    d = x[0].numel()
    r = _noise(torch.rand, (x.shape[0],), x, generator) ** (1 / d)
    return x + eps * r.view(-1, *([1] * (x.dim() - 1))) * g / _flat_norm(g, 2)


def l2_step_(x_adv: Tensor, grad: Tensor, alpha: float) -> Tensor:
    """The steepest L2 ascent step, in place: ``alpha`` along the normalised gradient."""
    return x_adv.addcdiv_(grad, _flat_norm(grad, 2), value=alpha)


def l2_project_(x_adv: Tensor, x: Tensor, eps: float) -> Tensor:
    """The nearest point of the L2 ball, in place: shrink a perturbation longer than ``eps``."""
    delta = x_adv.sub_(x)
    return delta.mul_(torch.clamp(eps / _flat_norm(delta, 2), max=1.0)).add_(x)


class Norm(NamedTuple):
    """The three pieces of a PGD step for one norm."""

    random_start: Callable[[Tensor, float, torch.Generator | None], Tensor]
    step_: Callable[[Tensor, Tensor, float], Tensor]
    project_: Callable[[Tensor, Tensor, float], Tensor]


NORMS: dict[str, Norm] = {
    "linf": Norm(linf_random_start, linf_step_, linf_project_),
    "l2": Norm(l2_random_start, l2_step_, l2_project_),
}
NORM_SYMBOLS = {"linf": "ℓ∞", "l2": "ℓ2"}
"""How a page writes each norm the library names."""


# --- keeping the model as we found it ------------------------------------------------------------
@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode with frozen parameters; restore both on exit."""
    was_training = model.training
    flags = [p.requires_grad for p in model.parameters()]
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p, f in zip(model.parameters(), flags):
            p.requires_grad_(f)
        model.train(was_training)


def cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    """Per-example cross-entropy, the default attack loss."""
    return F.cross_entropy(logits, y, reduction="none")


def margin_loss(logits: Tensor, y: Tensor) -> Tensor:
    """Per-example margin loss (Carlini–Wagner): the best other logit minus the label's logit.

    Positive exactly when the example is misclassified; unlike cross-entropy it does not saturate
    once the model is confidently right, so its gradient keeps pointing at the nearest other class.
    """
    true = logits.gather(1, y[:, None]).squeeze(1)
    others = logits.scatter(1, y[:, None], float("-inf"))
    return others.amax(1) - true


class LossRecorder:
    """A loss function that also remembers the per-example loss of every call (one per PGD step)."""

    def __init__(self, loss_fn: LossFn | None = None) -> None:
        self.loss_fn: LossFn = loss_fn or cross_entropy
        self.history: list[Tensor] = []

    def __call__(self, logits: Tensor, y: Tensor) -> Tensor:
        loss = self.loss_fn(logits, y)
        self.history.append(loss.detach().clone())
        return loss

    def curves(self) -> Tensor:
        """The recorded losses as a ``(calls, examples)`` tensor."""
        return torch.stack(self.history)


def input_gradient(model: nn.Module, x: Tensor, y: Tensor, loss_fn: LossFn = cross_entropy
                   ) -> tuple[Tensor, Tensor]:
    """The gradient of the summed loss with respect to the input, and the logits at ``x``."""
    x = x.detach().requires_grad_(True)
    logits = model(x)
    (grad,) = torch.autograd.grad(loss_fn(logits, y).sum(), x)
    return grad, logits.detach()


# --- checking what we were given -----------------------------------------------------------------
def check_attack_inputs(model: nn.Module, x: Tensor, y: Tensor, *, eps: float, norm: str,
                        alpha: float = 1.0, steps: int = 1, restarts: int = 1) -> None:
    """Refuse bad budgets, unknown norms, images outside [0, 1] and labels that do not fit."""
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; use one of {sorted(NORMS)}")
    if not eps >= 0:
        raise ValueError(f"eps must be >= 0 (a radius on the [0, 1] pixel scale), got {eps}")
    if not alpha > 0:
        raise ValueError(f"alpha (the step size) must be > 0, got {alpha}")
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if restarts < 1:
        raise ValueError(f"restarts must be at least 1, got {restarts}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x holds {x.shape[0]} images but y holds {y.shape[0]} labels; "
                         "pass one label per image")
    soft = y.is_floating_point() and y.dim() == 2  # probability targets, for custom losses
    if soft and restarts > 1:
        raise ValueError("restarts > 1 pick the worst run by its prediction, which needs class "
                         "labels; with probability targets use restarts=1")
    if not soft and (y.dim() != 1 or y.is_floating_point()):
        raise ValueError(f"y must be a 1-D tensor of class indices (or (N, C) probabilities for "
                         f"a custom loss), got {y.dtype} of shape {tuple(y.shape)}")
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"images must lie in [0, 1], got values in [{x.min():.3g}, {x.max():.3g}]; "
                         "pass unnormalised pixels (normalisation belongs inside the model)")
    if y.numel() and not soft:
        with torch.no_grad():
            classes = model(x[:1]).shape[1]
        if y.min() < 0 or y.max() >= classes:
            raise ValueError(f"labels must lie in 0..{classes - 1} (the model scores {classes} "
                             f"classes), got values in [{int(y.min())}, {int(y.max())}]")


def attack_succeeded(logits: Tensor, y: Tensor, *, targeted: bool) -> Tensor:
    """Per example: is the prediction the target (targeted) or not the label (untargeted)?"""
    pred = logits.argmax(1)
    return pred == y if targeted else pred != y


# --- the attacks ---------------------------------------------------------------------------------
PGD_TRAVEL = 2.5
"""The step of MadryLab's ``robustness`` library (``2.5 * eps / steps``) for PGD in training and
generation: k steps travel 2.5 radii in all, enough to cross the ball from a random start."""
FGSM_RS_TRAVEL = 1.25
"""Wong et al.'s FGSM-with-random-start step, 1.25·eps: from a random start, one step that can
reach the far side of the ball."""


def step_size(eps: float, *, steps: int, travel: float) -> float:
    """The step that lets ``steps`` steps travel ``travel`` times the radius: ``travel * eps / steps``.

    Every step size of the course's evaluations and training is this one rule with a named
    ``travel``: ``PGD_TRAVEL`` for training and generation, ``FGSM_RS_TRAVEL`` for FGSM with random
    start, and the evaluation budgets' own (``tutorial_lib.budgets``); chapter 3's demonstrations
    also set steps by hand.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    return travel * eps / steps


def fgsm(model: nn.Module, x: Tensor, y: Tensor, *, eps: float, norm: str = "linf",
         targeted: bool = False, loss_fn: LossFn = cross_entropy) -> Tensor:
    """The fast gradient (sign) method: one step of size ``eps``, then clip to [0, 1]."""
    home = x.device
    x, y = to_model_device(model, x, y)
    check_attack_inputs(model, x, y, eps=eps, norm=norm)
    with eval_mode(model):
        grad, _ = input_gradient(model, x, y, loss_fn)
    sign = -1.0 if targeted else 1.0
    return NORMS[norm].step_(x.detach().clone(), grad, sign * eps).clamp_(0, 1).to(home)


def pgd_steps(model: nn.Module, x: Tensor, y: Tensor, x_adv: Tensor, *, eps: float, alpha: float,
              steps: int, norm: Norm, loss_fn: LossFn) -> Tensor:
    """The loop the equation describes: ``steps`` times, step along the gradient, project back
    into the ball around ``x``, clip to [0, 1]. A negative ``alpha`` descends (targeted)."""
    for _ in range(steps):
        grad, _ = input_gradient(model, x_adv, y, loss_fn)
        x_adv = norm.project_(norm.step_(x_adv, grad, alpha), x, eps).clamp_(0, 1)
    return x_adv


def keep_worst(best: tuple[Tensor, Tensor, Tensor] | None, x_adv: Tensor, ok: Tensor, obj: Tensor
               ) -> tuple[Tensor, Tensor, Tensor]:
    """Per example, the better of the best run so far and a new one: a success beats a failure,
    then the higher objective wins."""
    if best is None:
        return x_adv, ok, obj
    x_best, best_ok, best_obj = best
    better = (ok & ~best_ok) | ((ok == best_ok) & (obj > best_obj))
    x_best = torch.where(better.view(-1, *([1] * (x_adv.dim() - 1))), x_adv, x_best)
    return x_best, best_ok | ok, torch.where(better, obj, best_obj)


def pgd(model: nn.Module, x: Tensor, y: Tensor, *, eps: float, alpha: float, steps: int,
        norm: str = "linf", random_start: bool = True, restarts: int = 1, targeted: bool = False,
        loss_fn: LossFn = cross_entropy, generator: torch.Generator | None = None) -> Tensor:
    """Projected gradient descent on the loss within the ``norm`` ball of radius ``eps``.

    Untargeted: ascend ``loss_fn(model(x'), y)``. Targeted: ``y`` are the targets; descend it.
    Checks its inputs, then runs ``pgd_steps`` from a random start (or from ``x``) ``restarts``
    times; each example keeps its worst case (``keep_worst``). Returns detached images in [0, 1].
    """
    home = x.device
    x, y = to_model_device(model, x, y)
    check_attack_inputs(model, x, y, eps=eps, norm=norm, alpha=alpha, steps=steps,
                        restarts=restarts)
    n, sign, x = NORMS[norm], (-1.0 if targeted else 1.0), x.detach()
    best = None
    with eval_mode(model):
        for _ in range(restarts):
            start = n.random_start(x, eps, generator).clamp(0, 1) if random_start else x.clone()
            # (sign * alpha) steps down the loss when targeted: both steps are odd in alpha
            x_adv = pgd_steps(model, x, y, start, eps=eps, alpha=sign * alpha, steps=steps,
                              norm=n, loss_fn=loss_fn)
            if restarts == 1:
                return x_adv.detach().to(home)
            with torch.no_grad():
                logits = model(x_adv)
                ok, obj = attack_succeeded(logits, y, targeted=targeted), sign * loss_fn(logits, y)
            best = keep_worst(best, x_adv, ok, obj)
    return best[0].detach().to(home)


# --- composing attacks: the worst case over several ----------------------------------------------
Attack = Callable[[nn.Module, Tensor, Tensor], Tensor]
"""The course's call shape of an attack: ``attack(model, x, y)`` returns adversarial images."""


def describe_attack(attack: Attack) -> str:
    """A readable budget such as ``pgd(eps=0.3, alpha=0.01, steps=50, norm=linf)``."""
    if isinstance(attack, functools.partial):
        knobs = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in attack.keywords.items() if k != "generator")
        loss = attack.keywords.get("loss_fn")
        knobs = knobs.replace(f"loss_fn={loss}", f"loss={getattr(loss, '__name__', loss)}")
        return f"{getattr(attack.func, '__name__', 'attack')}({knobs})"
    return getattr(attack, "__name__", repr(attack))


def worst_case(*attacks: Attack) -> Attack:
    """One attack from several, AutoAttack-style: each runs on the examples the previous ones
    failed to fool, and each example keeps the first adversarial image found."""
    if not attacks:
        raise ValueError("worst_case needs at least one attack")

    def attack(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        home = x.device
        x, y = to_model_device(model, x, y)
        x_adv = x.detach().clone()
        with eval_mode(model), torch.no_grad():
            alive = model(x).argmax(1) == y
        for a in attacks:
            idx = alive.nonzero().squeeze(1)
            if idx.numel() == 0:
                break
            xa = a(model, x[idx], y[idx])
            with eval_mode(model), torch.no_grad():
                fooled = model(xa).argmax(1) != y[idx]
            x_adv[idx[fooled]] = xa[fooled]
            alive[idx[fooled]] = False
        return x_adv.to(home)

    attack.__name__ = " + ".join(describe_attack(a) for a in attacks)
    return attack


def each_target(attack: Attack, *, classes: int = 10) -> Attack:
    """An untargeted attack built from a targeted one: aim at every other class in turn."""
    def toward(k: int) -> Attack:
        def a(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
            return attack(model, x, (y + k) % classes)
        return a

    combined = worst_case(*[toward(k) for k in range(1, classes)])
    combined.__name__ = f"each of {classes - 1} targets: {describe_attack(attack)}"
    return combined
