"""The zoo: every recipe ships a checkpoint whose card CI re-checks; damaged files are refused."""
import shutil

import pytest
import torch

from tutorial_lib import zoo
from tutorial_lib.lab import cards, recipes
from tutorial_lib.checkpoint import CheckpointError
from tutorial_lib.data import balanced_subset, load_dataset
from tutorial_lib.budgets import AUTOATTACK_QUERIES, MASKING_MARGIN, honest_accuracy, pgd_budget
from tutorial_lib.evaluate import accuracy, robust_accuracy
from tutorial_lib.train import TrainConfig

NAMES = zoo.names()


def test_every_recipe_ships_a_checkpoint_and_card():
    assert NAMES == sorted(recipes.RECIPES)
    for name in NAMES:
        assert (zoo.CHECKPOINT_DIR / f"{name}.pt").stat().st_size < 1_000_000


@pytest.mark.parametrize("name", NAMES)
def test_card_matches_recipe_and_clean_accuracy_is_reproduced(name):
    card = zoo.card(name)
    cfg = TrainConfig(**card["config"])
    assert cfg == recipes.RECIPES[name] and card["command"] == f"python -m tutorial_lib zoo build {name}"
    model = zoo.load(name)
    assert not model.training
    x, y = load_dataset(cfg.dataset, "test")
    assert accuracy(model, (x, y)) == pytest.approx(card["clean_accuracy"], abs=0.001)


@pytest.mark.parametrize("name", NAMES)
def test_robust_accuracy_on_the_fixed_subset_is_reproduced(name):
    card, model = zoo.card(name), zoo.load(name)
    cfg = TrainConfig(**card["config"])
    x, y = load_dataset(cfg.dataset, "test")
    xs, ys = balanced_subset(x, y, cards.SUBSET_SIZE, seed=card["robust_subset"]["subset_seed"])
    eps, norm = cards.eval_radius(cfg)
    r = robust_accuracy(model, (xs, ys), attack=pgd_budget(eps, norm))
    assert r.attack == card["robust_subset"]["attack"]
    assert r.accuracy == pytest.approx(card["robust_subset"]["accuracy"], abs=0.005)


def test_the_cards_record_robust_models_as_robust_and_standard_ones_as_not():
    for name in NAMES:
        robust = zoo.card(name)["robust"]["accuracy"]
        assert robust > 0.6 if recipes.RECIPES[name].method != "standard" else robust < 0.1, name


def test_tampered_or_missing_weights_are_refused(tmp_path):
    name = NAMES[0]
    for ext in (".pt", ".json"):
        shutil.copy(zoo.CHECKPOINT_DIR / f"{name}{ext}", tmp_path / f"{name}{ext}")
    pt = tmp_path / f"{name}.pt"
    data = bytearray(pt.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pt.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match its recorded sha256"):
        zoo.load(name, folder=tmp_path)
    pt.unlink()
    with pytest.raises(CheckpointError, match="weights .* are missing"):
        zoo.load(name, folder=tmp_path)


def test_unknown_name_lists_what_exists():
    with pytest.raises(KeyError, match="available"):
        zoo.load("mnist_resnet")


ROBUST = [n for n in NAMES if recipes.RECIPES[n].method != "standard"]


def test_robust_cards_carry_honest_numbers_at_both_norms_within_the_gradient_ones():
    for name in ROBUST:
        honest = zoo.card(name)["honest"]
        cfg = recipes.RECIPES[name]
        assert [(h["norm"], h["eps"]) for h in honest] == cards.honest_threats(cfg), name
        for h in honest:
            assert h["n"] == cards.HONEST_N and h["accuracy"] <= h["gradient"], (name, h)
            assert bool(h["flags"]) == (h["gradient"] - h["accuracy"] > MASKING_MARGIN or h["zero_gradient"] > 0)


def test_the_flagships_honest_numbers_are_reproduced():
    """Re-measure the flagship's honest numbers (own threat and ℓ2) on the card's 200 images: the
    gradient attacks and Square Attack are seeded, so only the machine's arithmetic moves them: by 2
    points at most across kernel dispatch and threads (native vs. default, 1 thread), so 3 here."""
    card, model = zoo.card("mnist_linf_0.3"), zoo.load("mnist_linf_0.3")
    fresh = cards.measure_honest(model, TrainConfig(**card["config"]))
    for new, old in zip(fresh, card["honest"]):
        assert (new["norm"], new["eps"]) == (old["norm"], old["eps"])
        assert new["accuracy"] == pytest.approx(old["accuracy"], abs=0.03), new
        assert new["gradient"] == pytest.approx(old["gradient"], abs=0.03), new


def test_the_flagships_full_set_honest_number_is_reproduced_on_a_balanced_sample():
    """The card's honest number on all 10,000 test images lists the images the model is not robust
    on; re-attack 200 of them (the card's balanced subset) and compare image by image. The attacks'
    random starts depend on the batch an image sits in, so a few borderline images may flip."""
    card, model = zoo.card("mnist_linf_0.3"), zoo.load("mnist_linf_0.3")
    full = card["honest_full"]
    assert (full["norm"], full["eps"], full["n"]) == ("linf", 0.3, 10_000) and not full["flags"]
    assert full["accuracy"] == 1 - len(full["not_robust"]) / full["n"] and full["accuracy"] <= full["gradient"]
    x, y = load_dataset("mnist", "test")
    idx, _ = balanced_subset(torch.arange(len(y)), y, cards.HONEST_N, seed=cards.SUBSET_SEED)
    fresh = honest_accuracy(model, (x[idx], y[idx]), eps=0.3, warn=False)
    recorded = ~torch.isin(idx, torch.tensor(full["not_robust"]))
    assert (fresh.per_example == recorded).float().mean() >= 0.95
    assert fresh.accuracy == pytest.approx(recorded.float().mean().item(), abs=0.03)


CERTIFIED = [n for n in NAMES if recipes.RECIPES[n].method == "ibp"]


@pytest.mark.parametrize("name", CERTIFIED)
def test_a_certified_cards_certified_accuracy_is_reproduced_on_every_test_image(name):
    from tutorial_lib.certify import certified_accuracy
    card, model = zoo.card(name), zoo.load(name)
    c = card["certified"]
    assert (c["n"], c["eps"]) == (10_000, card["config"]["eps"]) and c["accuracy"] <= card["clean_accuracy"]
    assert certified_accuracy(model, load_dataset("mnist", "test"), eps=c["eps"]) == pytest.approx(c["accuracy"], abs=0.001)


@pytest.mark.parametrize("name", CERTIFIED)
def test_the_reporting_budget_breaks_no_certified_image_of_a_sample(name):
    """A certificate is a proof: AutoAttack's standard budget (APGD-CE, APGD-T, Square at 5,000
    queries) breaks none of 40 certified test images (the first 40 certified of the first 300)."""
    from tutorial_lib.budgets import reporting_accuracy
    from tutorial_lib.certify import certified
    model, eps = zoo.load(name), zoo.card(name)["config"]["eps"]
    x, y = load_dataset("mnist", "test")
    x, y = x[:300], y[:300]
    ok = certified(model, x, y, eps=eps)
    assert ok.sum() >= 40
    r = reporting_accuracy(model, (x[ok][:40], y[ok][:40]), eps=eps, norm="linf",
                           max_queries=AUTOATTACK_QUERIES, warn=False)
    assert r.accuracy == 1.0
