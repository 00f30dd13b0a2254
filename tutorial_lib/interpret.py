"""What a model sees: input gradients, how well they align with the image, and its first layer."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tutorial_lib.attacks import check_attack_inputs, cross_entropy, eval_mode, input_gradient
from tutorial_lib.data import batches
from tutorial_lib.devices import to_model_device
from tutorial_lib.stats import mean_se


def loss_gradients(model: nn.Module, x: Tensor, y: Tensor, *, batch_size: int = 500) -> Tensor:
    """The gradient of each example's cross-entropy with respect to its pixels (the paper's Fig. 2)."""
    home = x.device
    x, y = to_model_device(model, x, y)
    check_attack_inputs(model, x, y, eps=0.0, norm="linf")
    out = []
    with eval_mode(model):
        for xb, yb in batches(x, y, batch_size):
            out.append(input_gradient(model, xb, yb)[0])
    return torch.cat(out).to(home)


def display_scale(grad: Tensor, *, sigmas: float = 3.0) -> Tensor:
    """The paper's display normalisation: clip each gradient to ±3 standard deviations, then
    rescale to [-1, 1] (blue positive, red negative in ``image_grid(signed=True)``)."""
    flat = grad.flatten(1)
    s = sigmas * flat.std(1, keepdim=True).clamp_min(1e-12)
    return (flat.clamp(-s, s) / s).view_as(grad)


def class_means(x: Tensor, y: Tensor, classes: int = 10) -> Tensor:
    """The mean image of each class, ``(classes, *image_shape)``."""
    missing = [c for c in range(classes) if not (y == c).any()]
    if missing:
        raise ValueError(f"no examples of classes {missing}; pass data with every class")
    return torch.stack([x[y == c].mean(0) for c in range(classes)])


def runner_up(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """The class each example is most likely to be mistaken for: the best-scoring wrong class."""
    with eval_mode(model), torch.no_grad():
        logits = torch.cat([model(*to_model_device(model, xb)) for xb, _ in batches(x, y, 1000)])
    return logits.to(y.device).scatter(1, y[:, None], float("-inf")).argmax(1)


def class_contrast_cosine(grad: Tensor, y: Tensor, target: Tensor, means: Tensor) -> Tensor:
    """Per example: cosine between the loss gradient and ``means[target] - means[y]``, the direction
    from the true class's mean image to the likely other class's.

    Raising the loss means moving toward another class; a gradient that "sees" digits points the
    way the other class differs from this one. The direction does not contain the image itself, so
    a gradient cannot score by resembling the image (random 784-d directions: about ±1/√784 ≈ ±0.04).
    """
    if grad.shape[0] != y.shape[0] or grad.shape[1:] != means.shape[1:]:
        raise ValueError(f"grad {tuple(grad.shape)} must hold one image of the means' shape "
                         f"{tuple(means.shape[1:])} per label ({len(y)})")
    contrast = (means[target] - means[y]).flatten(1)
    return F.cosine_similarity(grad.flatten(1), contrast, dim=1)


def stroke_mask(x: Tensor, *, threshold: float = 0.1, grow: int = 1) -> Tensor:
    """Pixels on or next to the digit's strokes: brighter than ``threshold``, grown by ``grow`` px."""
    on = (x > threshold).float()
    if grow:
        on = F.max_pool2d(on, 2 * grow + 1, stride=1, padding=grow)
    return on > 0


def stroke_area(x: Tensor, *, threshold: float = 0.1, grow: int = 1) -> Tensor:
    """Per example: the share of pixels on or next to the strokes — the ``stroke_fraction`` of a
    gradient that does not care where the digit is (uniform noise scores about this)."""
    return stroke_mask(x, threshold=threshold, grow=grow).flatten(1).float().mean(1)


def stroke_fraction(grad: Tensor, x: Tensor, *, threshold: float = 0.1, grow: int = 1) -> Tensor:
    """Per example: the share of the gradient's energy (Σ g²) on or next to the strokes, in [0, 1]:
    ``stroke_area`` for a gradient that ignores the digit, 1 (the ceiling) for one entirely on it."""
    if grad.shape != x.shape:
        raise ValueError(f"grad {tuple(grad.shape)} and x {tuple(x.shape)} must have one shape")
    mask = stroke_mask(x, threshold=threshold, grow=grow).flatten(1).float()
    energy = grad.flatten(1).pow(2)
    return (energy * mask).sum(1) / energy.sum(1).clamp_min(1e-30)


def alignment(model: nn.Module, x: Tensor, y: Tensor, means: Tensor) -> dict[str, tuple[float, float]]:
    """Both alignment measures of the model's loss gradients on (x, y), each as (mean, standard
    error over the images): ``stroke`` (``stroke_fraction``) and ``contrast``
    (``class_contrast_cosine`` toward each image's ``runner_up`` class)."""
    g = loss_gradients(model, x, y)
    contrast = class_contrast_cosine(g, y, runner_up(model, x, y), means)
    return {"stroke": mean_se(stroke_fraction(g, x).tolist()), "contrast": mean_se(contrast.tolist())}


def layer_output(model: nn.Sequential, x: Tensor, upto: int) -> Tensor:
    """The activations after the first ``upto`` layers of a sequential model."""
    if not 0 < upto <= len(model):
        raise ValueError(f"upto must be in 1..{len(model)}, got {upto}")
    with eval_mode(model), torch.no_grad():
        return model[:upto](*to_model_device(model, x)).to(x.device)


def first_conv(model: nn.Sequential) -> nn.Conv2d:
    """The model's first convolution (its filters are what the model looks for in pixels)."""
    for layer in model:
        if isinstance(layer, nn.Conv2d):
            return layer
    raise ValueError("the model has no convolution layer")


def pixel_thresholds(model: nn.Sequential, *, dominant: float = 0.5, empty: float = 0.05
                     ) -> dict[int, tuple[float, int]]:
    """Where each single-pixel first-layer filter turns on: ``{filter: (brightness, sign)}``.

    A filter is single-pixel when one weight holds over ``dominant`` of its total ``|weight|`` (filters
    whose total is under ``empty`` of the largest filter's are left out: nearly empty, they pass on
    almost nothing). With the rest of its window black (MNIST's background, away from the border),
    its ReLU turns on once that pixel is brighter than ``brightness`` (sign +1) or darker (sign -1);
    the model's ``Normalize`` is folded in.
    """
    norm = next((m for m in model if hasattr(m, "mean") and hasattr(m, "std")), None)
    if norm is None:
        raise ValueError("the model has no Normalize layer before its first convolution")
    conv = first_conv(model)
    if conv.in_channels != 1:
        raise ValueError(f"pixel thresholds need one input channel, the first convolution has {conv.in_channels}")
    w, b = conv.weight.detach().flatten(1), conv.bias.detach()
    out, mass = {}, w.abs().sum(1)
    for k in range(len(w)):
        top = int(w[k].abs().argmax())
        if w[k, top].abs() <= dominant * mass[k] or mass[k] < empty * mass.max():
            continue
        rest = w[k].sum() - w[k, top]   # the other pixels, black, still enter as (0 - mean) / std
        offset = b[k] - norm.mean / norm.std * rest - w[k, top] * norm.mean / norm.std
        out[k] = (float(-offset * norm.std / w[k, top]), 1 if w[k, top] > 0 else -1)
    return out


def activation_change(model: nn.Sequential, x: Tensor, *, eps: float, upto: int = 3,
                      generator: torch.Generator | None = None) -> float:
    """How much random ±eps pixel noise moves the activations after ``upto`` layers, relative to
    their size: ||f(clip(x + noise)) - f(x)|| / ||f(x)||, averaged over examples."""
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    noise = (torch.randint(0, 2, x.shape, generator=generator) * 2 - 1).to(x) * eps
    clean, noisy = layer_output(model, x, upto), layer_output(model, (x + noise).clamp(0, 1), upto)
    change = (noisy - clean).flatten(1).norm(dim=1) / clean.flatten(1).norm(dim=1).clamp_min(1e-12)
    return float(change.mean())


def loss_surface(model: nn.Module, x: Tensor, y: Tensor, *, eps: float, grid: int = 21,
                 seed: int = 0) -> tuple[Tensor, Tensor]:
    """The loss around one image on a slice of the ℓ∞ ball (Kolter & Madry's picture): ``x + δ`` with
    ``δ = a·g + b·r`` clipped to the ball (a plane near the image, folded onto the ball's faces where
    ``|a| + |b| > eps``) and the image to [0, 1], ``g`` the sign of the loss
    gradient (FGSM's direction) and ``r`` a random ±1 direction, for ``a, b`` on a ``grid`` × ``grid``
    lattice of [-eps, eps]. Returns the offsets and the losses, ``[grid, grid]`` (rows: ``a``)."""
    if x.shape[0] != 1 or y.shape != (1,):
        raise ValueError(f"loss_surface takes one image and its label, got {tuple(x.shape)} and {tuple(y.shape)}")
    check_attack_inputs(model, x, y, eps=eps, norm="linf")
    home = x.device
    x, y = to_model_device(model, x, y)
    with eval_mode(model):
        grad, _ = input_gradient(model, x, y)
        r = (torch.randint(0, 2, x.shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1).to(x)
        offsets = torch.linspace(-eps, eps, grid, dtype=x.dtype, device=x.device)
        a, b = torch.meshgrid(offsets, offsets, indexing="ij")
        delta = (a.reshape(-1, 1, 1, 1) * grad.sign() + b.reshape(-1, 1, 1, 1) * r).clamp(-eps, eps)
        points = (x + delta).clamp(0, 1)
        with torch.no_grad():
            loss = cross_entropy(model(points), y.expand(len(points)))
    return offsets.to(home), loss.reshape(grid, grid).to(home)
