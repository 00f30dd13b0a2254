"""Chapter 5's flagship attempts against the card (same images only) and against the goal."""
import pytest
import torch

from tutorial_lib.lab import training_runs


def test_an_attempt_is_compared_with_the_card_on_the_same_images_only():
    card = {"not_robust": [0, 1, 2, 7, 12, 40]}             # 40 lies beyond the attempt's images
    attempt = {"n": 20, "honest": 0.85, "not_robust": [1, 3, 5]}
    v = training_runs.versus_card(attempt, card)
    assert (v["card"], v["attempt"]) == (0.75, 0.85)         # 5 of 20 lost by the card, 3 by the attempt
    assert (v["only_attempt"], v["only_card"]) == (4, 2)     # the card loses 0, 2, 7, 12; the attempt 3, 5
    assert v["p"] == pytest.approx(0.6875)                   # 4 against 2 is no evidence either way


def test_more_images_pool_into_an_attempt_and_the_comparison_follows_them():
    from tutorial_lib.budgets import HonestAccuracy

    attempt = {"n": 4, "honest": 0.5, "gradient": 0.75, "flags": [], "not_robust": [1, 3]}
    more = HonestAccuracy(0.75, "b", 4, 1.0, gradient=1.0, per_example=torch.tensor([True, False, True, True]))
    pooled = training_runs.with_more_images(attempt, 10, more)
    assert pooled["n"] == 8 and pooled["images"] == [[0, 4], [10, 14]] and pooled["not_robust"] == [1, 3, 11]
    assert pooled["honest"] == pytest.approx(5 / 8) and pooled["gradient"] == pytest.approx(7 / 8)
    v = training_runs.versus_card(pooled, {"not_robust": [0, 1, 5, 12, 13]})   # 5 lies outside both ranges
    assert (v["n"], v["card"], v["only_attempt"], v["only_card"]) == (8, 0.5, 3, 2)


def test_an_attempt_meets_the_goal_only_on_all_test_images_and_in_time_on_both_machines():
    goal = {"clean": 0.99, "honest": 0.93, "train_seconds": 300.0}
    a = {"clean": 0.991, "honest": 0.935, "n": 10_000, "train_seconds": 240.0}
    assert all(training_runs.against_goal(a, flagship_here=250.0, card_seconds=280.0, goal=goal).values())
    slower_card = training_runs.against_goal(a, flagship_here=200.0, card_seconds=280.0, goal=goal)   # 240 s here is 336 s there
    assert slower_card == {"clean": True, "1,000-query budget on all 10,000": True, "seconds here": True,
                           "seconds on the card's machine": False}
    assert not training_runs.against_goal({**a, "n": 1_000}, 250.0, 280.0, goal)["1,000-query budget on all 10,000"]
    assert not training_runs.against_goal({**a, "clean": 0.989}, 250.0, 280.0, goal)["clean"]
    assert training_runs.on_card_machine(240.0, flagship_here=200.0, card_seconds=280.0) == pytest.approx(336.0)


def test_the_comparison_can_be_restricted_to_images_no_choice_looked_at():
    card = {"not_robust": [0, 1, 2, 7, 12]}
    attempt = {"label": "a", "n": 20, "honest": 0.85, "not_robust": [1, 3, 5]}
    v = training_runs.versus_card(attempt, card, within=range(5, 15))   # images 5-14 only
    assert v["n"] == 10 and (v["card"], v["attempt"]) == (0.8, 0.9)  # the card loses 7, 12; the attempt 5
    assert (v["only_attempt"], v["only_card"]) == (2, 1)
    with pytest.raises(ValueError, match="none of the images"):
        training_runs.versus_card(attempt, card, within=range(100, 200))
    assert set(training_runs.UNSEEN_BY_THE_SEARCH).isdisjoint(range(3_000)) and 9_000 not in training_runs.UNSEEN_BY_THE_SEARCH
