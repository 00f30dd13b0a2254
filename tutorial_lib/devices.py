"""Where tensors live (the CPU by default, a GPU when there is one), and which machine this is.

The rule every function of the library follows: work happens on the *model's* device; tensors
passed in are moved there, and what a function returns comes back on the device its inputs came
from. A chapter written for the CPU therefore runs unchanged on a Colab GPU runtime (``zoo.load``
and ``train`` put models on ``"auto"``: CUDA if available, else the CPU). The CPU is the reference:
stored outputs are CPU outputs.
"""
from __future__ import annotations

import platform
from pathlib import Path

import torch
from torch import Tensor, nn

def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA if a GPU is available, else the CPU; any other name as ``torch.device``."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda'") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but torch sees no GPU here; "
                         "use device='auto' (the GPU when there is one, else the CPU) or 'cpu'")
    return dev


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's parameters (the CPU for a model without any)."""
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def to_model_device(model: nn.Module, *tensors: Tensor) -> tuple[Tensor, ...]:
    """``tensors`` moved to the model's device (no copy when they are there already)."""
    dev = model_device(model)
    return tuple(t.to(dev) for t in tensors)


def hardware() -> str:
    """A one-line description of this machine: CPU model, the kernels torch dispatches to (AVX2,
    AVX512: they change speed and the last digits) and its threads (and the GPU when there is one),
    as every recorded result and zoo card states it."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} GPU, {cpu}"
    return f"{cpu} ({torch.backends.cpu.get_cpu_capability()}), {torch.get_num_threads()} torch threads"
