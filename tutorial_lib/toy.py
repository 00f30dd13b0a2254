"""The paper's toy distribution (Sec. 2.1, eq. 3), its closed forms, and linear classifiers on it.

y is uniform on {-1, +1}; x_1 = y with probability p (else -y) is the *robust* feature;
x_2..x_{d+1} ~ N(eta*y, 1) are the *non-robust* features. An L∞ adversary with eps >= 2*eta can
move every non-robust feature to N(-eta*y, 1), where it points to the wrong class.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


def normal_cdf(z: float) -> float:
    """Φ(z), the standard normal CDF."""
    return 0.5 * math.erfc(-z / math.sqrt(2))


@dataclass(frozen=True)
class ToyDistribution:
    """The distribution of eq. (3): robust-feature accuracy ``p``, signal ``eta``, ``d`` weak features."""

    p: float = 0.95
    eta: float = 0.3
    d: int = 100

    def __post_init__(self) -> None:
        if not 0.5 <= self.p <= 1:
            raise ValueError(f"p is the probability that x1 = y and must lie in [0.5, 1], got {self.p}")
        if not self.eta > 0:
            raise ValueError(f"eta (the mean of the non-robust features) must be > 0, got {self.eta}")
        if int(self.d) != self.d or self.d < 1:
            raise ValueError(f"d (the number of non-robust features) must be an integer >= 1, got {self.d}")

    @classmethod
    def with_eta_sqrt_d(cls, p: float, c: float, d: int) -> "ToyDistribution":
        """The distribution with eta = c / sqrt(d), the paper's scaling (c = 3 or 4 in the text)."""
        return cls(p=p, eta=c / math.sqrt(d), d=d)


def sample(dist: ToyDistribution, n: int, *, generator: torch.Generator | None = None
           ) -> tuple[Tensor, Tensor]:
    """``n`` draws: features ``(n, d + 1)`` (float64) and labels ``(n,)`` in {-1, +1}."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    y = torch.randint(0, 2, (n,), generator=generator, dtype=torch.float64) * 2 - 1
    agree = torch.rand(n, generator=generator, dtype=torch.float64) < dist.p
    x1 = torch.where(agree, y, -y)
    rest = dist.eta * y[:, None] + torch.randn(n, dist.d, generator=generator, dtype=torch.float64)
    return torch.cat([x1[:, None], rest], 1), y


def worst_case_linf(x: Tensor, y: Tensor, w: Tensor, eps: float) -> Tensor:
    """The L∞ perturbation that most lowers the margin y·wᵀx of a linear classifier: -eps·y·sign(w)."""
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    return x - eps * y[:, None] * torch.sign(w)[None, :]


def linear_accuracy(w: Tensor, dist: ToyDistribution, eps: float = 0.0) -> float:
    """Exact accuracy of sign(wᵀx) under the worst L∞ perturbation of size eps (0: standard).

    The margin is y·w1·x1 + Σ w_i·y·x_i - eps·||w||₁, and Σ w_i·y·x_i ~ N(eta·Σw_i, ||w_2:||²).
    """
    w = torch.as_tensor(w, dtype=torch.float64)
    if w.shape != (dist.d + 1,):
        raise ValueError(f"w must have d + 1 = {dist.d + 1} entries, got shape {tuple(w.shape)}")
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    w1, v = float(w[0]), w[1:]
    mean, sd = dist.eta * float(v.sum()), float(v.norm())
    cost = eps * float(w.abs().sum())

    def prob_positive(m: float) -> float:
        return normal_cdf(m / sd) if sd > 0 else float(m > 0)

    return dist.p * prob_positive(w1 + mean - cost) + (1 - dist.p) * prob_positive(-w1 + mean - cost)


def averaging_weights(dist: ToyDistribution) -> Tensor:
    """eq. (4): w_unif = [0, 1/d, ..., 1/d], the average of the non-robust features."""
    return torch.cat([torch.zeros(1), torch.full((dist.d,), 1 / dist.d)]).double()


def robust_feature_weights(dist: ToyDistribution) -> Tensor:
    """The classifier sign(x1) that uses only the robust feature."""
    return torch.cat([torch.ones(1), torch.zeros(dist.d)]).double()


def bayes_weights(dist: ToyDistribution) -> Tensor:
    """The Bayes-optimal (standard) classifier, linear here: ½·log(p/(1-p))·x1 + eta·Σ x_i."""
    w1 = 0.5 * math.log(dist.p / (1 - dist.p)) if dist.p < 1 else 1e6
    return torch.cat([torch.tensor([w1]), torch.full((dist.d,), dist.eta)]).double()


def averaging_accuracy(dist: ToyDistribution, eps: float = 0.0) -> float:
    """Closed form for eq. (4): Pr[N(eta - eps, 1/d) > 0] = Φ((eta - eps)·√d)."""
    return normal_cdf((dist.eta - eps) * math.sqrt(dist.d))


def symmetric_family(dist: ToyDistribution, eps: float, *, grid: int = 20001) -> tuple[Tensor, Tensor]:
    """The linear classifiers w(t) = (cos t, sin t/√d, ..., sin t/√d), t from 0 (only the robust
    feature) to π/2 (only the average): the angle ``t`` and each one's exact accuracy at radius eps."""
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    t = torch.linspace(0, math.pi / 2, grid, dtype=torch.float64)
    w1, sd, root_d = t.cos(), t.sin(), math.sqrt(dist.d)
    mean, cost = dist.eta * root_d * sd, eps * (w1.abs() + root_d * sd)

    def prob_positive(m: Tensor) -> Tensor:
        return torch.where(sd > 0, torch.special.ndtr(m / sd.clamp_min(1e-300)), (m > 0).double())

    return t, dist.p * prob_positive(w1 + mean - cost) + (1 - dist.p) * prob_positive(-w1 + mean - cost)


def family_weights(dist: ToyDistribution, t: float) -> Tensor:
    """The member w(t) of ``symmetric_family``."""
    root_d = math.sqrt(dist.d)
    return torch.cat([torch.tensor([math.cos(t)], dtype=torch.float64),
                      torch.full((dist.d,), math.sin(t) / root_d, dtype=torch.float64)])


def best_linear(dist: ToyDistribution, eps: float, *, grid: int = 20001) -> tuple[Tensor, float]:
    """The member of ``symmetric_family`` with the highest accuracy at radius eps, and that accuracy.

    Equal non-robust weights are the natural family here (the distribution is symmetric in them);
    for eps > eta unequal weights can lose less, so this is the best *symmetric* linear classifier.
    """
    t, acc = symmetric_family(dist, eps, grid=grid)
    i = int(acc.argmax())
    return family_weights(dist, float(t[i])), float(acc[i])


def mixture(a: tuple[float, float], b: tuple[float, float], share_b: float) -> tuple[float, float]:
    """(standard, robust) accuracy of the randomised classifier that follows b with probability
    share_b and a otherwise: accuracies mix linearly."""
    if not 0 <= share_b <= 1:
        raise ValueError(f"share_b must lie in [0, 1], got {share_b}")
    return tuple((1 - share_b) * u + share_b * v for u, v in zip(a, b))


def weight_support(w: Tensor, share: float = 0.9) -> int:
    """How many coordinates carry ``share`` of the weight vector's absolute mass (the largest first)."""
    if not 0 < share <= 1:
        raise ValueError(f"share must lie in (0, 1], got {share}")
    mass = torch.as_tensor(w, dtype=torch.float64).abs().flatten().sort(descending=True).values
    if mass.sum() == 0:
        return 0
    return int((mass.cumsum(0) < share * mass.sum()).sum()) + 1


def theorem_2_1_bound(standard_accuracy: float, p: float) -> float:
    """Theorem 2.1: robust accuracy (eps >= 2·eta) <= p/(1-p)·δ, where δ = 1 - standard accuracy."""
    if not 0.5 <= p <= 1:
        raise ValueError(f"p must lie in [0.5, 1], got {p}")
    if not 0 <= standard_accuracy <= 1:
        raise ValueError(f"standard_accuracy must lie in [0, 1], got {standard_accuracy}")
    delta = 1 - standard_accuracy
    return math.inf if p == 1 else p / (1 - p) * delta


def monte_carlo_accuracy(w: Tensor, dist: ToyDistribution, n: int, eps: float = 0.0, *,
                         seed: int = 0) -> tuple[float, float]:
    """Accuracy of sign(wᵀx) on ``n`` fresh samples under the worst L∞ perturbation, and the
    half-width of its 95% confidence interval (normal approximation)."""
    x, y = sample(dist, n, generator=torch.Generator().manual_seed(seed))
    w = torch.as_tensor(w, dtype=torch.float64)
    x_adv = worst_case_linf(x, y, w, eps)
    acc = ((x_adv @ w) * y > 0).double().mean().item()
    return acc, 1.96 * math.sqrt(max(acc * (1 - acc), 1 / n) / n)


def train_hinge(x: Tensor, y: Tensor, *, eps: float = 0.0, lam: float = 1e-2, steps: int = 300,
                lr: float = 0.05, bias: bool = False) -> tuple[Tensor, float]:
    """A soft-margin linear SVM (eq. 5) by full-batch Adam; with eps > 0, its adversarial version.

    For a linear model the inner max has a closed form: the margin drops by eps·||w||₁. Returns
    weights and bias (0 unless ``bias``), scaled so that ||w||₂ = 1 (the sign is what classifies).
    """
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x has {x.shape[0]} rows but y has {y.shape[0]} labels")
    w = torch.zeros(x.shape[1], dtype=x.dtype, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, requires_grad=bias)
    opt = torch.optim.Adam([w, b] if bias else [w], lr=lr)
    # a learning rate decaying to 0 lets the subgradient steps settle (weights that should be 0 get close)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1 - i / steps)
    for _ in range(steps):
        margin = y * (x @ w + b) - eps * w.abs().sum()
        loss = torch.clamp(1 - margin, min=0).mean() + lam / 2 * w.pow(2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    scale = w.detach().norm().clamp_min(1e-12)
    return w.detach() / scale, float(b.detach() / scale)


# --- the bridge to real data (the paper's Figure 5): linear classifiers on two MNIST digits ------
def binary_digits(x: Tensor, y: Tensor, positive: int, negative: int) -> tuple[Tensor, Tensor]:
    """Flattened images of two digits, labelled +1 (``positive``) and -1 (``negative``)."""
    keep = (y == positive) | (y == negative)
    return x[keep].flatten(1).double(), torch.where(y[keep] == positive, 1.0, -1.0).double()


def linear_worst_case(x: Tensor, y: Tensor, w: Tensor, *, eps: float, norm: str = "linf",
                      iters: int = 100) -> Tensor:
    """The perturbed images that most lower the margin y·wᵀx within the ``norm`` ball of radius
    ``eps`` *and* the pixel box [0, 1], exactly.

    Without the box the answers are -eps·y·sign(w) (L∞) and -eps·y·w/||w||₂ (L2). With it, each
    pixel follows the same direction but stops at 0 or 1; for L2 the freed budget goes to the other
    pixels: δ_i = clip(-λ·y·w_i, -x_i, 1 - x_i), with λ found by bisection so that ||δ||₂ = eps.
    """
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    if norm == "linf":
        return worst_case_linf(x, y, w, eps).clamp(0, 1)
    if norm != "l2":
        raise ValueError(f"unknown norm {norm!r}; use 'linf' or 'l2'")
    direction = -y[:, None] * w[None, :]
    lo, hi = torch.zeros_like(y), torch.full_like(y, 1e8)  # ||clip(λ·direction)|| grows with λ
    for _ in range(iters):
        mid = (lo + hi) / 2
        too_far = (mid[:, None] * direction).clamp(-x, 1 - x).norm(dim=1) > eps
        hi, lo = torch.where(too_far, mid, hi), torch.where(too_far, lo, mid)
    return x + (lo[:, None] * direction).clamp(-x, 1 - x)


def box_linf_accuracy(w: Tensor, b: float, x: Tensor, y: Tensor, eps: float) -> float:
    """Exact accuracy of sign(wᵀx + b) under the worst L∞ perturbation that keeps pixels in [0, 1].

    The margin is a sum over pixels, so the worst case moves each pixel by eps against
    y·sign(w_i), stopped at 0 or 1: a closed form, no attack needed.
    """
    return sign_accuracy(w, b, worst_case_linf(x, y, w, eps).clamp(0, 1), y)


def sign_accuracy(w: Tensor, b: float, x: Tensor, y: Tensor) -> float:
    """The accuracy of sign(wᵀx + b) on flat inputs ``x`` with labels ``y`` in {-1, +1}."""
    return ((x @ w + b) * y > 0).double().mean().item()


def as_images(x: Tensor) -> Tensor:
    """Flat 784-pixel vectors (as ``binary_digits`` gives them) back to ``(n, 1, 28, 28)`` images."""
    return x.float().view(-1, 1, 28, 28)


def top_correlated_pixels(x: Tensor, y: Tensor, k: int) -> Tensor:
    """Indices of the ``k`` pixels whose values correlate most (in absolute value) with the label."""
    xc, yc = x - x.mean(0), y - y.mean()
    corr = (xc * yc[:, None]).mean(0) / (xc.std(0) * yc.std()).clamp_min(1e-12)
    return corr.abs().argsort(descending=True)[:k]
