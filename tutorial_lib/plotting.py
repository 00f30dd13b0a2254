"""Figure helpers: every picture in the book is made here, in one visual style. No maths."""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from torch import Tensor

STYLE = {"figure.dpi": 100, "axes.spines.top": False, "axes.spines.right": False,
         "axes.grid": True, "grid.alpha": 0.3, "font.size": 10}


def use_style() -> None:
    """Apply the course's plotting style."""
    plt.rcParams.update(STYLE)


def image_grid(rows: Sequence[Tensor], *, row_titles: Sequence[str] = (),
               col_titles: Sequence[str] = (), cmap: str = "gray", signed: bool = False,
               size: float = 1.3) -> Figure:
    """A grid of 28x28 images, one tensor ``(n, 1, 28, 28)`` per row; ``signed`` centres at 0."""
    use_style()
    nrow, ncol = len(rows), max(r.shape[0] for r in rows)
    fig, axes = plt.subplots(nrow, ncol, figsize=(size * ncol, size * nrow), squeeze=False)
    for i, row in enumerate(rows):
        for j in range(ncol):
            ax = axes[i][j]
            ax.set_xticks([]), ax.set_yticks([]), ax.grid(False)
            if j >= row.shape[0]:
                ax.axis("off")
                continue
            img = row[j].detach().cpu().squeeze(0)
            if signed:
                m = float(img.abs().max()) or 1.0
                ax.imshow(img, cmap="bwr_r", vmin=-m, vmax=m)
            else:
                ax.imshow(img, cmap=cmap, vmin=0, vmax=1)
            if i == 0 and j < len(col_titles):
                ax.set_title(col_titles[j], fontsize=9)
        if i < len(row_titles):
            axes[i][0].set_ylabel(row_titles[i], fontsize=9)
    fig.tight_layout()
    return fig


def line_plot(x: Sequence[float], series: dict[str, Sequence[float]], *, xlabel: str,
              ylabel: str, title: str = "") -> Figure:
    """Several named curves against a shared x axis."""
    use_style()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for label, ys in series.items():
        ax.plot(x, ys, marker="o", label=label)
    ax.set_xlabel(xlabel), ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def feature_histograms(x: Tensor, y: Tensor, x_shifted: Tensor, *, bins: int = 60) -> Figure:
    """The toy model's robust feature x1 and one non-robust feature x2, per class, before and
    after the adversary's shift."""
    use_style()
    fig, axes = plt.subplots(1, 3, figsize=(11, 3))
    panels = [(x[:, 0], "robust feature $x_1$"), (x[:, 1], "non-robust feature $x_2$"),
              (x_shifted[:, 1], "$x_2$ after the $\\varepsilon = 2\\eta$ shift")]
    for ax, (values, title) in zip(axes, panels):
        for label, color in ((1, "tab:blue"), (-1, "tab:orange")):
            ax.hist(values[y == label].numpy(), bins=bins, alpha=0.6, color=color,
                    label=f"y = {label:+d}", density=True)
        ax.set_title(title)
    axes[0].legend()
    fig.tight_layout()
    return fig


def tradeoff_frontier(p: float, points: dict[str, tuple[float, float]], *, ax=None,  # noqa: ANN001
                      title: str = "", xmin: float = 50,
                      ylabel: str = "robust accuracy at ε = 2η (%)") -> Figure:
    """Theorem 2.1's region (robust <= p/(1-p)·δ) with classifiers placed as (standard, robust)."""
    use_style()
    fig = ax.figure if ax is not None else plt.subplots(figsize=(5, 3.6))[1].figure
    ax = ax if ax is not None else fig.axes[0]
    std = [1 - d for d in [i / 400 for i in range(0, 201)]]
    bound = [min(1.0, p / (1 - p) * (1 - s)) if p < 1 else 1.0 for s in std]
    ax.plot([100 * s for s in std], [100 * b for b in bound], color="k", label="Theorem 2.1 bound")
    ax.fill_between([100 * s for s in std], [100 * b for b in bound], 100, color="0.85",
                    label="impossible")
    for name, (s, r) in points.items():
        ax.scatter(100 * s, 100 * r, s=40, zorder=3, label=name)
    ax.set_xlim(xmin, 100.5), ax.set_ylim(-2, 101)
    ax.set_xlabel("standard accuracy (%)"), ax.set_ylabel(ylabel)
    ax.set_title(title or f"p = {p}")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def frontier_panels(settings: list[dict], panels: list[dict[str, tuple[float, float]]]) -> Figure:
    """Several ``tradeoff_frontier`` panels side by side, one per setting of (p, c, ...)."""
    use_style()
    fig, axes = plt.subplots(1, len(settings), figsize=(4.2 * len(settings), 3.6), squeeze=False)
    for ax, s, pts in zip(axes[0], settings, panels):
        tradeoff_frontier(s["p"], pts, ax=ax, title=", ".join(f"{k}={v}" for k, v in s.items()),
                          ylabel="robust accuracy at the chosen ε (%)")
    fig.tight_layout()
    return fig


def weight_bars(weights: dict[str, Tensor]) -> Figure:
    """Bar charts of linear weights (first: the robust feature), one panel per classifier."""
    use_style()
    fig, axes = plt.subplots(1, len(weights), figsize=(4.5 * len(weights), 2.8), squeeze=False)
    for ax, (name, w) in zip(axes[0], weights.items()):
        w = w.detach().cpu()
        ax.bar(range(len(w)), w.numpy(), color=["tab:red"] + ["tab:gray"] * (len(w) - 1))
        ax.set_title(name), ax.set_xlabel("feature index (0 = robust $x_1$)")
    fig.tight_layout()
    return fig


def ball_step_panels(panels: Sequence[dict]) -> Figure:
    """One PGD step drawn in 2-D, a panel per norm: the ε-ball around x, the start, the gradient
    step and its projection back onto the ball. Each panel: norm, eps, x, start, stepped, projected."""
    from matplotlib.patches import Circle, Rectangle

    use_style()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4), squeeze=False)
    for ax, p in zip(axes[0], panels):
        x, eps = p["x"].tolist(), p["eps"]
        ball = (Rectangle((x[0] - eps, x[1] - eps), 2 * eps, 2 * eps) if p["norm"] == "linf"
                else Circle(x, eps))
        ball.set(facecolor="tab:blue", alpha=0.12, edgecolor="tab:blue")
        ax.add_patch(ball)
        pts = {k: p[k].tolist() for k in ("start", "stepped", "projected")}
        ax.plot(*x, "ko")
        ax.annotate("x", x, textcoords="offset points", xytext=(5, -12))
        ax.annotate("", pts["stepped"], pts["start"],
                    arrowprops=dict(arrowstyle="->", color="tab:red", lw=2))
        ax.annotate("", pts["projected"], pts["stepped"],
                    arrowprops=dict(arrowstyle="->", color="tab:green", lw=2, ls="--"))
        for k, c in (("start", "tab:blue"), ("stepped", "tab:red"), ("projected", "tab:green")):
            ax.plot(*pts[k], "o", color=c, label=k)
        ax.set_aspect("equal")
        span = 2.2 * eps
        ax.set_xlim(x[0] - span, x[0] + span), ax.set_ylim(x[1] - span, x[1] + span)
        ax.set_title(f"{p['norm']} ball, ε = {eps}: step (red), projection (green)", fontsize=9)
        ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def operating_points(names: Sequence[str], clean: Sequence[float], robust: Sequence[float],
                     seconds: Sequence[float], *, front: Sequence[str] = (), chosen: str | None = None,
                     xlabel: str = "robust accuracy (%)", ax=None) -> Figure:  # noqa: ANN001
    """Operating points as clean against robust accuracy (marker area ∝ training time); the
    Pareto front joined by a line, the chosen point ringed."""
    use_style()
    fig = ax.figure if ax is not None else plt.figure(figsize=(6, 4))
    ax = ax or fig.add_subplot()
    sizes = [20 + 200 * s / max(seconds) for s in seconds]
    ax.scatter(robust, clean, s=sizes, alpha=0.6)
    for n, c, r in zip(names, clean, robust):
        ax.annotate(n, (r, c), textcoords="offset points", xytext=(4, 3), fontsize=7)
    pts = sorted((r, c) for n, c, r in zip(names, clean, robust) if n in front)
    if pts:
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "k--", lw=1, label="Pareto front")
    if chosen is not None and chosen in names:
        i = list(names).index(chosen)
        ax.scatter([robust[i]], [clean[i]], s=300, facecolors="none", edgecolors="tab:red", lw=2,
                   label=f"chosen: {chosen}")
    ax.set_xlabel(xlabel), ax.set_ylabel("clean accuracy (%)")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig
