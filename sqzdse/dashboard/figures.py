"""The dashboard's figures: pure functions of StudyData, in two steps.

First an *info* function works out what to draw (which trials, which front, which reference lines)
as plain data that tests can check without drawing; then a *figure* function draws that info as a
`go.Figure`. Nothing here reads a storage or knows about Dash.

Fronts, ranks and hypervolumes come from `sqzdse.analysis`: only COMPLETE trials with both metrics
take part; failed, pruned (infeasible) and running trials are counted in `left_out`, never drawn.
Trials stopped at a rung of successive halving are drawn apart, faint, at the accuracy their curve
had reached: they have no final accuracy, so they are never on a front nor in a hypervolume.
Networks `sqzdse retrain` trained (trials, and SqueezeNet baselines at their exact cost) are drawn
beside the proxy's front at their mean test accuracy, with the spread over their seeds.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sqzdse import analysis, records
from sqzdse.arch import (
    ARCH_FIELDS,
    DESIGN_GROUPS,
    PRESET_NAMES,
    ArchConfig,
    ArchField,
    Group,
    fields_of,
    preset,
)
from sqzdse.dashboard.study_data import StudyData
from sqzdse.errors import ArchError
from sqzdse.records import Epoch, Retraining, Role, metric, metrics_of

# The axes a user can choose: metric -> axis title. Costs known for every trial go on x.
X_METRICS: dict[str, str] = {name: metric(name).label for name in metrics_of(role=Role.COST)}
Y_METRICS: dict[str, str] = {name: metric(name).label for name in metrics_of(role=Role.ACCURACY)}
# What the points can be coloured by: column -> label.
COLOR_COLUMNS: dict[str, str] = {
    "bypass": "bypass",  # the default
    **{f.name: f.label for f in fields_of(*DESIGN_GROUPS, column=True)},
    "status": "status",
    "study": "study",
}
PRESETS = PRESET_NAMES
MAX_CATEGORIES = 12  # a colour column with more distinct numbers gets a continuous colour scale
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "x", "star-triangle-up")
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
)
FRONT_COLORS = ("#111111", "#b30000", "#00509e", "#006d2c", "#6a3d9a", "#b15928")
STOPPED_COLOR = "#555555"
START_SEARCH = "sqzdse search --space micro.yaml"


def check_axes(*, x: str, y: str) -> None:
    """Raise ValueError unless `x` and `y` are metrics the main view can show."""
    if x not in X_METRICS:
        raise ValueError(f"`x` must be one of {', '.join(X_METRICS)}, got {x!r}")
    if y not in Y_METRICS:
        raise ValueError(f"`y` must be one of {', '.join(Y_METRICS)}, got {y!r}")


def shown_metrics(*, x: str, y: str) -> dict[str, str]:
    """The two metrics of the main view with their directions: accuracy up, cost down."""
    check_axes(x=x, y=y)
    return {y: "maximize", x: "minimize"}


def default_axes(objectives: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """(x, y) for a study: its own cost and accuracy objectives where the view offers them,
    else params and top-5."""
    names = [name for name, _ in objectives]
    x = next((n for n in names if n in X_METRICS), records.DEFAULT_COST)
    y = next((n for n in names if n in Y_METRICS), records.DEFAULT_ACCURACY)
    return x, y


def combined_frame(datas: Sequence[StudyData]) -> pd.DataFrame:
    """The trials of several studies in one frame, with a `study` column."""
    parts = [d.frame.assign(study=d.name) for d in datas if len(d.frame)]
    if not parts:
        return analysis.empty_trials_frame().assign(study=pd.Series(dtype="string"))
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------------- the main view


@dataclass(frozen=True)
class Reference:
    """A SqueezeNet preset in the main view: a measured trial, or only its exact size."""

    preset: str  # "v1.0" or "v1.1"
    study: str
    x: float  # its value of the x metric (analytic, exact)
    num_classes: int
    trial: int | None = None  # the trial of `study` that trained exactly this network
    y: float | None = None  # that trial's accuracy; None when the study did not train it
    # its input's side in pixels, given where the study's trials have several (a searched
    # resolution): one reference per preset and resolution
    resolution: int | None = None

    @property
    def name(self) -> str:
        """`SqueezeNet v1.0`, or `SqueezeNet v1.0 at 24 px` beside others of other resolutions."""
        at = "" if self.resolution is None else f" at {self.resolution} px"
        return f"SqueezeNet {self.preset}{at}"

    @property
    def label(self) -> str:
        if self.trial is not None:
            return f"{self.name} (trial #{self.trial} of {self.study})"
        return f"{self.name}: size only, accuracy not measured here"


@dataclass(frozen=True)
class RetrainedPoint:
    """A network `sqzdse retrain` trained, in the main view: a trial of `study`, or a SqueezeNet
    preset trained as a baseline (`preset`) at its exact analytic x. `y` is its mean test accuracy
    over the seeds (top-1 or top-5, as the y axis), `spread` half the range over the seeds."""

    study: str
    x: float
    y: float
    spread: float
    by_seed: tuple[float, ...]
    metric: str  # retrained_test_top1 or retrained_test_top5
    trial: int | None = None
    preset: str | None = None
    val: float | None = None  # the mean validation accuracy of the same runs

    @property
    def label(self) -> str:
        if self.preset is not None:
            return f"SqueezeNet {self.preset} (retrained)"
        return f"{self.study} #{self.trial}"


def unmeasured(
    references: Sequence[Reference], retrained: Sequence[RetrainedPoint] = ()
) -> list[Reference]:
    """The references to draw as a size-only line: one per (preset, x), and none where a study
    shown measured that same network (its star says more) or retrained it as a baseline."""
    measured = {(r.preset, r.x) for r in references if r.trial is not None}
    measured |= {(p.preset, p.x) for p in retrained if p.preset is not None}
    lines, seen = [], set()
    for ref in references:
        key = (ref.preset, ref.x)  # one line where resolutions give the same x (parameters)
        if ref.trial is None and key not in measured and key not in seen:
            seen.add(key)
            lines.append(ref)
    return lines


POINT_COLUMNS = ["study", "number", "x", "y", "color", "hover", "on_front"]


@dataclass(frozen=True, eq=False)
class ParetoInfo:
    """What the main view draws. `points` holds one row per plotted trial: study, number, x, y,
    color, hover, on_front; `fronts` the front of each study sorted by x (then y); `stopped` the
    trials stopped at a rung, in the same columns (on_front always False), y their accuracy at the
    last epoch of their curve."""

    x: str
    y: str
    color: str
    studies: tuple[str, ...]
    points: pd.DataFrame
    fronts: dict[str, pd.DataFrame]
    stopped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=POINT_COLUMNS))
    references: tuple[Reference, ...] = ()
    left_out: dict[str, Counter] = field(default_factory=dict)  # study -> reason -> count
    trials: dict[str, int] = field(default_factory=dict)  # study -> number of trials
    notes: tuple[str, ...] = ()
    retrained: tuple[RetrainedPoint, ...] = ()  # retrained trials and baselines, at test accuracy
    y_title: str = ""  # the y axis title: Y_METRICS[y] and the split the accuracy is from

    @property
    def is_empty(self) -> bool:
        return len(self.points) == 0 and len(self.stopped) == 0

    def drawn(self, column: str) -> np.ndarray:
        """`column` ("x" or "y") of every trial drawn, stopped and retrained ones included."""
        return np.concatenate(
            [
                self.points[column].to_numpy(dtype=float),
                self.stopped[column].to_numpy(dtype=float),
                np.array([getattr(p, column) for p in self.retrained], dtype=float),
            ]
        )

    def size_only(self) -> list[Reference]:
        """The references drawn as a size-only line (`unmeasured`)."""
        return unmeasured(self.references, self.retrained)


def pareto_info(datas: Sequence[StudyData], *, x: str, y: str, color: str = "bypass") -> ParetoInfo:
    """Every trial that has both metrics, the Pareto front of (`y` up, `x` down) of each study,
    the trials stopped at a rung (at the accuracy they had reached), and the SqueezeNet
    reference points."""
    metrics = shown_metrics(x=x, y=y)
    if color not in COLOR_COLUMNS:
        raise ValueError(f"`color` must be one of {', '.join(COLOR_COLUMNS)}, got {color!r}")
    parts, stopped_parts, fronts, left_out, trials = [], [], {}, {}, {}
    for data in datas:
        df = data.frame
        trials[data.name] = len(df)
        if not len(df):
            left_out[data.name] = Counter()
            continue
        plotted = analysis.eligible_rows(df, metrics)
        on_front = analysis.pareto_front(df, metrics)
        stopped = _drawn_stopped(data, x=x, y=y) & ~plotted
        left = ~plotted & ~stopped
        left_out[data.name] = _left_out(
            df.loc[left], x=x, y=y, y_on_curve=_on_curve(data, y).loc[left]
        )
        rows = df.loc[plotted]
        part = _points(rows, study=data.name, x=x, y=y, color=color)
        part["on_front"] = on_front.loc[plotted].to_numpy(dtype=bool)
        parts.append(part)
        fronts[data.name] = part.loc[part["on_front"]].sort_values(["x", "y"], kind="stable")
        if stopped.any():
            stopped_parts.append(_stopped_points(data, stopped, x=x, y=y, color=color))
    references, notes = reference_info(datas, x=x, y=y)
    retrained, retrained_notes = retrained_info(datas, x=x, y=y)
    notes = (*_never_measured(datas, x=x, y=y), *notes, *retrained_notes)
    return ParetoInfo(
        x=x,
        y=y,
        color=color,
        studies=tuple(d.name for d in datas),
        points=_concat(parts),
        fronts=fronts,
        stopped=_concat(stopped_parts),
        references=references,
        left_out=left_out,
        trials=trials,
        notes=notes,
        retrained=retrained,
        y_title=accuracy_title(y, datas),
    )


# Metrics measured after training only by a search whose space asks for them, and what to say
# where a study has none.
SECTION_ONLY = {
    records.Source.COMPRESSED: "Compressed sizes and accuracies are measured only by a search "
    "whose space has a `compression` section.",
    records.Source.QUANTIZED: "int8 accuracies, file sizes and latencies are measured only by a "
    "search whose space has a `quantization` section.",
}


def _section_only(*names: str) -> list[str]:
    """The metrics of `names` that only a space's section measures, each once."""
    return [n for n in dict.fromkeys(names) if metric(n).source in SECTION_ONLY]


def _never_measured(datas: Sequence[StudyData], *, x: str, y: str) -> list[str]:
    """A note for each study with trials of which none has a section-only metric shown."""
    notes = []
    for data in datas:
        absent = [n for n in _section_only(x, y) if len(data.frame) and data.frame[n].isna().all()]
        if absent:
            labels = " or ".join(metric(n).label for n in absent)
            why = " ".join(dict.fromkeys(SECTION_ONLY[metric(n).source] for n in absent))
            notes.append(f"{data.name}: no trial records {labels}. {why}")
    return notes


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=POINT_COLUMNS)


def _points(rows: pd.DataFrame, *, study: str, x: str, y: str, color: str) -> pd.DataFrame:
    """The points of `rows` in POINT_COLUMNS but on_front."""
    return pd.DataFrame(
        {
            "study": study,
            "number": rows["number"].to_numpy(dtype=np.int64),
            "x": rows[x].to_numpy(dtype=float),
            "y": rows[y].to_numpy(dtype=float),
            "color": (
                pd.Series(study, index=rows.index) if color == "study" else rows[color]
            ).to_numpy(dtype=object),
            "hover": _hover_texts(rows, study=study, x=x, y=y),
        }
    )


def _on_curve(data: StudyData, y: str) -> pd.Series:
    """Mask of the trials whose learning curve records `y` at its last epoch."""
    if y not in data.last_epoch.columns:
        return pd.Series(False, index=data.frame.index)
    return data.last_epoch[y].notna()


def _drawn_stopped(data: StudyData, *, x: str, y: str) -> pd.Series:
    """Mask of the trials stopped at a rung whose curve records `y` and that have `x`."""
    df = data.frame
    stopped = (df["status"] == records.Status.STOPPED).fillna(False).astype(bool)
    return stopped & _on_curve(data, y) & df[x].notna()


def _stopped_points(
    data: StudyData, mask: pd.Series, *, x: str, y: str, color: str
) -> pd.DataFrame:
    """The stopped trials of `mask` at `y` as it was at the last epoch of their curve; the hover
    says where they stopped."""
    last = data.last_epoch.loc[mask]
    points = _points(
        data.frame.loc[mask].assign(**{y: last[y]}), study=data.name, x=x, y=y, color=color
    )
    of = f" of {data.epochs}" if data.epochs else ""
    points["hover"] += [f"<br>stopped at epoch {int(e)}{of}" for e in last["epoch"]]
    points["on_front"] = False
    return points


def _left_out(rows: pd.DataFrame, *, x: str, y: str, y_on_curve: pd.Series) -> Counter:
    """Why trials are not drawn: failed, infeasible (not trained), stopped without `y` on their
    curve or without `x` (a stopped trial was never compressed, say), pruned, running, or without
    a metric (`y` named first when both are missing). `y_on_curve`: whether each row's curve
    records `y`."""
    state = rows["state"].astype(object)
    status = rows["status"].astype(object)
    stopped = (status == "stopped").to_numpy(dtype=bool)
    reasons = np.select(
        [
            (state == "FAIL").to_numpy(dtype=bool),
            (status == "infeasible").to_numpy(dtype=bool),
            stopped & ~y_on_curve.to_numpy(dtype=bool),
            stopped,
            (state == "PRUNED").to_numpy(dtype=bool),
            state.isin(["RUNNING", "WAITING"]).to_numpy(dtype=bool),
            rows[y].isna().to_numpy(dtype=bool),
        ],
        [
            "failed",
            "infeasible (not trained)",
            f"stopped, no {y} on its curve",
            f"stopped without {x}",
            "pruned",
            "running",
            f"without {y}",
        ],
        default=f"without {x}",
    )
    return Counter(reasons.tolist())


def _text(value) -> str:
    """A design value for people: `n/a` when missing, floats as written (0.125)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _texts(values: pd.Series, name: str | None = None) -> list[str]:
    """Each value of a column as people read it: a metric's values through the metric table."""
    raw = values.astype(object).where(values.notna(), None).tolist()
    write = metric(name).format if name is not None else _text
    return [write(v) for v in raw]


def _hover_texts(rows: pd.DataFrame, *, study: str, x: str, y: str) -> np.ndarray:
    """One hover text per row: the trial, its design (a line per group of fields, the paper's
    metaparameters by their names) and the two metrics shown."""
    lines = [
        [
            _design_texts(rows, f, f.name if group is Group.METAPARAMETER else f.label)
            for f in fields_of(group, column=True)
        ]
        for group in DESIGN_GROUPS
    ]
    heads = [
        f"<b>{study} #{number}</b> ({status})"
        for number, status in zip(rows["number"].tolist(), _texts(rows["status"]))
    ]
    metrics = [
        f"{X_METRICS[x]} {xv} · {Y_METRICS[y]} {yv}"
        for xv, yv in zip(_texts(rows[x], x), _texts(rows[y], y))
    ]
    return np.array(
        [
            "<br>".join([head, *(" · ".join(parts[i] for parts in line) for line in lines), tail])
            for i, (head, tail) in enumerate(zip(heads, metrics))
        ],
        dtype=object,
    )


def _design_texts(rows: pd.DataFrame, f: ArchField, label: str) -> list[str]:
    values = _texts(rows[f.name])
    if f.name == "pool_after":  # '' is no pool at all
        values = [v or "none" for v in values]
    return [f"{label} {v}" for v in values]


_NETWORK_FIELDS = tuple(f.name for f in ARCH_FIELDS if f.group is not Group.TRAINING)


def _same_network(arch: ArchConfig | None, cfg: ArchConfig) -> bool:
    """Whether `arch` is the network `cfg` (dropout, a training setting, aside)."""
    return arch is not None and all(getattr(arch, f) == getattr(cfg, f) for f in _NETWORK_FIELDS)


# Why a measured x metric has no SqueezeNet reference: how its values come about.
MEASURED_HOW = {
    records.Source.MEASURED: "it is measured on the search's machine",
    records.Source.COMPRESSED: "it is measured by compressing each trial's trained weights",
    records.Source.QUANTIZED: "it is measured by running each trial's int8 network with ONNX "
    "Runtime",
}


def reference_info(
    datas: Sequence[StudyData], *, x: str, y: str
) -> tuple[tuple[Reference, ...], tuple[str, ...]]:
    """SqueezeNet v1.0 / v1.1 for each study: their x value is exact (at the study's classes and,
    for MACs, its resolution; none for a measured x such as latency or compressed size); their
    accuracy is known only where the study trained exactly that network (a COMPLETE trial with
    `y`), never otherwise."""
    check_axes(x=x, y=y)
    references, notes = [], []
    for data in datas:
        if data.num_classes is None:
            notes.append(
                f"{data.name}: no SqueezeNet reference, the study does not record its "
                "number of classes"
            )
            continue
        if metric(x).source is not records.Source.ANALYTIC:
            how = MEASURED_HOW.get(metric(x).source, "it is measured")
            notes.append(
                f"{data.name}: no SqueezeNet reference for {metric(x).label}: {how}, not known "
                "from the architecture"
            )
            continue
        resolutions = _resolutions(data)
        if metric(x).per_image and not resolutions:
            notes.append(
                f"{data.name}: no SqueezeNet reference for {metric(x).label}, the study "
                "does not record its training resolution"
            )
            continue
        df = data.frame
        measured = df.loc[analysis.eligible_rows(df, {y: "maximize"}), ["number", y]]
        accuracy = dict(zip(measured["number"].tolist(), measured[y].tolist()))
        several = len(resolutions) > 1
        for resolution, name in itertools.product(resolutions or (224,), PRESETS):
            try:
                cfg = preset(name, num_classes=data.num_classes, resolution=resolution)
                costs = records.analytic_metrics(cfg)
            except ArchError as err:
                notes.append(
                    f"{data.name}: SqueezeNet {name} does not fit {resolution}x"
                    f"{resolution} inputs ({err})"
                )
                continue
            trial = next(
                (
                    n
                    for n in sorted(accuracy)
                    if _same_network(getattr(data.records.get(n), "arch", None), cfg)
                ),
                None,
            )
            references.append(
                Reference(
                    preset=name,
                    study=data.name,
                    x=float(costs[x]),
                    num_classes=data.num_classes,
                    trial=trial,
                    y=None if trial is None else float(accuracy[trial]),
                    resolution=resolution if several else None,
                )
            )
    return tuple(references), tuple(notes)


def _resolutions(data: StudyData) -> tuple[int, ...]:
    """The input sizes a study's networks take: its training resolution, or where its space
    searched it (`training.resolution` stored as a range or choices), every one its trials have,
    smallest first; empty when it records none."""
    if data.resolution is not None:
        return (data.resolution,)
    if not isinstance(data.training.get("resolution"), dict) or "resolution" not in data.frame:
        return ()
    return tuple(sorted({int(r) for r in data.frame["resolution"].dropna()}))


# ---------------------------------------------------------------------------- splits, retraining


def split_note(datas: Sequence[StudyData]) -> str:
    """Which studies shown are legacy (from before the three splits: their validation images were
    the official test images), as a short note; empty when every study records its splits."""
    legacy = [d.name for d in datas if d.splits is None]
    if not legacy:
        return ""
    where = "" if len(legacy) == len(datas) else f" in {', '.join(legacy)}"
    return f"legacy{where}: official test images"


def accuracy_title(y: str, datas: Sequence[StudyData]) -> str:
    """The y axis title: the metric, and which split of the studies shown its numbers are from.
    A search's accuracies (and a retrained network's validation accuracy) are on the validation
    split; a study from before the three splits measured them on the official test images."""
    label = Y_METRICS[y]
    if not datas or y.startswith("retrained_test_"):
        return label  # "retrained test top-1 accuracy" says its split
    note = split_note(datas)
    if "validation" in label:  # the retrained validation accuracy
        return f"{label} ({note})" if note else label
    return f"{label} (validation split{', ' if note else ''}{note})"


def retrained_metric(y: str) -> str | None:
    """The retrained test accuracy drawn beside the accuracy `y`: test top-1 beside a top-1, test
    top-5 beside a top-5; None beside a compressed or int8 network's accuracy (the retrained
    networks were neither compressed nor quantized) and beside a test accuracy (the trials' points
    are then those numbers)."""
    if metric(y).source in SECTION_ONLY or y.startswith("retrained_test_"):
        return None
    return "retrained_test_top5" if y.endswith("top5") else "retrained_test_top1"


def _retrained_point(block: Retraining, *, key: str, **fields) -> RetrainedPoint | None:
    """The point of one retraining block at the accuracy `key` (test_top1 or test_top5)."""
    mean = getattr(block, key)
    if mean is None:
        return None
    by_seed = block.by_seed(key)
    return RetrainedPoint(
        y=mean,
        spread=(max(by_seed) - min(by_seed)) / 2 if by_seed else 0.0,
        by_seed=by_seed,
        metric=f"retrained_{key}",
        val=getattr(block, key.removeprefix("test_")),
        **fields,
    )


def retrained_info(
    datas: Sequence[StudyData], *, x: str, y: str
) -> tuple[tuple[RetrainedPoint, ...], tuple[str, ...]]:
    """The networks `sqzdse retrain` trained in each study, at their test accuracy
    (`retrained_metric` of `y`): its retrained trials with `x` (a trial reusing a retrained twin's
    result is that twin), and its retrained SqueezeNet baselines at their exact analytic `x` (none
    for a measured x, with a note). None against a compressed or int8 cost: the retrained weights
    were neither compressed nor quantized."""
    check_axes(x=x, y=y)
    test = retrained_metric(y)
    if test is None:
        return (), ()
    if metric(x).source in SECTION_ONLY:
        done = "compressed" if metric(x).source is records.Source.COMPRESSED else "quantized"
        retrained = [d.name for d in datas if d.baselines or _retrained_rows(d, test).any()]
        return (), tuple(
            f"{name}: the retrained networks are not drawn against {metric(x).label}: their "
            f"retrained weights were not {done}"
            for name in retrained
        )
    key = test.removeprefix("retrained_")
    points, notes = [], []
    for data in datas:
        df = data.frame
        if len(df):
            rows = df.loc[_retrained_rows(data, test) & df[x].notna()]
            numbers = set(rows["number"].tolist())
            for number, twin, xv in zip(rows["number"], rows["reused_from"], rows[x]):
                if not pd.isna(twin) and int(twin) in numbers:
                    continue
                block = data.records[int(number)].retrained
                point = _retrained_point(
                    block, key=key, study=data.name, x=float(xv), trial=int(number)
                )
                points.extend([point] if point else [])
        skipped: dict[str, list[str]] = {}  # why -> presets
        for name, block in sorted(data.baselines.items()):
            cost = _baseline_cost(data, name, block, x)
            if isinstance(cost, str):
                skipped.setdefault(cost, []).append(name)
                continue
            point = _retrained_point(block, key=key, study=data.name, x=cost, preset=name)
            points.extend([point] if point else [])
        for why, names in skipped.items():
            were = "was" if len(names) == 1 else "were"
            notes.append(
                f"{data.name}: SqueezeNet {' and '.join(names)} {were} retrained but "
                f"{'is' if len(names) == 1 else 'are'} not drawn: {why}"
            )
    return tuple(points), tuple(notes)


def _retrained_rows(data: StudyData, test: str) -> pd.Series:
    """Mask of the trials of `data` with a retraining block and its `test` accuracy."""
    blocks = [getattr(data.records.get(int(n)), "retrained", None) for n in data.frame["number"]]
    has_block = pd.Series([b is not None for b in blocks], index=data.frame.index, dtype=bool)
    return has_block & data.frame[test].notna()


def _baseline_cost(data: StudyData, name: str, block: Retraining, x: str) -> float | str:
    """The exact `x` of preset `name` as `sqzdse retrain` trained it (the study's classes, the
    resolution it trained at), or why there is none."""
    if metric(x).source is not records.Source.ANALYTIC:
        return f"{metric(x).label} is not known from the architecture"
    if data.num_classes is None:
        return "the study does not record its number of classes"
    resolution = block.settings.get("resolution") or data.resolution
    if not isinstance(resolution, int):
        if metric(x).per_image:
            return f"the resolution it trained at is unknown, so is its {metric(x).label}"
        resolution = 224
    try:
        cfg = preset(name, num_classes=data.num_classes, resolution=resolution)
    except (ArchError, ValueError, KeyError) as err:
        return str(err)
    return float(records.analytic_metrics(cfg)[x])


def _seed_text(point: RetrainedPoint) -> str:
    write = metric(point.metric).format
    seeds = len(point.by_seed)
    if seeds < 2:
        return write(point.y)
    return (
        f"{write(point.y)} ± {point.spread:.2%} over {seeds} seeds "
        f"({', '.join(write(v) for v in point.by_seed)})"
    )


def retrained_hover(point: RetrainedPoint, x: str) -> str:
    """What the hover of a retrained network says: what it is, that its accuracy is on the test
    split, over how many seeds, and its validation accuracy beside."""
    k = metric(point.metric).short.removeprefix("test ")
    lines = [
        f"<b>{point.label}</b> retrained, test split",
        f"test {k} {_seed_text(point)}",
    ]
    if point.val is not None:
        lines.append(f"validation {k} {metric(point.metric).format(point.val)} (same runs)")
    lines.append(f"{X_METRICS[x]} {metric(x).format(point.x)}")
    return "<br>".join(lines)


def _retrained_lines(info: ParetoInfo) -> list[str]:
    """Sentences on the retrained networks drawn, per study, and on each baseline."""
    lines = []
    for study in info.studies:
        trials = [p for p in info.retrained if p.study == study and p.preset is None]
        if trials:
            what = metric(trials[0].metric).short
            lines.append(
                f"{study}: {len(trials)} retrained network{'s' if len(trials) > 1 else ''} "
                f"drawn at the mean {what} of their seeds on the test split (diamonds; error "
                "bars: half the range over the seeds)."
            )
    for point in info.retrained:
        if point.preset is not None:
            lines.append(
                f"{point.label} in {point.study}: {metric(point.metric).label} "
                f"{_seed_text(point)} at {metric(info.x).format(point.x)} {X_METRICS[info.x]}."
            )
    return lines


def summary_lines(info: ParetoInfo) -> list[str]:
    """Plain sentences under the main view: counts per study, what is left out and why, and what
    the reference lines mean."""
    lines = []
    for study in info.studies:
        pts = info.points.loc[info.points["study"] == study] if len(info.points) else info.points
        front = int(pts["on_front"].sum()) if len(pts) else 0
        line = (
            f"{study}: {info.trials.get(study, 0)} trials, {len(pts)} plotted, {front} on the "
            f"Pareto front of {Y_METRICS[info.y]} vs {X_METRICS[info.x]}"
        )
        stopped = int((info.stopped["study"] == study).sum())
        if stopped:
            line += (
                f"; {stopped} stopped at a rung (drawn faint at the accuracy reached then, "
                "never on the front)"
            )
        left = info.left_out.get(study)
        if left:
            line += "; not plotted: " + ", ".join(
                f"{n} {reason}" for reason, n in sorted(left.items())
            )
        lines.append(line + ".")
    for ref in info.references:
        if ref.trial is not None:
            lines.append(
                f"{ref.label}: {Y_METRICS[info.y]} {ref.y:.2%} at "
                f"{metric(info.x).format(ref.x)} {X_METRICS[info.x]} (marked with a star)."
            )
    lines.extend(_retrained_lines(info))
    for ref in info.size_only():
        lines.append(
            f"{ref.name} has {metric(info.x).format(ref.x)} {X_METRICS[info.x]} at "
            f"{ref.num_classes} classes (dotted line); no study shown trained it, so its "
            "accuracy here is unknown."
        )
    lines.extend(info.notes)
    return lines


def empty_message(info: ParetoInfo) -> str:
    """What to tell the user when nothing can be plotted."""
    if not info.studies:
        return (
            "No study selected: pick one in the study picker. If it lists none, this storage "
            f"holds no study yet; start a search: {START_SEARCH}"
        )
    if not any(info.trials.values()):
        return (
            f"No trials yet in {', '.join(info.studies)}. Start a search: {START_SEARCH} "
            "(this page refreshes by itself)."
        )
    message = (
        f"No finished trial has both {Y_METRICS[info.y]} and {X_METRICS[info.x]} yet; "
        "see the trial table below."
    )
    for why in dict.fromkeys(SECTION_ONLY[metric(n).source] for n in _section_only(info.x, info.y)):
        message += f" {why}"
    return message


def pareto_figure(info: ParetoInfo) -> go.Figure:
    """The main view: trials as points (log x), each study's Pareto front as a step line, and the
    SqueezeNet references. Each trial point carries customdata [study, number]."""
    if info.is_empty:
        return empty_figure(empty_message(info))
    fig = go.Figure()
    symbols = {s: SYMBOLS[i % len(SYMBOLS)] for i, s in enumerate(info.studies)}
    several = len(info.studies) > 1
    _add_stopped_trace(fig, info, symbols, several)
    _add_trial_traces(fig, info, symbols, several)
    for i, (study, front) in enumerate(info.fronts.items()):
        if not len(front):
            continue
        name = (
            f"Pareto front of {study} ({len(front)})" if several else f"Pareto front ({len(front)})"
        )
        fig.add_trace(
            go.Scatter(
                x=front["x"].to_numpy(),
                y=front["y"].to_numpy(),
                mode="lines+markers",
                name=name,
                line={"shape": "hv", "color": FRONT_COLORS[i % len(FRONT_COLORS)], "width": 2},
                marker={
                    "size": 12,
                    "symbol": f"{symbols[study]}-open",
                    "color": FRONT_COLORS[i % len(FRONT_COLORS)],
                    "line": {"width": 2},
                },
                customdata=np.column_stack([front["study"], front["number"]]),
                hovertext=front["hover"].to_numpy(),
                hoverinfo="text",
                meta={"role": "front", "study": study},
            )
        )
    _add_retrained(fig, info, symbols, several)
    _add_references(fig, info)
    fig.update_layout(
        template="plotly_white",
        height=520,
        margin={"l": 70, "r": 20, "t": 30, "b": 60},
        xaxis={"type": "log", "title": {"text": f"{X_METRICS[info.x]} (log scale)"}},
        yaxis={
            "title": {"text": info.y_title or Y_METRICS[info.y]},
            "tickformat": percent_format(info.drawn("y")),
        },
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "x": 0},
        hovermode="closest",
        clickmode="event",
        uirevision=f"{info.x}|{info.y}|{'|'.join(info.studies)}",
    )
    return fig


def _categories(values: pd.Series) -> list | None:
    """The sorted distinct values when the column reads as categories, else None."""
    distinct = pd.unique(values[pd.notna(values)])
    numeric = all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        for v in distinct
    )
    if numeric and len(distinct) > MAX_CATEGORIES:
        return None
    return sorted(distinct, key=lambda v: (0, v, "") if numeric else (0, 0, str(v)))


def _add_stopped_trace(fig: go.Figure, info: ParetoInfo, symbols: dict, several: bool) -> None:
    """The stopped trials, faint and under the others, in one legend entry."""
    pts = info.stopped
    if not len(pts):
        return
    fig.add_trace(
        go.Scatter(
            x=pts["x"].to_numpy(),
            y=pts["y"].to_numpy(),
            mode="markers",
            name=f"stopped at a rung ({len(pts)})",
            marker={
                "size": 7,
                "color": STOPPED_COLOR,
                "opacity": 0.3,
                "symbol": pts["study"].map(symbols).to_numpy() if several else "circle",
            },
            customdata=np.column_stack([pts["study"], pts["number"]]),
            hovertext=pts["hover"].to_numpy(),
            hoverinfo="text",
            meta={"role": "stopped"},
        )
    )


def _add_trial_traces(fig: go.Figure, info: ParetoInfo, symbols: dict, several: bool) -> None:
    pts = info.points
    label = COLOR_COLUMNS[info.color]
    symbol = pts["study"].map(symbols).to_numpy() if several else "circle"
    common = {"mode": "markers", "hoverinfo": "text", "meta": {"role": "trials"}}
    categories = _categories(pts["color"])
    if categories is None:
        fig.add_trace(
            go.Scatter(
                x=pts["x"].to_numpy(),
                y=pts["y"].to_numpy(),
                name=f"trials (colour: {label})",
                marker={
                    "size": 8,
                    "symbol": symbol,
                    "color": pts["color"].astype(float).to_numpy(),
                    "colorscale": "Viridis",
                    "showscale": True,
                    "opacity": 0.8,
                    "colorbar": {"title": {"text": label}, "len": 0.8},
                },
                customdata=np.column_stack([pts["study"], pts["number"]]),
                hovertext=pts["hover"].to_numpy(),
                **common,
            )
        )
        return
    missing = pts["color"].isna().to_numpy()
    groups = [(value, (pts["color"] == value).fillna(False).to_numpy()) for value in categories]
    if missing.any():
        groups.append(("n/a", missing))
    for i, (value, mask) in enumerate(groups):
        sub = pts.loc[mask]
        fig.add_trace(
            go.Scatter(
                x=sub["x"].to_numpy(),
                y=sub["y"].to_numpy(),
                name=f"{label} {_text(value)}",
                marker={
                    "size": 8,
                    "color": PALETTE[i % len(PALETTE)],
                    "opacity": 0.8,
                    "symbol": symbol if isinstance(symbol, str) else symbol[mask],
                },
                customdata=np.column_stack([sub["study"], sub["number"]]),
                hovertext=sub["hover"].to_numpy(),
                **common,
            )
        )


RETRAINED_COLOR = "#d95f02"


def _add_retrained(fig: go.Figure, info: ParetoInfo, symbols: dict, several: bool) -> None:
    """The retrained trials of each study as one series of diamonds with error bars, and each
    retrained baseline as a labelled point."""
    for study in info.studies:
        pts = [p for p in info.retrained if p.study == study and p.preset is None]
        if not pts:
            continue
        of = f" of {study}" if several else ""
        fig.add_trace(
            go.Scatter(
                x=[p.x for p in pts],
                y=[p.y for p in pts],
                mode="markers",
                name=f"retrained{of}, test split ({len(pts)})",
                marker={
                    "size": 11,
                    "symbol": "diamond",
                    "color": RETRAINED_COLOR,
                    "line": {"color": "black", "width": 1},
                },
                error_y=_error_bars(pts),
                customdata=[[p.study, p.trial] for p in pts],
                hovertext=[retrained_hover(p, info.x) for p in pts],
                hoverinfo="text",
                meta={"role": "retrained", "study": study},
            )
        )
    baselines = [p for p in info.retrained if p.preset is not None]
    for p in baselines:
        # v1.0 and v1.1 have nearly the same parameters: the higher one's label goes above it.
        highest = p.y >= max(q.y for q in baselines if q.study == p.study)
        fig.add_trace(
            go.Scatter(
                x=[p.x],
                y=[p.y],
                mode="markers+text",
                name=f"{p.label} in {p.study}" if several else p.label,
                text=[p.label],
                textposition="top center" if highest else "bottom center",
                textfont={"size": 11, "color": RETRAINED_COLOR},
                marker={
                    "size": 16,
                    "symbol": "star-diamond",
                    "color": RETRAINED_COLOR,
                    "line": {"color": "black", "width": 1},
                },
                error_y=_error_bars([p]),
                hovertext=[retrained_hover(p, info.x)],
                hoverinfo="text",
                meta={"role": "retrained_baseline", "preset": p.preset, "study": p.study},
            )
        )


def _error_bars(points: Sequence[RetrainedPoint]) -> dict:
    return {
        "type": "data",
        "array": [p.spread for p in points],
        "visible": True,
        "color": RETRAINED_COLOR,
        "thickness": 1.5,
        "width": 4,
    }


def _add_references(fig: go.Figure, info: ParetoInfo) -> None:
    ys = info.drawn("y")
    low, high = float(np.nanmin(ys)), float(np.nanmax(ys))
    for ref in info.references:
        if ref.trial is not None:
            fig.add_trace(
                go.Scatter(
                    x=[ref.x],
                    y=[ref.y],
                    mode="markers+text",
                    name=ref.label,
                    text=[ref.name],
                    textposition="top center",
                    marker={
                        "symbol": "star",
                        "size": 18,
                        "color": "gold",
                        "line": {"color": "black", "width": 1},
                    },
                    customdata=[[ref.study, ref.trial]],
                    hoverinfo="name",
                    meta={"role": "reference", "preset": ref.preset},
                )
            )
    lines = sorted(info.size_only(), key=lambda r: r.x)
    xs = np.log10([*info.drawn("x"), *(r.x for r in lines)])
    middle = (xs.min() + xs.max()) / 2
    for i, ref in enumerate(lines):
        # Labels alternate between the foot and the top of the lines, so close lines stay legible,
        # and sit on the side of each line facing the middle of the plot.
        side = "left" if np.log10(ref.x) > middle else "right"
        label = f"{ref.name}, size only " if side == "left" else f" {ref.name}, size only"
        fig.add_trace(
            go.Scatter(
                x=[ref.x, ref.x],
                y=[low, high],
                mode="lines+text",
                name=ref.label,
                text=[label, ""] if i % 2 == 0 else ["", label],
                textposition=f"top {side}" if i % 2 == 0 else f"bottom {side}",
                textfont={"size": 11, "color": "#555"},
                line={"dash": "dot", "color": "#555", "width": 1.5},
                hoverinfo="name",
                meta={"role": "reference", "preset": ref.preset},
            )
        )


def percent_format(values) -> str:
    """A tick format for fractions: whole percents, or tenths where the values span under 10%."""
    finite = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    return ".1%" if len(finite) and finite.max() - finite.min() < 0.1 else ".0%"


def empty_figure(message: str) -> go.Figure:
    """A blank figure that says `message` in its middle."""
    fig = go.Figure()
    fig.add_annotation(
        text=message,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 15, "color": "#555"},
    )
    fig.update_layout(
        template="plotly_white",
        height=320,
        xaxis={"visible": False},
        yaxis={"visible": False},
        margin={"l": 20, "r": 20, "t": 20, "b": 20},
    )
    return fig


# ---------------------------------------------------------------------------- hypervolume


@dataclass(frozen=True, eq=False)
class HypervolumeInfo:
    """Hypervolume of (`y` up, `x` down) after each trial, per study, against one reference."""

    x: str
    y: str
    reference: tuple[float, float] | None  # (y, x); None when no trial is eligible
    # study -> columns number, hypervolume, cumulative_train_seconds (analysis.hypervolume_history)
    series: dict[str, pd.DataFrame]


def hypervolume_info(datas: Sequence[StudyData], *, x: str, y: str) -> HypervolumeInfo:
    """The hypervolume history of each study. The reference point is shared by all studies shown
    (accuracy 0, 1.1 x the largest x among their eligible trials), so their curves compare."""
    metrics = shown_metrics(x=x, y=y)
    frame = combined_frame(datas)
    if not analysis.eligible_rows(frame, metrics).any():
        return HypervolumeInfo(x=x, y=y, reference=None, series={})
    reference = analysis.default_reference(frame, metrics)
    series = {
        d.name: analysis.hypervolume_history(d.frame, metrics, reference=reference)
        for d in datas
        if len(d.frame)
    }
    return HypervolumeInfo(x=x, y=y, reference=tuple(reference), series=series)


def hypervolume_figure(info: HypervolumeInfo) -> go.Figure:
    """Hypervolume against the training seconds spent so far (stopped and failed trials spent
    some too), one step line per study; the hover names the trial."""
    if info.reference is None:
        return empty_figure("The hypervolume appears once a trial has finished.")
    fig = go.Figure()
    for i, (study, history) in enumerate(info.series.items()):
        fig.add_trace(
            go.Scatter(
                x=history["cumulative_train_seconds"],
                y=history["hypervolume"],
                customdata=history["number"],
                mode="lines",
                name=study,
                line={"shape": "hv", "color": PALETTE[i % len(PALETTE)]},
                hovertemplate="after trial #%{customdata}: %{x:,.1f} training seconds, "
                "hypervolume %{y:.4g}",
            )
        )
    ref_y, ref_x = info.reference
    fig.update_layout(
        template="plotly_white",
        height=320,
        margin={"l": 70, "r": 20, "t": 50, "b": 50},
        title={
            "text": f"Hypervolume of {Y_METRICS[info.y]} vs {X_METRICS[info.x]}<br><sup>"
            f"reference point: {info.y} = {ref_y:g}, {info.x} = {ref_x:,.0f}</sup>",
            "font": {"size": 14},
        },
        xaxis={"title": {"text": "cumulative training seconds"}},
        yaxis={"title": {"text": "hypervolume"}},
        showlegend=len(info.series) > 1,
        uirevision=f"{info.x}|{info.y}",
    )
    return fig


# ---------------------------------------------------------------------------- parallel coordinates


@dataclass(frozen=True, eq=False)
class ParallelInfo:
    """Parallel coordinates of one study's ranked trials: one axis per design choice that varies,
    then the two metrics; `rank` is the non-dominated rank of each line (0 on the front)."""

    study: str | None
    dimensions: list[dict]
    rank: np.ndarray


def parallel_info(data: StudyData | None, *, x: str, y: str) -> ParallelInfo:
    """Axes and ranks for `parallel_figure`; trials without both metrics are left out."""
    metrics = shown_metrics(x=x, y=y)
    if data is None or not len(data.frame):
        return ParallelInfo(
            study=None if data is None else data.name,
            dimensions=[],
            rank=np.array([], dtype=np.int64),
        )
    rank = analysis.pareto_rank(data.frame, metrics)
    keep = rank.notna().to_numpy()
    rows = data.frame.loc[keep]
    dims = []
    for column in analysis.DESIGN_COLUMNS:
        values = rows[column]
        if values.nunique(dropna=True) < 2:
            continue
        if pd.api.types.is_numeric_dtype(values):
            dims.append({"label": column, "values": values.astype(float).to_numpy()})
        else:
            categories = sorted(values.dropna().unique())
            codes = {c: i for i, c in enumerate(categories)}
            dims.append(
                {
                    "label": column,
                    "tickvals": list(range(len(categories))),
                    "ticktext": [c or "none" for c in categories],
                    "values": values.map(codes).astype(float).to_numpy(),
                }
            )
    for name in (x, y):
        dims.append({"label": name, "values": rows[name].astype(float).to_numpy()})
    return ParallelInfo(
        study=data.name, dimensions=dims, rank=rank.loc[keep].to_numpy(dtype=np.int64)
    )


def parallel_figure(info: ParallelInfo) -> go.Figure:
    """Parallel coordinates coloured by Pareto rank (bright = on or near the front)."""
    if not len(info.rank):
        return empty_figure("Parallel coordinates appear once a trial has finished.")
    fig = go.Figure(
        go.Parcoords(
            dimensions=info.dimensions,
            line={
                "color": info.rank,
                "colorscale": "Viridis",
                "reversescale": True,
                "showscale": True,
                "cmin": 0,
                "cmax": max(int(info.rank.max()), 1),
                "colorbar": {"title": {"text": "Pareto rank<br>(0 = front)"}},
            },
        )
    )
    fig.update_layout(
        template="plotly_white",
        height=380,
        margin={"l": 60, "r": 40, "t": 70, "b": 30},
        title={
            "text": f"Design choices of {info.study}, coloured by Pareto rank",
            "font": {"size": 14},
        },
    )
    return fig


# ---------------------------------------------------------------------------- trial table


_TABLE_KINDS = {
    records.Kind.COUNT: "int",
    records.Kind.FRACTION: "accuracy",
    records.Kind.NUMBER: "float",
}
_FIELD_KINDS = {int: "int", float: "float", str: "text", tuple: "text"}
TABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (column, header, kind: number | int | float | accuracy | text); int has thousands separators
    ("study", "study", "text"),
    ("number", "#", "number"),
    ("state", "state", "text"),
    ("status", "status", "text"),
    ("epochs_trained", "epochs", "number"),
    ("front", "front", "text"),
    *((f.name, f.short, _FIELD_KINDS[f.type]) for f in fields_of(*DESIGN_GROUPS, column=True)),
    # Every metric that can be an objective, costs first, as in the export columns, and the
    # accuracy `sqzdse retrain` measured (beside the proxy's, sortable like any column).
    *(
        (m.name, m.short, _TABLE_KINDS[m.kind])
        for m in map(metric, records.METRIC_ORDER)
        if m.objective or m.source is records.Source.RETRAINED
    ),
    ("failure_reason", "failure reason", "text"),
)


def row_id(study: str, number: int) -> str:
    """The trial table's row id for a trial: `number@study` (split on the first @)."""
    return f"{int(number)}@{study}"


def parse_row_id(value: str) -> tuple[str, int] | None:
    """(study, number) from `row_id`, None for anything else."""
    number, sep, study = str(value).partition("@")
    return (study, int(number)) if sep and number.isdigit() else None


def trial_table_rows(datas: Sequence[StudyData], *, x: str, y: str) -> list[dict]:
    """One record per trial of every study (failed, pruned and running ones too), with `front`
    ("yes" on the front of the metrics shown) and an `id` from `row_id`."""
    metrics = shown_metrics(x=x, y=y)
    parts = []
    for data in datas:
        if not len(data.frame):
            continue
        df = data.frame.assign(study=data.name)
        df["front"] = np.where(analysis.pareto_front(df, metrics).to_numpy(), "yes", "")
        df["id"] = [row_id(data.name, n) for n in df["number"]]
        parts.append(df[[c for c, _, _ in TABLE_COLUMNS] + ["id"]])
    if not parts:
        return []
    table = pd.concat(parts, ignore_index=True).astype(object)
    return table.where(table.notna(), None).to_dict("records")


# ---------------------------------------------------------------------------- learning curve


def curve_figure(curve: Sequence[Epoch], *, title: str = "") -> go.Figure:
    """Accuracy per epoch (left axis) and training loss (right axis) of one trial's `curve`."""
    if not curve:
        return empty_figure("No learning curve recorded for this trial.")
    epochs = [e.epoch for e in curve]
    accuracy = {"top-1": [e.top1 for e in curve], "top-5": [e.top5 for e in curve]}
    fig = go.Figure()
    for (name, values), color in zip(accuracy.items(), ("#1f77b4", "#2ca02c")):
        fig.add_trace(
            go.Scatter(x=epochs, y=values, name=name, mode="lines+markers", line={"color": color})
        )
    fig.add_trace(
        go.Scatter(
            x=epochs,
            y=[e.train_loss for e in curve],
            yaxis="y2",
            name="training loss",
            mode="lines+markers",
            line={"dash": "dash", "color": "#d62728"},
        )
    )
    fig.update_layout(
        template="plotly_white",
        height=280,
        margin={"l": 60, "r": 60, "t": 40, "b": 40},
        title={"text": title, "font": {"size": 13}},
        xaxis={"title": {"text": "epoch"}, "dtick": 1},
        yaxis={
            "title": {"text": "validation accuracy"},
            "tickformat": percent_format([v for values in accuracy.values() for v in values]),
        },
        yaxis2={
            "title": {"text": "training loss"},
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
        },
        legend={"orientation": "h", "y": -0.25},
    )
    return fig
