"""Robust models as generators: large-ε targeted examples, interpolation, class-conditional
generation from seeds. Every image here comes out of the library's one ``pgd`` loop."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import Tensor, nn

from tutorial_lib.attacks import PGD_TRAVEL, pgd, step_size
from tutorial_lib.evaluate import accuracy, predict
from tutorial_lib.stats import mean_se


def large_eps_example(model: nn.Module, x: Tensor, target: Tensor, *, eps: float,
                      norm: str = "l2", steps: int = 100, alpha: float | None = None) -> Tensor:
    """The paper's Figure 3: targeted PGD toward ``target`` within a large ``eps`` ball, from
    ``x`` itself (no random start); step ``step_size(eps, steps=steps, travel=PGD_TRAVEL)``
    (2.5·eps/steps) unless ``alpha`` is given."""
    step = alpha if alpha is not None else step_size(eps, steps=steps, travel=PGD_TRAVEL)
    return pgd(model, x, target, eps=eps, alpha=step, steps=steps, norm=norm, targeted=True,
               random_start=False)


def interpolate(x: Tensor, x_end: Tensor, n: int = 7) -> Tensor:
    """The paper's Figure 4: ``n`` images on the straight line from ``x`` to ``x_end``,
    shaped ``(n, *x.shape)``; step ``k`` is ``(1 - a)·x + a·x_end`` with ``a = k / (n - 1)``."""
    if x.shape != x_end.shape:
        raise ValueError(f"x {tuple(x.shape)} and x_end {tuple(x_end.shape)} must have one shape")
    if n < 2:
        raise ValueError(f"n must be at least 2 (the two ends), got {n}")
    a = torch.linspace(0, 1, n, dtype=x.dtype).view(-1, *([1] * x.dim()))
    return (1 - a) * x.unsqueeze(0) + a * x_end.unsqueeze(0)


@dataclass(frozen=True)
class ClassGaussians:
    """A Gaussian per class over flattened images: mean plus a low-rank covariance (the class's
    top principal directions, each with its standard deviation)."""

    means: Tensor        # (classes, d)
    directions: Tensor   # (classes, rank, d), orthonormal rows
    stds: Tensor         # (classes, rank)
    shape: tuple[int, ...]


def fit_class_gaussians(x: Tensor, y: Tensor, *, rank: int = 20, classes: int = 10) -> ClassGaussians:
    """Fit each class's mean and its ``rank`` leading principal directions (by SVD)."""
    if rank < 0:
        raise ValueError(f"rank must be >= 0, got {rank}")
    means, dirs, stds = [], [], []
    for c in range(classes):
        xc = x[y == c].flatten(1).double()
        if len(xc) <= rank:
            raise ValueError(f"class {c} has {len(xc)} examples; need more than rank={rank}")
        mu = xc.mean(0)
        _, s, vh = torch.linalg.svd(xc - mu, full_matrices=False)
        means.append(mu), dirs.append(vh[:rank]), stds.append(s[:rank] / (len(xc) - 1) ** 0.5)
    return ClassGaussians(torch.stack(means).float(), torch.stack(dirs).float(),
                          torch.stack(stds).float(), tuple(x.shape[1:]))


def sample_seeds(g: ClassGaussians, classes: Tensor, *, generator: torch.Generator | None = None
                 ) -> Tensor:
    """One seed image per entry of ``classes``: a draw from that class's Gaussian, clipped to [0, 1]."""
    z = torch.randn(len(classes), g.stds.shape[1], generator=generator)
    flat = g.means[classes] + torch.einsum("nr,nrd->nd", z * g.stds[classes], g.directions[classes])
    return flat.clamp(0, 1).view(len(classes), *g.shape)


def generate(model: nn.Module, seeds: Tensor, classes: Tensor, *, eps: float = 6.0,
             steps: int = 60, norm: str = "l2", alpha: float | None = None) -> Tensor:
    """Class-conditional generation (Santurkar et al., 2019): from each seed, targeted PGD toward
    its class within a large ``eps`` ball — the same loop as an attack, aimed the other way."""
    return large_eps_example(model, seeds, classes, eps=eps, norm=norm, steps=steps, alpha=alpha)


def target_agreement(judge: nn.Module, images: Tensor, targets: Tensor) -> float:
    """The fraction of images an independent classifier labels as their intended class."""
    return accuracy(judge, (images, targets))


Judge = nn.Module | Callable[[Tensor], Tensor]
"""A judge of images: a classifier, or any function from images to labels (a nearest-neighbour vote)."""


def judged_labels(judge: Judge, images: Tensor) -> Tensor:
    """The labels a judge gives ``images``."""
    return predict(judge, images) if isinstance(judge, nn.Module) else judge(images)


def agreement_grid(models: Mapping[str, nn.Module], x: Tensor, targets: Tensor,
                   grids: Mapping[str, Sequence[float]], *, judges: Mapping[str, Judge],
                   steps: int = 100) -> dict[tuple[str, str, float], tuple[float, ...]]:
    """Figure 3 over budgets: per (norm, model, ε), the share of the large-ε targeted examples
    (from ``x`` toward ``targets``) that the model itself and then each judge call the target."""
    out = {}
    for norm, grid in grids.items():
        for name, m in models.items():
            for eps in grid:
                x_big = large_eps_example(m, x, targets, eps=eps, norm=norm, steps=steps)
                out[(norm, name, eps)] = (target_agreement(m, x_big, targets),
                                          *(float((judged_labels(j, x_big) == targets).float().mean())
                                            for j in judges.values()))
    return out


def agreement_lines(agree: Mapping[tuple[str, str, float], tuple[float, ...]]) -> str:
    """``agreement_grid`` as text: a line per norm and model, each ε's shares in % joined by "/"."""
    rows: dict[tuple[str, str], list[str]] = {}
    for (norm, name, eps), shares in agree.items():
        rows.setdefault((norm, name), []).append(f"ε={eps}: " + "/".join(f"{100 * v:.0f}" for v in shares))
    return "\n".join(f"{norm:>4} {name:<17} " + "  ".join(cells) for (norm, name), cells in rows.items())


def mean_pairwise_distance(images: Tensor) -> float:
    """The mean L2 distance between distinct pairs of images (a simple diversity measure)."""
    if len(images) < 2:
        raise ValueError("need at least two images to measure their diversity")
    d = torch.cdist(images.flatten(1).double(), images.flatten(1).double())
    n = len(images)
    return float(d.sum() / (n * (n - 1)))


def nearest_distance(images: Tensor, reference: Tensor, *, chunk: int = 256) -> Tensor:
    """Per image, the L2 distance to its nearest neighbour in ``reference`` (e.g. the training set)."""
    ref = reference.flatten(1)
    out = [torch.cdist(part.flatten(1), ref).amin(1) for part in images.split(chunk)]
    return torch.cat(out)


def nearest_neighbour_labels(images: Tensor, reference: Tensor, labels: Tensor, *, k: int = 5,
                             chunk: int = 256) -> Tensor:
    """A k-nearest-neighbour vote in pixel space: a judge with no gradient and no learned
    features, so perturbations aimed at a network do not carry over to it."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    ref = reference.flatten(1)
    out = []
    for part in images.split(chunk):
        idx = torch.cdist(part.flatten(1), ref).topk(k, largest=False).indices
        out.append(labels[idx].mode(1).values)
    return torch.cat(out)


def judge_scores(images: Tensor, classes: Tensor, reference: Tensor, labels: Tensor, *,
                 per_class: int) -> tuple[float, float, float]:
    """Chapter 9's scores of images generated ``per_class`` at a time for each class in turn: the
    kNN judge's agreement with ``classes`` (a fraction), their diversity (``mean_pairwise_distance``
    within a class, averaged over the classes) and their mean distance to the nearest ``reference``."""
    per = images.view(len(images) // per_class, per_class, -1)
    return ((nearest_neighbour_labels(images, reference, labels, k=5) == classes).float().mean().item(),
            sum(mean_pairwise_distance(per[c]) for c in range(len(per))) / len(per),
            nearest_distance(images, reference).mean().item())


def class_distance(images: Tensor, classes: Tensor, reference: Tensor, labels: Tensor, *,
                   features: Callable[[Tensor], Tensor] = lambda x: x, k: int = 5) -> Tensor:
    """Per image, the mean distance from its ``features`` to the ``k`` nearest reference images of
    its own class (e.g. real training digits). Small means "like real digits of that class";
    unlike the distance to the nearest image of *any* class, noise makes it larger, so it does not
    reward noise. ``features``: a map into a feature space (default: pixels)."""
    if len(images) != len(classes) or len(reference) != len(labels):
        raise ValueError(f"got {len(images)} images for {len(classes)} classes and {len(reference)} "
                         f"reference images for {len(labels)} labels; pass matching tensors")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    f_img, f_ref = features(images).flatten(1), features(reference).flatten(1)
    out = torch.empty(len(images))
    for c in classes.unique().tolist():
        pool = f_ref[labels == c]
        if len(pool) < k:
            raise ValueError(f"class {c} has {len(pool)} reference images, fewer than k = {k}")
        sel = classes == c
        out[sel] = torch.cdist(f_img[sel], pool).topk(k, largest=False).values.mean(1).cpu()
    return out


def judge_report(images: Tensor, classes: Tensor, *, judge: nn.Module, train: tuple[Tensor, Tensor],
                 reference: tuple[Tensor, Tensor], features: Callable[[Tensor], Tensor],
                 feature_unit: float, per_class: int = 8) -> dict[str, object]:
    """Every score chapter 9 gives a set of generations: the network judge's and the kNN judge's
    agreement with ``classes`` (in %), diversity, distance to the nearest training image, and the
    distance to real digits of the class in ``features`` (in units of ``feature_unit``; mean, SE)."""
    agree, diversity, nearest = judge_scores(images, classes, *train, per_class=per_class)
    distance = class_distance(images, classes, *reference, features=features) / feature_unit
    return {"MLP": 100 * target_agreement(judge, images, classes), "kNN": 100 * agree,
            "diversity": diversity, "nearest": nearest, "features": mean_se(distance.tolist())}


def report_line(label: str, s: dict[str, object]) -> str:
    """One line of chapter 9's judge table: ``judge_report``'s scores of ``label``'s images."""
    return (f"{label:<28} MLP judge {s['MLP']:5.1f}%   kNN judge {s['kNN']:5.1f}%   diversity {s['diversity']:5.2f}   "
            f"nearest training image {s['nearest']:5.2f}   to its class (features) {s['features'][0]:.2f} ± {s['features'][1]:.2f}")


@dataclass
class JudgeBoard:
    """Chapter 9's table of judges: ``add`` scores a set of images (``judge_report``), keeps the
    scores under its label and prints its line."""

    classes: Tensor
    judge: nn.Module
    train: tuple[Tensor, Tensor]
    reference: tuple[Tensor, Tensor]
    features: Callable[[Tensor], Tensor]
    feature_unit: float
    per_class: int = 8
    scores: dict[str, dict[str, object]] = field(default_factory=dict)

    def add(self, label: str, images: Tensor) -> None:
        """Score ``images`` (generated for ``classes``), keep and print the scores."""
        self.scores[label] = judge_report(images, self.classes, judge=self.judge, train=self.train,
                                          reference=self.reference, features=self.features,
                                          feature_unit=self.feature_unit, per_class=self.per_class)
        print(report_line(label, self.scores[label]))


def path_class_distance(path: Tensor, source: Tensor, target: Tensor, reference: Tensor,
                        labels: Tensor, *, features: Callable[[Tensor], Tensor] = lambda x: x,
                        k: int = 5) -> Tensor:
    """For a batch of paths ``(steps, n, ...)`` (``interpolate``), the ``class_distance`` of each
    image to the nearer of its path's two classes: low all along means every image on the path
    looks like a real digit of one of them, high in the middle means a double exposure."""
    return torch.stack([torch.minimum(
        class_distance(p, source, reference, labels, features=features, k=k),
        class_distance(p, target, reference, labels, features=features, k=k)) for p in path])


def vote_switches(votes: Tensor) -> Tensor:
    """Per path, how many times a judge's vote changes along it (``votes``: ``(steps, n)``)."""
    if votes.ndim != 2 or len(votes) < 2:
        raise ValueError(f"votes must be (steps >= 2, paths), got shape {tuple(votes.shape)}")
    return (votes[1:] != votes[:-1]).sum(0)


class Inpainter(nn.Module):
    """``model`` looking at ``known`` outside ``mask`` and at its input inside it: an attack on this
    module can only move the masked pixels (the others never reach the model)."""

    def __init__(self, model: nn.Module, known: Tensor, mask: Tensor) -> None:
        super().__init__()
        self.model, self.known, self.mask = model, known, mask

    def forward(self, z: Tensor) -> Tensor:
        known, mask = self.known.to(z), self.mask.to(z)   # z arrives on the model's device
        return self.model(known * (1 - mask) + z * mask)


def block_mask(x: Tensor, *, rows: slice = slice(10, 18), cols: slice = slice(0, 28)) -> Tensor:
    """A mask of ones over a block of each image (by default a band across the middle of the digit)."""
    mask = torch.zeros_like(x)
    mask[..., rows, cols] = 1
    return mask


def inpaint(model: nn.Module, x: Tensor, y: Tensor, mask: Tensor, *, eps: float = 6.0, steps: int = 60,
            fill: float = 0.0) -> Tensor:
    """Inpainting (Santurkar et al., 2019): blank the masked pixels to ``fill``, then let targeted
    PGD toward each image's true class within ℓ2 ``eps`` redraw them, the rest held fixed."""
    if mask.shape[-2:] != x.shape[-2:] or not ((mask == 0) | (mask == 1)).all():
        raise ValueError("the mask must be 0/1 and the images' height and width")
    corrupted = x * (1 - mask) + fill * mask
    z = large_eps_example(Inpainter(model, corrupted, mask), corrupted, y, eps=eps, norm="l2", steps=steps)
    return corrupted * (1 - mask) + z.to(corrupted) * mask


def masked_distance(images: Tensor, x: Tensor, mask: Tensor) -> Tensor:
    """Per image, the ℓ2 distance between ``images`` and the originals ``x`` over the masked pixels
    only: how far a refilled block is from the one that was blanked."""
    return ((images - x) * mask).flatten(1).norm(dim=1)
