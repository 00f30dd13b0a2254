"""Models: sizes, normalisation inside, bad names refused."""
import pytest
import torch

from tutorial_lib.models import build_model, count_parameters


def test_fast_cnn_is_in_the_150k_to_200k_range():
    assert 150_000 <= count_parameters(build_model("fast_cnn")) <= 200_000


@pytest.mark.parametrize("arch", ["fast_cnn", "madry_cnn", "linear"])
def test_models_map_images_to_ten_logits(arch):
    assert build_model(arch)(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_normalisation_is_the_first_layer():
    m = build_model("fast_cnn")
    assert type(m[0]).__name__ == "Normalize"
    assert torch.allclose(m[0](torch.full((1,), 0.1307)), torch.zeros(1), atol=1e-6)


def test_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model("resnet")
