"""Figure helpers draw what they are given, on the axes they are given."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from tutorial_lib import plotting  # noqa: E402
from tutorial_lib.tradeoff import OperatingPoint  # noqa: E402


def test_line_plot_draws_each_curve_on_its_own_x_with_error_bars_on_the_given_axes():
    fig, axes = plotting.panels(2)
    out = plotting.line_plot({"a": [1, 2, 3], "b": [10, 20]}, {"a": [0.1, 0.2, 0.3], "b": [5, 6]},
                             yerr={"a": [0, 0, 0], "b": [1, 1]}, xlabel="x", ylabel="y", ax=axes[1], logx=True)
    assert out is fig and not axes[0].lines
    bars = axes[1].containers
    assert [list(b.lines[0].get_xdata()) for b in bars] == [[1, 2, 3], [10, 20]]
    assert axes[1].get_xscale() == "log" and axes[1].get_legend() is not None


def test_size_curves_plot_means_against_size_with_the_given_interval_bars():
    fig = plotting.size_curves({"standard": {600: (90.0, 0.5), 60000: (99.0, 0.1)}},
                               ylabel="accuracy (%)")
    ax = fig.axes[0]
    (bar,) = ax.containers
    assert list(bar.lines[0].get_xdata()) == [600, 60000] and list(bar.lines[0].get_ydata()) == [90.0, 99.0]
    segments = bar.lines[2][0].get_segments()
    assert [round(seg[1][1] - seg[0][1], 6) for seg in segments] == [1.0, 0.2]   # ± the half-widths
    assert ax.get_xscale() == "log"


def test_a_single_unnamed_curve_gets_no_legend():
    fig = plotting.line_plot([0, 1], {"": [1, 2]}, xlabel="x", ylabel="y")
    assert fig.axes[0].get_legend() is None and len(fig.axes[0].lines) == 1


def test_operating_points_rings_the_chosen_point_and_joins_the_front():
    pts = [OperatingPoint("a", 10, {"clean": 0.99, "linf@0.1": 0.5}),
           OperatingPoint("b", 90, {"clean": 0.98, "linf@0.1": 0.8})]
    fig = plotting.operating_points(pts, "linf@0.1", front=["a", "b"], chosen="b")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["Pareto front", "chosen: b"]
    assert list(ax.lines[0].get_xdata()) == [50.0, 80.0]


def test_history_plot_draws_one_curve_per_recorded_run():
    runs = [{"method": m, "history": [{"s": 1, "acc": 0.5}, {"s": 2, "acc": 0.7}]} for m in ("x", "y")]
    fig = plotting.history_plot(runs, x="s", y="acc", label="method", xlabel="s", ylabel="%")
    assert [list(line.get_ydata()) for line in fig.axes[0].lines] == [[50.0, 70.0]] * 2


def test_mark_points_adds_one_labelled_point_each():
    fig = plotting.line_plot([0, 1], {"curve": [1, 2]}, xlabel="x", ylabel="y")
    plotting.mark_points(fig.axes[0], {"a": (0.5, 1.5), "b": (1.0, 0.0)})
    assert [list(line.get_xdata()) for line in fig.axes[0].lines[1:]] == [[0.5], [1.0]]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["curve", "a", "b"]


def test_a_marked_point_takes_the_colour_of_its_curve():
    fig = plotting.line_plot([0, 1], {"model a": [1, 2], "model b": [2, 1]}, xlabel="x", ylabel="y")
    ax = fig.axes[0]
    plotting.mark_points(ax, {"model b, honest": (1.0, 0.5)})
    assert ax.lines[-1].get_color() == ax.lines[1].get_color() != ax.lines[0].get_color()


def test_tradeoff_frontier_shades_the_theorem_only_where_it_applies():
    pts = {"a": (0.99, 0.01), "b": (0.95, 0.95)}
    labels = lambda fig: [t.get_text() for t in fig.axes[0].get_legend().get_texts()]  # noqa: E731
    on = plotting.tradeoff_frontier(0.95, pts, curves={"sweep": ([0.95, 0.99], [0.9, 0.0])})
    off = plotting.tradeoff_frontier(0.95, pts, theorem_applies=False)
    assert "forbidden by Theorem 2.1 (ε ≥ 2η)" in labels(on) and "Theorem 2.1 bound" in labels(on)
    assert not any("Theorem" in t for t in labels(off))
    assert all(any("impossible for any classifier" in t for t in labels(f)) for f in (on, off))
    assert "sweep" in labels(on)


def test_frontier_panels_shade_the_theorem_only_in_panels_at_two_eta_or_more():
    pts = {"a": (0.99, 0.01)}
    fig = plotting.frontier_panels([dict(p=0.95, c=3, eps_over_eta=2.0), dict(p=0.95, c=3, eps_over_eta=1.0)],
                                   [pts, pts])
    shaded = [len(ax.collections) for ax in fig.axes]
    assert shaded[0] == shaded[1] + 1  # the theorem's region only on the left
    assert len(fig.legends) == 1 and all(ax.get_legend() is None for ax in fig.axes)
    assert "ε = 1η" in fig.axes[1].get_title() and "eps_over_eta" not in fig.axes[1].get_title()


def test_signed_image_grids_share_one_symmetric_scale_with_a_colour_bar():
    import pytest
    import torch
    rows = [torch.full((2, 1, 28, 28), 0.1), torch.full((3, 1, 28, 28), -0.3)]
    fig = plotting.image_grid(rows, signed=True, row_titles=["a", "b"])
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert {tuple(round(v, 6) for v in im.get_clim()) for im in images} == {(-0.3, 0.3)}  # one scale
    assert images[0].get_cmap().name == plotting.SIGNED_CMAP
    assert len(fig.axes) == 6 + 1                                       # 2 x 3 panels and one colour bar
    fixed = plotting.image_grid(rows, signed=True, scale=0.5)
    assert {ax.images[0].get_clim() for ax in fixed.axes if ax.images} == {(-0.5, 0.5)}
    per_row = plotting.image_grid(rows, signed=True, scale="row")
    assert round(per_row.axes[0].images[0].get_clim()[1], 6) == 0.1
    assert len(per_row.axes) == 6 + 2                                   # a colour bar per row
    with pytest.raises(ValueError, match="scale"):
        plotting.image_grid(rows, signed=True, scale=-1)


def test_an_image_row_and_signed_rows_share_one_grid_and_the_bar_covers_only_the_signed_rows():
    import pytest
    import torch
    rows = [torch.full((3, 1, 28, 28), 0.8), torch.full((3, 1, 28, 28), 0.2), torch.full((3, 1, 28, 28), -0.4)]
    fig = plotting.image_grid(rows, signed=[False, True, True])
    clims = [ax.images[0].get_clim() for ax in fig.axes if ax.images]
    assert clims[:3] == [(0, 1)] * 3                                            # the image row: pixels
    assert {tuple(round(v, 6) for v in c) for c in clims[3:]} == {(-0.4, 0.4)}  # the signed rows: one scale
    assert fig.axes[0].images[0].get_cmap().name == "gray" and len(fig.axes) == 9 + 1
    with pytest.raises(ValueError, match="one per row"):
        plotting.image_grid(rows, signed=[True, False])
    fig.clf()


def test_image_grid_writes_a_caption_under_each_image_of_a_labelled_row():
    import torch
    fig = plotting.image_grid([torch.zeros(2, 1, 28, 28), torch.zeros(2, 1, 28, 28)], labels=[None, ["→ 3", "→ 5 ✗"]])
    assert [ax.get_xlabel() for ax in fig.axes] == ["", "", "→ 3", "→ 5 ✗"]


def test_failure_panels_explain_colours_and_seed_line_styles_in_one_legend():
    hist = [{"epoch": e, "clean": 0.9, "fgsm": 0.5, "robust": 0.1} for e in (1, 2)]
    runs = {"A": [{"seed": s, "history": hist} for s in (0, 1, 2)], "B": [{"seed": s, "history": hist} for s in (0, 1, 2)]}
    fig = plotting.failure_panels(runs)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["clean", "FGSM", "PGD-20", "seed 0", "seed 1", "seed 2"]
    assert fig.axes[0].get_ylabel() == "accuracy (%)"


def test_reference_lines_are_drawn_and_named_in_the_legend():
    fig = plotting.line_plot([0, 1], {"a": [0.5, 0.9]}, xlabel="x", ylabel="y")
    plotting.reference_lines(fig.axes[0], {"ceiling": 1.0, "noise": 0.3})
    flat = [line for line in fig.axes[0].lines if list(line.get_ydata()) in ([1.0, 1.0], [0.3, 0.3])]
    assert len(flat) == 2
    assert {"ceiling", "noise"} <= {t.get_text() for t in fig.axes[0].get_legend().get_texts()}
    plotting.reference_lines(fig.axes[0], {"ε = 0.1": 0.1}, axis="x")
    assert any(list(line.get_xdata()) == [0.1, 0.1] for line in fig.axes[0].lines)
    import pytest
    with pytest.raises(ValueError, match="axis"):
        plotting.reference_lines(fig.axes[0], {}, axis="z")


def test_operating_points_draw_each_robust_interval_when_counts_are_known():
    pts = [OperatingPoint("a", 10, {"clean": 0.99, "linf@0.1": 0.5}, counts={"clean": 5000, "linf@0.1": 300}),
           OperatingPoint("b", 90, {"clean": 0.98, "linf@0.1": 0.8}, counts={"clean": 5000, "linf@0.1": 300})]
    ax = plotting.operating_points(pts, "linf@0.1").axes[0]
    bars = [c for c in ax.containers if type(c).__name__ == "ErrorbarContainer"]
    assert len(bars) == 2
    segment = bars[1].lines[2][0].get_segments()[0]          # b's horizontal bar, in percent
    assert segment[0][0] < 80 < segment[1][0] and segment[1][0] - segment[0][0] < 10
    assert not [c for c in plotting.operating_points([OperatingPoint("c", 1, {"clean": 0.9, "linf@0.1": 0.5})],
                                                     "linf@0.1").axes[0].containers]


def _flagged_and_clean_points():
    flagged = OperatingPoint("f", 50, {"clean": 0.97, "linf@0.1": 0.9}, counts={"clean": 5000, "linf@0.1": 300},
                             flags={"val": {"linf@0.1": ["square broke 10 images: masking"]}})
    return [OperatingPoint("a", 10, {"clean": 0.99, "linf@0.1": 0.5}, counts={"clean": 5000, "linf@0.1": 300}),
            OperatingPoint("b", 90, {"clean": 0.98, "linf@0.1": 0.8}, counts={"clean": 5000, "linf@0.1": 300}), flagged]


def test_operating_points_cross_a_flagged_point():
    ax = plotting.operating_points(_flagged_and_clean_points(), "linf@0.1").axes[0]
    assert "flagged for masking" in ax.get_legend_handles_labels()[1]


def test_forest_plot_lists_points_from_the_highest_and_shades_the_best_interval():
    ax = plotting.forest(_flagged_and_clean_points(), "linf@0.1").axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "f"]   # bottom to top: lowest first
    assert len([c for c in ax.containers if type(c).__name__ == "ErrorbarContainer"]) == 3
    labels = ax.get_legend_handles_labels()[1]
    assert "the best point's interval" in labels and "flagged for masking" in labels


def test_panels_can_share_one_legend_below_them_instead_of_one_each():
    fig, axes = plotting.panels(2)
    for ax in axes:
        plotting.line_plot([1, 2], {"a": [1, 2], "b": [2, 1]}, xlabel="x", ylabel="y", ax=ax, legend=False)
    assert all(ax.get_legend() is None for ax in axes)
    plotting.shared_legend(fig, axes[0], ncol=2)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["a", "b"]
    fig.clf()


def test_operating_points_label_only_the_named_points_and_shade_what_a_need_rules_out():
    from tutorial_lib.tradeoff import Need
    pts = [OperatingPoint("a", 10, {"clean": 0.99, "linf@0.2": 0.90}), OperatingPoint("b", 20, {"clean": 0.97, "linf@0.2": 0.95}),
           OperatingPoint("c", 30, {"clean": 0.98, "linf@0.2": 0.50})]
    need = Need(eps=0.2, min_clean=0.98, min_robust=0.6, max_train_seconds=25)
    ax = plotting.operating_points(pts, "linf@0.2", named=["a", "b"], need=need).axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["a", "b"]
    assert ax.get_xlabel() == "robust accuracy at ℓ∞ ε = 0.2 (%)"
    labels = ax.get_legend_handles_labels()[1]
    assert len(ax.patches) >= 2 and "the need's floors" in labels and "ruled out: training time" in labels
    ax.figure.clf()
    pts.append(OperatingPoint("z", 5, {"clean": 0.99, "linf@0.2": 0.0}))   # robust 0: the axis reaches below 0
    below = plotting.operating_points(pts, "linf@0.2", need=Need(eps=0.2, min_clean=0.5)).axes[0]
    assert "the need's floors" not in below.get_legend_handles_labels()[1]   # a floor outside the plot
    assert not below.lines or all(len(set(line.get_xdata())) > 1 for line in below.lines)  # no robust floor at 0
    below.figure.clf()


def test_operating_table_writes_each_number_in_its_cell_and_stars_a_flagged_one():
    pts = _flagged_and_clean_points()
    fig = plotting.operating_table(pts, ["clean", "linf@0.1"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == 2 * len(pts) and any(t.endswith("*") for t in texts)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["clean", "ℓ∞ ε = 0.1"]
    fig.clf()


def test_grouped_bars_draw_one_bar_per_series_and_group_with_its_error_and_reject_a_short_series():
    fig = plotting.grouped_bars(["scratch", "frozen"], {"clean": [90.0, 95.0], "robust": [40.0, 80.0]},
                                errors={"clean": [1.0, 2.0], "robust": [3.0, 4.0]}, xlabel="%")
    ax = fig.axes[0]
    widths = sorted(round(p.get_width(), 1) for p in ax.patches)
    assert widths == [40.0, 80.0, 90.0, 95.0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["scratch", "frozen"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["clean", "robust"]
    assert len(ax.containers) == 4  # two bar containers and two error-bar containers
    with pytest.raises(ValueError, match="has 1 values for 2 groups"):
        plotting.grouped_bars(["a", "b"], {"clean": [1.0]}, xlabel="%")
    with pytest.raises(ValueError, match="same series"):
        plotting.grouped_bars(["a"], {"clean": [1.0]}, errors={"robust": [1.0]}, xlabel="%")
    plt.close("all")
