"""Recorded results carry their provenance: the command that made them and the machine."""
import json

import pytest

from tutorial_lib.devices import hardware
from tutorial_lib.lab import records


def test_save_stamps_command_and_hardware_and_load_reads_it_back(tmp_path):
    rec = records.save("demo", {"runs": [1, 2]}, command="python demo.py", folder=tmp_path)
    on_disk = json.loads((tmp_path / "demo.json").read_text())
    assert on_disk == rec == {"runs": [1, 2], "command": "python demo.py", "hardware": hardware()}
    assert records.load("demo", folder=tmp_path) == rec
    assert [p.name for p in tmp_path.iterdir()] == ["demo.json"]  # no temporary file left behind


def test_load_names_what_is_available(tmp_path):
    records.save("there", {}, command="x", folder=tmp_path)
    with pytest.raises(KeyError, match=r"available: \['there'\]"):
        records.load("missing", folder=tmp_path)
