"""The one schema of a sqzdse study: the metric table, the trial record and the study's attributes.

The search writes a trial only through `TrialRecord.write`; every reader (analysis, export, the
dashboard, the CLI's tables) gets a trial through `TrialRecord.from_trial` and its row through
`TrialRecord.row`. Nothing else spells a metric name: adding a metric is one `Metric` entry in
the table below plus the code that measures it.

What a trial stores, as Optuna user attributes (unchanged since the first studies):
- `arch`: the full architecture, `ArchConfig.to_dict()` (pool_after as a list of layer names);
- `status`: a `Status`; `failure_reason`: why a trial failed or was infeasible (absent otherwise);
- one attribute per known metric, named as in METRICS (costs always; accuracy only when trained);
- `curve`: one `Epoch` per epoch as a dict; `device`; `versions`;
- `reused_from`: the number of the trial whose training result a duplicate architecture reused;
- `latency`: how `latency_ms` was measured (`sqzdse.latency.Latency`: its spread, threads, CPU);
- `weights`: where the trained network's deployable weights are stored
  (`sqzdse.artifacts.StoredWeights`).
- `compression`: with a space's `compression` section, the Deep Compression report of the trained
  network (`sqzdse.compression.CompressionReport.to_dict`: settings, bytes per layer, accuracy
  before/after).
- `quantization`: with a space's `quantization` section, the int8 block of the trained network
  (`sqzdse.quantization.Int8Block`, measured by `sqzdse.export_model.measure_int8`: accuracies,
  bytes, latencies, calibration, seconds);
  `quantization_error` instead when quantizing it failed (the fp32 result is kept).
A finished trial cannot be changed, so `sqzdse retrain` records its result on the study, one
attribute per trial (`retrained:<number>`: settings, per-seed accuracies, curves, seconds, weights);
readers attach it to the trial's record (`TrialRecord.with_retrained`) and to its duplicates.
- `rungs`: under successive halving, one `Rung` per rung the trial reached: its values there, the
  trials it was ranked among, and the decision. A stopped trial is PRUNED, status `stopped`, with
  its partial curve, its `train_seconds` and the reason; it has no accuracy (it was not finished).
Its values are the study's objectives, in the order of the study's metric names. An infeasible
configuration (over a constraint budget) is never trained: PRUNED, its constraints recorded through
`Trial.set_constraint`, status `infeasible`; no accuracy is invented for it.

The study stores the attributes of `StudyInfo` (its space, hash, objectives and data set).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
import json
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from sqzdse.arch import (
    DESIGN_GROUPS,
    ArchConfig,
    Resolved,
    fields_of,
    model_size_bytes,
    resolve,
)
from sqzdse.errors import ArchError

__all__ = [
    "RETRAINED_ACCURACIES",
    "Retraining",
    "SeedRun",
    "Direction",
    "ARCH_COLUMNS",
    "COLUMN_NAMES",
    "DEFAULT_ACCURACY",
    "DEFAULT_COST",
    "DESIGN_COLUMNS",
    "FEW_CLASSES",
    "FEW_CLASSES_ACCURACY",
    "METRICS",
    "METRIC_ORDER",
    "TOP1",
    "TOP5",
    "TRAIN_LOSS",
    "PARAMS",
    "MACS",
    "TRAIN_SECONDS",
    "LATENCY_MS",
    "COMPRESSED_BYTES",
    "TOP1_COMPRESSED",
    "TOP5_COMPRESSED",
    "TOP1_INT8",
    "TOP5_INT8",
    "INT8_BYTES",
    "LATENCY_INT8_MS",
    "OBJECTIVE_NAMES",
    "RETRAINED_PREFIX",
    "TRIAL_COLUMNS",
    "Column",
    "Epoch",
    "Kind",
    "Metric",
    "Role",
    "Rung",
    "Source",
    "Status",
    "StudyInfo",
    "TrialRecord",
    "analytic_metrics",
    "finite_number",
    "format_value",
    "list_or_empty",
    "mapping_or_none",
    "text_or_none",
    "whole_number",
    "metric",
    "metrics_of",
    "retrained_blocks",
]


# ---------------------------------------------------------------------------- metrics


class Source(enum.StrEnum):
    """Where a metric's value comes from."""

    ANALYTIC = "analytic"  # exact, from the architecture alone: known before any training
    TRAINED = "trained"  # measured by the proxy training run
    MEASURED = "measured"  # measured on the built network after training (latency, ...)
    COMPRESSED = "compressed"  # measured on the network after Deep Compression (sqzdse.compression)
    QUANTIZED = "quantized"  # measured on the int8 network with ONNX Runtime (sqzdse.export_model)
    RETRAINED = "retrained"  # measured by `sqzdse retrain`'s longer training of the network


class Role(enum.StrEnum):
    """What a metric says about a network: how good, how costly, or how the run went."""

    ACCURACY = "accuracy"
    COST = "cost"
    RUN = "run"


class Kind(enum.StrEnum):
    """How a value is written for people."""

    COUNT = "count"  # an integer with thousands separators: 1,248,424
    FRACTION = "fraction"  # a fraction shown as a percentage: 81.25%
    NUMBER = "number"  # four significant digits: 0.5123


Direction = Literal["maximize", "minimize"]


@dataclass(frozen=True, kw_only=True)
class Metric:
    """One metric a trial can carry: its name in studies, exports and YAML, and how to treat it."""

    name: str
    direction: Direction  # when it is an objective or a front axis
    label: str  # for people: axis titles, detail panels
    short: str  # table headers
    meaning: str  # the column's meaning in exports (docs/reference/export-columns.md)
    source: Source
    role: Role
    kind: Kind
    dtype: str  # the pandas dtype of its column
    objective: bool = True  # may be a search objective
    per_image: bool = False  # depends on the input resolution, not on the network alone
    compute: Callable[[Resolved], int] | None = None  # ANALYTIC metrics: the value from the layers

    def format(self, value: Any, *, missing: str = "n/a") -> str:
        """The value for people: `1,248,424`, `81.25%`, `0.5123`; `missing` when there is none."""
        try:
            if value is None or value != value:  # NaN and NaT differ from themselves
                return missing
        except TypeError:  # pandas.NA: its comparison is NA, whose truth value is undefined
            return missing
        if self.kind is Kind.COUNT:
            return f"{int(value):,}"
        if self.kind is Kind.FRACTION:
            return f"{float(value):.2%}"
        return f"{float(value):.4g}"


def _size(bits: int) -> Callable[[Resolved], int]:
    return lambda resolved: model_size_bytes(resolved.params, bits)


_TABLE = (
    Metric(
        name="top1",
        direction="maximize",
        label="top-1 accuracy",
        short="top-1",
        meaning="top-1 accuracy, a fraction of the validation images; NaN unless trained",
        source=Source.TRAINED,
        role=Role.ACCURACY,
        kind=Kind.FRACTION,
        dtype="float64",
    ),
    Metric(
        name="top5",
        direction="maximize",
        label="top-5 accuracy",
        short="top-5",
        meaning="top-5 accuracy, a fraction of the validation images; NaN unless trained",
        source=Source.TRAINED,
        role=Role.ACCURACY,
        kind=Kind.FRACTION,
        dtype="float64",
    ),
    Metric(
        name="params",
        direction="minimize",
        label="parameters",
        short="params",
        meaning="parameters of the deployable network",
        source=Source.ANALYTIC,
        role=Role.COST,
        kind=Kind.COUNT,
        dtype="Int64",
        compute=lambda r: r.params,
    ),
    Metric(
        name="macs",
        direction="minimize",
        label="multiply-accumulates per image",
        short="MACs",
        meaning="multiply-accumulates per image",
        source=Source.ANALYTIC,
        role=Role.COST,
        kind=Kind.COUNT,
        dtype="Int64",
        per_image=True,
        compute=lambda r: r.macs,
    ),
    Metric(
        name="size_bytes_32bit",
        direction="minimize",
        label="size in bytes (32-bit weights)",
        short="bytes (32-bit)",
        meaning="bytes at 32 bits per parameter",
        source=Source.ANALYTIC,
        role=Role.COST,
        kind=Kind.COUNT,
        dtype="Int64",
        compute=_size(32),
    ),
    Metric(
        name="size_bytes_8bit",
        direction="minimize",
        label="size in bytes (8-bit weights)",
        short="bytes (8-bit)",
        meaning="bytes at 8 bits per parameter",
        source=Source.ANALYTIC,
        role=Role.COST,
        kind=Kind.COUNT,
        dtype="Int64",
        compute=_size(8),
    ),
    Metric(
        name="peak_sram_bytes",
        direction="minimize",
        label="peak SRAM in bytes (int8 activations)",
        short="peak SRAM B",
        meaning=(
            "peak bytes of int8 activations alive during one operator, ReLU fused, a Fire module's "
            "expands writing one concatenated buffer (docs/guides/count-train.md, Conventions)"
        ),
        source=Source.ANALYTIC,
        role=Role.COST,
        kind=Kind.COUNT,
        dtype="Int64",
        per_image=True,
        compute=lambda r: r.peak_sram_bytes,
    ),
    Metric(
        name="flash_bytes",
        direction="minimize",
        label="flash in bytes (int8 weights)",
        short="flash B",
        meaning=(
            "bytes of int8 weights, int32 biases and one float32 scale per output channel of every "
            "convolution"
        ),
        source=Source.ANALYTIC,
        role=Role.COST,
        kind=Kind.COUNT,
        dtype="Int64",
        compute=lambda r: r.flash_bytes,
    ),
    Metric(
        name="latency_ms",
        direction="minimize",
        label="latency in ms (batch 1, CPU)",
        short="latency ms",
        meaning=(
            "median milliseconds of one batch-1 inference of the deployable network on the search "
            "machine's CPU, 1 thread unless the study says otherwise (sqzdse.latency); NaN if not "
            "measured"
        ),
        source=Source.MEASURED,
        role=Role.COST,
        kind=Kind.NUMBER,
        dtype="float64",
        per_image=True,
    ),
    Metric(
        name="compressed_bytes",
        direction="minimize",
        label="compressed size in bytes (Deep Compression)",
        short="compressed B",
        meaning=(
            "bytes of the trial's Deep Compression file (the space's `compression` settings: "
            "pruned, shared, Huffman-coded; sqzdse.compression); NaN unless compressed"
        ),
        source=Source.COMPRESSED,
        role=Role.COST,
        kind=Kind.COUNT,
        dtype="Int64",
    ),
    Metric(
        name="top1_compressed",
        direction="maximize",
        label="top-1 accuracy after compression",
        short="top-1 compressed",
        meaning=(
            "top-1 accuracy of the network decoded from that file, on the same validation images; "
            "NaN unless compressed"
        ),
        source=Source.COMPRESSED,
        role=Role.ACCURACY,
        kind=Kind.FRACTION,
        dtype="float64",
    ),
    Metric(
        name="top5_compressed",
        direction="maximize",
        label="top-5 accuracy after compression",
        short="top-5 compressed",
        meaning="top-5 accuracy of the network decoded from that file; NaN unless compressed",
        source=Source.COMPRESSED,
        role=Role.ACCURACY,
        kind=Kind.FRACTION,
        dtype="float64",
    ),
    Metric(
        name="top1_int8",
        direction="maximize",
        label="top-1 accuracy of the int8 network",
        short="top-1 int8",
        meaning=(
            "top-1 accuracy of the trial's network quantized to int8 (the space's `quantization` "
            "settings: ONNX Runtime, QDQ, per-channel weights), run by ONNX Runtime on the same "
            "validation images; NaN unless quantized"
        ),
        source=Source.QUANTIZED,
        role=Role.ACCURACY,
        kind=Kind.FRACTION,
        dtype="float64",
    ),
    Metric(
        name="top5_int8",
        direction="maximize",
        label="top-5 accuracy of the int8 network",
        short="top-5 int8",
        meaning="top-5 accuracy of the int8 network; NaN unless quantized",
        source=Source.QUANTIZED,
        role=Role.ACCURACY,
        kind=Kind.FRACTION,
        dtype="float64",
    ),
    Metric(
        name="int8_bytes",
        direction="minimize",
        label="int8 ONNX file in bytes",
        short="int8 file B",
        meaning=(
            "bytes of the int8 ONNX file (int8 weights with their scales and zero points, int32 "
            "biases, the graph); NaN unless quantized"
        ),
        source=Source.QUANTIZED,
        role=Role.COST,
        kind=Kind.COUNT,
        dtype="Int64",
    ),
    Metric(
        name="latency_int8_ms",
        direction="minimize",
        label="int8 latency in ms (ONNX Runtime, batch 1, CPU)",
        short="int8 latency ms",
        meaning=(
            "median milliseconds of one batch-1 inference of the int8 ONNX file with ONNX Runtime "
            "on the search machine's CPU, 1 intra-op thread (as latency_ms); NaN unless quantized"
        ),
        source=Source.QUANTIZED,
        role=Role.COST,
        kind=Kind.NUMBER,
        dtype="float64",
        per_image=True,
    ),
    Metric(
        name="retrained_top1",
        direction="maximize",
        label="retrained validation top-1 accuracy",
        short="retrained top-1",
        meaning=(
            "mean validation top-1 over the seeds of `sqzdse retrain` (longer schedule, full "
            "training split, the study's validation images); NaN unless retrained"
        ),
        source=Source.RETRAINED,
        role=Role.ACCURACY,
        kind=Kind.FRACTION,
        dtype="float64",
        objective=False,
    ),
    Metric(
        name="retrained_top5",
        direction="maximize",
        label="retrained validation top-5 accuracy",
        short="retrained top-5",
        meaning="mean validation top-5 over the seeds of `sqzdse retrain`; NaN unless retrained",
        source=Source.RETRAINED,
        role=Role.ACCURACY,
        kind=Kind.FRACTION,
        dtype="float64",
        objective=False,
    ),
    Metric(
        name="retrained_test_top1",
        direction="maximize",
        label="retrained test top-1 accuracy",
        short="test top-1",
        meaning=(
            "mean top-1 over the seeds of `sqzdse retrain` on the test split, which nothing in a "
            "search reads; NaN unless retrained (or retrained before the three splits)"
        ),
        source=Source.RETRAINED,
        role=Role.ACCURACY,
        kind=Kind.FRACTION,
        dtype="float64",
        objective=False,
    ),
    Metric(
        name="retrained_test_top5",
        direction="maximize",
        label="retrained test top-5 accuracy",
        short="test top-5",
        meaning=(
            "mean top-5 over the seeds of `sqzdse retrain` on the test split; NaN unless retrained"
        ),
        source=Source.RETRAINED,
        role=Role.ACCURACY,
        kind=Kind.FRACTION,
        dtype="float64",
        objective=False,
    ),
    Metric(
        name="train_loss",
        direction="minimize",
        label="final training loss",
        short="loss",
        meaning="final training loss",
        source=Source.TRAINED,
        role=Role.RUN,
        kind=Kind.NUMBER,
        dtype="float64",
        objective=False,
    ),
    Metric(
        name="train_seconds",
        direction="minimize",
        label="training seconds",
        short="train s",
        meaning="seconds of proxy training",
        source=Source.TRAINED,
        role=Role.RUN,
        kind=Kind.NUMBER,
        dtype="float64",
    ),
    Metric(
        name="images_per_second",
        direction="maximize",
        label="images per second",
        short="images/s",
        meaning="training throughput in images per second",
        source=Source.TRAINED,
        role=Role.RUN,
        kind=Kind.NUMBER,
        dtype="float64",
        objective=False,
    ),
)
METRICS: dict[str, Metric] = {m.name: m for m in _TABLE}
OBJECTIVE_NAMES: tuple[str, ...] = tuple(m.name for m in _TABLE if m.objective)
# Columns, tables and detail panels list metrics by source: what is exact, then what training
# measured.
METRIC_ORDER: tuple[str, ...] = tuple(
    m.name for source in Source for m in _TABLE if m.source is source
)
# Names of the metrics other modules spell: a misspelt constant is an ImportError, not a missing
# key (test_stored_blocks checks each is in the table).
TOP1, TOP5, TRAIN_LOSS = "top1", "top5", "train_loss"
PARAMS, MACS = "params", "macs"
DEFAULT_COST = PARAMS  # the cost objective and dashboard axis unless a study says otherwise
DEFAULT_ACCURACY = TOP5  # the paper's measure ...
FEW_CLASSES_ACCURACY = TOP1  # ... but with few classes top-5 is near 1.0 for every network
FEW_CLASSES = 10
TRAIN_SECONDS = "train_seconds"  # what training a trial took, shown as it finishes
LATENCY_MS = "latency_ms"  # measured before training (sqzdse.latency)
# Measured after training when the space has a `compression` section (sqzdse.compression).
COMPRESSED_BYTES, TOP1_COMPRESSED, TOP5_COMPRESSED = (
    "compressed_bytes",
    "top1_compressed",
    "top5_compressed",
)

# Measured after training when the space has a `quantization` section
# (sqzdse.export_model.measure_int8).
TOP1_INT8, TOP5_INT8, INT8_BYTES, LATENCY_INT8_MS = (
    "top1_int8",
    "top5_int8",
    "int8_bytes",
    "latency_int8_ms",
)


def metric(name: str) -> Metric:
    """The metric called `name`; ValueError listing the valid names otherwise."""
    try:
        return METRICS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown metric {name!r}; valid metrics: {', '.join(METRICS)}") from None


def metrics_of(*, source: Source | None = None, role: Role | None = None) -> tuple[str, ...]:
    """Names of the metrics from `source` and/or in `role`, in table order."""
    return tuple(
        m.name
        for m in _TABLE
        if (source is None or m.source is source) and (role is None or m.role is role)
    )


def format_value(name: str, value: Any, *, missing: str = "n/a") -> str:
    """`metric(name).format(value)`: the one way a metric's value is written for people."""
    return metric(name).format(value, missing=missing)


def format_clock(seconds: float) -> str:
    """A duration as progress lines write it: `H:MM:SS` (elapsed, eta)."""
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def analytic_metrics(cfg: ArchConfig) -> dict[str, int]:
    """Every ANALYTIC metric of a network, exact, without training."""
    resolved = resolve(cfg)
    return {m.name: m.compute(resolved) for m in _TABLE if m.compute is not None}


_ANALYTIC = metrics_of(source=Source.ANALYTIC)


@functools.lru_cache(maxsize=4096)
def _cached_analytic_metrics(cfg: ArchConfig) -> dict[str, int]:
    return analytic_metrics(cfg)  # callers read it only


# ---------------------------------------------------------------------------- trial records


class Status(enum.StrEnum):
    """What became of a trial; stored as its `status` attribute."""

    OK = "ok"  # trained
    REUSED = "reused"  # an architecture trained before in this study: its result is reused
    FAILED = "failed"  # training failed (non-finite loss, out of memory, interrupted, ...)
    INFEASIBLE = "infeasible"  # over a constraint budget: never trained
    STOPPED = "stopped"  # stopped at a rung of successive halving: a partial curve, no accuracy


@dataclass(frozen=True)
class Epoch:
    """One point of a learning curve: after `epoch` epochs, `seconds` after the run started.

    `val_loss` is the mean cross-entropy (no label smoothing) on the validation images; None in
    curves stored before it was measured, and then left out of the stored entry.
    """

    epoch: int
    train_loss: float
    top1: float
    top5: float
    seconds: float
    val_loss: float | None = None

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        if self.val_loss is None:
            del data["val_loss"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> Epoch | None:
        """The epoch of a stored curve entry, or None for an entry that is not one."""
        try:
            return cls(
                **{
                    f.name: data[f.name]
                    for f in dataclasses.fields(cls)
                    if f.name in data or f.default is dataclasses.MISSING
                }
            )
        except (KeyError, TypeError):
            return None


@dataclass(frozen=True)
class Rung:
    """A trial at a rung of successive halving: its `values` there (the study's objectives, the
    accuracy at `epoch`), the numbers of the trials whose values it was ranked `among`, and the
    decision (`sqzdse.search._rungs.Decision`): enough for any reader to recompute it."""

    epoch: int
    values: tuple[float, ...]
    among: tuple[int, ...]
    continues: bool
    position: int
    kept: int
    n: int
    reason: str

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "values": list(self.values), "among": list(self.among)}

    @classmethod
    def from_dict(cls, data: Any) -> Rung | None:
        """The rung of a stored entry, or None for an entry that is not one."""
        try:
            return cls(
                **{
                    **{f.name: data[f.name] for f in dataclasses.fields(cls)},
                    "values": tuple(data["values"]),
                    "among": tuple(data["among"]),
                }
            )
        except (KeyError, TypeError):
            return None


# A study attribute that says what a study holds when it is not a search: `sqzdse fidelity`'s
# studies hold one training run per trial (sqzdse.fidelity._store), which search readers refuse.
STUDY_KIND, FIDELITY_KIND = "kind", "fidelity"

# Trial user attributes other than the metrics.
_ARCH, _STATUS, _REASON, _CURVE = "arch", "status", "failure_reason", "curve"
_DEVICE, _VERSIONS, _REUSED_FROM, _RUNGS = "device", "versions", "reused_from", "rungs"
_LATENCY, _WEIGHTS = "latency", "weights"
_COMPRESSION, _QUANTIZATION = "compression", "quantization"


# The accuracies of a retraining block, each the mean over its seeds; `retrained_<name>` metrics.
RETRAINED_ACCURACIES = ("top1", "top5", "test_top1", "test_top5")


def finite_number(value: Any) -> float | None:
    """A stored number, or None for anything else (absent, text, a bool, NaN): how readers
    take a number from a stored block."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def whole_number(value: Any) -> int | None:
    """A stored count (its integer part, as `finite_number` reads it), or None for anything else."""
    number = finite_number(value)
    return None if number is None else int(number)


def text_or_none(value: Any) -> str | None:
    """A stored string, or None for anything else."""
    return value if isinstance(value, str) else None


def mapping_or_none(value: Any) -> Mapping[str, Any] | None:
    """A stored mapping (a nested block), or None for anything else."""
    return value if isinstance(value, Mapping) else None


def list_or_empty(value: Any) -> list:
    """A stored list, or [] for anything else."""
    return value if isinstance(value, list) else []


@dataclass(frozen=True, kw_only=True)
class SeedRun:
    """One seed of `sqzdse retrain`: validation accuracy (as the search measures it) and test
    accuracy of the trained, deployable network. Read back, what a stored run lacks is None (runs
    from before the three splits have no test accuracy)."""

    seed: int | None
    top1: float | None  # validation
    top5: float | None
    test_top1: float | None
    test_top5: float | None
    train_seconds: float | None
    device: str | None
    curve: tuple[Epoch, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"curve": [e.to_dict() for e in self.curve]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SeedRun:
        seed, device = data.get("seed"), data.get("device")
        entries = data.get("curve")
        curve = (Epoch.from_dict(e) for e in list_or_empty(entries) if isinstance(e, Mapping))
        return cls(
            seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
            top1=finite_number(data.get("top1")),
            top5=finite_number(data.get("top5")),
            test_top1=finite_number(data.get("test_top1")),
            test_top5=finite_number(data.get("test_top5")),
            train_seconds=finite_number(data.get("train_seconds")),
            device=device if isinstance(device, str) else None,
            curve=tuple(e for e in curve if e is not None),
        )


@dataclass(frozen=True, kw_only=True)
class Retraining:
    """What `sqzdse retrain` records about one network (`retrained:<number>` for a trial,
    `retrained_baseline:<preset>` for SqueezeNet): its settings and splits, each seed's run, the
    means over the seeds (`top1` / `top5` on the validation images, comparable with the proxy's;
    `test_*` on the test split, None in a block from before the three splits), the first seed's
    weights. Read back with `from_dict`, which takes whatever an older block holds."""

    settings: Mapping[str, Any]  # Training's fields
    splits: Mapping[str, Any]  # image counts (train, val, test) and the convention
    seeds: tuple[SeedRun, ...]
    top1: float | None
    top5: float | None
    test_top1: float | None
    test_top5: float | None
    test_top1_by_seed: tuple[float | None, ...] | None
    train_seconds: float | None  # all seeds
    device: str | None
    weights: Mapping[str, Any] | None  # the first seed's (sqzdse.artifacts)
    versions: Mapping[str, Any]
    finished: str | None  # ISO time

    @classmethod
    def of_runs(
        cls,
        runs: Sequence[SeedRun],
        *,
        settings: Mapping[str, Any],
        splits: Mapping[str, Any],
        weights: Mapping[str, Any] | None,
        versions: Mapping[str, Any],
    ) -> Retraining:
        """The block of a network's finished runs (every accuracy measured)."""

        def mean(key: str) -> float:
            return statistics.fmean(getattr(r, key) for r in runs)

        return cls(
            settings=settings,
            splits=splits,
            seeds=tuple(runs),
            top1=mean("top1"),
            top5=mean("top5"),
            test_top1=mean("test_top1"),
            test_top5=mean("test_top5"),
            test_top1_by_seed=tuple(r.test_top1 for r in runs),
            train_seconds=sum(r.train_seconds or 0.0 for r in runs),
            device=runs[0].device,
            weights=weights,
            versions=versions,
            finished=datetime.datetime.now().isoformat(timespec="seconds"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The block as the study stores it (plain JSON data)."""
        data = {
            "settings": dict(self.settings),
            "splits": dict(self.splits),
            "seeds": [r.to_dict() for r in self.seeds],
            **{key: getattr(self, key) for key in RETRAINED_ACCURACIES},
            "test_top1_by_seed": None
            if self.test_top1_by_seed is None
            else list(self.test_top1_by_seed),
            "train_seconds": self.train_seconds,
            "device": self.device,
            "weights": None if self.weights is None else dict(self.weights),
            "versions": dict(self.versions),
            "finished": self.finished,
        }
        if self.test_top1_by_seed is None:
            del data["test_top1_by_seed"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Retraining:
        def mapping(key: str) -> Mapping[str, Any]:
            return data[key] if isinstance(data.get(key), Mapping) else {}

        seeds = list_or_empty(data.get("seeds"))
        by_seed = data.get("test_top1_by_seed")
        weights, device, finished = data.get("weights"), data.get("device"), data.get("finished")
        return cls(
            settings=mapping("settings"),
            splits=mapping("splits"),
            seeds=tuple(SeedRun.from_dict(s) for s in seeds if isinstance(s, Mapping)),
            **{key: finite_number(data.get(key)) for key in RETRAINED_ACCURACIES},
            test_top1_by_seed=tuple(map(finite_number, by_seed))
            if isinstance(by_seed, list)
            else None,
            train_seconds=finite_number(data.get("train_seconds")),
            device=device if isinstance(device, str) else None,
            weights=weights if isinstance(weights, Mapping) else None,
            versions=mapping("versions"),
            finished=finished if isinstance(finished, str) else None,
        )

    def by_seed(self, key: str) -> tuple[float, ...]:
        """`key` (an accuracy of `RETRAINED_ACCURACIES`) of each seed; () unless every seed has
        it (test top-1 from `test_top1_by_seed` where the block has it)."""
        if key == "test_top1" and self.test_top1_by_seed is not None:
            values = list(self.test_top1_by_seed)
        else:
            values = [getattr(r, key) for r in self.seeds]
        return () if None in values else tuple(v for v in values if v is not None)


@dataclass(frozen=True)
class TrialRecord:
    """Everything sqzdse knows about one trial.

    `number`, `state`, `values` and the times are Optuna's, filled only when read from a stored
    trial.
    `arch` is None while a trial has not recorded it yet, or when its stored architecture is not
    valid for this version (then `arch_error` says why).
    """

    arch: ArchConfig | None = None
    status: Status | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    curve: tuple[Epoch, ...] = ()
    failure_reason: str | None = None
    reused_from: int | None = None
    device: str | None = None
    versions: Mapping[str, str] | None = None
    rungs: tuple[Rung, ...] = ()
    # The blocks below are kept as stored (plain JSON data, copied as is to a reused twin); each
    # has one owner class that writes it and reads it back field by field with `from_dict`.
    latency: Mapping[str, Any] | None = None  # how latency_ms was measured: latency.Latency
    weights: Mapping[str, Any] | None = None  # its stored weights: artifacts.StoredWeights
    compression: Mapping[str, Any] | None = None  # compression.CompressionReport
    quantization: Mapping[str, Any] | None = None  # its int8 block: quantization.Int8Block
    retrained: Retraining | None = None  # `sqzdse retrain`'s block, attached by readers
    number: int | None = None
    state: str | None = None  # Optuna's TrialState name
    values: tuple[float, ...] | None = None  # the objective values of a COMPLETE trial
    datetime_start: datetime.datetime | None = None
    datetime_complete: datetime.datetime | None = None
    arch_error: str | None = None

    def replace(self, **changes) -> TrialRecord:
        return dataclasses.replace(self, **changes)

    def with_retrained(self, block: Mapping[str, Any] | None) -> TrialRecord:
        """This record with `sqzdse retrain`'s result for its network, the block as stored
        (None: unchanged)."""
        if not isinstance(block, Mapping):
            return self
        retrained = Retraining.from_dict(block)
        accuracies = {
            f"retrained_{name}": value
            for name in RETRAINED_ACCURACIES
            if (value := getattr(retrained, name)) is not None
        }
        return self.replace(retrained=retrained, metrics={**self.metrics, **accuracies})

    @property
    def epochs_trained(self) -> int | None:
        """Epochs its result was trained for (its curve's length); None without a curve."""
        return len(self.curve) or None

    def user_attrs(self) -> dict[str, Any]:
        """The user attributes this record stores on its trial (absent fields are left out)."""
        attrs: dict[str, Any] = {}
        if self.arch is not None:
            attrs[_ARCH] = self.arch.to_dict()
        attrs.update({name: value for name, value in self.metrics.items() if value is not None})
        if self.curve:
            attrs[_CURVE] = [e.to_dict() for e in self.curve]
        if self.rungs:
            attrs[_RUNGS] = [r.to_dict() for r in self.rungs]
        optional = {
            _STATUS: None if self.status is None else str(self.status),
            _REASON: self.failure_reason,
            _REUSED_FROM: self.reused_from,
            _DEVICE: self.device,
            _VERSIONS: self.versions,
            _LATENCY: self.latency,
            _WEIGHTS: self.weights,
            _COMPRESSION: self.compression,
            _QUANTIZATION: self.quantization,
        }
        attrs.update({key: value for key, value in optional.items() if value is not None})
        return attrs

    def write(self, trial, *, written: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Store this record on a running Optuna trial, skipping what `written` (the result of an
        earlier `write`) already stored with the same value. Returns everything now stored."""
        attrs = self.user_attrs()
        for key, value in attrs.items():
            if written is None or key not in written or written[key] != value:
                trial.set_user_attr(key, value)
        return attrs

    def reusing(self, earlier: TrialRecord) -> TrialRecord:
        """This record with the training result of `earlier`, which trained the same network: a
        completed one, or one stopped at a rung (then this trial is stopped there too)."""
        trained = (
            metrics_of(source=Source.TRAINED)
            + metrics_of(source=Source.MEASURED)
            + metrics_of(source=Source.COMPRESSED)
            + metrics_of(source=Source.QUANTIZED)
        )
        stopped = earlier.status is Status.STOPPED
        return self.replace(
            status=Status.STOPPED if stopped else Status.REUSED,
            failure_reason=(
                f"same network as trial {earlier.number}, {earlier.failure_reason}"
                if stopped
                else None
            ),
            reused_from=earlier.number,
            curve=earlier.curve,
            device=earlier.device,
            versions=earlier.versions,
            latency=earlier.latency,
            weights=earlier.weights,
            compression=earlier.compression,
            quantization=earlier.quantization,
            metrics={**self.metrics, **{k: v for k, v in earlier.metrics.items() if k in trained}},
        )

    @classmethod
    def from_trial(cls, trial, objective_names: Sequence[str] = ()) -> TrialRecord:
        """The record of a stored (frozen) Optuna trial. A metric missing from its attributes is
        taken from its objective values, named by `objective_names`."""
        attrs = trial.user_attrs
        arch, error = _arch(attrs.get(_ARCH))
        values = dict(zip(objective_names, trial.values or ()))
        metrics = {name: attrs.get(name, values.get(name)) for name in METRICS}
        curve = attrs.get(_CURVE)
        rungs = attrs.get(_RUNGS)
        status = attrs.get(_STATUS)
        return cls(
            arch=arch,
            arch_error=error,
            status=Status(status) if status in Status._value2member_map_ else None,
            metrics={name: value for name, value in metrics.items() if value is not None},
            curve=tuple(
                e
                for e in map(Epoch.from_dict, curve if isinstance(curve, list) else ())
                if isinstance(e, Epoch)
            ),
            rungs=tuple(
                r
                for r in map(Rung.from_dict, rungs if isinstance(rungs, list) else ())
                if isinstance(r, Rung)
            ),
            failure_reason=attrs.get(_REASON),
            reused_from=attrs.get(_REUSED_FROM),
            device=attrs.get(_DEVICE),
            versions=attrs.get(_VERSIONS),
            latency=attrs.get(_LATENCY) if isinstance(attrs.get(_LATENCY), dict) else None,
            weights=attrs.get(_WEIGHTS) if isinstance(attrs.get(_WEIGHTS), dict) else None,
            compression=(
                attrs.get(_COMPRESSION) if isinstance(attrs.get(_COMPRESSION), dict) else None
            ),
            quantization=(
                attrs.get(_QUANTIZATION) if isinstance(attrs.get(_QUANTIZATION), dict) else None
            ),
            number=trial.number,
            state=trial.state.name,
            values=tuple(trial.values) if trial.values else None,
            datetime_start=trial.datetime_start,
            datetime_complete=trial.datetime_complete,
        )

    def row(self) -> dict[str, Any]:
        """The trial's row of the trials DataFrame: every column of TRIAL_COLUMNS but `pareto`."""
        arch = self.arch
        row: dict[str, Any] = {
            "number": self.number,
            "state": self.state,
            "status": None if self.status is None else str(self.status),
            "epochs_trained": self.epochs_trained,
        }
        for name in ARCH_COLUMNS:
            row[name] = None if arch is None else getattr(arch, name)
        if arch is not None:
            row["pool_after"] = ",".join(arch.pool_after)
        metrics = self.metrics
        if arch is not None and not all(name in metrics for name in _ANALYTIC):
            # exact from the architecture, so a trial stored before such a metric existed has it
            metrics = {**_cached_analytic_metrics(arch), **metrics}
        row.update({name: metrics.get(name) for name in METRICS})
        row.update(
            failure_reason=self.failure_reason,
            reused_from=self.reused_from,
            datetime_start=self.datetime_start,
            datetime_complete=self.datetime_complete,
        )
        return row


def _arch(stored: Any) -> tuple[ArchConfig | None, str | None]:
    if stored is None:
        return None, None
    if not isinstance(stored, dict):
        return None, f"it is not a mapping of architecture fields ({stored!r})"
    try:
        return _cached_arch(json.dumps(stored, sort_keys=True)), None
    except (ArchError, TypeError, ValueError) as err:
        return None, str(err)


@functools.lru_cache(maxsize=4096)
def _cached_arch(stored: str) -> ArchConfig:
    """Studies repeat architectures (reused trials, many readers of one study): build each once."""
    return ArchConfig.from_dict(json.loads(stored))


RETRAINED_PREFIX = "retrained:"  # study attribute of one trial's retraining: retrained:<number>
LEGACY_SPLITS = "legacy"  # studies from before the three splits


def validation_label(splits: Mapping[str, Any] | None) -> str:
    """Where a study's proxy accuracies come from, for axis titles and reports."""
    if not splits:
        return (
            "validation split of a study from before the three splits (for sets with an official "
            "test split, the test images)"
        )
    counts = f"{splits.get('val', 0):,} validation images"
    if splits.get("convention") == "official-test":
        return f"{counts}, held out from the training images; the test split is never read"
    return f"{counts}, one of three per-class splits; the test split is never read"


def retrained_blocks(study_attrs: Mapping[str, Any]) -> dict[int, Mapping[str, Any]]:
    """{trial number: `sqzdse retrain`'s block} from a study's user attributes."""
    blocks: dict[int, Mapping[str, Any]] = {}
    for key, value in study_attrs.items():
        number = key.removeprefix(RETRAINED_PREFIX)
        if key.startswith(RETRAINED_PREFIX) and number.isdigit() and isinstance(value, dict):
            blocks[int(number)] = value
    return blocks


# ---------------------------------------------------------------------------- the row layout


class Column(NamedTuple):
    """One column of the trials DataFrame and of every export."""

    name: str
    dtype: str  # a pandas dtype name
    meaning: str


# The architecture fields that are columns (`arch.ARCH_FIELDS`), and the design choices a search
# varies among them.
ARCH_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields_of(column=True))
DESIGN_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields_of(*DESIGN_GROUPS, column=True))

TRIAL_COLUMNS: tuple[Column, ...] = (
    Column("number", "int64", "trial number in the study, from 0"),
    Column("state", "string", "Optuna trial state: COMPLETE, PRUNED, FAIL, RUNNING or WAITING"),
    Column(
        "status",
        "string",
        "sqzdse status: ok, reused, stopped, failed or infeasible; missing while running",
    ),
    Column(
        "epochs_trained",
        "Int64",
        "epochs the result was trained for: the space's epochs, fewer when stopped at a rung",
    ),
    *(Column(f.name, f.dtype, f.meaning) for f in fields_of(column=True)),
    *(Column(name, METRICS[name].dtype, METRICS[name].meaning) for name in METRIC_ORDER),
    Column("pareto", "bool", "on the Pareto front of the study's own objectives"),
    Column(
        "failure_reason",
        "string",
        "why the trial failed, was infeasible or was stopped; missing otherwise",
    ),
    Column("reused_from", "Int64", "number of the trial whose training result this trial reused"),
    Column(
        "datetime_start",
        "datetime64[us]",
        "when the trial started (local time, as Optuna stores it)",
    ),
    Column("datetime_complete", "datetime64[us]", "when the trial finished; NaT while running"),
)
COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in TRIAL_COLUMNS)


# ---------------------------------------------------------------------------- study attributes


@dataclass(frozen=True)
class StudyInfo:
    """What a sqzdse study stores about itself, as study user attributes of the same names."""

    space_hash: str | None = None  # identifies what its trials measure (`SearchSpace.hash`)
    space: Mapping[str, Any] | None = None  # the validated search space, as a dict
    objectives: tuple[tuple[str, str], ...] = ()  # (metric, direction), in the order of its values
    dataset: str | None = None
    num_classes: int | None = None
    accuracy_note: str = ""  # how the accuracy objective was chosen, when it was chosen for you
    # how its data set was split (`sqzdse.data.Splits.to_dict()`: convention, val_fraction, train
    # and val image counts); None for studies from before the three splits, whose validation
    # images were the official test images (`LEGACY_SPLITS`)
    splits: Mapping[str, Any] | None = None

    def write(self, study) -> None:
        """Store every attribute on `study`, objectives as [[name, direction], ...]. `space_hash`
        goes last: a study that has it has all the others (an interrupted write lacks it)."""
        stored = self._stored()
        space_hash = stored.pop("space_hash")
        for key, value in stored.items():
            study.set_user_attr(key, value)
        study.set_user_attr("space_hash", space_hash)

    def _stored(self) -> dict[str, Any]:
        stored = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        stored["objectives"] = [list(pair) for pair in self.objectives]
        return stored

    @classmethod
    def read(cls, study) -> StudyInfo:
        """The attributes a study holds; those it lacks (or holds malformed) are left at None."""
        attrs = study.user_attrs
        objectives = attrs.get("objectives")
        pairs = (
            tuple(tuple(p) for p in objectives if isinstance(p, (list, tuple)) and len(p) == 2)
            if isinstance(objectives, list)
            else ()
        )
        num_classes = attrs.get("num_classes")
        space = attrs.get("space")
        return cls(
            space_hash=attrs.get("space_hash"),
            space=space if isinstance(space, dict) else None,
            objectives=pairs,
            dataset=attrs.get("dataset"),
            num_classes=num_classes
            if isinstance(num_classes, int) and not isinstance(num_classes, bool)
            else None,
            accuracy_note=str(attrs.get("accuracy_note") or ""),
            splits=attrs.get("splits") if isinstance(attrs.get("splits"), dict) else None,
        )

    @property
    def validation_label(self) -> str:
        """Which images a trial's accuracy was measured on, for people."""
        return validation_label(self.splits)

    @property
    def training(self) -> Mapping[str, Any]:
        """The `training` section of the stored space (empty when the study lacks it)."""
        training = self.space.get("training") if self.space else None
        return training if isinstance(training, dict) else {}
