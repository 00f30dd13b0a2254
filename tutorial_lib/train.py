"""One training loop: standard, FGSM with random start, PGD adversarial training, or TRADES.

Seeded and deterministic on CPU; checkpoints are atomic and a resumed run ends with the same
weights as an uninterrupted one.
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tutorial_lib.attacks import NORMS, pgd
from tutorial_lib.checkpoint import CheckpointError, load_file, save_atomic
from tutorial_lib.data import balanced_subset, batches, load_dataset
from tutorial_lib.devices import resolve_device
from tutorial_lib.models import build_model

METHODS = ("standard", "fgsm_rs", "pgd", "trades")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run; two equal configs give equal weights."""

    method: str = "standard"      # standard | fgsm_rs | pgd | trades
    eps: float = 0.0              # training radius on the [0, 1] pixel scale
    norm: str = "linf"
    steps: int = 7                # PGD steps per example (method="pgd" or "trades")
    beta: float = 6.0             # TRADES weight of the robustness term (Zhang et al.'s MNIST value)
    alpha: float | None = None    # step size; None: 2.5*eps/steps (pgd), 1.25*eps (fgsm_rs)
    eps_warmup: float = 0.0       # fraction of all steps over which eps grows linearly from 0
    epochs: int = 1
    batch_size: int = 100
    lr: float = 3e-3              # peak learning rate of the one-cycle schedule (Adam)
    arch: str = "fast_cnn"
    width: int = 1
    dataset: str = "mnist"
    train_size: int | None = None  # class-balanced subset of the training set; None: all of it
    seed: int = 0
    channels_last: bool = True    # NHWC memory layout: ~15% faster convolutions on CPU
    natural_fraction: float = 0.0  # share of each batch trained on clean images (paper's App. B)
    init_from: str | None = None  # start from this zoo model's weights instead of random ones
    init_layers: int | None = None  # copy only the first `init_layers` layers of it (None: all)
    freeze: int = 0               # keep the first `freeze` layers (modules) of the model fixed
    device: str = "auto"          # auto: the GPU when there is one, else the CPU (the reference)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {METHODS}")
        if self.norm not in NORMS:
            raise ValueError(f"unknown norm {self.norm!r}; choose one of {sorted(NORMS)}")
        if self.eps < 0:
            raise ValueError(f"eps must be >= 0, got {self.eps}")
        if self.method != "standard" and self.eps == 0:
            raise ValueError(f"method {self.method!r} needs eps > 0; use method='standard' for eps=0")
        if self.alpha is not None and self.alpha <= 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")
        if self.steps < 1 or self.epochs < 1 or self.batch_size < 1:
            raise ValueError("steps, epochs and batch_size must each be at least 1")
        if not 0 <= self.natural_fraction < 1:
            raise ValueError(f"natural_fraction is a share of each batch in [0, 1), got {self.natural_fraction}")
        if self.freeze < 0:
            raise ValueError(f"freeze counts leading layers to keep fixed; got {self.freeze}")
        if self.init_layers is not None and self.init_from is None:
            raise ValueError("init_layers needs init_from: the zoo model to copy the layers from")
        if self.freeze and self.init_from is None:
            raise ValueError("freeze > 0 keeps random layers fixed; set init_from to a zoo model")
        if self.device not in ("auto", "cpu") and not self.device.startswith("cuda"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:k]', got {self.device!r}")
        if not 0 <= self.eps_warmup <= 1:
            raise ValueError(f"eps_warmup is a fraction of training, in [0, 1]; got {self.eps_warmup}")

    def arch_kwargs(self) -> dict[str, int]:
        """The keyword arguments ``build_model(self.arch, ...)`` takes for this config."""
        return {"width": self.width} if self.arch == "fast_cnn" else {}

    def step_size(self) -> float:
        """The attack step: Madry et al.'s 2.5*eps/steps for PGD (k steps can cross the ball
        2.5 times), Wong et al.'s 1.25*eps for FGSM with random start."""
        if self.alpha is not None:
            return self.alpha
        return 1.25 * self.eps if self.method == "fgsm_rs" else 2.5 * self.eps / self.steps


def one_cycle(step: int, total: int) -> float:
    """Learning-rate factor: linear from 0 up to 1 at 40% of training, then down to 0."""
    t = (step + 0.5) / total
    return t / 0.4 if t < 0.4 else max(0.0, (1 - t) / 0.6)


def eps_at(step: int, total: int, cfg: TrainConfig) -> float:
    """The training radius at ``step``: linear warm-up over ``eps_warmup`` of training, then eps."""
    warm = cfg.eps_warmup * total
    return cfg.eps if warm == 0 else cfg.eps * min(1.0, (step + 1) / warm)


def kl_from(p_clean: Tensor, logits: Tensor) -> Tensor:
    """Per-example KL(p_clean || softmax(logits)): how far the prediction moved from the clean one."""
    return (p_clean * (p_clean.clamp_min(1e-12).log() - F.log_softmax(logits, 1))).sum(1)


def training_loss(model: nn.Module, x: Tensor, y: Tensor, cfg: TrainConfig, eps: float,
                  generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """The loss of one step and the logits its accuracy is read from.

    standard: CE on clean inputs. fgsm_rs / pgd: CE on the attack's worst case (Madry et al.'s
    min-max), on all of the batch or on its last ``1 - natural_fraction``. trades: CE on clean inputs + beta * KL(clean || attacked), the attack maximising
    that KL (Zhang et al., 2019).
    """
    if cfg.method == "standard" or eps == 0:
        logits = model(x)
        return F.cross_entropy(logits, y), logits
    alpha = cfg.step_size() * eps / cfg.eps  # scale the step with the warmed-up radius
    steps = 1 if cfg.method == "fgsm_rs" else cfg.steps
    if cfg.method == "trades":
        logits = model(x)
        p_clean = F.softmax(logits.detach(), 1)
        x_adv = pgd(model, x, p_clean, eps=eps, alpha=alpha, steps=steps, norm=cfg.norm,
                    loss_fn=lambda lg, p: kl_from(p, lg), generator=generator)
        robust = kl_from(F.softmax(logits, 1), model(x_adv)).mean()
        return F.cross_entropy(logits, y) + cfg.beta * robust, logits
    k = round(cfg.natural_fraction * len(y))  # the first k examples stay natural (App. B)
    x_adv = pgd(model, x[k:], y[k:], eps=eps, alpha=alpha, steps=steps, norm=cfg.norm,
                random_start=True, generator=generator)
    logits = model(torch.cat([x[:k], x_adv]) if k else x_adv)
    return F.cross_entropy(logits, y), logits


class TrainingCollapsed(RuntimeError):
    """Robust accuracy on the held-out check fell sharply: catastrophic overfitting."""


def robust_check(x: Tensor, y: Tensor, *, eps: float, norm: str = "linf", steps: int = 10,
                 collapse_ratio: float = 0.5) -> Callable[[nn.Module], dict[str, float]]:
    """An ``on_epoch_end`` hook: PGD-``steps`` accuracy on held-out images after every epoch.

    FGSM training can collapse within an epoch (Wong et al., 2020): FGSM accuracy stays high
    while PGD accuracy drops to ~0. If the check falls below ``collapse_ratio`` times its best
    so far, the hook raises ``TrainingCollapsed``; the checkpoint still holds the last good epoch.
    """
    from tutorial_lib.evaluate import pgd_budget, robust_accuracy

    best = 0.0

    def check(model: nn.Module) -> dict[str, float]:
        nonlocal best
        acc = robust_accuracy(model, (x, y), attack=pgd_budget(eps, norm, steps=steps)).accuracy
        if best > 0.2 and acc < collapse_ratio * best:
            raise TrainingCollapsed(
                f"PGD-{steps} accuracy on the check set fell from {best:.1%} to {acc:.1%}: "
                "catastrophic overfitting. Resume from the checkpoint (last good epoch) with a "
                "smaller FGSM step, another seed, or PGD training")
        best = max(best, acc)
        return {"check_robust_accuracy": acc}

    return check


@dataclass
class TrainResult:
    """The trained model, one history row per epoch, and whether the run reached its end."""

    model: nn.Module
    config: TrainConfig
    history: list[dict[str, float]] = field(default_factory=list)
    finished: bool = True
    seconds: float = 0.0


def _progress(total: int, initial: int, enabled: bool) -> Any:
    if not enabled or os.environ.get("CI"):
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=initial, unit="step")


def initial_model(cfg: TrainConfig) -> nn.Module:
    """The model training starts from: random, or a zoo model's first ``cfg.init_layers`` layers
    (the rest freshly initialised) with its first ``cfg.freeze`` layers frozen (feature reuse)."""
    model = build_model(cfg.arch, **cfg.arch_kwargs())
    if cfg.init_from is None:
        return model
    from tutorial_lib import zoo  # zoo builds on train: import here, not at the top

    card = zoo.card(cfg.init_from)
    if (card["arch"], card["arch_kwargs"]) != (cfg.arch, cfg.arch_kwargs()):
        raise ValueError(f"init_from={cfg.init_from!r} is a {card['arch']} {card['arch_kwargs']}, "
                         f"but the config asks for {cfg.arch} {cfg.arch_kwargs()}; make them agree")
    source, layers = list(zoo.load(cfg.init_from, device="cpu").children()), list(model.children())
    copy = len(layers) if cfg.init_layers is None else cfg.init_layers
    if max(cfg.freeze, copy) > len(layers):
        raise ValueError(f"freeze={cfg.freeze}, init_layers={copy}: the model has {len(layers)} layers")
    for mine, theirs in zip(layers[:copy], source[:copy]):
        mine.load_state_dict(theirs.state_dict())
    for p in model.parameters():
        p.requires_grad_(True)
    for layer in layers[:cfg.freeze]:
        for p in layer.parameters():
            p.requires_grad_(False)
    return model


def train(cfg: TrainConfig, *, checkpoint: str | Path | None = None, progress: bool = False,
          stop_after: int | None = None,
          on_epoch_end: Callable[[nn.Module], dict[str, float]] | None = None,
          data: tuple[Tensor, Tensor] | None = None) -> TrainResult:
    """Train a model from ``cfg``; resume from ``checkpoint`` if it exists; save to it as we go.

    ``stop_after`` ends the run after that many optimiser steps in total (as if killed), leaving
    a checkpoint to resume from. ``on_epoch_end(model)`` may add measurements to the history.
    """
    x, y = data if data is not None else load_dataset(cfg.dataset, "train")
    if cfg.train_size is not None:
        x, y = balanced_subset(x, y, cfg.train_size, seed=cfg.seed)
    per_epoch = math.ceil(x.shape[0] / cfg.batch_size)
    total = per_epoch * cfg.epochs

    torch.manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    model = initial_model(cfg)  # initialised on the CPU: the same start on every device
    layout = torch.channels_last if cfg.channels_last and cfg.arch != "linear" else torch.contiguous_format
    model = model.to(device=device, memory_format=layout)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: one_cycle(s, total))
    attack_gen = torch.Generator().manual_seed(cfg.seed + 1)
    step, history, running, seconds = 0, [], {"loss": 0.0, "correct": 0, "n": 0}, 0.0

    if checkpoint is not None and Path(checkpoint).exists():
        state = load_file(checkpoint)
        if state.get("config") != asdict(cfg):
            raise CheckpointError(
                f"checkpoint {checkpoint} was written by a different TrainConfig "
                f"({state.get('config')}); delete it or choose another checkpoint path")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        attack_gen.set_state(state["attack_rng"])
        step, history, running = state["step"], state["history"], state["running"]
        seconds = state["seconds"]

    def save() -> None:
        if checkpoint is not None:
            save_atomic({"config": asdict(cfg), "model": model.state_dict(),
                         "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                         "attack_rng": attack_gen.get_state(), "step": step,
                         "history": history, "running": running, "seconds": seconds}, checkpoint)

    bar = _progress(total, step, progress)
    model.train()
    start = time.perf_counter() - seconds
    for epoch in range(step // per_epoch, cfg.epochs):
        order = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        for i, (xb, yb) in enumerate(batches(x, y, cfg.batch_size, shuffle=True, generator=order)):
            if epoch * per_epoch + i < step:
                continue  # done before the resume
            eps = eps_at(step, total, cfg)
            xb, yb = xb.to(device).contiguous(memory_format=layout), yb.to(device)
            loss, logits = training_loss(model, xb, yb, cfg, eps, attack_gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            running["loss"] += loss.item() * yb.numel()
            running["correct"] += (logits.argmax(1) == yb).sum().item()
            running["n"] += yb.numel()
            if bar is not None:
                bar.update(1)
            if stop_after is not None and step >= stop_after and step < total:
                seconds = time.perf_counter() - start
                save()
                opt.zero_grad(set_to_none=True)
                return TrainResult(model.eval(), cfg, history, finished=False, seconds=seconds)
        row = {"epoch": epoch + 1, "loss": running["loss"] / running["n"],
               "train_accuracy": running["correct"] / running["n"], "eps": eps,
               "seconds": time.perf_counter() - start}
        if on_epoch_end is not None:
            row.update(on_epoch_end(model))
            model.train()
        history.append(row)
        running = {"loss": 0.0, "correct": 0, "n": 0}
        seconds = time.perf_counter() - start
        save()
    if bar is not None:
        bar.close()
    opt.zero_grad(set_to_none=True)  # hand back a model with no leftover gradients
    return TrainResult(model.eval(), cfg, history, finished=True, seconds=time.perf_counter() - start)
