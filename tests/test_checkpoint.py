"""Checkpoints: round trip, and every kind of damage gives a clear CheckpointError."""
import pytest
import torch

from tutorial_lib.checkpoint import CheckpointError, load_model, save_model, sha256_file
from tutorial_lib.models import build_model


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = build_model("fast_cnn")
    path = tmp_path / "m.pt"
    return model, path, save_model(model, path, arch="fast_cnn", arch_kwargs={"width": 1})


def test_round_trip_gives_the_same_model_in_eval_mode(saved):
    model, path, sha = saved
    loaded = load_model(path, sha256=sha)
    assert not loaded.training
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(model(x), loaded(x))
    assert sha == sha256_file(path)


def test_truncated_file_is_reported_with_its_name(saved):
    _, path, _ = saved
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=rf"{path.name} is corrupt or truncated"):
        load_model(path)


def test_garbage_file_is_reported(saved):
    _, path, _ = saved
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_model(path)


def test_checksum_mismatch_is_reported(saved):
    _, path, sha = saved
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match its recorded sha256"):
        load_model(path, sha256=sha)


def test_checkpoint_for_another_architecture_is_reported(saved, tmp_path):
    _, path, _ = saved
    with pytest.raises(CheckpointError, match="is a 'fast_cnn' model, not 'linear'"):
        load_model(path, arch="linear")
    # a file whose weights do not fit the architecture it names
    wrong = tmp_path / "wrong.pt"
    torch.save({"arch": "fast_cnn", "arch_kwargs": {"width": 2},
                "state_dict": build_model("fast_cnn").state_dict()}, wrong)
    with pytest.raises(CheckpointError, match="does not fit architecture 'fast_cnn'"):
        load_model(wrong)


def test_pickled_code_is_not_executed(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"arch": "fast_cnn", "payload": object()}, path)
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_model(path)


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "nope.pt")
