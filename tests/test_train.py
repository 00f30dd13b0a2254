"""Training: it learns, warm-up and schedules behave, resuming reproduces the uninterrupted run."""
from dataclasses import replace

import pytest
import torch

from tutorial_lib import TrainConfig, accuracy, train
from tutorial_lib.checkpoint import CheckpointError
from tutorial_lib.train import eps_at, initial_model, one_cycle


def test_a_few_hundred_steps_beat_chance_by_a_wide_margin(mnist_test):
    result = train(TrainConfig(epochs=1, train_size=20_000, seed=1))  # 200 steps
    assert accuracy(result.model, mnist_test) > 0.9


def test_pgd_training_few_steps_learns_and_records_history(mnist_test):
    cfg = TrainConfig(method="pgd", eps=0.1, steps=2, epochs=2, train_size=3000, eps_warmup=0.3)
    result = train(cfg)
    assert [r["epoch"] for r in result.history] == [1, 2]
    assert result.history[-1]["eps"] == pytest.approx(0.1)
    assert accuracy(result.model, mnist_test) > 0.6


def test_schedules_rise_then_fall_and_warm_up():
    total = 100
    lrs = [one_cycle(s, total) for s in range(total)]
    assert max(lrs) == pytest.approx(lrs[39], abs=0.03) and lrs[0] < 0.05 and lrs[-1] < 0.02
    cfg = TrainConfig(method="pgd", eps=0.3, eps_warmup=0.5)
    assert eps_at(0, total, cfg) < 0.01 and eps_at(24, total, cfg) == pytest.approx(0.15)
    assert eps_at(49, total, cfg) == pytest.approx(0.3) and eps_at(99, total, cfg) == 0.3


def test_resumed_run_ends_with_the_same_weights(tmp_path):
    cfg = TrainConfig(method="pgd", eps=0.2, steps=2, epochs=2, train_size=2000, seed=5)
    full = train(cfg)
    ckpt = tmp_path / "run.ckpt"
    part = train(cfg, checkpoint=ckpt, stop_after=27)  # killed in the middle of epoch 2
    assert not part.finished and ckpt.exists()
    resumed = train(cfg, checkpoint=ckpt)
    assert resumed.finished
    for a, b in zip(full.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    assert [r["loss"] for r in resumed.history] == pytest.approx([r["loss"] for r in full.history])


def test_checkpoint_of_another_config_is_refused(tmp_path):
    ckpt = tmp_path / "run.ckpt"
    train(TrainConfig(train_size=500), checkpoint=ckpt, stop_after=2)
    with pytest.raises(CheckpointError, match="different TrainConfig"):
        train(TrainConfig(train_size=500, seed=9), checkpoint=ckpt)


def test_no_temporary_files_are_left_behind(tmp_path):
    train(TrainConfig(train_size=300), checkpoint=tmp_path / "run.ckpt")
    assert [p.name for p in tmp_path.iterdir()] == ["run.ckpt"]


@pytest.mark.parametrize("kw,msg", [
    (dict(method="adam"), "unknown method"),
    (dict(method="pgd", eps=0.0), "needs eps > 0"),
    (dict(eps=-1.0), "eps must be >= 0"),
    (dict(norm="l0"), "unknown norm"),
    (dict(method="pgd", eps=0.1, alpha=0.0), "alpha must be > 0"),
    (dict(eps_warmup=2.0), "eps_warmup"),
    (dict(ema=1.0), "ema is the moving average's decay"),
    (dict(activation="silu", arch="mlp"), "applies to arch='fast_cnn' only"),
    (dict(activation="tanh"), "unknown activation"),
])
def test_bad_configs_are_refused(kw, msg):
    with pytest.raises(ValueError, match=msg):
        TrainConfig(**kw)


def test_ema_hands_back_the_moving_average_of_the_iterates():
    cfg = TrainConfig(train_size=300, epochs=1, ema=0.9)   # three steps
    plain = replace(cfg, ema=0.0)                           # the same trajectory, without the average
    iterates = [train(plain, stop_after=k).model.state_dict() for k in (1, 2, 3)]
    expected = {k: v.clone() for k, v in iterates[0].items()}   # the first update copies the weights
    for w in iterates[1:]:
        expected = {k: 0.9 * expected[k] + 0.1 * w[k] for k in expected}
    got = train(cfg).model.state_dict()
    assert all(torch.allclose(got[k], expected[k], atol=1e-6) for k in expected)
    assert not all(torch.equal(got[k], iterates[-1][k]) for k in expected)


def test_a_resumed_ema_run_ends_with_the_same_average(tmp_path):
    cfg = TrainConfig(epochs=2, train_size=2000, seed=5, ema=0.95)
    full = train(cfg)
    part = train(cfg, checkpoint=tmp_path / "run.ckpt", stop_after=27)
    assert not part.finished
    resumed = train(cfg, checkpoint=tmp_path / "run.ckpt")
    for a, b in zip(full.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)


def test_silu_changes_only_the_nonlinearity_and_older_cards_still_match():
    silu, relu = initial_model(TrainConfig(activation="silu")), initial_model(TrainConfig())
    assert [type(m) for m in silu] == [torch.nn.SiLU if isinstance(m, torch.nn.ReLU) else type(m) for m in relu]
    assert TrainConfig().arch_kwargs() == {"width": 1}          # what the zoo's cards say
    assert TrainConfig(activation="silu").arch_kwargs() == {"width": 1, "activation": "silu"}


def test_robust_check_stops_a_collapsing_run_and_its_checkpoint_holds_the_last_good_epoch(tmp_path, mnist_test):
    from tutorial_lib.checkpoint import load_file
    from tutorial_lib.train import TrainingCollapsed, robust_check

    x, y = mnist_test[0][:100], mnist_test[1][:100]
    check = robust_check(x, y, eps=0.05, steps=3)

    class Collapsed(torch.nn.Module):  # what a collapsed model looks like to PGD: always wrong
        def forward(self, inp):
            return torch.nn.functional.one_hot((y[: inp.shape[0]] + 1) % 10, 10).float() + 0 * inp.sum()

    seen = []   # each epoch's weights, as the hook saw them

    def hook(model):   # the third epoch collapses: the check then sees an always-wrong model
        seen.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return check(model if len(seen) < 3 else Collapsed())

    ckpt = tmp_path / "run.ckpt"
    cfg = TrainConfig(method="pgd", eps=0.05, steps=2, train_size=2000, epochs=3)
    with pytest.raises(TrainingCollapsed, match="catastrophic overfitting"):
        train(cfg, checkpoint=ckpt, on_epoch_end=hook)
    state = load_file(ckpt)
    assert [row["epoch"] for row in state["history"]] == [1, 2]      # the run stopped inside epoch 3
    assert state["history"][-1]["check_robust_accuracy"] > 0.5       # and epoch 2 was good
    assert all(torch.equal(state["model"][k], seen[1][k]) for k in seen[1])   # epoch 2's weights
    assert not all(torch.equal(state["model"][k], seen[2][k]) for k in seen[2])


def test_trades_learns_and_its_kl_term_vanishes_only_without_a_change(mnist_test):
    from tutorial_lib.train import kl_from

    logits = torch.randn(5, 10)
    p = torch.softmax(logits, 1)
    assert torch.allclose(kl_from(p, logits), torch.zeros(5), atol=1e-6)
    assert (kl_from(p, logits.flip(1)) > 0).all()
    result = train(TrainConfig(method="trades", eps=0.1, steps=2, beta=3.0, train_size=3000))
    assert accuracy(result.model, mnist_test) > 0.6


def test_fgsm_training_attacks_with_plain_fgsm_from_the_clean_image(standard_model, mnist_test):
    import torch.nn.functional as F

    from tutorial_lib import fgsm
    from tutorial_lib.train import training_loss
    cfg = TrainConfig(method="fgsm", eps=0.1)
    assert (cfg.step_size(), cfg.attack_steps()) == (0.1, 1)
    x, y = mnist_test[0][:32], mnist_test[1][:32]
    loss, _ = training_loss(standard_model, x, y, cfg, 0.1, torch.Generator().manual_seed(0))
    expected = F.cross_entropy(standard_model(fgsm(standard_model, x, y, eps=0.1)), y)
    assert torch.allclose(loss, expected, atol=1e-5)


def test_keep_best_remembers_the_weights_of_the_best_epoch():
    from tutorial_lib.train import keep_best

    scores = iter([0.3, 0.7, 0.5])
    hook, best = keep_best(lambda model: {"check": next(scores)}, "check")
    snapshots = []
    result = train(TrainConfig(epochs=3, train_size=300, seed=2),
                   on_epoch_end=lambda m: (snapshots.append({k: v.clone() for k, v in m.state_dict().items()}), hook(m))[1])
    assert best["epoch"] == 2 and best["values"] == [0.3, 0.7, 0.5] and best["seconds"] >= 0
    assert all(torch.equal(best["state"][k], snapshots[1][k]) for k in snapshots[1])
    assert not all(torch.equal(best["state"][k], v) for k, v in result.model.state_dict().items())


def test_pgd_training_loss_is_the_cross_entropy_at_the_attacks_worst_case(standard_model, mnist_test):
    import torch.nn.functional as F
    from tutorial_lib import pgd
    from tutorial_lib.train import adversarial_loss, training_loss
    x, y = mnist_test[0][:16], mnist_test[1][:16]
    cfg = TrainConfig(method="pgd", eps=0.3, steps=3)
    loss, _ = training_loss(standard_model, x, y, cfg, 0.3, torch.Generator().manual_seed(0))
    direct, _ = adversarial_loss(standard_model, x, y, eps=0.3, alpha=cfg.step_size(), steps=3,
                                 generator=torch.Generator().manual_seed(0))
    x_adv = pgd(standard_model, x, y, eps=0.3, alpha=cfg.step_size(), steps=3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(loss, direct) and torch.allclose(direct, F.cross_entropy(standard_model(x_adv), y))
