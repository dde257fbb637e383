"""The compression pipeline (`sqzdse.compression`'s docstring): prune, fine-tune, share,
fine-tune the shared values, write the file, decode it and measure what it decodes to."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from sqzdse.arch import ArchConfig
from sqzdse.compression import CompressionReport, LayerReport, Settings, _codec, _format
from sqzdse.compression._finetune import finetune_pruned, finetune_shared, normalizer
from sqzdse.errors import SqzdseError
from sqzdse.model import ConvAct, Fire, SqueezeNet
from sqzdse.weights import Weights

__all__ = ["Result", "compress", "decompress", "layer_names"]


@dataclass(frozen=True)
class Result:
    data: bytes  # the compressed file
    weights: Weights  # what it decodes to
    report: CompressionReport


def layer_names(model: SqueezeNet) -> dict[str, str]:
    """state_dict key of each convolution's weight -> its name for people (conv1, fire2.squeeze,
    ..., conv10)."""
    fires = [path for path, module in model.named_modules() if isinstance(module, Fire)]
    number = {path: i + 2 for i, path in enumerate(fires)}  # the paper's: fire2 is the first
    names = {}
    for path, module in model.named_modules():
        if not isinstance(module, ConvAct):
            continue
        owner, _, branch = path.rpartition(".")
        if owner in number:
            name = f"fire{number[owner]}.{branch}"
        else:
            name = f"conv{len(number) + 2}" if path.startswith("classifier") else "conv1"
        names[f"{path}.conv.weight"] = name
    return names


def compress(
    weights: Weights,
    data,
    settings: Settings,
    config,
    *,
    on_progress: Callable[[str], None] = lambda message: None,
) -> Result:
    """Compress trained `weights` (fine-tuning on `data`, which must be on `config`'s device)
    and measure the network the file decodes to on `data`'s validation images. Without `data`
    (sizes only) nothing is fine-tuned or measured: the accuracies are None."""
    if data is None and settings.finetune_epochs:
        raise SqzdseError("fine-tuning needs the training images: give the data set")
    device = data.device if data is not None else torch.device("cpu")
    # Dropout draws from the global generator: seeded, and the caller's state restored after.
    with torch.random.fork_rng(devices=[device.index] if device.type == "cuda" else []):
        torch.manual_seed(config.seed if config is not None else 0)
        return _compress(weights, data, settings, config, device, on_progress)


def _compress(weights, data, settings, config, device, on_progress) -> Result:
    start = time.perf_counter()
    model = weights.model().to(device)
    names = layer_names(model)
    before = _evaluate(model, data, config)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    losses = []

    def epoch_done(phase: str):
        def report(epoch: int, loss: float) -> None:
            losses.append({"phase": phase, "epoch": epoch, "loss": loss})
            on_progress(f"  {phase} epoch {epoch}/{settings.finetune_epochs}  loss {loss:.4f}")

        return report

    masks = finetune_pruned(
        model, names, settings.density, data, config, settings.finetune_epochs, epoch_done("pruned")
    )
    codebooks, codes, layers = {}, {}, {}
    for key in names:
        flat = model.state_dict()[key].detach().cpu().numpy().ravel()
        positions = np.flatnonzero(masks[key].cpu().numpy().ravel())
        centroids, labels = _codec.kmeans_1d(flat[positions], (1 << settings.bits) - 1)
        full = np.zeros(flat.size, dtype=np.int64)
        full[positions] = labels + 1
        codebooks[key] = torch.from_numpy(centroids).to(device)
        codes[key] = torch.from_numpy(full.reshape(shapes[key])).to(device)
        layers[key] = positions
    finetune_shared(
        model, codebooks, codes, data, config, settings.finetune_epochs, epoch_done("shared")
    )
    compressed = [
        _format.Layer(
            key,
            shapes[key],
            settings.bits,
            _codec.best_index_bits(layers[key], settings.bits),
            codebooks[key].cpu().numpy().astype(np.float32),
            layers[key],
            codes[key].cpu().numpy().ravel()[layers[key]],
        )
        for key in names
    ]
    plain = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items() if k not in names}
    meta = {"arch": weights.arch.to_dict(), "mean": list(weights.mean), "std": list(weights.std)}
    written = _format.write(compressed, plain, meta)
    decoded = decompress(written.data)
    after = _evaluate(decoded.model().to(device), data, config)
    report = CompressionReport(
        settings,
        [_layer_report(layer, names[layer.key], written, plain) for layer in compressed],
        written.header_bytes,
        len(written.data),
        4 * sum(math.prod(shape) for shape in shapes.values()),
        *before,
        *after,
        seconds=time.perf_counter() - start,
        loss=losses,
    )
    return Result(written.data, decoded, report)


def decompress(data: bytes) -> Weights:
    """The weights a compressed file holds; SqzdseError when it is not one or is damaged."""
    try:
        layers, plain, meta = _format.read(data)
        state = {layer.key: torch.from_numpy(layer.dense()) for layer in layers}
        state.update({k: torch.from_numpy(v) for k, v in plain.items()})
        arch = ArchConfig.from_dict(meta["arch"])
        weights = Weights(arch, state, tuple(meta["mean"]), tuple(meta["std"]))
        weights.model()  # every tensor present, with its shape
        return weights
    except Exception as err:  # a damaged stream, header or architecture alike
        raise SqzdseError(f"not a readable sqzdse compressed file: {err}") from None


def _layer_report(layer, name: str, written, plain) -> LayerReport:
    bias_key = layer.key.removesuffix("weight") + "bias"
    bias = plain[bias_key].size if bias_key in plain else 0
    entries = written.entries[layer.key]
    fixed_bits = entries * (layer.bits + layer.index_bits)
    return LayerReport(
        name=name,
        weights=int(np.prod(layer.shape)),
        nonzero=len(layer.positions),
        bits=layer.bits,
        index_bits=layer.index_bits,
        shared_values=len(layer.codebook),
        fillers=entries - len(layer.positions),
        plain=bias,
        estimate_bytes=-(-fixed_bits // 8) + 4 * len(layer.codebook) + 4 * bias,
        file_bytes=written.section_bytes[layer.key] + written.plain_bytes.get(bias_key, 0),
    )


def _evaluate(model: SqueezeNet, data, config) -> tuple[float | None, float | None]:
    from sqzdse.train import evaluate

    if data is None:
        return None, None
    shift, scale = normalizer(data)
    top1, top5, _ = evaluate(
        model,
        data.val_x,
        data.val_y,
        shift=shift,
        scale=scale,
        batch_size=config.eval_batch_size,
        autocast=contextlib.nullcontext(),
    )
    return top1, top5
