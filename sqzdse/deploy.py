"""From stored weights to a deployable file: ONNX (checked with ONNX Runtime) or sqzdse's `.pt`,
and the model card beside it.

The exported network takes float32 pixel values 0-255, NCHW, RGB (grey images repeated on the
three channels, as sqzdse's data sets are), at the training resolution, and returns logits: the
input normalisation is inside it, so the card's preprocessing is only how the images were sized.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import platform
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sqzdse.errors import SqzdseError
from sqzdse.records import LATENCY_MS, TrialRecord, analytic_metrics
from sqzdse.weights import Weights, sha256

FORMATS = (".onnx", ".pt")
DEPLOY_EXTRA = "pip install 'sqzdse[deploy]' (onnx, onnxscript, onnxruntime)"
TOLERANCE = 1e-4  # largest |ONNX Runtime - PyTorch| logit accepted on real images
CLASS_NAMES = {
    "digits": [str(i) for i in range(10)],
    "mnist": [str(i) for i in range(10)],
    "fashion-mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
    "cifar10": [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ],
}


@dataclass(frozen=True)
class Check:
    """ONNX Runtime against PyTorch on the validation images."""

    images: int
    max_abs_diff: float
    top1: float  # ONNX Runtime's top-1 on those images
    top5: float
    agree: bool  # every image's predicted class is the same in both


def check_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise SqzdseError(f"-o {path}: the file must end in .onnx or .pt, got {suffix or 'none'}")
    if suffix == ".onnx":
        for module in ("onnx", "onnxscript", "onnxruntime"):
            try:
                __import__(module)
            except ImportError:
                raise SqzdseError(f"exporting to ONNX needs {module}: {DEPLOY_EXTRA}") from None
    return suffix


def write_model(weights: Weights, path: Path) -> None:
    """The deployable network to `path`: ONNX (opset of the installed exporter, dynamic batch)
    or `.pt` (sqzdse's checksummed weights: `Weights.from_bytes(path.read_bytes())`)."""
    if path.suffix.lower() == ".pt":
        path.write_bytes(weights.to_bytes())
        return
    model = weights.deployable()
    sample = torch.zeros(2, 3, weights.arch.resolution, weights.arch.resolution)
    # The exporter prints its progress and warns about optional packages it does not need here.
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (sample,),
                str(path),
                dynamo=True,
                input_names=["images"],
                output_names=["logits"],
                dynamic_shapes=({0: torch.export.Dim("batch")},),
                external_data=False,
            )
    finally:
        exporter_log.setLevel(level)


def check_onnx(path: Path, weights: Weights, images: torch.Tensor, labels: torch.Tensor) -> Check:
    """Run the ONNX file with ONNX Runtime on `images` (uint8, N x 3 x R x R) and compare it with
    the PyTorch network."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    model = weights.deployable()
    onnx_logits, torch_logits = [], []
    for batch in images.split(256):
        x = batch.float()
        onnx_logits.append(session.run(None, {"images": x.numpy()})[0])
        with torch.inference_mode():
            torch_logits.append(model(x).numpy())
    ours, theirs = np.concatenate(onnx_logits), np.concatenate(torch_logits)
    top = np.argsort(-ours, axis=1, kind="stable")
    y = labels.numpy()
    return Check(
        images=len(y),
        max_abs_diff=float(np.abs(ours - theirs).max()),
        top1=float((top[:, 0] == y).mean()),
        top5=float((top[:, :5] == y[:, None]).any(axis=1).mean()),
        agree=bool((ours.argmax(1) == theirs.argmax(1)).all()),
    )


def _accuracy(record: TrialRecord, dataset: str | None, training: dict) -> dict[str, Any]:
    """The accuracies of the weights in the file, and how they were measured."""
    proxy = {
        "top1": record.metrics.get("top1"),
        "top5": record.metrics.get("top5"),
        "measured": f"validation split of {dataset} after the search's proxy training "
        f"(training settings: {json.dumps(training, sort_keys=True)})",
    }
    block = record.retrained
    if not block or not block.get("weights"):
        return {**proxy, "weights": "proxy"}
    first = block["seeds"][0]
    return {
        "top1": first["top1"],
        "top5": first["top5"],
        "measured": f"validation split of {dataset} after `sqzdse retrain` with seed "
        f"{first['seed']} (the weights in this file; settings: "
        f"{json.dumps(block['settings'], sort_keys=True)})",
        "weights": "retrained",
        "retrained_mean_over_seeds": {"top1": block["top1"], "top5": block["top5"]},
        "proxy": proxy,
    }


def model_card(
    record: TrialRecord,
    weights: Weights,
    *,
    study: str,
    training: dict[str, Any],
    file: Path,
    check: Check | None,
) -> dict[str, Any]:
    """What a user needs to deploy and trust the file (README, "Deploying a network")."""
    import sqzdse

    dataset = training.get("dataset")
    costs = analytic_metrics(weights.arch)
    versions = {
        "sqzdse": sqzdse.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    for module in ("onnx", "onnxruntime"):
        with contextlib.suppress(ImportError):
            versions[module] = __import__(module).__version__
    return {
        "file": file.name,
        "format": file.suffix.lstrip("."),
        "study": study,
        "trial": record.number,
        "architecture": weights.arch.to_dict(),
        "params": costs["params"],
        "macs": costs["macs"],
        "latency_ms": record.metrics.get(LATENCY_MS),
        "input": {
            "name": "images",
            "shape": ["batch", 3, weights.arch.resolution, weights.arch.resolution],
            "dtype": "float32",
            "values": "pixel values 0-255, RGB (grey images repeated on 3 channels), resized "
            f"to {weights.arch.resolution}x{weights.arch.resolution} as sqzdse's {dataset} "
            "loader does",
            "normalisation": "inside the network: (x - 255 * mean) * (1 / (255 * std))",
            "mean": list(weights.mean),
            "std": list(weights.std),
        },
        "output": {"name": "logits", "shape": ["batch", weights.arch.num_classes]},
        "classes": {"count": weights.arch.num_classes, "names": CLASS_NAMES.get(dataset)},
        "accuracy": _accuracy(record, dataset, training),
        "onnx_runtime_check": None if check is None else check.__dict__,
        "weights_sha256": sha256(weights.to_bytes()),
        "versions": versions,
    }
