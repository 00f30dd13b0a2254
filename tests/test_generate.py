"""Generation: images stay valid, runs are deterministic, robust generations look like their class."""
import pytest
import torch

from tutorial_lib import generate as gen
from tutorial_lib import zoo
from tutorial_lib.data import load_dataset


@pytest.fixture(scope="module")
def gaussians():
    x, y = load_dataset("mnist", "train")
    return gen.fit_class_gaussians(x[:5000], y[:5000], rank=10)


def test_interpolation_runs_from_start_to_end_in_equal_steps(mnist_test):
    x, x_end = mnist_test[0][:3], 1 - mnist_test[0][:3]
    path = gen.interpolate(x, x_end, n=5)
    assert path.shape == (5, 3, 1, 28, 28)
    assert torch.equal(path[0], x) and torch.allclose(path[-1], x_end)
    assert torch.allclose(path[2], (x + x_end) / 2)
    with pytest.raises(ValueError, match="one shape"):
        gen.interpolate(x, x_end[:2])
    with pytest.raises(ValueError, match="at least 2"):
        gen.interpolate(x, x_end, n=1)


def test_seeds_are_valid_images_near_their_class_mean_and_deterministic(gaussians):
    classes = torch.arange(10).repeat(5)
    a = gen.sample_seeds(gaussians, classes, generator=torch.Generator().manual_seed(3))
    b = gen.sample_seeds(gaussians, classes, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.shape == (50, 1, 28, 28)
    assert a.min() >= 0 and a.max() <= 1
    d = torch.cdist(a.flatten(1), gaussians.means)  # each seed is nearest its own class mean
    assert (d.argmin(1) == classes).float().mean() > 0.8
    with pytest.raises(ValueError, match="rank must be"):
        gen.fit_class_gaussians(a, classes, rank=-1)
    with pytest.raises(ValueError, match="need more than rank"):
        gen.fit_class_gaussians(a, classes, rank=10)


def test_generation_is_valid_deterministic_and_the_robust_models_images_are_their_class():
    x, y = load_dataset("mnist", "train")
    robust, standard = zoo.load("mnist_l2_2.0"), zoo.load("mnist_standard")
    judge = zoo.load("mnist_mlp_standard")
    anything = gen.fit_class_gaussians(x, torch.zeros_like(y), rank=20, classes=1)
    classes = torch.arange(10).repeat(3)
    seeds = gen.sample_seeds(anything, torch.zeros_like(classes), generator=torch.Generator().manual_seed(0))
    out = gen.generate(robust, seeds, classes, eps=6.0, steps=40)
    assert torch.equal(out, gen.generate(robust, seeds, classes, eps=6.0, steps=40))
    assert out.min() >= 0 and out.max() <= 1
    assert (out - seeds).flatten(1).norm(dim=1).max() <= 6.0 + 1e-4
    # judges that never saw the generating model; chance is 10%
    knn = lambda imgs: float((gen.nearest_neighbour_labels(imgs, x, y) == classes).float().mean())
    assert gen.target_agreement(judge, out, classes) >= 0.6
    assert knn(out) >= 0.6
    assert knn(out) > knn(gen.generate(standard, seeds, classes, eps=6.0, steps=40)) + 0.1


def test_nearest_neighbour_judge_is_accurate_on_real_digits(mnist_test):
    x, y = load_dataset("mnist", "train")
    pred = gen.nearest_neighbour_labels(mnist_test[0][:200], x, y)
    assert (pred == mnist_test[1][:200]).float().mean() > 0.93
    with pytest.raises(ValueError, match="k must be"):
        gen.nearest_neighbour_labels(mnist_test[0][:2], x, y, k=0)


def test_diversity_and_nearest_neighbour_measures(mnist_test):
    x = mnist_test[0][:20]
    assert gen.mean_pairwise_distance(torch.cat([x[:1], x[:1]])) == 0.0
    assert gen.mean_pairwise_distance(x) > 5
    d = gen.nearest_distance(x[:5], x)
    assert torch.allclose(d, torch.zeros(5), atol=1e-3)
    with pytest.raises(ValueError, match="at least two"):
        gen.mean_pairwise_distance(x[:1])


def test_class_distance_is_zero_on_the_reference_and_grows_with_noise(mnist_test):
    x, y = load_dataset("mnist", "train")
    xr, yr = x[:3000], y[:3000]
    assert torch.allclose(gen.class_distance(xr[:20], yr[:20], xr, yr, k=1), torch.zeros(20), atol=0.01)
    real = gen.class_distance(mnist_test[0][:100], mnist_test[1][:100], xr, yr)
    noise = torch.rand(100, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    noisy = gen.class_distance(noise, mnist_test[1][:100], xr, yr)
    assert noisy.mean() > 2 * real.mean()          # noise is far from every class: penalised
    # the wrong class is further than the right one, in pixels and in a feature space
    wrong = (mnist_test[1][:100] + 1) % 10
    assert gen.class_distance(mnist_test[0][:100], wrong, xr, yr).mean() > real.mean()
    model = zoo.load("mnist_linf_0.3")
    feats = lambda imgs: model[:8](imgs).detach()  # noqa: E731
    assert (gen.class_distance(mnist_test[0][:100], wrong, xr, yr, features=feats).mean()
            > gen.class_distance(mnist_test[0][:100], mnist_test[1][:100], xr, yr, features=feats).mean())
    with pytest.raises(ValueError, match="matching"):
        gen.class_distance(noise, mnist_test[1][:5], xr, yr)


def test_a_cross_fade_passes_through_double_exposures_and_its_vote_switches(mnist_test):
    x, y = load_dataset("mnist", "train")
    xr, yr = x[:3000], y[:3000]
    xs, ys = mnist_test
    a, b = xs[ys == 1][:10], xs[ys == 0][:10]
    path = gen.interpolate(a, b, n=5)
    d = gen.path_class_distance(path, torch.ones(10, dtype=torch.long), torch.zeros(10, dtype=torch.long), xr, yr)
    assert d.shape == (5, 10)
    assert d[2].mean() > (d[0].mean() + d[-1].mean()) / 2   # the middle is less like a real digit
    votes = torch.stack([gen.nearest_neighbour_labels(p, xr, yr) for p in path])
    assert (gen.vote_switches(votes) >= 1).float().mean() > 0.8
    assert gen.vote_switches(torch.tensor([[1, 1], [1, 2], [2, 2]])).tolist() == [1, 1]
    with pytest.raises(ValueError, match="steps >= 2"):
        gen.vote_switches(torch.tensor([1, 2]))


def test_judge_scores_on_hand_made_images():
    from tutorial_lib.generate import judge_scores
    reference = torch.cat([torch.zeros(5, 1, 2, 2), torch.ones(5, 1, 2, 2)])
    labels = torch.tensor([0] * 5 + [1] * 5)
    images = torch.stack([torch.zeros(1, 2, 2), torch.full((1, 2, 2), 0.1), torch.ones(1, 2, 2), torch.full((1, 2, 2), 0.9)])
    agree, diversity, nearest = judge_scores(images, torch.tensor([0, 0, 1, 1]), reference, labels, per_class=2)
    # kNN votes 0, 0, 1, 1; each class's pair lies 0.1 * sqrt(4) = 0.2 apart; nearest: 0, 0.2, 0, 0.2
    assert agree == 1.0 and abs(diversity - 0.2) < 1e-6 and abs(nearest - 0.1) < 1e-6
    assert judge_scores(images, torch.tensor([1, 1, 0, 0]), reference, labels, per_class=2)[0] == 0.0


def test_the_judge_board_keeps_and_prints_each_sets_scores(capsys):
    from tutorial_lib.generate import JudgeBoard
    reference = torch.cat([torch.zeros(5, 1, 2, 2), torch.ones(5, 1, 2, 2)])
    labels = torch.tensor([0] * 5 + [1] * 5)
    judge = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    with torch.no_grad():   # a judge that says 1 when the pixels are bright
        judge[1].weight.copy_(torch.tensor([[-1.0] * 4, [1.0] * 4]))
        judge[1].bias.copy_(torch.tensor([2.0, -2.0]))
    board = JudgeBoard(torch.tensor([0, 0, 1, 1]), judge=judge, train=(reference, labels),
                       reference=(reference, labels), features=torch.nn.Identity(), feature_unit=1.0, per_class=2)
    images = torch.stack([torch.zeros(1, 2, 2), torch.full((1, 2, 2), 0.1), torch.ones(1, 2, 2), torch.full((1, 2, 2), 0.9)])
    board.add("hand-made", images)
    s = board.scores["hand-made"]
    assert s["MLP"] == 100.0 and s["kNN"] == 100.0 and abs(s["nearest"] - 0.1) < 1e-6
    assert abs(s["features"][0] - 0.1) < 1e-6    # distance to the 5 nearest of its class: 0, 0.2, 0, 0.2
    assert capsys.readouterr().out.startswith("hand-made")


def test_inpainting_moves_only_the_masked_pixels_and_raises_the_true_class(standard_model, mnist_test):
    import torch
    from tutorial_lib import generate
    x, y = mnist_test[0][:20], mnist_test[1][:20]
    mask = generate.block_mask(x, rows=slice(10, 18))
    out = generate.inpaint(standard_model, x, y, mask, eps=3.0, steps=20)
    assert torch.equal(out * (1 - mask), x * (1 - mask))          # the known pixels are untouched
    assert out.min() >= 0 and out.max() <= 1
    blank = x * (1 - mask)
    assert (standard_model(out).argmax(1) == y).float().mean() >= (standard_model(blank).argmax(1) == y).float().mean()
    assert torch.allclose(generate.masked_distance(blank, x, mask), (x * mask).flatten(1).norm(dim=1))


def test_inpainting_refuses_a_mask_that_is_not_zero_one_or_of_another_size(standard_model, mnist_test):
    import pytest
    import torch
    from tutorial_lib import generate
    x, y = mnist_test[0][:2], mnist_test[1][:2]
    with pytest.raises(ValueError, match="mask"):
        generate.inpaint(standard_model, x, y, torch.full_like(x, 0.5))
    with pytest.raises(ValueError, match="mask"):
        generate.inpaint(standard_model, x, y, torch.ones(2, 1, 14, 14))


def test_the_agreement_grid_counts_the_model_and_each_judge_and_prints_a_line_per_model(standard_model, mnist_test):
    from functools import partial
    from tutorial_lib import generate
    x, y = mnist_test[0][:10], mnist_test[1][:10]
    targets = (y + 1) % 10
    always_target = partial(lambda images, t: t, t=targets)      # a judge that always agrees
    agree = generate.agreement_grid({"std": standard_model}, x, targets, {"l2": [4.0]},
                                    judges={"MLP": standard_model, "yes": always_target}, steps=10)
    own, mlp, yes = agree[("l2", "std", 4.0)]
    assert own == mlp and yes == 1.0                              # the model judging itself; the yes-judge
    assert generate.agreement_lines(agree).startswith("  l2 std")
    assert generate.agreement_lines(agree).endswith(f"ε=4.0: {100 * own:.0f}/{100 * mlp:.0f}/100")
