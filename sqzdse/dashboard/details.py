"""One trial in detail: its layer table (exact analytic counts), metrics, learning curve, the
decisions at the rungs of successive halving, and the `sqzdse train` command that rebuilds it. Pure
functions of StudyData."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from sqzdse.arch import ArchConfig, layer_table, preset
from sqzdse.dashboard.study_data import StudyData
from sqzdse.records import METRIC_ORDER, METRICS, Epoch, Status, metric

# ArchConfig field -> `sqzdse train` flag, in the order the command lists them.
ARCH_FLAGS = (
    ("base_e", "--base-e"),
    ("incr_e", "--incr-e"),
    ("pct_3x3", "--pct-3x3"),
    ("freq", "--freq"),
    ("sr", "--sr"),
    ("num_modules", "--num-modules"),
    ("pool_after", "--pool-after"),
    ("bypass", "--bypass"),
    ("num_classes", "--num-classes"),
    ("resolution", "--resolution"),
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
# ... and given where they differ from the preset the command starts from.
PRESET_FLAGS = (
    ("stem_filters", "--stem-filters"),
    ("stem_kernel", "--stem-kernel"),
    ("stem_stride", "--stem-stride"),
    ("stem_padding", "--stem-padding"),
    ("dropout", "--dropout"),
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
    layers, command, notes, error = (), None, (), None
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
