"""The proxy trainer: a few epochs that rank networks, fast, with the data already on the device.

Recipe (every number lives in TrainConfig): the network with training-time BatchNorm, its classifier
initialised as in the paper with the bias starting positive and bypassed Fire modules starting as
their bypass, AdamW on a one-cycle schedule, label smoothing, random crops with padding and
horizontal flips drawn as batched tensor ops on whole batches, batches indexed straight from the
uint8 tensors (no DataLoader, no per-image Python). Evaluation runs in eval mode (BatchNorm running
statistics, which is what the folded network computes) on the validation split after every epoch.

On CUDA: bf16 autocast, channels_last, AdamW's fused kernel, each epoch's crops
and flips drawn in one batched call, and the forward and backward pass of each network captured once
as a CUDA graph and replayed at every step (every batch then has the same size: an epoch leaves out
its remainder of under one image per step). Small networks are bound by kernel launches on a GPU;
see benchmarks/trainer.py. On the CPU the same seed gives the same result, also in another process
with the same number of threads. A non-finite loss or running out of
memory ends the run with status "failed" and a reason, never an exception, so a search records the
trial and carries on.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from sqzdse.arch import ArchConfig
from sqzdse.data import Dataset
from sqzdse.devices import DEVICES, is_device_spec
from sqzdse.errors import TrainingError
from sqzdse.model import Fire, SqueezeNet, build_model
from sqzdse.records import Epoch, Status
from sqzdse.run_settings import TrainConfig
from sqzdse.weights import Weights

TOP5_NOTE = "top-5 is 1.0 by construction: the data set has 5 or fewer classes"

# Speed settings of the CUDA path; the CPU path never reads them. benchmarks/trainer.py measures
# each.
CUDA_GRAPHS = True  # capture forward + backward once per run, replay it at every step
FUSED_OPTIMIZER = True  # one fused AdamW kernel per step instead of a chain of foreach kernels
# Timing cuDNN's algorithms for every new convolution shape pays only when a shape runs many times;
# a search trains a new network, with new shapes, every trial, for a few dozen steps each.
CUDNN_BENCHMARK = False


@dataclass(kw_only=True)
class TrainResult:
    """What one proxy run measured. Accuracies are fractions of the validation images."""

    status: Status  # OK or FAILED
    reason: str | None  # why the run failed; None when ok
    top1: float | None  # validation top-1 after the last epoch; None when failed
    top5: float | None  # validation top-5 (see `note`); None when failed
    train_loss: float | None  # mean label-smoothed cross-entropy over the last epoch's steps
    curve: list[Epoch] = field(default_factory=list)  # one entry per epoch
    # wall-clock seconds of the whole run: steps and per-epoch evaluation
    train_seconds: float = 0.0
    images_per_second: float | None = None  # training images per second of training-step time
    # peak CUDA memory allocated (data set included); None on CPU
    peak_memory_bytes: int | None = None
    device: str = "cpu"
    note: str | None = None  # e.g. TOP5_NOTE
    # the trained network, deployable (sqzdse.weights.Weights), when asked for; not in to_dict
    weights: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.status = Status(self.status)  # "ok" as stored is Status.OK

    def to_dict(self) -> dict:
        return {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "weights"
        } | {"curve": [dataclasses.asdict(e) for e in self.curve]}


def resolve_device(spec: str) -> torch.device:
    """`auto` (CUDA when there is one, else the CPU), `cpu`, `cuda` or `cuda:N`, as a device."""
    if not is_device_spec(spec):
        raise TrainingError(f"`device` must be {DEVICES}, got {spec!r}")
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(spec)
    if device.type == "cpu":
        return device
    if not torch.cuda.is_available():
        raise TrainingError(
            f"device {spec!r} was asked for, but CUDA is not available to this PyTorch "
            f"({torch.__version__}); use --device cpu or auto"
        )
    count = torch.cuda.device_count()
    index = torch.cuda.current_device() if device.index is None else device.index
    if index >= count:
        raise TrainingError(
            f"device {spec!r} does not exist: this machine has {count} CUDA "
            f"device(s), cuda:0..cuda:{count - 1}"
        )
    return torch.device("cuda", index)


def top5_note(num_classes: int) -> str | None:
    return TOP5_NOTE if num_classes <= 5 else None


def train_proxy(
    arch: ArchConfig,
    data: Dataset,
    config: TrainConfig,
    *,
    on_epoch: Callable[[Epoch], None] | None = None,
    keep_weights: bool = False,
) -> TrainResult:
    """Train the network `arch` on `data` as `config` says and measure it on the validation split.

    `data` must already be on the training device
    (`load_dataset(spec, device=resolve_device(...))`). `on_epoch` receives each Epoch of the curve
    as it is measured (progress output). `keep_weights` returns the trained network's deployable
    weights in `TrainResult.weights`. Returns status "failed" with the reason, instead of raising,
    on a non-finite loss or when memory runs out.
    """
    device = resolve_device(config.device)
    _check_inputs(arch, data, device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = CUDNN_BENCHMARK
        torch.cuda.reset_peak_memory_stats(device)
    result = None
    try:
        # The caller's global RNG state is restored afterwards; weights and dropout draw from it.
        with torch.random.fork_rng(devices=[device.index] if device.type == "cuda" else []):
            torch.manual_seed(config.seed)
            result = _train(arch, data, config, device, on_epoch, keep_weights)
    except torch.OutOfMemoryError as err:
        reason = f"out of memory on {device}: {(str(err).splitlines() or ['no details'])[0]}"
    # Outside the except block the traceback, and the frames holding the model, are gone.
    if result is None:
        _release_memory(device)
        return TrainResult(
            status=Status.FAILED,
            reason=reason,
            top1=None,
            top5=None,
            train_loss=None,
            device=str(device),
            peak_memory_bytes=_peak_memory(device),
            note=top5_note(data.num_classes),
        )
    if result.status is not Status.OK:
        _release_memory(device)
    return result


def _check_inputs(arch: ArchConfig, data: Dataset, device: torch.device) -> None:
    if arch.num_classes != data.num_classes:
        raise TrainingError(
            f"the network has num_classes={arch.num_classes} but the {data.name} data "
            f"set has {data.num_classes} classes; build the ArchConfig with "
            f"num_classes={data.num_classes}"
        )
    if arch.resolution != data.resolution:
        raise TrainingError(
            f"the network has resolution={arch.resolution} but the {data.name} images "
            f"are {data.resolution}x{data.resolution}; use one resolution for both"
        )
    if arch.in_channels != data.train_x.shape[1]:
        raise TrainingError(
            f"the network has in_channels={arch.in_channels} but the images have "
            f"{data.train_x.shape[1]} channels"
        )
    if data.device != device:
        raise TrainingError(
            f"the data set is on {data.device} but training runs on {device}; load it "
            f"with load_dataset(spec, device=resolve_device({str(device)!r}))"
        )
    if len(data.train_y) < 2:
        raise TrainingError(
            f"the {data.name} training split has {len(data.train_y)} image(s); "
            "BatchNorm needs at least 2"
        )
    if len(data.val_y) < 1:
        raise TrainingError(f"the {data.name} validation split is empty")


@dataclass
class _Run:
    """One training run's state: the network, its optimiser and schedule, and its random draws."""

    model: SqueezeNet
    forward: Callable[[torch.Tensor], torch.Tensor]  # uint8 images -> logits, in training mode
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    generator: torch.Generator
    steps: int  # optimiser steps per epoch
    batch: int | None  # images in every step when the steps replay a CUDA graph; else None
    pad: int  # random-crop padding in pixels
    flip: bool
    shift: torch.Tensor
    scale: torch.Tensor
    autocast: torch.autocast


def _start(arch: ArchConfig, data: Dataset, config: TrainConfig, device: torch.device) -> _Run:
    cuda = device.type == "cuda"
    # Weights are drawn on the CPU so a seed gives the same initial network on every device.
    model = build_model(arch, batchnorm=True)
    _initialise(model, config)
    # torch's stubs for Module.to omit memory_format, which it accepts and documents.
    model = model.to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]
    fused: dict[str, Any] = {"fused": True} if cuda and FUSED_OPTIMIZER else {}
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay, **fused
    )
    steps = max(1, len(data.train_y) // config.batch_size)  # no short last batch
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=config.lr,
        total_steps=config.epochs * steps,
        pct_start=config.warmup_fraction,
        div_factor=config.initial_lr_divisor,
        final_div_factor=config.final_lr_divisor,
    )
    shift, scale = _normalizer(data, device)
    graphed = cuda and CUDA_GRAPHS
    # Autocast's cache of bf16 weights would hold copies made during capture: off when graphed.
    autocast = torch.autocast(
        device_type=device.type,
        dtype=torch.bfloat16,
        enabled=cuda,
        cache_enabled=False if graphed else None,
    )
    batch = len(data.train_y) // steps if graphed else None
    normalized = _Normalized(model, shift, scale)
    forward = _Graphed(normalized, data.train_x[:batch], autocast) if graphed else normalized
    return _Run(
        model,
        forward,
        optimizer,
        schedule,
        torch.Generator(device=device).manual_seed(config.seed),
        steps,
        batch,
        pad=round(config.crop_padding * data.resolution),
        flip=config.flip and data.flip_ok,
        shift=shift,
        scale=scale,
        autocast=autocast,
    )


def _step(
    run: _Run, images: torch.Tensor, labels: torch.Tensor, config: TrainConfig
) -> torch.Tensor:
    with run.autocast:
        loss = F.cross_entropy(run.forward(images), labels, label_smoothing=config.label_smoothing)
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    run.optimizer.step()
    run.schedule.step()
    return loss.detach()


def _train_epoch(run: _Run, data: Dataset, config: TrainConfig) -> torch.Tensor:
    """One pass over the training split in random order; the loss of every step, on the device."""
    run.model.train()
    losses = torch.empty(run.steps, device=data.device)
    order = torch.randperm(len(data.train_y), generator=run.generator, device=data.device)
    if run.batch is not None:  # graphed: the epoch's crops and flips in one call, equal slices
        used = order[: run.steps * run.batch]
        images = augment(data.train_x[used], pad=run.pad, flip=run.flip, generator=run.generator)
        for step, (x, y) in enumerate(
            zip(images.split(run.batch), data.train_y[used].split(run.batch))
        ):
            losses[step] = _step(run, x, y, config)
        return losses
    for step, idx in enumerate(order.tensor_split(run.steps)):
        x = augment(data.train_x[idx], pad=run.pad, flip=run.flip, generator=run.generator)
        losses[step] = _step(run, x, data.train_y[idx], config)
    return losses


def _train(
    arch: ArchConfig,
    data: Dataset,
    config: TrainConfig,
    device: torch.device,
    on_epoch: Callable[[Epoch], None] | None,
    keep_weights: bool = False,
) -> TrainResult:
    start = time.perf_counter()
    run = _start(arch, data, config, device)
    done = functools.partial(TrainResult, device=str(device), note=top5_note(data.num_classes))
    curve: list[Epoch] = []
    step_seconds = 0.0
    for epoch in range(1, config.epochs + 1):
        epoch_start = time.perf_counter()
        losses = _train_epoch(run, data, config)
        # One check per epoch, not per step: on CUDA a per-step check would stall the queue.
        bad = torch.nonzero(~torch.isfinite(losses)).flatten().tolist()
        step_seconds += time.perf_counter() - epoch_start
        if bad:
            return done(
                status=Status.FAILED,
                reason=f"non-finite loss at epoch {epoch} step {bad[0] + 1}",
                top1=None,
                top5=None,
                train_loss=None,
                curve=curve,
                train_seconds=time.perf_counter() - start,
                peak_memory_bytes=_peak_memory(device),
            )
        top1, top5, val_loss = evaluate(
            run.model,
            data.val_x,
            data.val_y,
            shift=run.shift,
            scale=run.scale,
            batch_size=config.eval_batch_size,
            autocast=run.autocast,
        )
        curve.append(
            Epoch(
                epoch=epoch,
                train_loss=losses.mean().item(),
                top1=top1,
                top5=top5,
                seconds=time.perf_counter() - start,
                val_loss=val_loss,
            )
        )
        if on_epoch is not None:
            on_epoch(curve[-1])
    last = curve[-1]
    trained = run.steps * run.batch if run.batch is not None else len(data.train_y)
    return done(
        status=Status.OK,
        reason=None,
        top1=last.top1,
        top5=last.top5,
        train_loss=last.train_loss,
        curve=curve,
        train_seconds=time.perf_counter() - start,
        images_per_second=config.epochs * trained / step_seconds,
        peak_memory_bytes=_peak_memory(device),
        weights=Weights.of(run.model, arch, mean=data.mean, std=data.std) if keep_weights else None,
    )


class _Normalized(torch.nn.Module):
    """uint8 images in, logits out: the per-step normalisation inside the captured graph."""

    shift: torch.Tensor  # buffers, registered in __init__
    scale: torch.Tensor

    def __init__(self, model: torch.nn.Module, shift: torch.Tensor, scale: torch.Tensor) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("shift", shift, persistent=False)
        self.register_buffer("scale", scale, persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = ((images.float() - self.shift) * self.scale).contiguous(
            memory_format=torch.channels_last
        )
        return self.model(x)


class _Graphed:
    """A module's training forward and backward pass on one batch shape, captured as CUDA graphs.

    Calling it copies the batch into the captured input and replays the forward graph; autograd
    replays the backward graph, which leaves the parameters' gradients in captured buffers (the
    optimizer runs outside the graphs, so the learning-rate schedule works unchanged). Unlike
    torch.cuda.make_graphed_callables this holds no reference cycle, so a run's graphs and their
    memory are freed as soon as the run ends, not at Python's next garbage collection, and it does
    not empty PyTorch's memory cache before each capture.

    Capturing runs warm-up passes (cuDNN's algorithm choice, lazy initialisation) on `sample`; the
    BatchNorm statistics they move are put back, so the run starts from the same network as without
    graphs. Out of memory while capturing is raised as torch.OutOfMemoryError, as anywhere in a run.
    """

    WARMUP = 2

    def __init__(self, module: torch.nn.Module, sample: torch.Tensor, autocast) -> None:
        self.params = tuple(p for p in module.parameters() if p.requires_grad)
        buffers = list(module.buffers())
        saved = [b.clone() for b in buffers]
        self.input = sample.clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        try:
            with torch.cuda.stream(side):
                for _ in range(self.WARMUP):
                    with autocast:
                        out = module(self.input)
                    torch.autograd.grad(out, self.params, torch.ones_like(out), allow_unused=True)
                del out
                pool = torch.cuda.graph_pool_handle()
                self.forward_graph = torch.cuda.CUDAGraph()
                self.forward_graph.capture_begin(pool=pool)
                try:
                    with autocast:
                        self.output = module(self.input)
                finally:
                    self.forward_graph.capture_end()
                self.output_grad = torch.empty_like(self.output)
                self.backward_graph = torch.cuda.CUDAGraph()
                self.backward_graph.capture_begin(pool=pool)
                try:
                    self.grads = torch.autograd.grad(
                        self.output, self.params, self.output_grad, allow_unused=True
                    )
                finally:
                    self.backward_graph.capture_end()
        except torch.OutOfMemoryError:
            raise
        except RuntimeError as err:
            if _out_of_memory(err):
                raise torch.OutOfMemoryError(
                    f"out of memory while capturing a CUDA graph: {str(err).splitlines()[0]}"
                ) from err
            raise
        finally:
            torch.cuda.current_stream().wait_stream(side)
        with torch.no_grad():
            for buffer, value in zip(buffers, saved):
                buffer.copy_(value)
        self.output = self.output.detach()

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return _Replay.apply(self, images, *self.params)


class _Replay(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx, graphed: _Graphed, images: torch.Tensor, *params: torch.Tensor
    ) -> torch.Tensor:
        graphed.input.copy_(images)
        graphed.forward_graph.replay()
        ctx.graphed = graphed
        return graphed.output.detach()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):
        graphed = ctx.graphed
        graphed.output_grad.copy_(grad)
        graphed.backward_graph.replay()
        return (None, None, *(g.detach() if g is not None else None for g in graphed.grads))


def _out_of_memory(err: BaseException | None) -> bool:
    seen = 0
    while err is not None and seen < 8:
        if isinstance(err, torch.OutOfMemoryError) or "out of memory" in str(err).lower():
            return True
        err, seen = err.__cause__ or err.__context__, seen + 1
    return False


@torch.no_grad()
def _initialise(model: SqueezeNet, config: TrainConfig) -> None:
    """The paper's classifier initialisation, and Fire modules with a bypass starting as the bypass.

    Without both, bypass networks lose whole classes to the classifier's ReLU: their features are
    sums over several modules, so default-initialised logits start far from zero. Measured on
    digits, v1.0 at 32 px, 3 epochs, top-1 of none / simple / complex bypass: PyTorch's default init
    0.95-0.96 / 0.35-0.48 / 0.67-0.77 (seeds 0-1); this init 0.955-0.972 / 0.925-0.983 / 0.967-0.972
    (seeds 0-3).
    """
    classifier = _classifier(model)
    torch.nn.init.normal_(classifier.weight, mean=0.0, std=config.classifier_std)
    assert classifier.bias is not None  # ConvAct builds every convolution with a bias
    classifier.bias.fill_(config.classifier_bias)
    for fire in model.modules():
        if isinstance(fire, Fire) and fire.shortcut != "none":
            for expand in (fire.expand1x1, fire.expand3x3):
                if expand is not None and expand.bn is not None:
                    expand.bn.weight.zero_()


def _classifier(model: SqueezeNet) -> torch.nn.Conv2d:
    convs = [m for m in model.classifier.modules() if isinstance(m, torch.nn.Conv2d)]
    if len(convs) != 1:
        raise TrainingError(f"expected one classifier convolution, found {len(convs)}")
    return convs[0]


def _normalizer(data: Dataset, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(shift, scale) with (x - shift) * scale = (x / 255 - mean) / std, shaped 1 x C x 1 x 1."""
    mean = torch.tensor(data.mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
    std = torch.tensor(data.std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
    return mean * 255, 1 / (std * 255)


def augment(x: torch.Tensor, *, pad: int, flip: bool, generator: torch.Generator) -> torch.Tensor:
    """Random crops of a batch zero-padded by `pad` pixels on each side, back to its own size, and
    random horizontal flips, drawn per image with `generator`: whole-batch gathers, no per-image
    Python."""
    b, c, h, w = x.shape
    if pad:
        x = F.pad(x, (pad,) * 4)
        offsets = torch.randint(0, 2 * pad + 1, (2, b, 1), generator=generator, device=x.device)
        rows = offsets[0] + torch.arange(h, device=x.device)  # b x h
        cols = offsets[1] + torch.arange(w, device=x.device)  # b x w
        x = x.gather(2, rows[:, None, :, None].expand(b, c, h, x.shape[3]))
        x = x.gather(3, cols[:, None, None, :].expand(b, c, h, w))
    if flip:
        mirrored = torch.rand(b, generator=generator, device=x.device) < 0.5
        x = torch.where(mirrored.view(b, 1, 1, 1), x.flip(3), x)
    return x


@torch.inference_mode()
def evaluate(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    shift: torch.Tensor,
    scale: torch.Tensor,
    batch_size: int,
    autocast,
) -> tuple[float, float, float]:
    """(top-1, top-5, loss) on `x` (uint8 images) in eval mode: the fractions of images right
    (top-5 is top-min(5, classes)) and the mean cross-entropy without label smoothing."""
    model.eval()
    hits1 = torch.zeros((), dtype=torch.int64, device=x.device)
    hits5 = torch.zeros((), dtype=torch.int64, device=x.device)
    loss = torch.zeros((), dtype=torch.float64, device=x.device)
    for xb, yb in zip(x.split(batch_size), y.split(batch_size)):
        xb = ((xb.float() - shift) * scale).contiguous(memory_format=torch.channels_last)
        with autocast:
            logits = model(xb)
        top = logits.float().topk(min(5, logits.shape[1]), dim=1).indices
        hit = top == yb[:, None]
        hits1 += hit[:, 0].sum()
        hits5 += hit.any(dim=1).sum()
        loss += F.cross_entropy(logits.float(), yb, reduction="sum").double()
    return hits1.item() / len(y), hits5.item() / len(y), loss.item() / len(y)


def _peak_memory(device: torch.device) -> int | None:
    return torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None


def _release_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


__all__ = [
    "TOP5_NOTE",
    "TrainConfig",
    "TrainResult",
    "augment",
    "evaluate",
    "resolve_device",
    "top5_note",
    "train_proxy",
]
