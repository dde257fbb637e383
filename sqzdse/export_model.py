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
from sqzdse.quantization import CALIBRATION_SEED, DEFAULT_CALIBRATION_IMAGES, Int8Block
from sqzdse.records import LATENCY_MS, MACS, PARAMS, TOP1, TOP5, TrialRecord, analytic_metrics
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
        require_onnx("exporting to ONNX")
    return suffix


def require_onnx(what: str) -> None:
    """SqzdseError naming the missing package when `what` cannot run: ONNX export and ONNX
    Runtime need the `deploy` extra."""
    for module in ("onnx", "onnxscript", "onnxruntime"):
        try:
            __import__(module)
        except ImportError:
            raise SqzdseError(f"{what} needs {module}: {DEPLOY_EXTRA}") from None


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


def _session(path: Path, threads: int | None = None):
    """An ONNX Runtime CPU session on `path`; `threads`: one intra-op pool of that many threads,
    operators run one after the other (as `sqzdse.latency` measures PyTorch)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    return onnxruntime.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )


def onnx_logits(path: Path, images: torch.Tensor) -> np.ndarray:
    """ONNX Runtime's logits for `images` (uint8, N x 3 x R x R, given as float 0-255)."""
    session = _session(path)
    return np.concatenate(
        [session.run(None, {"images": batch.float().numpy()})[0] for batch in images.split(256)]
    )


def top_k(logits: np.ndarray, labels: torch.Tensor) -> tuple[float, float]:
    """(top-1, top-5) of `logits` against `labels`; ties go to the lower class, as in PyTorch."""
    top = np.argsort(-logits, axis=1, kind="stable")
    y = labels.numpy()
    return float((top[:, 0] == y).mean()), float((top[:, :5] == y[:, None]).any(axis=1).mean())


def check_onnx(path: Path, weights: Weights, images: torch.Tensor, labels: torch.Tensor) -> Check:
    """Run the ONNX file with ONNX Runtime on `images` (uint8, N x 3 x R x R) and compare it with
    the PyTorch network."""
    ours = onnx_logits(path, images)
    model = weights.deployable()
    with torch.inference_mode():
        theirs = np.concatenate([model(batch.float()).numpy() for batch in images.split(256)])
    top1, top5 = top_k(ours, labels)
    return Check(
        images=len(labels),
        max_abs_diff=float(np.abs(ours - theirs).max()),
        top1=top1,
        top5=top5,
        agree=bool((ours.argmax(1) == theirs.argmax(1)).all()),
    )


def onnx_latency(path: Path, resolution: int) -> float:
    """The ONNX file's latency in ms with ONNX Runtime on the CPU: batch 1, one intra-op thread,
    the median of `latency.DEFAULT_REPEATS` runs after `DEFAULT_WARMUP`, as `latency_ms` is
    measured for PyTorch (`sqzdse.latency`)."""
    from sqzdse.latency import DEFAULT_REPEATS, DEFAULT_THREADS, DEFAULT_WARMUP, timed

    session = _session(path, threads=DEFAULT_THREADS)
    image = {"images": np.zeros((1, 3, resolution, resolution), dtype=np.float32)}
    median, _, _ = timed(
        lambda: session.run(None, image), repeats=DEFAULT_REPEATS, warmup=DEFAULT_WARMUP
    )
    return median


class CalibrationImages:
    """ONNX Runtime's `CalibrationDataReader` over `count` training images drawn without
    replacement with a fixed seed (all of them when there are fewer), `batch` at a time, as the
    exported network takes them (float 0-255, NCHW). `indices`: the rows of `train_x` it hands
    out. Only ever given the training split: the int8 network is scored on the validation one."""

    def __init__(self, train_x: torch.Tensor, count: int, *, seed: int, batch: int = 32) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.indices = torch.randperm(len(train_x), generator=generator)[:count]
        self._train_x = train_x
        self._batches = iter(self.indices.split(batch))

    def __len__(self) -> int:
        return len(self.indices)

    def get_next(self) -> dict[str, np.ndarray] | None:
        rows = next(self._batches, None)
        return None if rows is None else {"images": self._train_x[rows].float().numpy()}


def quantize_int8(
    fp32: Path, output: Path, calibration: CalibrationImages, *, per_channel: bool = True
) -> None:
    """Post-training static quantization of the ONNX file `fp32` to `output` with ONNX Runtime:
    QDQ format, int8 weights (per output channel unless `per_channel` is False) and int8
    activations, ranges from the min and max of each tensor over the calibration images, after
    ONNX Runtime's recommended pre-processing (shape inference, graph optimisation)."""
    import tempfile

    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    quiet = logging.getLogger()  # the quantizer logs its progress and advice at INFO / WARNING
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory(prefix="sqzdse-int8-") as folder:
            prepared = Path(folder) / "prepared.onnx"
            quant_pre_process(str(fp32), str(prepared))
            quantize_static(
                str(prepared),
                str(output),
                calibration,
                quant_format=QuantFormat.QDQ,
                per_channel=per_channel,
                activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
            )
    finally:
        quiet.setLevel(level)


def int8_block(
    int8: Path,
    fp32: Path,
    check: Check,
    calibration: CalibrationImages,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    seed: int,
    per_channel: bool = True,
) -> Int8Block:
    """The model card's `int8` block: the int8 file scored by ONNX Runtime on the validation
    images the fp32 `check` used, its size and latency beside the fp32 file's."""
    import onnxruntime

    from sqzdse.latency import DEFAULT_REPEATS, DEFAULT_THREADS, DEFAULT_WARMUP, cpu_name

    top1, top5 = top_k(onnx_logits(int8, images), labels)
    resolution = int(images.shape[-1])
    return Int8Block(
        top1=top1,
        top5=top5,
        fp32_top1=check.top1,
        fp32_top5=check.top5,
        drop_top1_points=round((check.top1 - top1) * 100, 9),
        images=len(labels),
        measured="ONNX Runtime on the validation split (the images of the fp32 check)",
        format="QDQ",
        weights="int8, per output channel" if per_channel else "int8, per tensor",
        activations="int8, per tensor",
        per_channel=per_channel,
        calibration_images=len(calibration),
        calibration_split="train",
        calibration_seed=seed,
        calibration_method="MinMax",
        bytes=int8.stat().st_size,
        fp32_bytes=fp32.stat().st_size,
        sha256=sha256(int8.read_bytes()),
        latency_ms=onnx_latency(int8, resolution),
        fp32_latency_ms=onnx_latency(fp32, resolution),
        latency_measured=f"ONNX Runtime {onnxruntime.__version__} CPUExecutionProvider, "
        f"batch 1, {DEFAULT_THREADS} intra-op thread, median of {DEFAULT_REPEATS} runs after "
        f"{DEFAULT_WARMUP} warm-up, on {cpu_name()}",
    )


def measure_int8(
    weights: Weights,
    data,
    output: Path,
    *,
    calibration_images: int = DEFAULT_CALIBRATION_IMAGES,
    seed: int = CALIBRATION_SEED,
) -> tuple[Check, Int8Block]:
    """(the fp32 ONNX check, the `int8` block): the network
    exported to ONNX and checked against PyTorch in a temporary folder, quantized to `output` with
    `calibration_images` training images of `data` (`sqzdse.data.Dataset`, on the CPU), and both
    files scored by ONNX Runtime on its validation images. `sqzdse export-model --int8` and a
    space's `quantization` section both measure a network this way."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="sqzdse-int8-") as folder:
        fp32 = Path(folder) / "fp32.onnx"
        write_model(weights, fp32)
        check = check_onnx(fp32, weights, data.val_x, data.val_y)
        calibration = CalibrationImages(data.train_x, calibration_images, seed=seed)
        quantize_int8(fp32, output, calibration)
        block = int8_block(output, fp32, check, calibration, data.val_x, data.val_y, seed=seed)
    return check, block


def _accuracy(record: TrialRecord, dataset: str | None, training: dict) -> dict[str, Any]:
    """The accuracies of the weights in the file, and how they were measured."""
    proxy = {
        TOP1: record.metrics.get(TOP1),
        TOP5: record.metrics.get(TOP5),
        "measured": f"validation split of {dataset} after the search's proxy training "
        f"(training settings: {json.dumps(training, sort_keys=True)})",
    }
    block = record.retrained
    if block is None or not block.weights or not block.seeds:
        return {**proxy, "weights": "proxy"}
    first = block.seeds[0]
    return {
        TOP1: first.top1,
        TOP5: first.top5,
        "measured": f"validation split of {dataset} after `sqzdse retrain` with seed "
        f"{first.seed} (the weights in this file; settings: "
        f"{json.dumps(dict(block.settings), sort_keys=True)})",
        "weights": "retrained",
        "retrained_mean_over_seeds": {TOP1: block.top1, TOP5: block.top5},
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
    int8: Int8Block | None = None,
) -> dict[str, Any]:
    """What a user needs to deploy and trust the file (docs/guides/export-model.md)."""
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
        PARAMS: costs[PARAMS],
        MACS: costs[MACS],
        LATENCY_MS: record.metrics.get(LATENCY_MS),
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
        "classes": {
            "count": weights.arch.num_classes,
            "names": None if dataset is None else CLASS_NAMES.get(dataset),
        },
        "accuracy": _accuracy(record, dataset, training),
        "onnx_runtime_check": None if check is None else check.__dict__,
        **({} if int8 is None else {"int8": int8.to_dict()}),
        "weights_sha256": sha256(weights.to_bytes()),
        "versions": versions,
    }
