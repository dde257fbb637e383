"""The main view: every study's trials at (cost, accuracy), each study's Pareto front, trials
stopped at a rung, the SqueezeNet references and the retrained networks; what was left out, why."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sqzdse import analysis, records
from sqzdse.arch import (
    DESIGN_GROUPS,
    ArchField,
    Group,
    fields_of,
)
from sqzdse.dashboard.figures._common import (
    COLOR_COLUMNS,
    FRONT_COLORS,
    PALETTE,
    SECTION_ONLY,
    START_SEARCH,
    STOPPED_COLOR,
    SYMBOLS,
    X_METRICS,
    Y_METRICS,
    color_categories,
    empty_figure,
    percent_format,
    section_only,
    shown_metrics,
    value_text,
    value_texts,
)
from sqzdse.dashboard.figures.references import (
    Reference,
    add_references,
    reference_info,
    unmeasured,
)
from sqzdse.dashboard.figures.retrained import (
    RetrainedPoint,
    accuracy_title,
    add_retrained,
    retrained_info,
    seed_text,
)
from sqzdse.dashboard.study_data import StudyData
from sqzdse.records import metric

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
    parts, stopped_parts, fronts, trials = [], [], {}, {}
    left_out: dict[str, Counter] = {}
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


def _never_measured(datas: Sequence[StudyData], *, x: str, y: str) -> list[str]:
    """A note for each study with trials of which none has a section-only metric shown."""
    notes = []
    for data in datas:
        absent = [n for n in section_only(x, y) if len(data.frame) and data.frame[n].isna().all()]
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
        for number, status in zip(rows["number"].tolist(), value_texts(rows["status"]))
    ]
    metrics = [
        f"{X_METRICS[x]} {xv} · {Y_METRICS[y]} {yv}"
        for xv, yv in zip(value_texts(rows[x], x), value_texts(rows[y], y))
    ]
    return np.array(
        [
            "<br>".join([head, *(" · ".join(parts[i] for parts in line) for line in lines), tail])
            for i, (head, tail) in enumerate(zip(heads, metrics))
        ],
        dtype=object,
    )


def _design_texts(rows: pd.DataFrame, f: ArchField, label: str) -> list[str]:
    values = value_texts(rows[f.name])
    if f.name == "pool_after":  # '' is no pool at all
        values = [v or "none" for v in values]
    return [f"{label} {v}" for v in values]


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
                f"{seed_text(point)} at {metric(info.x).format(point.x)} {X_METRICS[info.x]}."
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
    for why in dict.fromkeys(SECTION_ONLY[metric(n).source] for n in section_only(info.x, info.y)):
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
    add_retrained(fig, info, symbols, several)
    add_references(fig, info)
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
    categories = color_categories(pts["color"])
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
                name=f"{label} {value_text(value)}",
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
