"""The recorded runner: several workers share a grid without running a key twice, and merge."""
import importlib.util
import json
from pathlib import Path

import pytest

from tutorial_lib.lab import records

SPEC = importlib.util.spec_from_file_location(
    "tradeoff_runs", Path(__file__).resolve().parents[1] / "benchmarks" / "tradeoff_runs.py")
runs = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(runs)

FIELDS = ("dataset", "seed")


def fake_run(dataset: str, seed: int) -> dict:
    return {"dataset": dataset, "seed": seed, "clean": 0.5 + seed / 10, "train_seconds": 1.0}


@pytest.fixture
def results(tmp_path, monkeypatch):
    folder = tmp_path / "results"
    folder.mkdir()
    monkeypatch.setattr(records, "RESULTS_DIR", folder)
    real_save, real_load = records.save, records.load
    monkeypatch.setattr(records, "save", lambda name, data, *, command, folder=folder:
                        real_save(name, data, command=command, folder=folder))
    monkeypatch.setattr(records, "load", lambda name, folder=folder: real_load(name, folder))
    return folder


def test_workers_share_a_grid_and_merge_without_duplicates(results, tmp_path):
    records.save("grid", {"runs": [fake_run("mnist", 0)]}, command="earlier")
    keys = [("mnist", s) for s in range(3)] + [("fashion", s) for s in range(3)]
    claims = tmp_path / "claims"
    for w in ("w0", "w1"):  # run one after the other: the second finds every key claimed
        runs.run_grid("grid", keys, fake_run, FIELDS, worker=tmp_path / w, claims=claims)
    part0 = json.loads((tmp_path / "w0" / "grid.json").read_text())["runs"]
    assert len(part0) == 5 and not (tmp_path / "w1" / "grid.json").exists()
    runs.merge("grid", FIELDS, [tmp_path / "w0" / "grid.json", tmp_path / "w0" / "grid.json"])
    merged = records.load("grid")["runs"]
    assert sorted((r["dataset"], r["seed"]) for r in merged) == sorted(keys)


def test_a_resumed_grid_skips_recorded_runs(results):
    calls = []
    run = lambda *k: calls.append(k) or fake_run(*k)  # noqa: E731
    runs.run_grid("grid", [("mnist", 0), ("mnist", 1)], run, FIELDS)
    runs.run_grid("grid", [("mnist", 0), ("mnist", 1), ("mnist", 2)], run, FIELDS)
    assert calls == [("mnist", 0), ("mnist", 1), ("mnist", 2)]
    assert len(records.load("grid")["runs"]) == 3


def test_merge_replaces_a_clean_only_run_by_one_with_a_robust_number(results, tmp_path):
    records.save("grid", {"runs": [fake_run("mnist", 0), fake_run("mnist", 1)]}, command="earlier")
    redrawn = {**fake_run("mnist", 0), "clean": 0.9, "robust": 0.7}
    records.save("grid", {"runs": [redrawn, {**fake_run("mnist", 1), "clean": 0.1}]}, command="w",
            folder=tmp_path / "w0")
    runs.merge("grid", FIELDS, [tmp_path / "w0" / "grid.json"])
    merged = {r["seed"]: r for r in records.load("grid")["runs"]}
    assert merged[0]["robust"] == 0.7 and merged[0]["clean"] == 0.9  # one model's numbers
    assert merged[1]["clean"] == 0.6                                  # no robust number: kept
    assert len(merged) == 2
