"""Figure helpers: every picture in the book is made here, in one visual style. No maths."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle
import torch
from torch import Tensor

from tutorial_lib.attacks import NORM_SYMBOLS
from tutorial_lib.tradeoff import Need, OperatingPoint, display_name, threat_words

STYLE = {"figure.dpi": 100, "axes.spines.top": False, "axes.spines.right": False,
         "axes.grid": True, "grid.alpha": 0.3, "font.size": 10}


def use_style() -> None:
    """Apply the course's plotting style."""
    plt.rcParams.update(STYLE)


SIGNED_CMAP = "bwr_r"
"""The course's one convention for signed images (weights, perturbations, gradients): blue is
positive, red negative, white zero, on a symmetric scale shown by a colour bar."""


def _signed_scale(rows: Sequence[Tensor], scale: float | str | None) -> list[float]:
    """Per row, the symmetric colour limit: ``scale`` itself, the row's largest |value| ("row"),
    or the whole grid's largest |value| (None)."""
    if isinstance(scale, (int, float)):
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        return [float(scale)] * len(rows)
    row_max = [float(r.detach().abs().max()) or 1.0 for r in rows]
    if scale == "row":
        return row_max
    if scale is not None:
        raise ValueError(f'scale must be a number, "row" or None, got {scale!r}')
    return [max(row_max)] * len(rows)


def _row_scales(rows: Sequence[Tensor], signed: bool | Sequence[bool], scale: float | str | None
                ) -> tuple[list[bool], list[float]]:
    """Per row of an image grid: whether it is signed, and its colour limit (1 for pixel rows)."""
    flags = [signed] * len(rows) if isinstance(signed, bool) else [bool(f) for f in signed]
    if len(flags) != len(rows):
        raise ValueError(f"signed has {len(flags)} flags for {len(rows)} rows: give one per row, or one bool")
    signed_rows = [i for i, f in enumerate(flags) if f]
    limits = [1.0] * len(rows)
    for i, lim in zip(signed_rows, _signed_scale([rows[i] for i in signed_rows], scale) if signed_rows else []):
        limits[i] = lim
    return flags, limits


def image_grid(rows: Sequence[Tensor], *, row_titles: Sequence[str] = (),
               col_titles: Sequence[str] = (), cmap: str = "gray", signed: bool | Sequence[bool] = False,
               scale: float | str | None = None, size: float = 1.3,
               labels: Sequence[Sequence[str] | None] = ()) -> Figure:
    """A grid of 28x28 images, one tensor ``(n, 1, 28, 28)`` per row. ``signed`` (for the grid, or
    one flag per row) draws values around 0 in ``SIGNED_CMAP`` on one symmetric scale for the signed
    rows (``scale``: a fixed ±limit, or "row" for one per row), with a colour bar beside them; other
    rows show pixels in [0, 1]. ``labels``: per row, a caption under each image (or None for the row)."""
    use_style()
    nrow, ncol = len(rows), max(r.shape[0] for r in rows)
    flags, limits = _row_scales(rows, signed, scale)
    signed_rows = [i for i in range(nrow) if flags[i]]
    width = size * ncol + (0.9 if signed_rows else 0) + (0.9 if row_titles else 0)
    fig, axes = plt.subplots(nrow, ncol, figsize=(width, size * nrow + 0.3), squeeze=False)
    shown = []
    for i, row in enumerate(rows):
        for j in range(ncol):
            ax = axes[i][j]
            ax.set_xticks([]), ax.set_yticks([]), ax.grid(False)
            if j >= row.shape[0]:
                ax.axis("off")
                continue
            img = row[j].detach().cpu().squeeze(0).float().numpy()
            im = (ax.imshow(img, cmap=SIGNED_CMAP, vmin=-limits[i], vmax=limits[i]) if flags[i]
                  else ax.imshow(img, cmap=cmap, vmin=0, vmax=1))
            if j == 0:
                shown.append(im)
            if i == 0 and j < len(col_titles):
                ax.set_title(col_titles[j], fontsize=9)
            if i < len(labels) and labels[i] is not None and j < len(labels[i]):
                ax.set_xlabel(labels[i][j], fontsize=8, labelpad=1)
        if i < len(row_titles):
            axes[i][0].set_ylabel(row_titles[i], fontsize=9, rotation=0, ha="right", va="center")
    fig.tight_layout()
    if signed_rows:
        bars = ([(shown[i], list(axes[i])) for i in signed_rows] if scale == "row"
                else [(shown[signed_rows[0]], [ax for i in signed_rows for ax in axes[i]])])
        for im, axs in bars:
            fig.colorbar(im, ax=axs, fraction=0.025 if len(axs) > ncol else 0.04, pad=0.02)
    return fig


def panels(n: int, *, ncols: int | None = None, width: float = 4.5, height: float = 3.2,
           sharey: bool = False) -> tuple[Figure, list[Axes]]:
    """A figure of ``n`` axes in the course's style, ``ncols`` to a row (default: one row)."""
    use_style()
    ncols = ncols or n
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False,
                             sharey=sharey)
    return fig, list(axes.flat)[:n]


def _axes(ax: Axes | None, size: tuple[float, float] = (5, 3.2)) -> Axes:
    """The axes to draw on: ``ax``, or a new styled figure's only axes."""
    if ax is not None:
        return ax
    return panels(1, width=size[0], height=size[1])[1][0]


def line_plot(x: Sequence[float] | Mapping[str, Sequence[float]],
              series: Mapping[str, Sequence[float]], *, xlabel: str, ylabel: str, title: str = "",
              ax: Axes | None = None, yerr: Mapping[str, Sequence[float]] | None = None,
              styles: Mapping[str, dict] | None = None, logx: bool = False, logy: bool = False,
              marker: str = "o", legend: bool = True) -> Figure:
    """Named curves; ``x`` shared by all (a sequence) or one per curve (a mapping by name).
    ``yerr`` adds error bars, ``styles`` matplotlib keywords per curve; ``legend=False`` leaves the
    legend to the caller (one for several panels, where a panel's own would cover a curve)."""
    ax = _axes(ax)
    for label, ys in series.items():
        xs = x[label] if isinstance(x, Mapping) else x
        kw = {"marker": marker, "label": label, **(styles or {}).get(label, {})}
        if yerr is not None:
            ax.errorbar(xs, ys, yerr=yerr[label], capsize=3, **kw)
        else:
            ax.plot(xs, ys, **kw)
    ax.set_xlabel(xlabel), ax.set_ylabel(ylabel)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title, fontsize=10)
    if legend and (len(series) > 1 or any(series)):
        ax.legend(fontsize=8)
    ax.figure.tight_layout()
    return ax.figure


def shared_legend(fig: Figure, ax: Axes, *, ncol: int = 3) -> Figure:
    """One legend for a row of panels, below them (``ax``'s curves name every panel's)."""
    handles, labels = ax.get_legend_handles_labels()
    rows = -(-len(labels) // ncol)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07 * rows, 1, 1))
    return fig


def reference_lines(ax: Axes, lines: Mapping[str, float], *, axis: str = "y") -> Figure:
    """Named reference lines on existing axes, in the legend: horizontal at values of y (a floor,
    a ceiling), or vertical at values of x (``axis="x"``: a radius the text returns to)."""
    if axis not in ("x", "y"):
        raise ValueError(f'axis must be "x" or "y", got {axis!r}')
    draw = ax.axvline if axis == "x" else ax.axhline
    for (label, v), style in zip(lines.items(), (":", "--", "-.", (0, (1, 3)))):
        draw(v, color="0.4", ls=style, lw=1, label=label)
    ax.legend(fontsize=7)
    ax.figure.tight_layout()
    return ax.figure


def mark_points(ax: Axes, points: Mapping[str, tuple[float, float]], *, marker: str = "*") -> Figure:
    """Single named points on existing axes (e.g. an honest number on a quick budget's curve); a
    point whose label starts with a curve's label takes that curve's colour."""
    colours = {line.get_label(): line.get_color() for line in ax.lines}
    for label, (x, y) in points.items():
        colour = next((c for name, c in colours.items() if label.startswith(name)), None)
        ax.plot([x], [y], marker, ms=11, label=label, color=colour, markeredgecolor="k")
    ax.legend(fontsize=7)
    ax.figure.tight_layout()
    return ax.figure


def history_plot(runs: Sequence[dict], *, x: str, y: str, label: str, xlabel: str, ylabel: str,
                 ax: Axes | None = None, scale: float = 100) -> Figure:
    """Recorded runs (the lab's records with a per-epoch ``history``): ``y`` against ``x``,
    one curve per run, named by the run's ``label`` field; ``y`` multiplied by ``scale``."""
    xs = {r[label]: [h[x] for h in r["history"]] for r in runs}
    ys = {r[label]: [scale * h[y] for h in r["history"]] for r in runs}
    return line_plot(xs, ys, xlabel=xlabel, ylabel=ylabel, ax=ax)


def size_curves(curves: Mapping[str, Mapping[int, tuple[float, float]]], *, ylabel: str,
                title: str = "", ax: Axes | None = None) -> Figure:
    """Figure 1's curves (``tradeoff.accuracy_by_size``, relabelled): mean against training-set
    size on a log axis, with bars of the given half-widths (95% t intervals)."""
    return line_plot({k: list(v) for k, v in curves.items()},
                     {k: [m for m, _ in v.values()] for k, v in curves.items()},
                     yerr={k: [half for _, half in v.values()] for k, v in curves.items()},
                     logx=True, xlabel="training images", ylabel=ylabel, title=title, ax=ax)


def failure_panels(by_run: Mapping[str, Sequence[dict]]) -> Figure:
    """Chapter 5's failure runs: a panel per recipe, clean (grey), FGSM (orange) and PGD-20 (blue)
    accuracy per epoch, one line style per seed, explained in one legend beside the panels."""
    fig, axes = panels(len(by_run), width=3.2, height=3.0, sharey=True)
    keys = (("clean", "clean", "tab:gray"), ("fgsm", "FGSM", "tab:orange"), ("robust", "PGD-20", "tab:blue"))
    styles = ("-", "--", ":")
    for ax, (name, runs) in zip(axes, by_run.items()):
        for r, style in zip(runs, styles):
            ep = [h["epoch"] for h in r["history"]]
            for key, _, color in keys:
                ax.plot(ep, [100 * h[key] for h in r["history"]], style, color=color, lw=1.3)
        ax.set_title(name, fontsize=9), ax.set_xlabel("epoch (1/6 of MNIST each)", fontsize=8)
    axes[0].set_ylabel("accuracy (%)")
    seeds = [r.get("seed", i) for i, r in enumerate(next(iter(by_run.values())))]
    handles = [plt.Line2D([], [], color=c, lw=2, label=lab) for _, lab, c in keys] + \
              [plt.Line2D([], [], color="k", ls=st, label=f"seed {s}") for st, s in zip(styles, seeds)]
    fig.tight_layout()
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
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
                      title: str = "", xmin: float = 50, theorem_applies: bool = True,
                      curves: dict[str, tuple[Sequence[float], Sequence[float]]] | None = None,
                      ylabel: str = "robust accuracy at ε = 2η (%)") -> Figure:
    """Classifiers placed as (standard, robust) accuracy, with Theorem 2.1's bound and the region
    it forbids (only where the theorem applies: ε >= 2η), the region no classifier can reach
    (robust above standard), and optional curves of (standard, robust) accuracies."""
    use_style()
    fig = ax.figure if ax is not None else plt.subplots(figsize=(7.6, 4))[1].figure
    ax = ax if ax is not None else fig.axes[0]
    std = [100 * (1 - i / 400) for i in range(0, 201)]
    ax.fill_between(std, std, 101, color="0.7", label="robust > standard: impossible for any classifier")
    if theorem_applies:
        bound = [100 * min(1.0, p / (1 - p) * (1 - s / 100)) if p < 1 else 100.0 for s in std]
        ax.fill_between(std, [min(b, s) for b, s in zip(bound, std)], std, color="0.88",
                        label="forbidden by Theorem 2.1 (ε ≥ 2η)")
        ax.plot(std, bound, color="k", lw=1, label="Theorem 2.1 bound")
    for (name, (s, r)), style in zip((curves or {}).items(), ("-", "--", ":")):
        ax.plot([100 * v for v in s], [100 * v for v in r], style, color="tab:gray", lw=1.5, label=name)
    # coinciding classifiers stay visible: each later point is drawn smaller, on top
    for k, (name, (s, r)) in enumerate(points.items()):
        ax.scatter(100 * s, 100 * r, s=110 - 25 * k, marker="osD^v"[k % 5], zorder=3 + k,
                   edgecolors="k", linewidths=0.5, label=name)
    ax.set_xlim(xmin, 101), ax.set_ylim(-2, 102)
    ax.set_xlabel("standard accuracy (%)"), ax.set_ylabel(ylabel)
    ax.set_title(title or f"p = {p}")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    return fig


def frontier_panels(settings: list[dict], panels: list[dict[str, tuple[float, float]]]) -> Figure:
    """Several ``tradeoff_frontier`` panels side by side, one per setting (p, c, eps_over_eta), with
    one legend below them; the theorem's region is shaded only in panels where ε >= 2η."""
    use_style()
    fig, axes = plt.subplots(1, len(settings), figsize=(4.2 * len(settings), 4.4), squeeze=False)
    legend: dict[str, object] = {}
    for ax, s, pts in zip(axes[0], settings, panels):
        tradeoff_frontier(s["p"], pts, ax=ax, theorem_applies=s.get("eps_over_eta", 2.0) >= 2.0,
                          title=f"p = {s['p']}, η = {s['c']}/√d, ε = {s.get('eps_over_eta', 2.0):g}η",
                          ylabel="robust accuracy at that ε (%)")
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
        ax.get_legend().remove()
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    fig.legend(list(legend.values()), list(legend), loc="lower center", ncol=4, fontsize=8, frameon=False)
    return fig


def grouped_bars(groups: Sequence[str], series: Mapping[str, Sequence[float]], *, xlabel: str,
                 errors: Mapping[str, Sequence[float]] | None = None, title: str = "",
                 ax: Axes | None = None, legend: bool = True) -> Figure:
    """Horizontal bars, one group per entry of ``groups`` (top to bottom), one bar per series in
    each group, with ``errors`` as error bars; the readable form of a table of means ± spreads."""
    if not series:
        raise ValueError("give at least one series of values")
    for label, values in {**series, **(errors or {})}.items():
        if len(values) != len(groups):
            raise ValueError(f"series {label!r} has {len(values)} values for {len(groups)} groups")
    if errors is not None and set(errors) != set(series):
        raise ValueError(f"errors must name the same series as the values: {sorted(series)}, got {sorted(errors)}")
    ax = _axes(ax)
    height = 0.8 / len(series)
    for i, (label, values) in enumerate(series.items()):
        ys = [g + (i - (len(series) - 1) / 2) * height for g in range(len(groups))]
        ax.barh(ys, values, height=height, label=label,
                xerr=None if errors is None else errors[label], capsize=2)
    ax.set_yticks(range(len(groups)), groups, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title, fontsize=10)
    if legend:
        ax.legend(fontsize=8)
    ax.figure.tight_layout()
    return ax.figure


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
        ax.set_title(f"{NORM_SYMBOLS[p['norm']]} ball, ε = {eps}: step (red), projection (green)", fontsize=9)
        ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def _label_points(ax: Axes, labels: Sequence[tuple[str, float, float]]) -> None:
    """Name points at (x, y), from the top down; a label that would sit on another goes below it."""
    ax.figure.canvas.draw_idle()
    placed: list[tuple[float, float]] = []   # label positions in points on the page
    for name, r, c in sorted(labels, key=lambda t: -t[2]):
        x, y = ax.transData.transform((r, c)) * 72 / ax.figure.dpi
        dy = 3
        while any(abs(x - qx) < 90 and abs(y + dy - qy) < 9 for qx, qy in placed):
            dy -= 9
        ax.annotate(name, (r, c), textcoords="offset points", xytext=(4, dy), fontsize=7)
        placed.append((x, y + dy))


def _shade_need(ax: Axes, need: Need, slow: Sequence[tuple[float, float]] = ()) -> None:
    """A need's clean and robust floors as dotted lines, the side each rules out shaded grey, and
    the points (robust, clean) its training-time limit rules out drawn hollow."""
    if slow:
        ax.scatter(*zip(*slow), s=90, facecolors="white", edgecolors="grey", lw=1.2, label="ruled out: training time")
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    label = "the need's floors"
    if need.min_clean > 0 and y0 < 100 * need.min_clean < y1:   # a floor outside the plot rules out nothing shown
        ax.axhspan(y0, 100 * need.min_clean, color="grey", alpha=0.12, lw=0)
        ax.axhline(100 * need.min_clean, color="grey", lw=1, ls=":", label=label)
        label = None
    if need.min_robust > 0 and x0 < 100 * need.min_robust < x1:
        ax.axvspan(x0, 100 * need.min_robust, color="grey", alpha=0.12, lw=0)
        ax.axvline(100 * need.min_robust, color="grey", lw=1, ls=":", label=label)
    ax.set_xlim(x0, x1), ax.set_ylim(y0, y1)


def operating_points(points: Sequence[OperatingPoint], key: str, *, front: Sequence[str] = (),
                     chosen: str | None = None, xlabel: str = "", ax: Axes | None = None,
                     named: Sequence[str] | None = None, need: Need | None = None) -> Figure:
    """Operating points (validation numbers) as clean against robust accuracy at threat ``key``
    (marker area ∝ training time), with each robust number's 95% interval as a grey bar when the
    points carry image counts; the Pareto front joined by a line, flagged points crossed, the chosen
    point ringed. ``named``: the points to label (default all; labels that would collide are
    stacked downwards). ``need``: its clean and robust floors drawn (where they fall inside the plot),
    the side they rule out shaded, and the points its training-time limit rules out hollow."""
    ax = _axes(ax, (6, 4))
    robust = [100 * p.val[key] for p in points]
    clean = [100 * p.val["clean"] for p in points]
    top = max(p.train_seconds for p in points)
    ax.scatter(robust, clean, s=[20 + 200 * p.train_seconds / top for p in points], alpha=0.6)
    for p, c, r in zip(points, clean, robust):
        if key in p.counts:
            lo, hi = p.interval(key)
            ax.errorbar([r], [c], xerr=[[r - 100 * lo], [100 * hi - r]], fmt="none", ecolor="grey",
                        lw=0.8, capsize=2)
    _label_points(ax, [(display_name(p.name), r, c) for p, c, r in zip(points, clean, robust) if named is None or p.name in named])
    on_front = sorted((r, c) for p, c, r in zip(points, clean, robust) if p.name in front)
    if on_front:
        ax.plot([q[0] for q in on_front], [q[1] for q in on_front], "k--", lw=1, label="Pareto front")
    flagged = [(r, c) for p, c, r in zip(points, clean, robust) if p.flagged(key)]
    if flagged:
        ax.scatter(*zip(*flagged), marker="x", s=60, color="tab:red", label="flagged for masking")
    for p, c, r in zip(points, clean, robust):
        if p.name == chosen:
            ax.scatter([r], [c], s=300, facecolors="none", edgecolors="tab:red", lw=2,
                       label=f"chosen: {display_name(chosen)}")
    if need is not None:
        _shade_need(ax, need, [(r, c) for p, c, r in zip(points, clean, robust) if p.train_seconds > need.max_train_seconds])
    ax.set_xlabel(xlabel or f"robust accuracy at {threat_words(key)} (%)"), ax.set_ylabel("clean accuracy (%)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="lower left")
    ax.figure.tight_layout()
    return ax.figure


def forest(points: Sequence[OperatingPoint], key: str, *, top: int | None = None, xlabel: str = "",
           ax: Axes | None = None) -> Figure:
    """A forest plot: each point's validation number at threat ``key`` with its 95% interval, one
    row per point from the highest down (the ``top`` highest only, if given); the best point's
    interval shaded (the points whose bars reach into it are tied with it), flagged points crossed."""
    ranked = sorted(points, key=lambda p: p.val[key])[-(top or len(points)):]
    ax = _axes(ax, (6, 0.35 * len(ranked) + 1.4))
    lo_best, hi_best = ranked[-1].interval(key)
    ax.axvspan(100 * lo_best, 100 * hi_best, color="tab:blue", alpha=0.12, label="the best point's interval")
    for row, p in enumerate(ranked):
        lo, hi = p.interval(key)
        value = 100 * p.val[key]
        ax.errorbar([value], [row], xerr=[[value - 100 * lo], [100 * hi - value]], fmt="o", color="k",
                    ms=4, capsize=2, lw=1)
        if p.flagged(key):
            ax.scatter([value], [row], marker="x", s=80, color="tab:red", zorder=3)
    if any(p.flagged(key) for p in ranked):
        ax.scatter([], [], marker="x", color="tab:red", label="flagged for masking")
    ax.set_yticks(range(len(ranked)), [display_name(p.name) for p in ranked], fontsize=8)
    ax.set_xlabel(xlabel or f"robust accuracy at {threat_words(key)} (%)")
    ax.legend(fontsize=8, loc="best")
    ax.figure.tight_layout()
    return ax.figure


def loss_surfaces(surfaces: Mapping[str, tuple[Tensor, Tensor]], *, eps: float) -> Figure:
    """Loss surfaces from ``interpret.loss_surface`` side by side, one 3-D panel each, on one loss
    scale (a flat surface is flat, not stretched to fill its panel; each title gives its range)."""
    use_style()
    top = max(float(loss.max()) for _, loss in surfaces.values())
    fig = plt.figure(figsize=(4.2 * len(surfaces), 3.6))
    for i, (name, (offsets, loss)) in enumerate(surfaces.items(), 1):
        ax = fig.add_subplot(1, len(surfaces), i, projection="3d")
        a, b = (t.numpy() for t in torch.meshgrid(offsets, offsets, indexing="ij"))
        ax.plot_surface(a, b, loss.numpy(), cmap="viridis", vmin=0, vmax=top, linewidth=0, antialiased=True)
        ax.set_xlabel("step along sign(gradient)", fontsize=8), ax.set_ylabel("step along random ±1", fontsize=8)
        ax.set_zlabel("loss", fontsize=8), ax.set_zlim(0, top)
        ax.set_title(f"{name}\nloss {float(loss.min()):.2f} to {float(loss.max()):.2f} in the ε = {eps:g} ball", fontsize=9)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig



def operating_table(points: Sequence[OperatingPoint], keys: Sequence[str], *, split: str = "val") -> Figure:
    """The operating points' numbers as a heat map, a row per point and a column per number (clean,
    then each threat in ℓ∞/ℓ2 words), each value written in its cell; a flagged number is starred."""
    use_style()
    values = [[100 * p.val[k] if split == "val" else 100 * p.test[k] for k in keys] for p in points]
    fig, ax = plt.subplots(figsize=(1.05 * len(keys) + 2.6, 0.32 * len(points) + 1.2))
    ax.imshow(values, cmap="Blues", vmin=0, vmax=100, aspect="auto")
    for i, p in enumerate(points):
        for j, k in enumerate(keys):
            v = values[i][j]
            ax.text(j, i, f"{v:.1f}" + ("*" if p.flagged(k, split) else ""), ha="center", va="center",
                    fontsize=7, color="white" if v > 60 else "black")
    ax.set_xticks(range(len(keys)), ["clean" if k == "clean" else threat_words(k) for k in keys], fontsize=8)
    ax.set_yticks(range(len(points)), [display_name(p.name) for p in points], fontsize=8)
    ax.tick_params(length=0), ax.grid(False)
    ax.set_title("accuracy (%), " + ("validation" if split == "val" else "test") + " split; * flagged for masking",
                 fontsize=9)
    fig.tight_layout()
    return fig
