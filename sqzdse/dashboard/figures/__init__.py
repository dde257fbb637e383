"""The dashboard's figures: pure functions of StudyData, in two steps, one module per view.

First an *info* function works out what to draw (which trials, which front, which reference lines)
as plain data that tests can check without drawing; then a *figure* function draws that info as a
`go.Figure`. Nothing here reads a storage or knows about Dash.

Views: `pareto` (the main view: trials, fronts, stopped trials, with `references` for SqueezeNet
and `retrained` for the networks `sqzdse retrain` trained), `hypervolume`, `parallel`, `table`
(the trial table) and `curve` (a trial's learning curve); `_common` holds what they share. Two
pages of their own: `fidelity` (a fidelity study's report) and `sweeps` (the paper's sweeps),
imported by their module name.

Fronts, ranks and hypervolumes come from `sqzdse.analysis`: only COMPLETE trials with both metrics
take part; failed, pruned (infeasible) and running trials are counted in `left_out`, never drawn.
Trials stopped at a rung of successive halving are drawn apart, faint, at the accuracy their curve
had reached: they have no final accuracy, so they are never on a front nor in a hypervolume.
"""

from sqzdse.dashboard.figures._common import (
    COLOR_COLUMNS,
    PRESETS,
    X_METRICS,
    Y_METRICS,
    check_axes,
    combined_frame,
    default_axes,
    empty_figure,
    offered_axes,
    percent_format,
    shown_metrics,
)
from sqzdse.dashboard.figures.curve import curve_figure
from sqzdse.dashboard.figures.hypervolume import (
    HypervolumeInfo,
    hypervolume_figure,
    hypervolume_info,
)
from sqzdse.dashboard.figures.parallel import ParallelInfo, parallel_figure, parallel_info
from sqzdse.dashboard.figures.pareto import (
    ParetoInfo,
    empty_message,
    pareto_figure,
    pareto_info,
    summary_lines,
)
from sqzdse.dashboard.figures.references import Reference, reference_info, unmeasured
from sqzdse.dashboard.figures.retrained import (
    RetrainedPoint,
    accuracy_title,
    retrained_hover,
    retrained_info,
    retrained_metric,
    split_note,
)
from sqzdse.dashboard.figures.table import (
    TABLE_COLUMNS,
    parse_row_id,
    row_id,
    trial_table_rows,
)

__all__ = [
    "COLOR_COLUMNS",
    "PRESETS",
    "TABLE_COLUMNS",
    "X_METRICS",
    "Y_METRICS",
    "HypervolumeInfo",
    "ParallelInfo",
    "ParetoInfo",
    "Reference",
    "RetrainedPoint",
    "accuracy_title",
    "check_axes",
    "combined_frame",
    "curve_figure",
    "default_axes",
    "empty_figure",
    "empty_message",
    "offered_axes",
    "hypervolume_figure",
    "hypervolume_info",
    "parallel_figure",
    "parallel_info",
    "pareto_figure",
    "pareto_info",
    "parse_row_id",
    "percent_format",
    "reference_info",
    "retrained_hover",
    "retrained_info",
    "retrained_metric",
    "row_id",
    "shown_metrics",
    "split_note",
    "summary_lines",
    "trial_table_rows",
    "unmeasured",
]
