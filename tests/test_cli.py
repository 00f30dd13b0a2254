"""The command line: train writes a model and its card, evaluate and zoo read them."""
import json
import os
import subprocess
import sys

from tutorial_lib import zoo
from tutorial_lib.checkpoint import sha256_file
from tutorial_lib.lab.cli import main


def test_train_then_evaluate_round_trip_at_the_quick_budgets_step(tmp_path, capsys):
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
    assert "under pgd(eps=0.1, alpha=0.03333, steps=5" in printed   # (5/3)·0.1/5, as pgd_budget steps
    assert main(["evaluate", str(out), "--n", "100", "--attack-eps", "0.3", "--attack-alpha", "0.02"]) == 0
    assert "under pgd(eps=0.3, alpha=0.02, steps=50" in capsys.readouterr().out   # a given step is kept


def test_zoo_lists_every_model_with_its_numbers(capsys):
    assert main(["zoo"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["name", "arch", "params"]
    rows = {line.split()[0]: line for line in lines[1:] if line.strip()}
    assert set(zoo.names()) <= set(rows)
    card = zoo.card("mnist_linf_0.3")
    assert rows["mnist_linf_0.3"].split()[2:4] == [f"{card['parameters']:,}", f"{100 * card['clean_accuracy']:.2f}%"]


def test_python_m_tutorial_lib_runs_the_labs_command_line():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(zoo.CHECKPOINT_DIR.parents[1]), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "tutorial_lib", "--help"], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and "student-edition" in done.stdout and "python -m tutorial_lib" in done.stdout
