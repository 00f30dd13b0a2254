"""The nbval tolerance hook: words compared exactly, numbers within the tolerance a cell declares."""
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import nbval_tolerance as nt

HERE = Path(__file__).resolve().parent


def test_numbers_are_masked_but_names_and_labels_stay_text():
    text, numbers = nt.mask_numbers("PGD-40 eps=0.1 on 10,000 images: 98.9% (l2, x1, linf_0.3) margin -0.486 1e-05")
    assert text == "PGD-<n> eps=<n> on <n> images: <n>% (l2, x1, linf_0.3) margin <n> <n>"
    assert [n.value for n in numbers] == [40, 0.1, 10_000, 98.9, -0.486, 1e-05]
    assert [n.percent for n in numbers] == [False, False, False, True, False, False]
    assert nt.mask_numbers("judge  98.8%  kNN")[0] == nt.mask_numbers("judge 100.0%  kNN")[0]
    assert nt.mask_numbers("1:97.0  2:90.5")[0] == "<n>:<n> <n>:<n>"


def test_tolerance_is_read_from_cell_metadata_and_malformed_ones_are_refused():
    assert nt.tolerance_of({}) is None
    assert nt.tolerance_of({"tolerance": {"abs": 1}}) == nt.Tolerance(abs=1.0)
    assert nt.tolerance_of({"tolerance": {"abs": 0.5, "rel": 0.02}}) == nt.Tolerance(0.5, 0.02)
    assert nt.tolerance_of({"tolerance": {"percent": 2}}) == nt.Tolerance(percent=2.0)
    for bad in ({"abs": -1}, {"abs": "1"}, {"absolute": 1}, {}, 0.5, {"rel": True}):
        with pytest.raises(ValueError, match='"tolerance"'):
            nt.tolerance_of({"tolerance": bad})


def test_a_tolerance_allows_exactly_its_bound():
    P = nt.Printed
    tol = nt.Tolerance(abs=0.5, rel=0.1)
    assert tol.allows(P(98.9), P(99.4)) and tol.allows(P(10.0), P(8.5)) and not tol.allows(P(10.0), P(8.4))
    assert not nt.Tolerance(abs=0.5).allows(P(98.9), P(99.5))
    mixed = nt.Tolerance(abs=0.2, percent=3.0)  # percentages by 3 points, other numbers by 0.2
    assert mixed.allows(P(98.8, True), P(96.2, True)) and not mixed.allows(P(8.74), P(6.14))
    assert nt.Tolerance(abs=3.0).allows(P(98.8, True), P(96.2, True))  # no percent: abs for all
    [msg] = nt.number_mismatches([P(1.0), P(64.9, True)], [P(1.0), P(62.1, True)], nt.Tolerance(abs=1.5))
    assert "stored 64.9%" in msg and "new 62.1%" in msg and "tolerance (abs 1.5)" in msg


def test_the_sweep_suggests_twice_the_spread_in_printed_steps():
    import importlib.util
    spec = importlib.util.spec_from_file_location("reproducibility", HERE.parent / "benchmarks" / "reproducibility.py")
    rep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rep)
    assert rep.resolution("accuracy 98.9% on 274 images") == 0.1 and rep.resolution("274") == 1
    assert rep.suggested(1.6, 0.1) == 3.2 and rep.suggested(0.002, 0.001) == 0.004
    assert rep.suggested(0.0, 0.1) == 0.0 and rep.suggested(0.01, 0.1) == 0.1  # at least one step
    assert {"default:1", "default:2", "default:4"} <= set(rep.all_settings())


def _cell(source: str, stored: str, tolerance: dict | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored)]
    if tolerance is not None:
        cell.metadata["tolerance"] = tolerance
    return cell


@pytest.mark.slow
def test_nbval_with_the_hook_fails_only_the_cells_outside_their_tolerance(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        _cell('print("accuracy 65.1%")', "accuracy 64.9%\n", {"abs": 0.5}),     # within: passes
        _cell('print("accuracy 65.1%")', "accuracy 62.1%\n", {"abs": 0.5}),     # outside: fails
        _cell('print("accuracy 65.1%")', "accuracy 64.9%\n"),                   # exact: fails
        _cell('print("robust 65.1%")', "accuracy 65.1%\n", {"abs": 0.5}),       # words: fail
        _cell('print("images 500")', "images 500\n"),                           # exact: passes
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "t.ipynb")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "--nbval",
                           "--nbval-current-env", "-p", "nbval_tolerance", "t.ipynb"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout
    status = {c: ("PASSED" if f"Cell {c} PASSED" in out else "FAILED" if f"Cell {c} FAILED" in out else "?")
              for c in range(5)}
    assert status == {0: "PASSED", 1: "FAILED", 2: "FAILED", 3: "FAILED", 4: "PASSED"}, out
    assert "Cell 1: 1 number(s) outside the tolerance the cell declares (abs 0.5)" in out
    assert "stored 62.1%, new 65.1%" in out
    assert "only its words must agree" in out


@pytest.mark.slow
def test_a_malformed_tolerance_stops_the_run_with_the_cell_named(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[_cell('print(1)', "1\n", {"abs": -2})])
    nbformat.write(nb, tmp_path / "bad.ipynb")
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
                           "--nbval-current-env", "-p", "nbval_tolerance", "bad.ipynb"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "bad.ipynb::Cell 0" in proc.stdout + proc.stderr and "abs must be a number >= 0" in proc.stdout + proc.stderr
