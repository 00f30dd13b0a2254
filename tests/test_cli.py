"""The command line: train writes a model and its card, evaluate and zoo read them."""
import json

from tutorial_lib.__main__ import main
from tutorial_lib.checkpoint import sha256_file


def test_train_then_evaluate_round_trip(tmp_path, capsys):
    out = tmp_path / "tiny.pt"
    assert main(["train", "--train-size", "1000", "--out", str(out), "--n", "500"]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["sha256"] == sha256_file(out) and card["config"]["train_size"] == 1000
    assert 0.5 < card["clean_accuracy"] <= 1 and "--train-size 1000" in card["command"]
    assert not list(tmp_path.glob(".*.tmp"))
    capsys.readouterr()
    assert main(["evaluate", str(out), "--n", "500", "--attack-eps", "0.1", "--attack-steps", "5"]) == 0
    printed = capsys.readouterr().out
    assert f"clean accuracy {100 * card['clean_accuracy']:.2f}% on 500 images" in printed
    assert "under pgd(eps=0.1, alpha=0.01, steps=5" in printed


def test_zoo_lists_a_table(capsys):
    assert main(["zoo"]) == 0
    assert capsys.readouterr().out.splitlines()[0].split()[:3] == ["name", "arch", "params"]
