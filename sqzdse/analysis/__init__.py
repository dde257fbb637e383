"""A sqzdse study as a tidy pandas DataFrame, and the analyses drawn from it.

- Loading (`_frame`): `load_trials` reads a study from a storage URL (`sqlite:///studies/micro.db`,
  `postgresql://...`) or from a file written by `sqzdse export` (CSV, Parquet, JSON) into one row
  per trial with the columns of `TRIAL_COLUMNS` (`sqzdse.records`). `trials_frame`, `trial_records`
  and `study_overviews` are its parts. Reading never creates a database.
- Pure functions on such a DataFrame (`_fronts`): `pareto_front`, `pareto_rank`, `hypervolume`,
  `hypervolume_history`, `default_reference`, `knee_point`, `effect_summary`.

This package never imports Dash or torch.
"""

from sqzdse.analysis._frame import (
    FILE_FORMATS,
    StudyOverview,
    empty_trials_frame,
    file_format,
    is_storage_url,
    load_trials,
    read_trials_file,
    study_objectives,
    study_overviews,
    trial_records,
    trials_frame,
)
from sqzdse.analysis._fronts import (
    DIRECTIONS,
    default_reference,
    effect_summary,
    eligible_rows,
    hypervolume,
    hypervolume_history,
    knee_point,
    normalize_metrics,
    pareto_front,
    pareto_rank,
)
from sqzdse.records import COLUMN_NAMES, DESIGN_COLUMNS, TRIAL_COLUMNS, Column
from sqzdse.storage import load_study, study_names

__all__ = [
    "COLUMN_NAMES",
    "DESIGN_COLUMNS",
    "DIRECTIONS",
    "FILE_FORMATS",
    "TRIAL_COLUMNS",
    "Column",
    "StudyOverview",
    "default_reference",
    "effect_summary",
    "eligible_rows",
    "empty_trials_frame",
    "file_format",
    "hypervolume",
    "hypervolume_history",
    "is_storage_url",
    "knee_point",
    "load_study",
    "load_trials",
    "normalize_metrics",
    "pareto_front",
    "pareto_rank",
    "read_trials_file",
    "study_names",
    "study_objectives",
    "study_overviews",
    "trial_records",
    "trials_frame",
]
