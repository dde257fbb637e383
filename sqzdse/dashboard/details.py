"""One trial in detail: its layer table (exact analytic counts), metrics, learning curve, the
decisions at the rungs of successive halving, its Deep Compression report, its retraining by
`sqzdse retrain` (validation and test accuracy per seed), and the `sqzdse train` command that
rebuilds it. Pure functions of StudyData."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sqzdse.arch import ARCH_FIELDS, COMMAND_GROUPS, ArchConfig, layer_table, preset
from sqzdse.compression import CompressionReport, LayerReport, Settings, StoredSettings
from sqzdse.dashboard.study_data import StudyData
from sqzdse.records import (
    METRIC_ORDER,
    METRICS,
    Epoch,
    Retraining,
    Status,
    metric,
    whole_number,
)

# ArchConfig field -> `sqzdse train` flag, in the order the command lists them: always given ...
ARCH_FLAGS = tuple(
    (f.name, f.flag_name) for f in ARCH_FIELDS if f.flag and f.group in COMMAND_GROUPS
)
# `training` section key of the study's space -> flag: always given (a note says when unrecorded).
TRAINING_FLAGS = (("dataset", "--dataset"), ("epochs", "--epochs"), ("seed", "--seed"))
# ... and given when the study set them (None means the data set's or trainer's default).
OPTIONAL_TRAINING_FLAGS = (
    ("data_root", "--data-root"),
    ("train_per_class", "--train-per-class"),
    ("val_per_class", "--val-per-class"),
    ("batch_size", "--batch-size"),
)
# ... and given where they differ from the preset the command starts from (the stem, dropout).
PRESET_FLAGS = tuple(
    (f.name, f.flag_name) for f in ARCH_FIELDS if f.flag and f.group not in COMMAND_GROUPS
)


@dataclass(frozen=True)
class TrialDetail:
    """Everything the detail panel shows about one trial."""

    study: str
    number: int
    state: str
    status: str | None
    failure_reason: str | None
    reused_from: int | None
    metrics: tuple[tuple[str, str], ...]  # (label, formatted value), in the metric table's order
    layers: tuple[dict, ...]  # rows of `sqzdse count`: name, kind, output_shape, filters, ...
    command: str | None
    command_notes: tuple[str, ...]
    curve: tuple[Epoch, ...]
    arch_error: str | None = None


def trial_detail(data: StudyData, number: int) -> TrialDetail | None:
    """The detail of trial `number` of `data`, or None when the study has no such trial."""
    rows = data.frame.loc[data.frame["number"] == number]
    if not len(rows):
        return None
    row = rows.iloc[0]
    record = data.records.get(int(number))
    layers: tuple[dict, ...] = ()
    command: str | None = None
    notes: Sequence[str] = ()
    error: str | None = None
    if record is None or (record.arch is None and record.arch_error is None):
        error = "this trial records no architecture (it may still be starting)"
    elif record.arch is None:
        error = f"its recorded architecture is not valid here: {record.arch_error}"
    else:
        layers = tuple(layer_table(record.arch))
        command, notes = train_command(record.arch, training=data.training, dataset=data.dataset)
    return TrialDetail(
        study=data.name,
        number=int(number),
        state=str(row["state"]),
        status=_text(row["status"]),
        failure_reason=_text(row["failure_reason"]),
        reused_from=None if pd.isna(row["reused_from"]) else int(row["reused_from"]),
        metrics=tuple(
            (metric(name).label, metric(name).format(row[name]))
            for name in METRIC_ORDER
            if not pd.isna(row[name])
        ),
        layers=layers,
        command=command,
        command_notes=tuple(notes),
        curve=record.curve if record is not None else (),
        arch_error=error,
    )


@dataclass(frozen=True)
class CompressedLayer:
    """One convolution of a Deep Compression report, for people (`compression.LayerReport`);
    "n/a" where the report lacks a value."""

    name: str  # conv1, fire2.squeeze, ..., conv10; "total" for the sum of the layers
    weights: str  # "1,728"
    nonzero: str
    density: str  # nonzero / weights: "33.3%"
    bits: str  # bits of a weight's index into the shared values
    gap_bits: str  # width of a relative index gap
    fillers: str  # entries added where a gap overflowed that width
    estimate_bytes: str  # fixed width: entries x (bits + gap bits), shared values, bias
    file_bytes: str  # its Huffman-coded section of the file and its bias


@dataclass(frozen=True)
class CompressionDetail:
    """A trial's Deep Compression report (`compression.CompressionReport.to_dict`), for people."""

    settings: str  # "density 33% · 6 bits per weight · 3 fine-tune epochs per phase"
    totals: tuple[tuple[str, str], ...]  # (label, value): bytes, ratio, accuracy before -> after
    layers: tuple[CompressedLayer, ...]  # one per convolution, then a "total" row; or none


def trial_compression(data: StudyData, number: int) -> CompressionDetail | None:
    """The Deep Compression report of trial `number`, for people; None when it was not
    compressed (or the study has no such trial)."""
    record = data.records.get(int(number))
    return None if record is None else compression_detail(record.compression)


def compression_detail(
    report: CompressionReport | Mapping[str, Any] | None,
) -> CompressionDetail | None:
    """The report a trial's `compression` attribute holds (or the report itself), for people;
    None without one."""
    if isinstance(report, Mapping):
        report = CompressionReport.from_dict(report)
    if not isinstance(report, CompressionReport):
        return None
    ratio, seconds = report.ratio, report.seconds
    totals = (
        ("compressed file", _bytes(report.file_bytes)),
        ("of which header", _bytes(report.header_bytes)),
        ("fixed-width estimate (layers, no Huffman)", _bytes(report.estimate_bytes)),
        ("32-bit weights", _bytes(report.dense_bytes)),
        ("ratio vs 32-bit", "n/a" if ratio is None else f"{ratio:.1f}× smaller"),
        *(
            (f"{name} before → after", f"{_percent(before)} → {_percent(after)}")
            for name, before, after in (
                ("top-1", report.top1_before, report.top1_after),
                ("top-5", report.top5_before, report.top5_after),
            )
        ),
        ("compression time", "n/a" if seconds is None else f"{seconds:,.1f} s"),
    )
    layers = report.layers
    return CompressionDetail(
        settings=_settings(report.settings),
        totals=totals,
        layers=(*map(_compressed_layer, layers), _compressed_total(layers)) if layers else (),
    )


def _settings(settings: Settings | StoredSettings) -> str:
    density, bits, epochs = settings.density, settings.bits, settings.finetune_epochs
    if epochs is None:
        finetune = "fine-tune epochs n/a"
    elif epochs == 0:
        finetune = "no fine-tuning"
    else:
        finetune = f"{epochs} fine-tune epoch{'' if epochs == 1 else 's'} per phase"
    return " · ".join(
        (
            "density n/a" if density is None else f"density {100 * density:.4g}%",
            "bits n/a" if bits is None else f"{bits} bits per weight",
            finetune,
        )
    )


def _compressed_layer(layer: LayerReport) -> CompressedLayer:
    return CompressedLayer(
        name="n/a" if layer.name is None else layer.name,
        weights=_count(layer.weights),
        nonzero=_count(layer.nonzero),
        density=_percent(layer.density, digits=1),
        bits=_count(layer.bits),
        gap_bits=_count(layer.index_bits),
        fillers=_count(layer.fillers),
        estimate_bytes=_count(layer.estimate_bytes),
        file_bytes=_count(layer.file_bytes),
    )


def _compressed_total(layers: Sequence[LayerReport]) -> CompressedLayer:
    def total(key: str) -> int | None:
        values = [getattr(layer, key) for layer in layers]
        return None if None in values else sum(values)

    weights, nonzero = total("weights"), total("nonzero")
    return CompressedLayer(
        name="total",
        weights=_count(weights),
        nonzero=_count(nonzero),
        density=_percent(nonzero / weights if weights and nonzero is not None else None, digits=1),
        bits="",
        gap_bits="",
        fillers=_count(total("fillers")),
        estimate_bytes=_count(total("estimate_bytes")),
        file_bytes=_count(total("file_bytes")),
    )


def _count(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def _bytes(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,} bytes"


def _percent(value: float | None, *, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}%}"


@dataclass(frozen=True)
class RetrainedDetail:
    """A trial's retraining by `sqzdse retrain` (its `retrained:<number>` block), for people:
    validation top-1 (the split the search selects on) and test top-1, mean and per seed."""

    settings: str  # "3 seeds (0, 1, 2) · 30 epochs · 45,000 training, 5,000 validation, ..."
    rows: tuple[tuple[str, str], ...]  # (label, value)


def trial_retrained(data: StudyData, number: int) -> RetrainedDetail | None:
    """The retraining of trial `number` (or of the twin whose result it reused); None when it
    was not retrained (or the study has no such trial)."""
    record = data.records.get(int(number))
    return None if record is None else retrained_detail(record.retrained)


def retrained_detail(block: Retraining | None) -> RetrainedDetail | None:
    """A network's retraining block (`records.Retraining`), for people; None without one."""
    if block is None:
        return None
    rows = []
    validation = [s.top1 for s in block.seeds]
    test = [s.test_top1 for s in block.seeds] or list(block.test_top1_by_seed or ())
    for name, mean, by_seed in (
        ("validation top-1", block.top1, validation),
        ("test top-1", block.test_top1, test),
    ):
        if mean is None:
            continue
        known = [v for v in by_seed if v is not None]
        spread = f" ± {(max(known) - min(known)) / 2:.2%}" if len(known) > 1 else ""
        over = f", mean of {len(by_seed)} seeds" if len(by_seed) > 1 else ""
        rows.append((f"{name}{over}", _percent(mean) + spread))
        if len(by_seed) > 1:
            rows.append((f"{name} per seed", " · ".join(map(_percent, by_seed))))
    for name, top5 in (
        ("validation top-5, mean", block.top5),
        ("test top-5, mean", block.test_top5),
    ):
        if top5 is not None:
            rows.append((name, _percent(top5)))
    if block.train_seconds is not None:
        rows.append(("training time, all seeds", f"{block.train_seconds:,.0f} s"))
    return RetrainedDetail(settings=_retrain_settings(block), rows=tuple(rows))


def _retrain_settings(block: Retraining) -> str:
    settings, splits = block.settings, block.splits
    numbers = [s.seed for s in block.seeds if s.seed is not None]
    parts = []
    if numbers:
        parts.append(f"{len(numbers)} seed{'s' if len(numbers) > 1 else ''} ({_join(numbers)})")
    epochs = whole_number(settings.get("epochs"))
    if epochs is not None:
        parts.append(f"{epochs} epochs")
    counts = [
        f"{_count(count)} {k if k != 'val' else 'validation'}"
        for k in ("train", "val", "test")
        if (count := whole_number(splits.get(k))) is not None
    ]
    if counts:
        convention = f" ({splits['convention']})" if splits.get("convention") else ""
        parts.append(f"{', '.join(counts)} images{convention}")
    return " · ".join(parts) or "settings not recorded"


def _join(values) -> str:
    return ", ".join(map(str, values))


@dataclass(frozen=True)
class RungDecision:
    """A trial at one rung of successive halving, for people (`records.Rung`)."""

    epoch: int
    values: str  # its objective values at that epoch, e.g. "top-5 80.00% · params 727,626"
    ranked: str  # its place among the results at the rung, from 1: "4 of 6"
    kept: int  # how many of them go on
    continues: bool


def rung_decisions(data: StudyData, number: int) -> tuple[RungDecision, ...]:
    """The rungs trial `number` reached, in order; empty without successive halving."""
    record = data.records.get(int(number))
    if record is None:
        return ()
    names = [name for name, _ in data.objectives]
    return tuple(
        RungDecision(
            epoch=rung.epoch,
            values=_objective_values(names, rung.values),
            ranked=f"{rung.position + 1} of {rung.n}",
            kept=rung.kept,
            continues=rung.continues,
        )
        for rung in record.rungs
    )


def _objective_values(names: list[str], values: tuple[float, ...]) -> str:
    if len(names) != len(values) or not all(name in METRICS for name in names):
        return ", ".join(f"{v:.4g}" for v in values)
    return " · ".join(
        f"{metric(name).short} {metric(name).format(value)}" for name, value in zip(names, values)
    )


def train_command(
    cfg: ArchConfig, *, training: Mapping, dataset: str | None
) -> tuple[str, list[str]]:
    """The `sqzdse train` command that rebuilds `cfg` with the study's training settings, and notes
    on anything the command cannot carry (input channels, settings the study did not record)."""
    words = ["sqzdse", "train"]
    notes = []
    base = "v1.1" if cfg.stem_kernel == preset("v1.1").stem_kernel else "v1.0"
    if base == "v1.1":
        words += ["--preset", "v1.1"]
    for name, flag in ARCH_FLAGS:
        words += [flag, _word(getattr(cfg, name))]
    for name, flag in PRESET_FLAGS:
        if getattr(cfg, name) != getattr(preset(base), name):
            words += [flag, _word(getattr(cfg, name))]
    if cfg.in_channels != preset(base).in_channels:
        notes.append(
            f"This network takes {cfg.in_channels} input channels and no `sqzdse train` "
            "flag sets that: the data sets all have 3."
        )
    settings = dict(training)
    if dataset and not settings.get("dataset"):
        settings["dataset"] = dataset
    missing = []
    for key, flag in TRAINING_FLAGS:
        if settings.get(key) is None:
            missing.append(key)
        else:
            words += [flag, _word(settings[key])]
    for key, flag in OPTIONAL_TRAINING_FLAGS:
        if settings.get(key) is not None:
            words += [flag, _word(settings[key])]
    if missing:
        notes.append(
            f"The study does not record its training {' or '.join(missing)}: the command "
            "leaves them at their defaults."
        )
    return " ".join(shlex.quote(w) for w in words), notes


def _word(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(value)
    if isinstance(value, float):
        return repr(value)  # the exact decimal written, e.g. 0.125
    return str(value)


def _text(value) -> str | None:
    return None if pd.isna(value) else str(value)


def status_line(detail: TrialDetail) -> str:
    """One sentence on the trial's outcome; for a trial stopped at a rung, the epoch its curve
    reached."""
    text = f"{detail.study} trial #{detail.number}: {detail.state.lower()}"
    reason = detail.failure_reason
    if detail.status == Status.STOPPED and detail.curve:
        where = f"stopped at epoch {detail.curve[-1].epoch}"
        # The search's reason starts by saying so ("stopped at epoch 1 of 3: ranked ..."): once.
        if reason and re.match(rf"{where}\b", reason):
            where, reason = reason, None
        text += f", {where}"
    elif detail.status:
        text += f", {detail.status}"
    if detail.reused_from is not None:
        text += f" (training result reused from trial #{detail.reused_from})"
    if reason:
        text += f": {reason}"
    return text + "."
