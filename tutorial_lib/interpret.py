"""What a model sees: input gradients, how well they align with the image, and its first layer."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tutorial_lib.attacks import check_attack_inputs, eval_mode, input_gradient
from tutorial_lib.data import batches
from tutorial_lib.devices import to_model_device


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
    a gradient cannot score by resembling the image (random 784-d directions: about ±0.03).
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
