"""Certificates: interval bounds never claim more than brute force finds, exact verification finds
the true worst margin, and no certified image is ever broken by an attack."""
import pytest
import torch
from torch import nn

from tutorial_lib import certify
from tutorial_lib.attacks import pgd
from tutorial_lib.models import Normalize, fast_cnn, mlp
from tutorial_lib.train import TrainConfig, train


def toy_net(seed: int = 0) -> nn.Sequential:
    """A random 2-D ReLU network with three classes, small enough to brute-force."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(),
                         nn.Linear(8, 3)).eval()


def brute_force_margins(net: nn.Module, x: torch.Tensor, y: int, eps: float, k: int = 401) -> torch.Tensor:
    """The least margin ``logit_y - logit_j`` over a k x k grid of the box around a 2-D point."""
    g = torch.linspace(-eps, eps, k)
    pts = (x + torch.stack(torch.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)).clamp(0, 1)
    with torch.no_grad():
        logits = net(pts)
    return (logits[:, y:y + 1] - logits).min(0).values


@pytest.mark.parametrize("seed", range(5))
def test_interval_bounds_are_below_and_exact_verification_equals_brute_force(seed):
    net = toy_net(seed)
    x = torch.rand(1, 2, generator=torch.Generator().manual_seed(seed))
    y = int(net(x).argmax(1))
    eps = 0.15
    brute = brute_force_margins(net, x, y, eps)
    bound = certify.margin_bounds(net, x, torch.tensor([y]), eps=eps)[0].detach()
    exact = certify.verify(net, x[0], y, eps=eps, prune=False).margins.float()
    others = torch.arange(3) != y
    assert (bound[others] <= brute[others] + 1e-5).all()        # a bound, never above the truth
    assert (exact[others] <= brute[others] + 1e-4).all()        # the MILP's minimum is a true minimum...
    assert (exact[others] >= brute[others] - 0.02).all()        # ...the grid gets within its spacing of it
    assert (bound[others] <= exact[others] + 1e-4).all()


def test_logit_boxes_contain_every_sampled_point_of_the_ball():
    model = fast_cnn().eval()
    x = torch.rand(4, 1, 28, 28)
    lo, hi = certify.interval_bounds(model, x, eps=0.05)
    for _ in range(20):
        z = model((x + 0.05 * (2 * torch.rand_like(x) - 1)).clamp(0, 1))
        assert (lo <= z + 1e-4).all() and (z <= hi + 1e-4).all()


def test_zero_radius_bounds_are_the_logits_themselves():
    model = fast_cnn().eval()
    x = torch.rand(3, 1, 28, 28)
    lo, hi = certify.interval_bounds(model, x, eps=0.0)
    assert torch.allclose(lo, model(x), atol=1e-5) and torch.allclose(hi, model(x), atol=1e-5)


@pytest.fixture(scope="module")
def ibp_model():
    """A fast CNN trained with IBP at ℓ∞ 0.1 on 5,000 training images for 3 epochs (seconds)."""
    return train(TrainConfig(method="ibp", eps=0.1, epochs=3, eps_warmup=0.5, train_size=5000)).model


@pytest.fixture(scope="module")
def mnist_test_small(mnist_test):
    """The first 200 test images."""
    return mnist_test[0][:200], mnist_test[1][:200]


def test_ibp_training_certifies_images_that_no_attack_breaks(ibp_model, mnist_test_small):
    x, y = mnist_test_small
    ok = certify.certified(ibp_model, x, y, eps=0.1)
    assert ok.float().mean() > 0.2                             # training bought certificates
    x_adv = pgd(ibp_model, x[ok], y[ok], eps=0.1, alpha=0.01, steps=40, norm="linf",
                restarts=3, generator=torch.Generator().manual_seed(0))
    assert (ibp_model(x_adv).argmax(1) == y[ok]).all()         # a proof is a proof


def test_certified_accuracy_is_at_most_clean_accuracy(ibp_model, mnist_test_small):
    x, y = mnist_test_small
    clean = (ibp_model(x).argmax(1) == y).float().mean().item()
    assert certify.certified_accuracy(ibp_model, (x, y), eps=0.1) <= clean


def test_exact_verification_agrees_with_the_bounds_on_a_small_mlp(mnist_test_small):
    torch.manual_seed(0)
    model = mlp(hidden=8).eval()
    x, y = mnist_test_small
    for i in range(3):
        v = certify.verify(model, x[i], int(y[i]), eps=0.01, prune=False)
        assert certify.verify(model, x[i], int(y[i]), eps=0.01).robust == v.robust   # pruning proves no more
        bound = certify.margin_bounds(model, x[i:i + 1], y[i:i + 1], eps=0.01)[0]
        others = torch.arange(10) != y[i]
        assert (bound[others].double() <= v.margins[others] + 1e-4).all()
        x_adv = pgd(model, x[i:i + 1], y[i:i + 1], eps=0.01, alpha=0.002, steps=20, norm="linf")
        logits = model(x_adv)[0].double()
        assert ((logits[y[i]] - logits)[others] >= v.margins[others] - 1e-4).all()


@pytest.mark.parametrize("bad, match", [
    (dict(eps=-0.1), "eps must be >= 0"),
    (dict(x=torch.full((1, 2), 2.0)), "images must lie in"),
])
def test_bad_input_is_refused(bad, match):
    args = {"x": torch.rand(1, 2), "eps": 0.1, **bad}
    with pytest.raises(ValueError, match=match):
        certify.margin_bounds(toy_net(), args["x"], torch.tensor([0]), eps=args["eps"])


def test_layers_the_bounds_cannot_follow_are_refused():
    with pytest.raises(TypeError, match="know Linear, Conv2d"):
        certify.interval_bounds(nn.Sequential(nn.Flatten(), nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 2)),
                                torch.rand(1, 2), eps=0.1)
    with pytest.raises(TypeError, match="convolutional models"):
        certify.verify(fast_cnn(), torch.rand(1, 28, 28), 0, eps=0.1)
    with pytest.raises(TypeError, match="nn.Sequential"):
        certify.interval_bounds(Normalize(), torch.rand(1, 2), eps=0.1)


def test_ibp_config_refuses_l2():
    with pytest.raises(ValueError, match="ℓ∞ ball"):
        TrainConfig(method="ibp", eps=1.0, norm="l2")


def test_the_length_curve_follows_the_scale_its_first_cut_chose():
    from tutorial_lib.lab.certified_runs import best_run, length_curve, still_rising

    def run(scale, epochs, cert, seconds=1.0):
        return {"config": {"eps": 0.1, "eps_train_scale": scale, "epochs": epochs},
                "validation_certified": cert, "train_seconds": seconds, "n": 5000}
    runs = [run(1.0, 10, 0.90), run(2.0, 10, 0.92), run(2.0, 5, 0.85), run(2.0, 20, 0.93), run(1.0, 20, 0.99)]
    assert list(length_curve(runs, 0.1)) == [5, 10, 20]
    assert best_run([run(1.0, 10, 0.9, 5.0), run(2.0, 10, 0.9, 3.0)])["config"]["eps_train_scale"] == 2.0
    assert still_rising(length_curve(runs, 0.1)) is False                  # 92% -> 93% on 5,000: noise
    assert still_rising(length_curve(runs + [run(2.0, 40, 0.96)], 0.1)) is True
    with pytest.raises(KeyError, match="ibp_runs.py --eps 0.3"):
        length_curve(runs, 0.3)


def test_ibp_training_warms_up_kappa_and_the_training_ball():
    from tutorial_lib.train import training_loss
    model, x, y = fast_cnn(), torch.rand(8, 1, 28, 28), torch.arange(8)
    cfg = TrainConfig(method="ibp", eps=0.1, eps_train_scale=2.0)
    clean = torch.nn.functional.cross_entropy(model(x), y)
    assert torch.isclose(training_loss(model, x, y, cfg, 0.0, torch.Generator())[0], clean)
    full = training_loss(model, x, y, cfg, 0.1, torch.Generator())[0]
    bound = torch.nn.functional.cross_entropy(certify.worst_logits(model, x, y, eps=0.2), y)
    assert torch.isclose(full, 0.5 * clean + 0.5 * bound)
    with pytest.raises(ValueError, match="eps_train_scale"):
        TrainConfig(method="pgd", eps=0.1, eps_train_scale=2.0)
