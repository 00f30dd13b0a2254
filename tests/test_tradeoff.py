"""The chooser picks right on constructed fronts, says which constraint binds, breaks ties, refuses
bad needs; TRADES reduces to cross-entropy at beta = 0; recorded tradeoff runs are reproduced."""
import pytest
import torch
import torch.nn.functional as F

from tutorial_lib import zoo
from tutorial_lib import tradeoff as tr
from tutorial_lib.budgets import strong_budget
from tutorial_lib.evaluate import accuracy, robust_accuracy
from tutorial_lib.lab import tradeoff_runs, recipes, records
from tutorial_lib.train import TrainConfig, training_loss


def _p(name, clean, rob, secs, key="linf@0.3"):
    return tr.OperatingPoint(name, secs, {"clean": clean, key: rob})


FRONT = [_p("std", 0.99, 0.00, 10), _p("a", 0.985, 0.80, 100), _p("b", 0.98, 0.90, 200),
         _p("c", 0.97, 0.92, 300), _p("bad", 0.96, 0.85, 400)]


def test_chooser_maximises_under_constraints():
    c = tr.choose(FRONT, tr.Need(min_clean=0.98))
    assert c.point.name == "b" and "highest robust accuracy at ℓ∞ ε = 0.3" in c.why and "2 ruled out" in c.why
    assert tr.choose(FRONT, tr.Need()).point.name == "c"
    assert tr.choose(FRONT, tr.Need(max_train_seconds=150)).point.name == "a"
    assert tr.choose(FRONT, tr.Need(min_robust=0.85, maximise="clean")).point.name == "b"


def test_infeasible_need_names_the_binding_constraint():
    c = tr.choose(FRONT, tr.Need(min_clean=0.985, min_robust=0.9))
    assert c.point is None and "no operating point" in c.why
    assert set(c.binding) == {"clean >= 98.50%", "robust at ℓ∞ ε = 0.3 >= 90.00%"}
    c2 = tr.choose(FRONT, tr.Need(min_clean=0.995))
    assert c2.point is None and c2.binding == ("clean >= 99.50%",)


def test_a_point_flagged_for_masking_at_the_needs_threat_is_refused():
    masked = tr.OperatingPoint("masked", 50, {"clean": 0.99, "linf@0.3": 0.99, "l2@2": 0.99},
                               flags={"val": {"l2@2": ["Square Attack beats the gradient attacks"]}})
    c = tr.choose(FRONT + [masked], tr.Need())
    assert c.point.name == "masked"                       # its flag is at another threat
    pts = [_p("honest", 0.98, 0.6, 100, key="l2@2"), masked]
    c = tr.choose(pts, tr.Need(norm="l2", eps=2.0))
    assert c.point.name == "honest" and "1 of them for a masking flag" in c.why
    alone = tr.choose([masked], tr.Need(norm="l2", eps=2.0))
    assert alone.point is None and "no masking flag at ℓ2 ε = 2" in alone.why


def test_the_chooser_refuses_unconverged_numbers_and_keeps_a_flag_beside_a_converged_one():
    top = "l2@2"
    bound = tr.OperatingPoint("bound", 50, {"clean": 0.99, top: 0.95}, converged={"val": {top: False}})
    flagged = tr.OperatingPoint("flagged", 60, {"clean": 0.99, top: 0.90}, converged={"val": {top: True}},
                                flags={"val": {top: ["Square Attack breaks 19 of 1000 images"]}})
    plain = _p("plain", 0.98, 0.60, 100, key=top)
    c = tr.choose([bound, flagged, plain], tr.Need(norm="l2", eps=2.0))
    assert c.point.name == "flagged"                      # converged: the flag is a warning
    alone = tr.choose([bound], tr.Need(norm="l2", eps=2.0))
    assert alone.point is None and "converged at ℓ2 ε = 2" in alone.why   # an upper bound is refused


def test_ties_go_to_the_cheaper_point_then_the_higher_other_accuracy():
    pts = [_p("slow", 0.98, 0.9, 300), _p("fast", 0.97, 0.9, 100), _p("fast_better", 0.975, 0.9, 100)]
    assert tr.choose(pts, tr.Need()).point.name == "fast_better"


def test_pareto_front_drops_dominated_points():
    names = [p.name for p in tr.pareto_front(FRONT, "linf@0.3")]
    assert "bad" not in names and set(names) == {"std", "a", "b", "c"}
    slow_but_best = FRONT + [_p("slow", 0.99, 0.95, 900)]
    assert {p.name for p in tr.pareto_front(slow_but_best, "linf@0.3", cost=False)} == {"slow"}
    assert "std" in {p.name for p in tr.pareto_front(slow_but_best, "linf@0.3")}  # cheapest


def test_bad_needs_and_missing_measurements_are_refused():
    with pytest.raises(ValueError, match="maximise"):
        tr.Need(maximise="speed")
    with pytest.raises(ValueError, match="min_clean"):
        tr.Need(min_clean=98)
    with pytest.raises(ValueError, match="eps must be"):
        tr.Need(eps=-1)
    with pytest.raises(ValueError, match="no operating points"):
        tr.choose([], tr.Need())
    with pytest.raises(KeyError, match="no measurement 'l2@2'"):
        tr.choose(FRONT, tr.Need(norm="l2", eps=2.0))


def test_trades_loss_is_cross_entropy_at_beta_zero(standard_model, mnist_test):
    x, y = mnist_test[0][:64], mnist_test[1][:64]
    cfg = TrainConfig(method="trades", eps=0.1, beta=0.0, steps=2)
    loss, logits = training_loss(standard_model, x, y, cfg, 0.1, torch.Generator().manual_seed(0))
    assert torch.allclose(loss, F.cross_entropy(standard_model(x), y), atol=1e-6)


def test_half_natural_batches_train_on_clean_images_first():
    with pytest.raises(ValueError, match="natural_fraction"):
        TrainConfig(method="pgd", eps=0.1, natural_fraction=1.0)


def _counted(name, clean, rob, secs, n):
    return tr.OperatingPoint(name, secs, {"clean": clean, "linf@0.3": rob},
                             counts={"clean": 5000, "linf@0.3": n})


def test_points_within_each_others_interval_are_tied_and_the_cheapest_wins():
    pts = [_counted("best", 0.98, 0.90, 600, 300), _counted("close", 0.98, 0.88, 100, 300),
           _counted("far", 0.98, 0.70, 50, 300)]
    c = tr.choose(pts, tr.Need())
    assert c.point.name == "close" and c.ties == ("best",) and "tied" in c.why
    # with thirty times the images the intervals separate and the best number wins again
    pts = [_counted("best", 0.98, 0.90, 600, 9000), _counted("close", 0.98, 0.88, 100, 9000)]
    c = tr.choose(pts, tr.Need())
    assert c.point.name == "best" and c.ties == ()


def test_an_interval_needs_the_image_count_and_brackets_the_number():
    p = _counted("a", 0.98, 0.90, 10, 300)
    lo, hi = p.interval("linf@0.3")
    assert lo < 0.90 < hi and hi - lo < 0.08
    with pytest.raises(KeyError, match="no image count"):
        _p("b", 0.98, 0.9, 10).interval("linf@0.3")


def test_recorded_points_carry_the_image_counts_of_their_splits():
    rec = records.load("operating_points")
    p = tr.load_points(rec)[0]
    assert p.counts["clean"] == tr.CLEAN_N and p.counts["linf@0.2"] == rec["split_n"]
    assert all(len(half[1]) == tr.CLEAN_N and len(half[3]) == rec["split_n"] for half in tradeoff_runs.splits().values())


def test_recorded_figure1_point_is_reproduced():
    """Re-train the cheapest recorded point (standard training on 1% of MNIST, seed 0)."""
    rec = next(r for r in records.load("figure1")["runs"]
               if (r["eps"], r["train_size"], r["seed"]) == (0.0, tradeoff_runs.FIG1_SIZES[0], 0))
    fresh = tradeoff_runs.figure1_run("mnist", "linf", 0.0, tradeoff_runs.FIG1_SIZES[0], 0)
    assert TrainConfig(**fresh["config"]) == TrainConfig(**rec["config"])
    assert fresh["clean"] == pytest.approx(rec["clean"], abs=0.005)


def test_figure7_record_holds_every_point_of_the_grid_with_its_machine():
    runs = records.load("figure7")["runs"]
    keys = [(r["dataset"], r["norm"], r["eps"], r["seed"], r["natural_fraction"]) for r in runs]
    assert sorted(keys) == sorted(tradeoff_runs.figure7_keys())
    for r in runs:
        assert TrainConfig(**r["config"]) == recipes.figure7_config(*keys[runs.index(r)])
        assert r["hardware"] and 0.5 < r["clean"] <= 1.0


def test_figure1_record_holds_every_point_with_its_machine_and_an_honest_robust_number():
    runs = records.load("figure1")["runs"]
    keys = [(r["dataset"], r["norm"], r["eps"], r["train_size"], r["seed"]) for r in runs]
    assert sorted(keys) == sorted(tradeoff_runs.figure1_keys())  # both datasets, three seeds per point
    for r, k in zip(runs, keys):
        assert TrainConfig(**r["config"]) == recipes.figure1_config(k[1], k[2], k[3], k[4], k[0])
        assert r["hardware"]
        if r["eps"] > 0:   # the data-cost panel: honest, unflagged, at the model's training threat
            assert r["robust_n"] == tradeoff_runs.FIG1_ROBUST_N and r["robust_flags"] == []
            assert r["robust"] <= r["robust_gradient"] and f"eps={r['eps']:g}, {r['norm']}" in r["robust_budget"]


def test_a_gpu_recorded_figure7_point_is_reproduced_on_the_cpu_within_seed_noise():
    """Fashion-MNIST standard training (recorded on a GPU) retrained here: a CPU run is one more
    draw of the same recipe, so it must fall within three of the seeds' standard deviations."""
    recs = [r for r in records.load("figure7")["runs"] if (r["dataset"], r["eps"]) == ("fashion", 0.0)]
    rec = next(r for r in recs if r["seed"] == 0)
    assert "GPU" in rec["hardware"]
    fresh = tradeoff_runs.figure7_run("fashion", "linf", 0.0, 0)
    spread = torch.tensor([r["clean"] for r in recs]).std().item()
    assert abs(fresh["clean"] - rec["clean"]) <= max(3 * spread, 0.002)


def test_recorded_operating_point_of_a_zoo_model_is_reproduced():
    rec = next(p for p in records.load("operating_points")["points"] if p["name"] == "mnist_linf_0.1")
    (xc, yc, xr, yr) = tradeoff_runs.splits()["val"]
    model = zoo.load("mnist_linf_0.1")
    assert accuracy(model, (xc, yc)) == pytest.approx(rec["val"]["clean"], abs=1e-4)
    got = robust_accuracy(model, (xr, yr), attack=strong_budget(0.1)).accuracy
    assert got == pytest.approx(rec["gradient"]["val"]["linf@0.1"], abs=0.01)
    # the honest number is the per-example worst case: never above the gradient attacks' number
    assert rec["val"]["linf@0.1"] <= rec["gradient"]["val"]["linf@0.1"]


def test_the_chooser_never_recommends_a_flagged_recorded_point():
    """On the recorded points (honest budget, with flags), for every threat of the grid."""
    ops = tr.load_points(records.load("operating_points"))
    assert any(p.flags.get("val") for p in ops), "the record should carry the masking flags"
    for p in ops:   # the honest number is a per-example worst case over the gradient attacks and more
        assert all(p.val[k] <= p.gradient["val"][k] and p.test[k] <= p.gradient["test"][k] for k in p.gradient["val"])
    for norm, eps in tradeoff_runs.THREATS:
        for min_clean in (0.0, 0.98):
            c = tr.choose(ops, tr.Need(norm=norm, eps=eps, min_clean=min_clean))
            assert c.point is None or not c.point.flagged(tr.threat(norm, eps))


def test_accuracy_by_size_averages_seeds_per_size_and_reads_robust_only_where_measured():
    from tutorial_lib.tradeoff import accuracy_by_size
    run = lambda ds, norm, eps, size, clean, **k: dict(dataset=ds, norm=norm, eps=eps,  # noqa: E731
                                                        train_size=size, clean=clean, **k)
    runs = [run("mnist", "linf", 0.0, 600, c) for c in (0.88, 0.90)] + \
           [run("mnist", "linf", 0.0, 60000, c) for c in (0.99, 0.99)] + \
           [run("mnist", "linf", 0.3, 600, c, robust=r) for c, r in ((0.95, 0.5), (0.93, 0.6))] + \
           [run("fashion", "linf", 0.1, 600, 0.8, robust=0.4) for _ in range(2)]
    clean = accuracy_by_size(runs, dataset="mnist")
    assert list(clean) == [("standard", 0.0), ("linf", 0.3)]  # standard first
    assert list(clean[("standard", 0.0)]) == [600, 60000]
    t1 = 12.706   # two seeds: the t quantile with one degree of freedom; the standard error is 1.0
    assert clean[("standard", 0.0)][600] == pytest.approx((89.0, t1 * 1.0), rel=1e-4)
    robust = accuracy_by_size(runs, dataset="mnist", metric="robust")
    assert list(robust) == [("linf", 0.3)] and robust[("linf", 0.3)][600] == pytest.approx((55.0, t1 * 5.0), rel=1e-4)
    with pytest.raises(ValueError, match="no fashion runs with a 'clean' number"):
        accuracy_by_size(runs[:6], dataset="fashion")


def test_accuracy_by_eps_averages_seeds_and_starts_every_curve_at_standard_training():
    from tutorial_lib.tradeoff import accuracy_by_eps
    run = lambda ds, norm, eps, seed, nf, clean: dict(dataset=ds, norm=norm, eps=eps, seed=seed,  # noqa: E731
                                                      natural_fraction=nf, clean=clean)
    runs = [run("mnist", "linf", 0.0, s, 0.0, c) for s, c in enumerate((0.990, 0.992, 0.991))] + \
           [run("mnist", "linf", 0.3, s, 0.0, c) for s, c in enumerate((0.985, 0.986, 0.984))] + \
           [run("mnist", "linf", 0.3, s, 0.5, c) for s, c in enumerate((0.988, 0.989, 0.987))] + \
           [run("mnist", "l2", 2.0, s, 0.0, 0.980) for s in range(3)] + [run("fashion", "linf", 0.0, 0, 0.0, 0.9)]
    curve = accuracy_by_eps(runs, dataset="mnist", norm="linf")
    assert [(e, round(m, 2), n) for e, m, _, n in curve] == [(0.0, 99.1, 3), (0.3, 98.5, 3)]
    assert curve[0][2] == pytest.approx(4.303 * 0.1 / 3 ** 0.5, rel=1e-3)   # t(2) × the standard error
    half = accuracy_by_eps(runs, dataset="mnist", norm="linf", natural_fraction=0.5)
    assert [round(m, 2) for _, m, _, _ in half] == [99.1, 98.8]
    assert [e for e, *_ in accuracy_by_eps(runs, dataset="mnist", norm="l2")] == [0.0, 2.0]
    with pytest.raises(ValueError, match="no standard runs or no ε > 0"):
        accuracy_by_eps(runs, dataset="fashion", norm="linf")


def test_images_to_reach_reads_the_first_size_at_the_level():
    from tutorial_lib.tradeoff import images_to_reach
    curve = {600: (52.9, 5.0), 3000: (77.4, 0.5), 60000: (90.6, 0.5)}
    assert images_to_reach(curve, 77.4) == 3000 and images_to_reach(curve, 50.0) == 600
    assert images_to_reach(curve, 95.0) is None


def test_a_point_shows_its_number_with_its_interval():
    p = _counted("a", 0.98, 0.90, 10, 300)
    lo, hi = p.interval("linf@0.3")
    assert p.shown("linf@0.3") == f"90.0% [{100 * lo:.1f}, {100 * hi:.1f}]"
    assert p.shown("linf@0.3", digits=2).startswith("90.00% [")


def test_differences_from_standard_training_come_with_t_intervals():
    by_size = {("standard", 0.0): {600: [90.0, 90.2, 89.8]}, ("linf", 0.1): {600: [94.0, 94.4, 93.6]}}
    diffs = tr.differences_from_standard(by_size)
    d, lo, hi = diffs[("linf", 0.1)][600]
    assert list(diffs) == [("linf", 0.1)] and d == pytest.approx(4.0)
    assert lo < 4.0 < hi and hi - 4.0 == pytest.approx(4.0 - lo)   # symmetric, from the pooled SD (4 df)
    line = tr.difference_lines("MNIST", diffs)
    assert line.startswith("MNIST ℓ∞ ε = 0.1 minus standard training: 600: +4.00 [")


def test_display_names_read_recorded_points_in_words_and_leave_other_names_alone():
    from tutorial_lib.tradeoff import display_name, threat_words
    assert [display_name(n) for n in ("mnist_standard", "mnist_linf_0.3", "mnist_l2_2.0", "half_natural_linf_0.1",
                                      "trades_beta6_linf_0.3", "slow", "mnist_linf_0.3_seed1", "mnist_linf_x",
                                      "fashion_linf_0.1")] == [
        "standard", "PGD ℓ∞ 0.3", "PGD ℓ2 2", "half-natural ℓ∞ 0.1", "TRADES β = 6 ℓ∞ 0.3", "slow",
        "mnist_linf_0.3_seed1", "mnist_linf_x", "fashion_linf_0.1"]
    assert threat_words("l2@2") == "ℓ2 ε = 2"
