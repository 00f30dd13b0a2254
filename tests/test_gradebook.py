"""The gradebook runs submitted notebooks and records the verdicts their checks made."""
import csv
import io
import json
from pathlib import Path

import pytest

from tutorial_lib.lab import gradebook, quiz


def _notebook(path: Path, cells: list[str]) -> Path:
    """A minimal notebook of code cells."""
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                           "language": "python"}},
          "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
                     "source": s} for i, s in enumerate(cells)]}
    path.write_text(json.dumps(nb))
    return path


def test_a_check_writes_its_verdict_to_the_log_only_while_the_variable_names_one(tmp_path, monkeypatch):
    log = tmp_path / "log.jsonl"
    monkeypatch.delenv(gradebook.LOG_VARIABLE, raising=False)
    quiz.check("intro-quiz", {1: "c", 2: "a", 3: "b"})
    assert not log.exists()
    monkeypatch.setenv(gradebook.LOG_VARIABLE, str(log))
    quiz.check("intro-quiz", {1: "a", 2: "a", 3: "b"})
    quiz.check("intro-quiz", {1: "c", 2: "a", 3: "b"})   # answered again, right this time
    assert len(log.read_text().splitlines()) == 2
    assert gradebook.read_log(log) == {"intro-quiz": True}


def test_the_gradebook_runs_each_notebook_and_writes_a_row_of_its_checks(tmp_path):
    right = _notebook(tmp_path / "alice.ipynb", [
        "from tutorial_lib import certify\nfrom tutorial_lib.lab.grading import check\n"
        "from tutorial_lib.lab.quiz import check as quiz",
        'check("cert-ex-box", certify.affine_box)',
        'quiz("intro-quiz", {1: "c", 2: "a", 3: "b"})'])
    wrong = _notebook(tmp_path / "bob.ipynb", [
        "from tutorial_lib.lab.grading import check",
        "raise RuntimeError('a cell that fails')",
        "import time; time.sleep(60)",   # over the timeout: interrupted, counted as an error
        'check("cert-ex-box", lambda layer, lo, hi: (layer(lo), layer(hi)))'])   # runs after both
    rows = gradebook.grade([right, wrong], timeout=20)
    assert rows[str(right)] == {"verdicts": {"cert-ex-box": True, "intro-quiz": True}, "errors": 0, "stopped": ""}
    assert rows[str(wrong)] == {"verdicts": {"cert-ex-box": False}, "errors": 2, "stopped": ""}
    out = tmp_path / "grades.csv"
    gradebook.write(rows, out)
    table = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["notebook"], r["passed"], r["checked"], r["errors"], r["cert-ex-box"], r["intro-quiz"]) for r in table] == [
        (str(right), "2", "2", "0", "pass", "pass"), (str(wrong), "0", "1", "2", "fail", "")]


def test_a_notebook_that_cannot_run_gets_a_row_that_says_why_and_the_others_go_on(tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    fine = _notebook(tmp_path / "fine.ipynb", ["from tutorial_lib.lab.quiz import check",
                                               'check("intro-quiz", {1: "c", 2: "a", 3: "b"})'])
    rows = gradebook.grade([broken, fine], timeout=60)
    assert rows[str(broken)]["stopped"] and rows[str(broken)]["verdicts"] == {}
    assert rows[str(fine)]["verdicts"] == {"intro-quiz": True}


def test_the_gradebook_names_a_missing_notebook():
    with pytest.raises(FileNotFoundError, match="no such notebook: nowhere.ipynb"):
        gradebook.grade([Path("nowhere.ipynb")])
