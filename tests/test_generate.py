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
