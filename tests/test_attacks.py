"""Attacks: the ball and [0, 1] are respected, reference identities hold, the model is untouched."""
import pytest
import torch
import torch.nn.functional as F

from tutorial_lib.attacks import attack_succeeded, fgsm, pgd
from tutorial_lib.models import build_model


def _norm(d, norm):
    return d.flatten(1).abs().amax(1) if norm == "linf" else d.flatten(1).norm(dim=1)


@pytest.mark.parametrize("norm,eps", [("linf", 0.3), ("l2", 2.0)])
def test_pgd_stays_in_ball_and_in_unit_box(standard_model, mnist_test, norm, eps):
    x, y = mnist_test[0][:100], mnist_test[1][:100]
    x_adv = pgd(standard_model, x, y, eps=eps, alpha=eps / 4, steps=10, norm=norm, restarts=2)
    assert _norm(x_adv - x, norm).max() <= eps + 1e-5
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert not x_adv.requires_grad


@pytest.mark.parametrize("norm,eps", [("linf", 0.3), ("l2", 2.0)])
def test_fgsm_stays_in_ball_and_in_unit_box(standard_model, mnist_test, norm, eps):
    x, y = mnist_test[0][:100], mnist_test[1][:100]
    x_adv = fgsm(standard_model, x, y, eps=eps, norm=norm)
    assert _norm(x_adv - x, norm).max() <= eps + 1e-5
    assert x_adv.min() >= 0 and x_adv.max() <= 1


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_one_step_pgd_without_random_start_is_fgsm(standard_model, mnist_test, norm):
    x, y = mnist_test[0][:50], mnist_test[1][:50]
    a = pgd(standard_model, x, y, eps=0.2, alpha=0.2, steps=1, norm=norm, random_start=False)
    b = fgsm(standard_model, x, y, eps=0.2, norm=norm)
    assert torch.allclose(a, b, atol=1e-6)


def test_pgd_is_at_least_as_strong_as_fgsm(standard_model, mnist_test):
    x, y = mnist_test
    fooled = {}
    for name, x_adv in {"fgsm": fgsm(standard_model, x, y, eps=0.1),
                        "pgd": pgd(standard_model, x, y, eps=0.1, alpha=0.01, steps=40)}.items():
        with torch.no_grad():
            fooled[name] = (standard_model(x_adv).argmax(1) != y).float().mean().item()
    assert fooled["pgd"] >= fooled["fgsm"] + 0.05, fooled


def test_targeted_pgd_reaches_the_target_far_more_often_than_chance(standard_model, mnist_test):
    x, y = mnist_test[0][:200], mnist_test[1][:200]
    target = (y + 1) % 10
    x_adv = pgd(standard_model, x, target, eps=0.2, alpha=0.02, steps=30, targeted=True)
    with torch.no_grad():
        hit = (standard_model(x_adv).argmax(1) == target).float().mean().item()
    assert hit > 0.5  # chance is 0.1


def _binary_linear(seed=0):
    torch.manual_seed(seed)
    model = build_model("linear", num_classes=2)
    return model, model[1].weight.detach()


@pytest.mark.parametrize("norm,dual", [("linf", 1), ("l2", 2)])
def test_pgd_on_a_linear_model_reaches_the_closed_form_optimum(norm, dual):
    """For logits Wx+b the worst loss in the ball lowers the margin by eps*||w_y - w_other||_dual."""
    model, w = _binary_linear()
    x = 0.5 + 0.01 * torch.randn(8, 1, 28, 28)  # interior: the [0, 1] clip is never active
    y = torch.randint(0, 2, (8,))
    eps = 0.05 if norm == "linf" else 1.0
    x_adv = pgd(model, x, y, eps=eps, alpha=eps / 5, steps=40, norm=norm, random_start=False)
    with torch.no_grad():
        logits = model(x)
        margin = logits.gather(1, y[:, None]).squeeze(1) - logits.gather(1, 1 - y[:, None]).squeeze(1)
        w_diff = (w[y] - w[1 - y])
        worst = F.softplus(-(margin - eps * w_diff.norm(p=dual, dim=1)))
        got = F.cross_entropy(model(x_adv), y, reduction="none")
    assert torch.allclose(got, worst, atol=1e-4)
    if norm == "linf":  # the optimum is x - eps*sign(w_y - w_other) itself
        expected = x - eps * w_diff.sign().view_as(x)
        assert torch.allclose(x_adv, expected, atol=1e-5)


def test_restarts_never_lower_the_attack_success(standard_model, mnist_test):
    x, y = mnist_test[0][:300], mnist_test[1][:300]
    kw = dict(eps=0.08, alpha=0.02, steps=5)
    one = pgd(standard_model, x, y, restarts=1, generator=torch.Generator().manual_seed(7), **kw)
    three = pgd(standard_model, x, y, restarts=3, generator=torch.Generator().manual_seed(7), **kw)
    with torch.no_grad():
        ok1 = attack_succeeded(standard_model(one), y, targeted=False)
        ok3 = attack_succeeded(standard_model(three), y, targeted=False)
    assert bool((ok3 | ~ok1).all()), "an example fooled by one run was lost with restarts"
    assert ok3.sum() >= ok1.sum()


@pytest.mark.parametrize("attack", ["pgd", "fgsm"])
def test_attack_leaves_model_as_it_found_it(standard_model, mnist_test, attack):
    model = standard_model
    x, y = mnist_test[0][:20], mnist_test[1][:20]
    model.train()
    params = list(model.parameters())
    params[0].requires_grad_(False)
    params[1].grad = torch.ones_like(params[1])
    before = [p.detach().clone() for p in params]
    try:
        if attack == "pgd":
            pgd(model, x, y, eps=0.1, alpha=0.05, steps=3)
        else:
            fgsm(model, x, y, eps=0.1)
        assert model.training
        assert [p.requires_grad for p in params] == [False] + [True] * (len(params) - 1)
        assert torch.equal(params[1].grad, torch.ones_like(params[1]))
        assert all(p.grad is None for i, p in enumerate(params) if i != 1)
        assert all(torch.equal(a, b) for a, b in zip(before, params))
    finally:
        params[0].requires_grad_(True)
        params[1].grad = None
        model.eval()


BAD = [
    (dict(eps=-0.1), "eps must be >= 0"),
    (dict(alpha=0.0), "alpha .* must be > 0"),
    (dict(steps=0), "steps must be at least 1"),
    (dict(norm="l1"), "unknown norm"),
    (dict(restarts=0), "restarts must be at least 1"),
]


@pytest.mark.parametrize("kw,msg", BAD)
def test_bad_attack_budgets_are_refused(standard_model, mnist_test, kw, msg):
    x, y = mnist_test[0][:4], mnist_test[1][:4]
    args = dict(eps=0.1, alpha=0.01, steps=2, norm="linf") | kw
    with pytest.raises(ValueError, match=msg):
        pgd(standard_model, x, y, **args)


def test_images_outside_unit_box_are_refused(standard_model, mnist_test):
    x, y = mnist_test[0][:4], mnist_test[1][:4]
    with pytest.raises(ValueError, match=r"images must lie in \[0, 1\]"):
        pgd(standard_model, (x - 0.1307) / 0.3081, y, eps=0.1, alpha=0.01, steps=2)
    with pytest.raises(ValueError, match=r"images must lie in \[0, 1\]"):
        fgsm(standard_model, x * 255, y, eps=0.1)


def test_mismatched_batches_and_bad_labels_are_refused(standard_model, mnist_test):
    x, y = mnist_test[0][:4], mnist_test[1][:4]
    with pytest.raises(ValueError, match="4 images but y holds 3 labels"):
        pgd(standard_model, x, y[:3], eps=0.1, alpha=0.01, steps=2)
    with pytest.raises(ValueError, match=r"labels must lie in 0..9"):
        pgd(standard_model, x, torch.tensor([0, 1, 2, 10]), eps=0.1, alpha=0.01, steps=2)
    with pytest.raises(ValueError, match=r"labels must lie in 0..9"):
        fgsm(standard_model, x, torch.tensor([0, -1, 2, 3]), eps=0.1)


def test_margin_loss_is_positive_exactly_when_misclassified(standard_model, mnist_test):
    from tutorial_lib.attacks import margin_loss
    x, y = mnist_test[0][:200], mnist_test[1][:200]
    with torch.no_grad():
        logits = standard_model(x)
    m = margin_loss(logits, y)
    assert torch.equal(m > 0, logits.argmax(1) != y)
    two = torch.tensor([[1.0, 3.0], [2.0, -1.0]])
    assert torch.allclose(margin_loss(two, torch.tensor([0, 0])), torch.tensor([2.0, -3.0]))


def test_loss_recorder_sees_one_loss_per_step_and_pgd_climbs_it(standard_model, mnist_test):
    from tutorial_lib.attacks import LossRecorder
    x, y = mnist_test[0][:64], mnist_test[1][:64]
    rec = LossRecorder()
    pgd(standard_model, x, y, eps=0.1, alpha=0.01, steps=12, loss_fn=rec, random_start=False)
    curves = rec.curves()
    assert curves.shape == (12, 64)
    assert curves[-1].mean() > curves[0].mean()


def test_step_size_is_travel_over_steps_and_refuses_zero_steps():
    from tutorial_lib.attacks import step_size
    assert step_size(0.3, steps=50, travel=5 / 3) == pytest.approx(0.01)
    assert step_size(0.3, steps=5, travel=2.5) == pytest.approx(0.15)   # Madry et al.: 5 steps cross the ball 2.5 times
    assert step_size(2.0, steps=100, travel=1.0) == pytest.approx(0.02)
    with pytest.raises(ValueError, match="steps must be at least 1"):
        step_size(0.3, steps=0, travel=2.5)


def test_pgd_is_its_core_loop_from_the_clean_image_when_there_is_no_random_start(standard_model, mnist_test):
    from tutorial_lib.attacks import NORMS, cross_entropy, eval_mode, pgd_steps
    x, y = mnist_test[0][:32], mnist_test[1][:32]
    with eval_mode(standard_model):
        core = pgd_steps(standard_model, x, y, x.clone(), eps=0.1, alpha=0.02, steps=5,
                         norm=NORMS["linf"], loss_fn=cross_entropy)
    full = pgd(standard_model, x, y, eps=0.1, alpha=0.02, steps=5, random_start=False)
    assert torch.equal(core, full)


def test_keep_worst_prefers_a_success_then_the_higher_loss():
    from tutorial_lib.attacks import keep_worst
    x1, x2 = torch.zeros(3, 1, 2, 2), torch.ones(3, 1, 2, 2)
    best = keep_worst(None, x1, torch.tensor([False, True, False]), torch.tensor([1.0, 1.0, 5.0]))
    xb, ok, obj = keep_worst(best, x2, torch.tensor([True, False, False]), torch.tensor([0.0, 9.0, 2.0]))
    assert xb[:, 0, 0, 0].tolist() == [1.0, 0.0, 0.0]  # success wins; a kept success stays; higher loss
    assert ok.tolist() == [True, True, False] and obj.tolist() == [0.0, 1.0, 5.0]
