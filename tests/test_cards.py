"""The zoo's build side: a re-measured card says what was re-measured, by which command, where."""
import shutil

from tutorial_lib import zoo
from tutorial_lib.devices import hardware
from tutorial_lib.lab import cards
from tutorial_lib.train import TrainConfig


def test_remeasure_rewrites_and_stamps_only_the_parts_it_measured(tmp_path, monkeypatch):
    name = "mnist_standard"
    for suffix in (".pt", ".json"):
        shutil.copy(zoo.CHECKPOINT_DIR / f"{name}{suffix}", tmp_path)
    before = zoo.card(name, tmp_path)
    calls = []

    def measure(model, cfg, *, parts):   # the real one attacks 10,000 images: record the call instead
        calls.append((cfg, parts))
        return {"clean_accuracy": 0.5}

    monkeypatch.setattr(cards, "measure", measure)
    after = cards.remeasure(name, tmp_path, parts=("pgd",))
    assert calls == [(TrainConfig(**before["config"]), ("pgd",))]
    assert zoo.card(name, tmp_path) == after and after["clean_accuracy"] == 0.5
    assert (after["command"], after["hardware"]) == (before["command"], before["hardware"])   # how it was trained
    assert after["measured"] == {"pgd": {"command": f"python -m tutorial_lib zoo remeasure {name} --only pgd",
                                         "hardware": hardware()}}
    cards.remeasure(name, tmp_path, parts=("honest",))
    assert set(zoo.card(name, tmp_path)["measured"]) == {"pgd", "honest"}   # earlier stamps kept


def test_a_card_records_every_measurement_and_only_the_flagship_the_full_honest_one():
    assert cards.card_parts("mnist_linf_0.3") == tuple(m for m in cards.MEASUREMENTS if m != "certified")
    assert "honest_full" not in cards.card_parts("mnist_linf_0.1")
    assert "certified" in cards.card_parts("mnist_ibp_0.3") and "honest_full" not in cards.card_parts("mnist_ibp_0.3")
    assert [cards.passes_per_image(c) for c in (TrainConfig(epochs=4), TrainConfig(method="pgd", eps=0.3, steps=5),
                                                TrainConfig(method="ibp", eps=0.1, epochs=20))] == [4, 6, 60]
    assert [cards.eval_radius(c) for c in (TrainConfig(), TrainConfig(dataset="fashion"))] == [(0.3, "linf"), (0.1, "linf")]
