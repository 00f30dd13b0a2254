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
