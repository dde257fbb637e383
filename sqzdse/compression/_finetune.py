"""Fine-tuning during compression: the pruned network with its masks held, then the shared values
(centroids) with the gradients of every weight of a cluster summed into its centroid."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import torch
import torch.nn.functional as F

from sqzdse.compression._codec import prune_mask
from sqzdse.data import Dataset
from sqzdse.model import SqueezeNet, build_model, fold_batchnorm
from sqzdse.train import TrainConfig, augment

# Fine-tuning's peak learning rate, as a share of the training's, decayed to 0 along a cosine.
# Measured on digits, v1.1 (92% top-1), 33% density, 6 bits, 3 + 3 epochs, BatchNorm put back for
# the pruned phase: pruned / shared phase at 0.3 / 0.3 ended at 90.5%, 1 / 1 at 93.6%, 1 / 0.1 at
# 96.1% (the shared phase has no BatchNorm, and AdamW moves every shared value by about the rate).
PRUNED_LR_FACTOR = 1.0
SHARED_LR_FACTOR = 0.1


def normalizer(data: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """(shift, scale): (images - shift) * scale are the normalised images training saw."""
    mean = torch.tensor(data.mean, dtype=torch.float32, device=data.device).view(1, -1, 1, 1)
    std = torch.tensor(data.std, dtype=torch.float32, device=data.device).view(1, -1, 1, 1)
    return mean * 255, 1 / (std * 255)


def _finetune(
    model: SqueezeNet,
    forward: Callable[[torch.Tensor], torch.Tensor],
    params: Iterable[torch.Tensor],
    data: Dataset,
    config: TrainConfig,
    epochs: int,
    *,
    lr_factor: float,
    after_step: Callable[[], None],
    on_epoch: Callable[[int, float], None],
) -> None:
    """AdamW over `params` (no weight decay: it would pull pruned and shared weights apart),
    cosine-decayed from `lr_factor` x the training's rate, with the training's augmentation."""
    if epochs == 0:
        return
    steps = max(1, len(data.train_y) // config.batch_size)
    optimizer = torch.optim.AdamW(params, lr=config.lr * lr_factor, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps)
    generator = torch.Generator(device=data.device).manual_seed(config.seed)
    pad = round(config.crop_padding * data.resolution)
    flip = config.flip and data.flip_ok
    shift, scale = normalizer(data)
    model.train()
    for epoch in range(1, epochs + 1):
        total = torch.zeros((), device=data.device)
        order = torch.randperm(len(data.train_y), generator=generator, device=data.device)
        for idx in order.tensor_split(steps):
            images = augment(data.train_x[idx], pad=pad, flip=flip, generator=generator)
            logits = forward((images.float() - shift) * scale)
            loss = F.cross_entropy(
                logits, data.train_y[idx], label_smoothing=config.label_smoothing
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            after_step()
            total += loss.detach()
        on_epoch(epoch, total.item() / steps)


PRUNE_STAGES = 16  # gradual pruning: the masks tighten this many times ...
PRUNE_RAMP = 2 / 3  # ... during this share of the fine-tuning steps, then stay


def density_at(stage: int, density: float) -> float:
    """The density after `stage` of PRUNE_STAGES tightenings: from 1 to `density` along Zhu and
    Gupta's cubic (fast at first, while the weights removed are small)."""
    return density + (1 - density) * (1 - stage / PRUNE_STAGES) ** 3


def finetune_pruned(
    model: SqueezeNet,
    keys: Iterable[str],
    density: float,
    data: Dataset,
    config: TrainConfig,
    epochs: int,
    on_epoch: Callable[[int, float], None],
) -> dict[str, torch.Tensor]:
    """Prune the weights `keys` of `model` to `density` by magnitude, per layer, and train every
    parameter in place with the pruned weights held at 0; returns the masks (True: kept).

    With fine-tuning the masks tighten gradually (PRUNE_STAGES steps over the first PRUNE_RAMP of
    it), on the network with BatchNorm put back (`_with_batchnorm`): one cut to a third of the
    weights leaves a briefly trained proxy network at chance (measured: digits, v1.1 after 3
    epochs, 92% -> 10% at 33%)."""
    keys = list(keys)
    trained = _with_batchnorm(model, data) if epochs else model
    params = dict(trained.named_parameters())
    masks: dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def prune(to: float) -> None:
        for key in keys:
            weights = params[key].detach().cpu().numpy()
            masks[key] = torch.from_numpy(prune_mask(weights, to)).to(params[key].device)
            params[key].mul_(masks[key])

    if epochs == 0:
        prune(density)
        return masks
    total = epochs * max(1, len(data.train_y) // config.batch_size)
    ramp = max(1, round(PRUNE_RAMP * total))
    schedule = {round(ramp * i / PRUNE_STAGES): i for i in range(PRUNE_STAGES + 1)}
    step = 0

    @torch.no_grad()
    def after_step() -> None:
        nonlocal step
        step += 1
        if step in schedule:
            prune(density_at(schedule[step], density))
        else:
            for key in keys:
                params[key].mul_(masks[key])

    prune(density_at(schedule[0], density))
    _finetune(
        trained,
        trained,
        trained.parameters(),
        data,
        config,
        epochs,
        lr_factor=PRUNED_LR_FACTOR,
        after_step=after_step,
        on_epoch=on_epoch,
    )
    # The last tightening (to `density`) came at step `ramp`, within the fine-tuning's steps.
    # Folding scales each output channel: a pruned weight stays 0.
    model.load_state_dict(fold_batchnorm(trained.eval()).state_dict())
    return masks


CALIBRATION_IMAGES = 512


@torch.no_grad()
def _with_batchnorm(model: SqueezeNet, data: Dataset) -> SqueezeNet:
    """`model` with training-time BatchNorm put back after every convolution (but the
    classifier), each set to pass its input through unchanged on a batch of training images.

    The stored network is folded, and without BatchNorm it fine-tunes badly. Measured on digits,
    v1.1 after 3 epochs (92% top-1), 33% density, 6 bits, 3 + 3 epochs, peak rates 0.1x-1x the
    training's: without BatchNorm the whole compression ended at 86% at best (one cut) and 77% at
    best (gradual); with it, gradual, 96%."""
    trained = build_model(model.config, batchnorm=True).to(data.device)
    trained.load_state_dict(model.state_dict(), strict=False)
    norms = [m for m in trained.modules() if isinstance(m, torch.nn.BatchNorm2d)]

    def pass_through(norm, args):
        x = args[0]
        mean, var = x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=False)
        norm.running_mean.copy_(mean)
        norm.running_var.copy_(var)
        norm.bias.copy_(mean)
        norm.weight.copy_(torch.sqrt(var + norm.eps))

    hooks = [norm.register_forward_pre_hook(pass_through) for norm in norms]
    shift, scale = normalizer(data)
    trained.train()
    try:
        trained((data.train_x[:CALIBRATION_IMAGES].float() - shift) * scale)
    finally:
        for hook in hooks:
            hook.remove()
    return trained


def shared_weights(
    codebooks: Mapping[str, torch.Tensor], codes: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Each layer's weights [0, *codebook][codes]: indexing's backward sums the gradients of a
    cluster's weights into its shared value."""
    return {
        key: torch.cat([book.new_zeros(1), book])[codes[key]] for key, book in codebooks.items()
    }


def finetune_shared(
    model: SqueezeNet,
    codebooks: dict[str, torch.Tensor],
    codes: dict[str, torch.Tensor],
    data: Dataset,
    config: TrainConfig,
    epochs: int,
    on_epoch: Callable[[int, float], None],
) -> None:
    """Train the shared values `codebooks` (updated in place) and the parameters `codes` does
    not cover (biases). A layer's weights are [0, *codebook][codes]: the gradient of a shared
    value is the sum of its weights' gradients."""
    shared = {key: torch.nn.Parameter(book) for key, book in codebooks.items()}
    others = [p for key, p in model.named_parameters() if key not in shared]
    _finetune(
        model,
        lambda x: torch.func.functional_call(model, shared_weights(shared, codes), (x,)),
        [*shared.values(), *others],
        data,
        config,
        epochs,
        lr_factor=SHARED_LR_FACTOR,
        after_step=lambda: None,
        on_epoch=on_epoch,
    )
    with torch.no_grad():
        for key, book in codebooks.items():
            book.copy_(shared[key])
