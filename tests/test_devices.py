"""Devices: "auto" picks the GPU when there is one; work happens on the model's device and results
come back on the inputs' device, so a chapter written for the CPU runs unchanged on a GPU."""
import pytest
import torch

import tutorial_lib as tl
from tutorial_lib import budgets, devices, generate, interpret, zoo
from tutorial_lib.attacks import worst_case
from tutorial_lib.budgets import strong_budget
from tutorial_lib.evaluate import predict

GPU = torch.cuda.is_available()


def test_auto_is_the_gpu_when_there_is_one_else_the_cpu():
    assert devices.resolve_device("auto").type == ("cuda" if GPU else "cpu")
    assert devices.resolve_device("cpu") == torch.device("cpu")
    assert devices.resolve_device(torch.device("cpu")) == torch.device("cpu")


def test_unknown_or_missing_devices_are_refused_with_what_to_use():
    with pytest.raises(ValueError, match="use 'auto', 'cpu' or 'cuda'"):
        devices.resolve_device("tpu")
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu' or 'cuda"):
        tl.TrainConfig(device="gpu0")
    if not GPU:
        with pytest.raises(ValueError, match="torch sees no GPU here"):
            devices.resolve_device("cuda")


def test_explicit_cpu_training_and_zoo_models_live_on_the_cpu():
    result = tl.train(tl.TrainConfig(epochs=1, train_size=200, device="cpu"))
    assert {p.device.type for p in result.model.parameters()} == {"cpu"}
    model = zoo.load("mnist_standard", device="cpu")
    assert devices.model_device(model) == torch.device("cpu")


def test_predict_agrees_with_the_logits_and_keeps_the_inputs_device(standard_model, mnist_test):
    x = mnist_test[0][:50]
    with torch.no_grad():
        direct = standard_model(x).argmax(1)
    got = predict(standard_model, x, batch_size=16)
    assert torch.equal(got, direct) and got.device == x.device
    assert predict(standard_model, x[:0]).shape == (0,)


def _every_entry_point(model, x, y):
    """Each library function that takes a model and images, with what it returns."""
    return {
        "pgd": tl.pgd(model, x, y, eps=0.1, alpha=0.02, steps=3),
        "pgd restarts": tl.pgd(model, x, y, eps=0.1, alpha=0.02, steps=2, restarts=2),
        "fgsm": tl.fgsm(model, x, y, eps=0.1),
        "worst_case": worst_case(strong_budget(0.1, steps=2, restarts=1))(model, x, y),
        "predict": predict(model, x),
        "loss_gradients": interpret.loss_gradients(model, x, y),
        "runner_up": interpret.runner_up(model, x, y),
        "layer_output": interpret.layer_output(model, x, 3),
        "large_eps_example": generate.large_eps_example(model, x, (y + 1) % 10, eps=1.0, steps=3),
        "inpaint": generate.inpaint(model, x, y, generate.block_mask(x), eps=1.0, steps=2),
        "loss_surface": interpret.loss_surface(model, x[:1], y[:1], eps=0.1, grid=3)[1],
        "noise_baseline": budgets.noise_baseline(0.1)(model, x, y),
    }


def test_every_entry_point_returns_on_the_inputs_device_on_cpu(mnist_test):
    x, y = mnist_test[0][:20], mnist_test[1][:20]
    model = zoo.load("mnist_linf_0.1", device="cpu")
    for name, out in _every_entry_point(model, x, y).items():
        assert out.device == x.device, name


@pytest.mark.skipif(not GPU, reason="needs a CUDA GPU (runs on the GPU machine)")
def test_a_gpu_model_takes_cpu_inputs_and_gives_the_cpu_results_back(mnist_test):
    x, y = mnist_test[0][:20], mnist_test[1][:20]
    cpu, gpu = zoo.load("mnist_linf_0.1", device="cpu"), zoo.load("mnist_linf_0.1", device="cuda")
    outs = _every_entry_point(gpu, x, y)
    for name, out in outs.items():
        assert out.device.type == "cpu", name
    assert torch.equal(outs["predict"], predict(cpu, x))
    assert tl.accuracy(gpu, (x, y)) == tl.accuracy(cpu, (x, y))
    r = tl.train(tl.TrainConfig(epochs=1, train_size=200, device="cuda"))
    assert devices.model_device(r.model).type == "cuda"


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU machine the line names the GPU")
def test_hardware_names_the_cpu_kernels_and_threads_that_change_the_last_digits():
    line = devices.hardware()
    assert f"({torch.backends.cpu.get_cpu_capability()})" in line
    assert line.endswith(f"{torch.get_num_threads()} torch threads")
