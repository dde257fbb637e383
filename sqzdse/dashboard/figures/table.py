"""The trial table: one row per trial with its design and every objective metric, sortable."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sqzdse import analysis, records
from sqzdse.arch import (
    DESIGN_GROUPS,
    fields_of,
)
from sqzdse.dashboard.figures._common import shown_metrics
from sqzdse.dashboard.study_data import StudyData
from sqzdse.records import metric

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


def parse_row_id(value: object) -> tuple[str, int] | None:
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
