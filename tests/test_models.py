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


def test_noise_averaged_gradient_reaches_through_a_threshold():
    """Below a threshold a ReLU's gradient is exactly 0; averaged over noise it is not."""
    from torch import nn
    from tutorial_lib.models import NoiseAveraged
    torch.manual_seed(0)
    head = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    thresholded = nn.Sequential(nn.Threshold(0.5, 0.0), head)   # pixels under 0.5 read as 0
    x = torch.full((2, 1, 28, 28), 0.2, requires_grad=True)
    thresholded(x).sum().backward()
    assert torch.count_nonzero(x.grad) == 0
    smooth = NoiseAveraged(thresholded, sigma=0.5, samples=4, seed=0)
    x.grad = None
    smooth(x).sum().backward()
    assert torch.count_nonzero(x.grad) > 0
    assert torch.equal(smooth(x), smooth(x))                    # the same draws at every call
    with pytest.raises(ValueError, match="sigma > 0"):
        NoiseAveraged(thresholded, sigma=0.0)
