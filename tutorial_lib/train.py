"""One training loop: standard, FGSM with random start, PGD adversarial training, or TRADES;
and the hooks that measure a run after every epoch.

Seeded and deterministic on CPU; checkpoints are atomic and a resumed run ends with the same
weights as an uninterrupted one.
"""
from __future__ import annotations

import functools
import itertools
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from tutorial_lib import zoo
from tutorial_lib.attacks import FGSM_RS_TRAVEL, NORMS, PGD_TRAVEL, pgd, step_size
from tutorial_lib.attacks import fgsm as fgsm_attack  # epoch_probe has a flag named fgsm
from tutorial_lib.budgets import pgd_budget
from tutorial_lib.certify import worst_logits
from tutorial_lib.checkpoint import CheckpointError, load_file, save_atomic
from tutorial_lib.data import balanced_subset, batches, load_dataset, validation_split
from tutorial_lib.devices import resolve_device
from tutorial_lib.evaluate import accuracy, robust_accuracy
from tutorial_lib.models import ACTIVATIONS, build_model

METHODS = ("standard", "fgsm", "fgsm_rs", "pgd", "trades", "ibp")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run; two equal configs give equal weights."""

    method: str = "standard"      # standard | fgsm | fgsm_rs | pgd | trades | ibp
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
    hidden: int = 256             # the MLP's hidden units (arch="mlp")
    dataset: str = "mnist"
    train_size: int | None = None  # class-balanced subset of the training set; None: all of it
    seed: int = 0
    channels_last: bool = True    # NHWC memory layout: ~15% faster convolutions on CPU
    natural_fraction: float = 0.0  # share of each batch trained on clean images (paper's App. B)
    init_from: str | None = None  # start from this zoo model's weights instead of random ones
    init_layers: int | None = None  # copy only the first `init_layers` layers of it (None: all)
    freeze: int = 0               # keep the first `freeze` layers (modules) of the model fixed
    device: str = "auto"          # auto: the GPU when there is one, else the CPU (the reference)
    activation: str = "relu"      # the fast CNN's nonlinearity: relu | silu
    ema: float = 0.0              # decay of a moving average of the weights (0: none); the result is the average
    kappa: float = 0.5            # IBP: the clean loss's final weight; it falls from 1 as eps warms up (Gowal et al.)
    eps_train_scale: float = 1.0  # IBP: bound the ball of eps times this in training (Gowal et al. train 0.4 for 0.3)
    validation: int = 0           # hold out this many training images (class-balanced, seed 0); 0: none

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
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema is the moving average's decay per step, in [0, 1) (e.g. 0.999); got {self.ema}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose one of {sorted(ACTIVATIONS)}")
        if self.activation != "relu" and self.arch != "fast_cnn":
            raise ValueError(f"activation={self.activation!r} applies to arch='fast_cnn' only")
        if not 0 <= self.kappa <= 1:
            raise ValueError(f"kappa is the clean loss's weight, in [0, 1]; got {self.kappa}")
        if self.eps_train_scale < 1 or (self.eps_train_scale != 1 and self.method != "ibp"):
            raise ValueError(f"eps_train_scale (>= 1) enlarges IBP's training ball only; got "
                             f"{self.eps_train_scale} with method={self.method!r}")
        if self.method == "ibp" and self.norm != "linf":
            raise ValueError("ibp bounds the ℓ∞ ball (a box); use norm='linf'")
        if not 0 <= self.validation < 60_000:
            raise ValueError(f"validation counts held-out training images, in [0, 60000); got {self.validation}")
        if not 0 <= self.eps_warmup <= 1:
            raise ValueError(f"eps_warmup is a fraction of training, in [0, 1]; got {self.eps_warmup}")

    def arch_kwargs(self) -> dict[str, int | str]:
        """The keyword arguments ``build_model(self.arch, ...)`` takes for this config (the
        activation only when it is not the default, so that older cards still match)."""
        if self.arch == "mlp":
            return {"hidden": self.hidden} if self.hidden != 256 else {}
        if self.arch != "fast_cnn":
            return {}
        return {"width": self.width, **({"activation": self.activation} if self.activation != "relu" else {})}

    def attack_steps(self) -> int:
        """Steps of the inner attack: one for FGSM (with or without random start), else ``steps``."""
        return 1 if self.method in ("fgsm", "fgsm_rs") else self.steps

    def step_size(self) -> float:
        """The attack step: ``alpha`` if given, else ``attacks.step_size`` with the travel of the
        method (``PGD_TRAVEL``; ``FGSM_RS_TRAVEL`` for FGSM with random start; plain FGSM steps
        ε itself, from the clean image)."""
        if self.alpha is not None:
            return self.alpha
        travel = {"fgsm": 1.0, "fgsm_rs": FGSM_RS_TRAVEL}.get(self.method, PGD_TRAVEL)
        return step_size(self.eps, steps=self.attack_steps(), travel=travel)


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


def adversarial_loss(model: nn.Module, x: Tensor, y: Tensor, *, eps: float, alpha: float, steps: int,
                     norm: str = "linf", random_start: bool = True,
                     generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """One step of Madry et al.'s min-max: the inner max by ``pgd`` (the attacks' own loop), then
    the cross-entropy at the worst case found, which the optimiser's step minimises (and its logits)."""
    x_adv = pgd(model, x, y, eps=eps, alpha=alpha, steps=steps, norm=norm, random_start=random_start,
                generator=generator)
    logits = model(x_adv)
    return F.cross_entropy(logits, y), logits


def training_loss(model: nn.Module, x: Tensor, y: Tensor, cfg: TrainConfig, eps: float,
                  generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """The loss of one step and the logits its accuracy is read from.

    standard: CE on clean inputs. fgsm / fgsm_rs / pgd: CE on the attack's worst case (Madry et
    al.'s min-max), on all of the batch or on its last ``1 - natural_fraction``. trades: CE on
    clean inputs + beta * KL(clean || attacked), the attack maximising that KL (Zhang et al., 2019).
    ibp: kappa * CE(clean) + (1 - kappa) * CE(worst logits over the ball by interval bounds),
    kappa falling from 1 to ``cfg.kappa`` as eps warms up.
    """
    if cfg.method == "standard" or eps == 0:
        logits = model(x)
        return F.cross_entropy(logits, y), logits
    if cfg.method == "ibp":  # no attack: the bound's worst logits (Gowal et al., 2018)
        logits = model(x)
        kappa = 1 - (1 - cfg.kappa) * eps / cfg.eps
        bound = F.cross_entropy(worst_logits(model, x, y, eps=eps * cfg.eps_train_scale), y)
        return kappa * F.cross_entropy(logits, y) + (1 - kappa) * bound, logits
    alpha = cfg.step_size() * eps / cfg.eps  # scale the step with the warmed-up radius
    steps = cfg.attack_steps()
    if cfg.method == "trades":
        logits = model(x)
        p_clean = F.softmax(logits.detach(), 1)
        x_adv = pgd(model, x, p_clean, eps=eps, alpha=alpha, steps=steps, norm=cfg.norm,
                    loss_fn=lambda lg, p: kl_from(p, lg), generator=generator)
        robust = kl_from(F.softmax(logits, 1), model(x_adv)).mean()
        return F.cross_entropy(logits, y) + cfg.beta * robust, logits
    k = round(cfg.natural_fraction * len(y))  # the first k examples stay natural (App. B)
    if k == 0:
        return adversarial_loss(model, x, y, eps=eps, alpha=alpha, steps=steps, norm=cfg.norm,
                                random_start=cfg.method != "fgsm", generator=generator)
    x_adv = pgd(model, x[k:], y[k:], eps=eps, alpha=alpha, steps=steps, norm=cfg.norm,
                random_start=cfg.method != "fgsm", generator=generator)
    logits = model(torch.cat([x[:k], x_adv]))
    return F.cross_entropy(logits, y), logits


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
        from tqdm.auto import tqdm  # lazy: a declared dependency, imported only when a progress bar is asked for
    except ImportError:
        return None
    return tqdm(total=total, initial=initial, unit="step")


def initial_model(cfg: TrainConfig) -> nn.Module:
    """The model training starts from: random, or a zoo model's first ``cfg.init_layers`` layers
    (the rest freshly initialised) with its first ``cfg.freeze`` layers frozen (feature reuse)."""
    model = build_model(cfg.arch, **cfg.arch_kwargs())
    if cfg.init_from is None:
        return model
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


@dataclass
class RunState:
    """Everything a run carries from step to step, and all that a resumed run needs."""

    model: nn.Module
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    attack_gen: torch.Generator
    device: torch.device
    layout: torch.memory_format
    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    running: dict[str, float] = field(default_factory=lambda: {"loss": 0.0, "correct": 0, "n": 0})
    seconds: float = 0.0
    ema: AveragedModel | None = None   # the moving average of the weights, when the config asks for one

    def result_model(self) -> nn.Module:
        """The model the run hands back and probes: the weights' moving average, or the weights."""
        return self.model if self.ema is None else self.ema.module


def start_run(cfg: TrainConfig, total: int) -> RunState:
    """A fresh run: seeded model (initialised on the CPU: the same start on every device), Adam
    with the one-cycle schedule over ``total`` steps, and the attack's own generator."""
    torch.manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    layout = torch.channels_last if cfg.channels_last and cfg.arch != "linear" else torch.contiguous_format
    model = initial_model(cfg).to(device=device, memory_format=layout)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: one_cycle(s, total))
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema)) if cfg.ema else None
    return RunState(model, opt, sched, torch.Generator().manual_seed(cfg.seed + 1), device, layout, ema=ema)


def save_run(run: RunState, cfg: TrainConfig, checkpoint: str | Path | None) -> None:
    """Write the run's state to ``checkpoint`` atomically (nothing without a checkpoint path)."""
    if checkpoint is not None:
        save_atomic({"config": asdict(cfg), "model": run.model.state_dict(),
                     "optimizer": run.opt.state_dict(), "scheduler": run.sched.state_dict(),
                     "attack_rng": run.attack_gen.get_state(), "step": run.step,
                     "history": run.history, "running": run.running, "seconds": run.seconds,
                     "ema": None if run.ema is None else run.ema.state_dict()},
                    checkpoint)


def resume_run(run: RunState, cfg: TrainConfig, checkpoint: str | Path | None) -> None:
    """Continue from ``checkpoint`` if it exists; refuse one written by another config."""
    if checkpoint is None or not Path(checkpoint).exists():
        return
    state = load_file(checkpoint)
    if state.get("config") != asdict(cfg):
        raise CheckpointError(
            f"checkpoint {checkpoint} was written by a different TrainConfig "
            f"({state.get('config')}); delete it or choose another checkpoint path")
    run.model.load_state_dict(state["model"])
    run.opt.load_state_dict(state["optimizer"])
    run.sched.load_state_dict(state["scheduler"])
    run.attack_gen.set_state(state["attack_rng"])
    run.step, run.history, run.running = state["step"], state["history"], state["running"]
    run.seconds = state["seconds"]
    if run.ema is not None:
        run.ema.load_state_dict(state["ema"])


def epoch_batches(x: Tensor, y: Tensor, cfg: TrainConfig, epoch: int, *, skip: int = 0
                  ) -> Iterator[tuple[Tensor, Tensor]]:
    """The epoch's shuffled mini-batches (its order fixed by seed and epoch), less the first
    ``skip`` that a resumed run has already trained on."""
    order = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
    return itertools.islice(batches(x, y, cfg.batch_size, shuffle=True, generator=order),
                            max(skip, 0), None)


def descend(run: RunState, cfg: TrainConfig, xb: Tensor, yb: Tensor, eps: float) -> None:
    """One optimiser step on the min-max objective: the loss at the attack's maximum within
    radius ``eps`` (``training_loss``), then a step down its gradient in the weights."""
    xb, yb = xb.to(run.device).contiguous(memory_format=run.layout), yb.to(run.device)
    loss, logits = training_loss(run.model, xb, yb, cfg, eps, run.attack_gen)
    run.opt.zero_grad(set_to_none=True)
    loss.backward()
    run.opt.step()
    run.sched.step()
    if run.ema is not None:
        run.ema.update_parameters(run.model)
    run.step += 1
    run.running["loss"] += loss.item() * yb.numel()
    run.running["correct"] += (logits.argmax(1) == yb).sum().item()
    run.running["n"] += yb.numel()


def end_epoch(run: RunState, epoch: int, eps: float, seconds: float,
              on_epoch_end: Callable[[nn.Module], dict[str, float]] | None) -> None:
    """Append the epoch's row (loss, training accuracy, eps, seconds, and the hook's numbers)."""
    r = run.running
    row = {"epoch": epoch + 1, "loss": r["loss"] / r["n"], "train_accuracy": r["correct"] / r["n"],
           "eps": eps, "seconds": seconds}
    if on_epoch_end is not None:
        row.update(on_epoch_end(run.result_model()))
        run.model.train()
    run.history.append(row)
    run.running = {"loss": 0.0, "correct": 0, "n": 0}


def train(cfg: TrainConfig, *, checkpoint: str | Path | None = None, progress: bool = False,
          stop_after: int | None = None,
          on_epoch_end: Callable[[nn.Module], dict[str, float]] | None = None,
          data: tuple[Tensor, Tensor] | None = None) -> TrainResult:
    """Train a model from ``cfg``; resume from ``checkpoint`` if it exists; save to it as we go.

    ``stop_after`` ends the run after that many optimiser steps in total (as if killed), leaving
    a checkpoint to resume from. ``on_epoch_end(model)`` may add measurements to the history.
    """
    x, y = data if data is not None else load_dataset(cfg.dataset, "train")
    if cfg.validation:
        (x, y), _ = validation_split(x, y, cfg.validation)
    if cfg.train_size is not None:
        x, y = balanced_subset(x, y, cfg.train_size, seed=cfg.seed)
    per_epoch = math.ceil(x.shape[0] / cfg.batch_size)
    total = per_epoch * cfg.epochs
    run = start_run(cfg, total)
    resume_run(run, cfg, checkpoint)
    bar = _progress(total, run.step, progress)
    run.model.train()
    start = time.perf_counter() - run.seconds
    for epoch in range(run.step // per_epoch, cfg.epochs):
        for xb, yb in epoch_batches(x, y, cfg, epoch, skip=run.step - epoch * per_epoch):
            eps = eps_at(run.step, total, cfg)
            descend(run, cfg, xb, yb, eps)
            if bar is not None:
                bar.update(1)
            if stop_after is not None and stop_after <= run.step < total:  # as if killed here
                run.seconds = time.perf_counter() - start
                save_run(run, cfg, checkpoint)
                return finish(run, cfg, finished=False)
        end_epoch(run, epoch, eps, time.perf_counter() - start, on_epoch_end)
        run.seconds = time.perf_counter() - start
        save_run(run, cfg, checkpoint)
    if bar is not None:
        bar.close()
    run.seconds = time.perf_counter() - start
    return finish(run, cfg, finished=True)


def finish(run: RunState, cfg: TrainConfig, *, finished: bool) -> TrainResult:
    """The result, with the model in eval mode and no leftover gradients."""
    run.opt.zero_grad(set_to_none=True)
    return TrainResult(run.result_model().eval(), cfg, run.history, finished=finished, seconds=run.seconds)


# --- hooks: measurements after every epoch (``train(..., on_epoch_end=hook)``) -------------------
class TrainingCollapsed(RuntimeError):
    """Robust accuracy on the held-out check fell sharply: catastrophic overfitting."""


COLLAPSE_FLOOR = 0.2
"""The collapse rule arms once the check's best accuracy exceeds this."""


def collapsed(best: float, acc: float, ratio: float = 0.5) -> bool:
    """The collapse rule: the check fell below ``ratio`` times its best so far (once armed)."""
    return best > COLLAPSE_FLOOR and acc < ratio * best


def collapse_epoch(values: list[float], *, ratio: float = 0.5) -> int | None:
    """The first epoch (from 1) at which the collapse rule fires on a curve, or None."""
    best = 0.0
    for epoch, acc in enumerate(values, 1):
        if collapsed(best, acc, ratio):
            return epoch
        best = max(best, acc)
    return None


def robust_check(x: Tensor, y: Tensor, *, eps: float, norm: str = "linf", steps: int = 10,
                 collapse_ratio: float = 0.5) -> Callable[[nn.Module], dict[str, float]]:
    """An ``on_epoch_end`` hook: accuracy under ``pgd_budget(eps, norm, steps=steps)`` on held-out
    images after every epoch (the quick evaluation budget, not ``epoch_probe``'s training step).

    FGSM training can collapse within an epoch (Wong et al., 2020): FGSM accuracy stays high
    while PGD accuracy drops to ~0. If the check falls below ``collapse_ratio`` times its best
    so far, the hook raises ``TrainingCollapsed``; the checkpoint still holds the last good epoch.
    """
    best = 0.0

    def check(model: nn.Module) -> dict[str, float]:
        nonlocal best
        acc = robust_accuracy(model, (x, y), attack=pgd_budget(eps, norm, steps=steps)).accuracy
        if collapsed(best, acc, collapse_ratio):
            raise TrainingCollapsed(
                f"PGD-{steps} accuracy on the check set fell from {best:.1%} to {acc:.1%}: "
                "catastrophic overfitting. Resume from the checkpoint (last good epoch) with a "
                "smaller FGSM step, another seed, or PGD training")
        best = max(best, acc)
        return {"check_robust_accuracy": acc}

    return check


def keep_best(hook: Callable[[nn.Module], dict[str, float]], key: str
              ) -> tuple[Callable[[nn.Module], dict[str, float]], dict[str, Any]]:
    """Early stopping as an ``on_epoch_end`` hook: ``hook``'s numbers, and in the returned dict the
    epoch (from 1) where its ``key`` was highest, that epoch's weights (``state``), every epoch's
    ``values`` and the ``seconds`` spent in the hook (to take out of the training time)."""
    best: dict[str, Any] = {"epoch": 0, "state": None, "values": [], "seconds": 0.0}

    def wrapped(model: nn.Module) -> dict[str, float]:
        t0 = time.perf_counter()
        row = hook(model)
        best["values"].append(row[key])
        if row[key] > max(best["values"][:-1], default=-math.inf):
            best.update(epoch=len(best["values"]),
                        state={k: v.detach().clone() for k, v in model.state_dict().items()})
        best["seconds"] += time.perf_counter() - t0
        return row

    return wrapped, best


def epoch_probe(dataset: str = "mnist", *, eps: float, norm: str = "linf", clean_n: int = 2000,
                robust_n: int = 500, steps: int = 20, fgsm: bool = False
                ) -> Callable[[nn.Module], dict[str, float]]:
    """An ``on_epoch_end`` hook: clean accuracy on ``clean_n`` and PGD accuracy (``steps`` steps
    of ``PGD_TRAVEL``·eps/steps, random start, seed 0) on ``robust_n`` fixed test images (with
    ``fgsm``, FGSM accuracy on the same images too), plus ``train_seconds``: the run's seconds so
    far *minus* the time spent in earlier probes (add the row's ``seconds`` to it;
    ``probe_training_time`` does that for a finished run)."""
    x, y = load_dataset(dataset, "test")
    xc, yc = balanced_subset(x, y, clean_n, seed=0)
    xr, yr = balanced_subset(x, y, robust_n, seed=0)
    one_step = functools.partial(fgsm_attack, eps=eps, norm=norm) if fgsm else None
    spent = [0.0]

    def probe(model: nn.Module) -> dict[str, float]:
        t0 = time.perf_counter()
        attack = functools.partial(pgd, eps=eps, alpha=step_size(eps, steps=steps, travel=PGD_TRAVEL),
                                   steps=steps, norm=norm, generator=torch.Generator().manual_seed(0))
        row = {"clean": accuracy(model, (xc, yc)),
               "robust": robust_accuracy(model, (xr, yr), attack=attack).accuracy,
               "train_seconds": -spent[0]}
        if one_step is not None:
            row["fgsm"] = robust_accuracy(model, (xr, yr), attack=one_step).accuracy
        spent[0] += time.perf_counter() - t0
        return row

    return probe


def probe_training_time(history: list[dict[str, float]], *, digits: int = 4) -> list[dict[str, float]]:
    """Rows of a probed run with ``train_seconds`` made final (probing time taken out), every
    value rounded to ``digits`` (the precision recorded results keep)."""
    rows = [{**{k: v for k, v in row.items() if k != "seconds"},
             "train_seconds": row["train_seconds"] + row["seconds"]} for row in history]
    return [{k: round(v, digits) for k, v in row.items()} for row in rows]
