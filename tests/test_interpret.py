"""What models see: gradients, alignment measures, layer probes, feature reuse."""
import pytest
import torch

from tutorial_lib import interpret as it
from tutorial_lib import zoo
from tutorial_lib.lab import feature_runs, recipes, records
from tutorial_lib.attacks import input_gradient
from tutorial_lib.train import TrainConfig, initial_model


def test_loss_gradients_match_autograd_and_leave_the_model_alone(standard_model, mnist_test):
    x, y = mnist_test[0][:30], mnist_test[1][:30]
    flags = [p.requires_grad for p in standard_model.parameters()]
    g = it.loss_gradients(standard_model, x, y, batch_size=7)
    ref, _ = input_gradient(standard_model, x, y)
    assert torch.allclose(g, ref, atol=1e-6)
    assert [p.requires_grad for p in standard_model.parameters()] == flags
    assert all(p.grad is None for p in standard_model.parameters())


def test_display_scale_clips_at_three_sigma_into_unit_range():
    g = torch.randn(4, 1, 28, 28)
    g[0, 0, 0, 0] = 100.0
    d = it.display_scale(g)
    assert d.abs().max() <= 1 and d[0, 0, 0, 0] == 1
    assert torch.equal(d.sign(), g.sign())


def test_class_contrast_cosine_is_one_along_the_class_difference_and_near_zero_for_noise(mnist_test):
    x, y = mnist_test
    means = it.class_means(x, y)
    target = (y + 1) % 10
    along = means[target] - means[y]
    assert torch.allclose(it.class_contrast_cosine(along, y, target, means), torch.ones(len(y)), atol=1e-5)
    assert torch.allclose(it.class_contrast_cosine(-along, y, target, means), -torch.ones(len(y)), atol=1e-5)
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    assert it.class_contrast_cosine(noise, y, target, means).abs().mean() < 0.06
    # the image itself no longer scores: x is not the direction from one class mean to another
    assert it.class_contrast_cosine(x, y, target, means).mean() < 0.2
    with pytest.raises(ValueError, match="one image of the means' shape"):
        it.class_contrast_cosine(noise[:, :, :5], y, target, means)


def test_stroke_fraction_is_one_on_the_digit_and_the_stroke_area_for_uniform_noise(mnist_test):
    x = mnist_test[0][:100]
    on_digit = x.clone()  # a "gradient" that lives exactly where the ink is
    assert torch.allclose(it.stroke_fraction(on_digit, x), torch.ones(100))
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    frac, area = it.stroke_fraction(noise, x), it.stroke_area(x)
    assert ((frac >= 0) & (frac <= 1)).all() and abs(float(frac.mean() - area.mean())) < 0.02
    assert 0.2 < float(area.mean()) < 0.4
    with pytest.raises(ValueError, match="one shape"):
        it.stroke_fraction(noise[:, :, :5], x)


def test_robust_models_gradients_concentrate_on_strokes_more_than_the_standard_ones(mnist_test):
    x, y = mnist_test[0][:200], mnist_test[1][:200]
    frac = {n: float(it.stroke_fraction(it.loss_gradients(zoo.load(n), x, y), x).mean())
            for n in ("mnist_standard", "mnist_linf_0.3", "mnist_l2_2.0")}
    assert frac["mnist_standard"] < 0.7 and min(frac["mnist_linf_0.3"], frac["mnist_l2_2.0"]) > 0.9


def test_first_layer_of_the_linf_model_ignores_pixel_noise_more(mnist_test):
    x = mnist_test[0][:200]
    change = {n: it.activation_change(zoo.load(n), x, eps=0.1, generator=torch.Generator().manual_seed(0))
              for n in ("mnist_standard", "mnist_linf_0.3")}
    assert change["mnist_linf_0.3"] < 0.8 * change["mnist_standard"]
    with pytest.raises(ValueError, match="eps must be >= 0"):
        it.activation_change(zoo.load("mnist_standard"), x, eps=-1)


def test_layer_probes_refuse_bad_requests(standard_model, mnist_test):
    with pytest.raises(ValueError, match="upto must be in"):
        it.layer_output(standard_model, mnist_test[0][:2], 0)
    assert it.first_conv(standard_model).out_channels == 16
    with pytest.raises(ValueError, match="no convolution"):
        it.first_conv(torch.nn.Sequential(torch.nn.Flatten()))
    with pytest.raises(ValueError, match="no examples of classes"):
        it.class_means(mnist_test[0][:5], torch.zeros(5, dtype=torch.long))


def test_initial_model_copies_and_freezes_the_requested_layers():
    cfg = TrainConfig(init_from="mnist_linf_0.3", init_layers=5, freeze=5)
    model, source = initial_model(cfg), zoo.load("mnist_linf_0.3")
    assert torch.equal(model[1].weight, source[1].weight) and torch.equal(model[3].weight, source[3].weight)
    assert not torch.equal(model[6].weight, source[6].weight)  # the head is fresh
    assert [p.requires_grad for p in model[:5].parameters()] == [False] * 4
    assert all(p.requires_grad for p in model[5:].parameters())
    with pytest.raises(ValueError, match="needs init_from"):
        TrainConfig(init_layers=3)
    with pytest.raises(ValueError, match="set init_from"):
        TrainConfig(freeze=2)


def test_feature_reuse_record_holds_every_start_size_and_seed():
    runs = records.load("feature_reuse")["runs"]
    keys = {(r["dataset"], r["start"], r["train_size"], r["seed"]) for r in runs}
    assert len(keys) == len(runs) == 2 * len(recipes.REUSE_STARTS) * 2 * 3
    assert {r["start"] for r in runs} == set(recipes.REUSE_STARTS) and all(r.get("hardware") for r in runs)


def test_recorded_feature_reuse_point_is_reproduced():
    """Re-run one recorded run (Fashion-MNIST, frozen robust features, 1,000 images, seed 0)."""
    rec = next(r for r in records.load("feature_reuse")["runs"]
               if (r["dataset"], r["start"], r["train_size"], r["seed"])
               == ("fashion", "frozen robust features", 1000, 0))
    fresh = feature_runs.reuse_run("fashion", "frozen robust features", train_size=1000,
                         epochs=rec["epochs"], seed=0)
    for a, b in zip(fresh["history"], rec["history"]):
        assert abs(a["clean"] - b["clean"]) <= 0.01 and abs(a["robust"] - b["robust"]) <= 0.02


def test_unknown_results_and_starts_are_refused():
    with pytest.raises(KeyError, match="available"):
        records.load("no_such_result")
    with pytest.raises(KeyError, match="unknown start"):
        feature_runs.reuse_run("mnist", "telepathy", train_size=100, epochs=1, seed=0)


def test_the_reuse_summary_gives_mean_sd_and_standard_error_over_seeds():
    runs = [{"dataset": "mnist", "train_size": 100, "start": "scratch", "trainable_parameters": 10,
             "history": [{"clean": c, "robust": r, "train_seconds": 1.0}]} for c, r in ((0.90, 0.5), (0.92, 0.7))]
    (row,) = feature_runs.summarise_reuse(runs)
    assert row["seeds"] == 2 and row["clean"] == pytest.approx(0.91) and row["robust"] == pytest.approx(0.6)
    assert row["robust_sd"] == pytest.approx(0.2 / 2 ** 0.5)
    assert row["robust_se"] == pytest.approx(row["robust_sd"] / 2 ** 0.5)
    assert row["clean_se"] == pytest.approx(row["clean_sd"] / 2 ** 0.5) and row["clean_sd"] == pytest.approx(0.02 / 2 ** 0.5)
    assert row["curve_clean"] == pytest.approx([0.91]) and row["curve_clean_sd"] == pytest.approx([0.02 / 2 ** 0.5])


def test_pixel_thresholds_find_where_a_single_pixel_filter_turns_on():
    import torch
    from tutorial_lib import interpret, models
    m = models.fast_cnn()
    conv = interpret.first_conv(m)
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        conv.weight[0, 0, 1, 1] = 2.0          # filter 0: one pixel, on above some brightness
        conv.bias[0] = -0.5
        conv.weight[1] = 1.0                   # filter 1: spread evenly, not single-pixel
        conv.weight[2, 0, 2, 2] = 1e-4         # filter 2: one pixel, but nearly empty
    found = interpret.pixel_thresholds(m)
    assert set(found) == {0}
    t, sign = found[0]
    assert sign == 1
    # at that brightness (window otherwise black) the pre-activation of filter 0 is zero
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 0, 0] = t    # output (0, 0) reads the window rows -1..2, so weight (1, 1) sits on pixel (0, 0)
    pre = torch.nn.functional.conv2d(m[0](x), conv.weight, conv.bias, conv.stride, conv.padding)[0, 0, 0, 0]
    assert abs(float(pre)) < 1e-5


def test_pixel_thresholds_refuse_a_model_without_normalisation():
    import pytest
    import torch
    from tutorial_lib import interpret
    with pytest.raises(ValueError, match="Normalize"):
        interpret.pixel_thresholds(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3)))


def test_loss_surface_is_the_loss_on_a_plane_of_the_ball_and_its_centre_is_the_clean_loss(standard_model, mnist_test):
    import pytest
    import torch
    import torch.nn.functional as F
    from tutorial_lib import interpret
    x, y = mnist_test[0][:1], mnist_test[1][:1]
    offsets, loss = interpret.loss_surface(standard_model, x, y, eps=0.3, grid=5)
    assert loss.shape == (5, 5) and torch.allclose(offsets, torch.linspace(-0.3, 0.3, 5))
    with torch.no_grad():
        clean = F.cross_entropy(standard_model(x), y)
    assert torch.isclose(loss[2, 2], clean, atol=1e-5)          # a = b = 0: the image itself
    assert loss[-1, 2] > loss[0, 2]                               # up the gradient sign the loss rises
    with pytest.raises(ValueError, match="one image"):
        interpret.loss_surface(standard_model, mnist_test[0][:2], mnist_test[1][:2], eps=0.3)


def test_loss_surfaces_draw_one_3d_panel_per_model():
    import matplotlib
    matplotlib.use("Agg")
    import torch
    from tutorial_lib import plotting
    offsets = torch.linspace(-0.3, 0.3, 3)
    fig = plotting.loss_surfaces({"a": (offsets, torch.zeros(3, 3)), "b": (offsets, torch.ones(3, 3))}, eps=0.3)
    assert len(fig.axes) == 2 and all(ax.name == "3d" for ax in fig.axes)
    fig.clf()


def test_alignment_gives_both_measures_mean_and_standard_error_over_the_images(standard_model, mnist_test):
    x, y = mnist_test[0][:40], mnist_test[1][:40]
    means = it.class_means(*mnist_test)
    out = it.alignment(standard_model, x, y, means)
    g = it.loss_gradients(standard_model, x, y)
    stroke = it.stroke_fraction(g, x)
    assert out["stroke"][0] == pytest.approx(stroke.mean().item(), abs=1e-6)
    assert out["stroke"][1] == pytest.approx(stroke.std().item() / 40 ** 0.5, abs=1e-6)
    assert -1 <= out["contrast"][0] <= 1 and out["contrast"][1] > 0


def test_alignment_seed_record_holds_every_model_and_seed_and_one_run_is_reproduced():
    """The record holds each chapter 8 model at seeds 0–2; seed 0 is the shipped model itself, and
    one re-trained run (the standard recipe at seed 1, 15 s) gives its recorded measures again."""
    from tutorial_lib.data import balanced_subset, load_dataset
    runs = records.load("alignment_seeds")["runs"]
    assert {(r["model"], r["seed"]) for r in runs} == {(n, s) for n in feature_runs.ALIGNMENT_MODELS for s in (0, 1, 2)}
    assert len(runs) == 18 and all(r.get("hardware") for r in runs)
    xs, ys = balanced_subset(*load_dataset("mnist", "test"), 500, seed=0)
    means = it.class_means(*load_dataset("mnist", "train"))
    recorded = {(r["model"], r["seed"]): r for r in runs}
    seeds = feature_runs.alignment_by_model(runs)["mnist_standard"]
    spread = {k: 2 * torch.tensor(v).std().item() for k, v in seeds.items()}   # two SDs between seeds
    fresh = feature_runs.alignment_seed_run("mnist_standard", 0, xs, ys, means)
    assert all(abs(fresh[k] - recorded[("mnist_standard", 0)][k]) <= 1e-4 for k in spread)
    # seed 1 re-trains (its weights differ in the last bits between CPUs): its stroke fraction must still
    # be nearer its own recorded seed than halfway to either other seed's, and its cosine within two seed SDs
    fresh = feature_runs.alignment_seed_run("mnist_standard", 1, xs, ys, means)
    own = recorded[("mnist_standard", 1)]
    halfway = min(abs(own["stroke"] - recorded[("mnist_standard", s)]["stroke"]) for s in (0, 2)) / 2
    assert abs(fresh["stroke"] - own["stroke"]) < halfway, (fresh, own, halfway)
    assert abs(fresh["contrast"] - own["contrast"]) <= spread["contrast"], (fresh, own, spread)


def test_alignment_by_model_lists_each_measure_in_seed_order():
    runs = [{"model": "m", "seed": s, "stroke": 0.1 * s, "contrast": -0.1 * s} for s in (2, 0, 1)]
    assert feature_runs.alignment_by_model(runs) == {"m": {"stroke": [0.0, 0.1, 0.2], "contrast": [0.0, -0.1, -0.2]}}
