"""The course's MNIST models. Inputs stay in [0, 1]; normalisation is the model's first layer."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # train-set pixel statistics (../shared/data/README.md)


class Normalize(nn.Module):
    """Subtract a mean and divide by a standard deviation, inside the model."""

    def __init__(self, mean: float = MNIST_MEAN, std: float = MNIST_STD) -> None:
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "silu": nn.SiLU}
"""The fast CNN's nonlinearities: ReLU, or the smooth SiLU (Swish) that Gowal et al. (2020) found
helps adversarial training."""


def fast_cnn(width: int = 1, num_classes: int = 10, activation: str = "relu") -> nn.Sequential:
    """The fast CNN (166k parameters at width 1): two 4x4 stride-2 convolutions and an FC layer."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
    c1, c2, hidden = 16 * width, 32 * width, 100 * width
    act = ACTIVATIONS[activation]
    return nn.Sequential(
        Normalize(),
        nn.Conv2d(1, c1, 4, stride=2, padding=1), act(),
        nn.Conv2d(c1, c2, 4, stride=2, padding=1), act(),
        nn.Flatten(),
        nn.Linear(c2 * 7 * 7, hidden), act(),
        nn.Linear(hidden, num_classes),
    )


def madry_cnn(num_classes: int = 10) -> nn.Sequential:
    """The Madry et al. MNIST-challenge CNN (3.3M parameters): 5x5 convs 32/64, max-pools, FC 1024."""
    return nn.Sequential(
        Normalize(),
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 1024), nn.ReLU(),
        nn.Linear(1024, num_classes),
    )


def mlp(hidden: int = 256, num_classes: int = 10) -> nn.Sequential:
    """A one-hidden-layer perceptron on raw pixels (204k parameters): no convolutions at all."""
    return nn.Sequential(Normalize(), nn.Flatten(), nn.Linear(28 * 28, hidden), nn.ReLU(),
                         nn.Linear(hidden, num_classes))


def linear_model(num_classes: int = 10) -> nn.Sequential:
    """A linear classifier on raw pixels: logits = W x + b."""
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, num_classes))


def binary_linear(w: Tensor, b: float = 0.0) -> nn.Sequential:
    """The linear classifier sign(wᵀx + b) as a two-class model (class 1 is the +1 side)."""
    model = linear_model(num_classes=2)
    with torch.no_grad():
        model[1].weight.copy_(torch.stack([-w, w]).float() / 2)
        model[1].bias.copy_(torch.tensor([-b, b], dtype=torch.float32) / 2)
    return model.eval()


class Quantize(nn.Module):
    """Round every pixel to one of ``levels`` grey levels: a non-differentiable input defence whose
    gradient is zero almost everywhere (gradient masking on purpose, chapter 4). With ``bpda`` the
    backward pass pretends the rounding is the identity (Athalye et al., 2018)."""

    def __init__(self, levels: int = 4, *, bpda: bool = False) -> None:
        super().__init__()
        if levels < 2:
            raise ValueError(f"levels must be at least 2 (black and white), got {levels}")
        self.levels, self.bpda = levels, bpda

    def forward(self, x: Tensor) -> Tensor:
        k = self.levels - 1
        q = (x * k).round() / k
        return x + (q - x).detach() if self.bpda else q


def quantized(model: nn.Module, levels: int = 4, *, bpda: bool = False) -> nn.Sequential:
    """``model`` behind ``Quantize``: it predicts like the model on images rounded to ``levels``
    grey levels (four by default: ε = 0.3 can still move a pixel to the next level)."""
    return nn.Sequential(Quantize(levels, bpda=bpda), model).eval()


class NoiseAveraged(nn.Module):
    """``model``'s logits averaged over ``samples`` Gaussian-noised copies of the input (standard
    deviation ``sigma``; the same draws, from ``seed``, at every call). Its input gradient is the
    noise-averaged gradient, which reaches through thresholds whose own gradient is zero."""

    def __init__(self, model: nn.Module, *, sigma: float, samples: int = 8, seed: int = 0) -> None:
        super().__init__()
        if sigma <= 0 or samples < 1:
            raise ValueError(f"need sigma > 0 and samples >= 1, got sigma={sigma}, samples={samples}")
        self.model, self.sigma, self.samples, self.seed = model, sigma, samples, seed

    def forward(self, x: Tensor) -> Tensor:
        g = torch.Generator(device=x.device).manual_seed(self.seed)
        noise = torch.randn((self.samples, *x.shape), generator=g, device=x.device, dtype=x.dtype)
        return torch.stack([self.model(x + self.sigma * n) for n in noise]).mean(0)


ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "fast_cnn": fast_cnn,
    "madry_cnn": madry_cnn,
    "linear": linear_model,
    "mlp": mlp,
}


def build_model(arch: str, **kwargs: int | str) -> nn.Module:
    """A freshly initialised model of a named architecture (see ``ARCHITECTURES``)."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[arch](**kwargs)


def count_parameters(model: nn.Module) -> int:
    """The number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
