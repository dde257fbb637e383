"""What the dashboard knows about one study: plain data, read from the storage once per change.

Figures and details are pure functions of StudyData; only `sqzdse.dashboard.source` reads storages.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sqzdse.records import Epoch, Retraining, Role, TrialRecord, metrics_of, validation_label

# The accuracy metrics a learning curve records at every epoch.
CURVE_ACCURACY: tuple[str, ...] = tuple(
    name
    for name in metrics_of(role=Role.ACCURACY)
    if name in {f.name for f in dataclasses.fields(Epoch)}
)


@dataclass(frozen=True, eq=False)
class StudyData:
    """One study as the dashboard draws it.

    `frame` is `sqzdse.analysis.trials_frame(study)`: one typed row per trial; `records` holds the
    same trials as TrialRecords, by number. The rest come from the study's attributes
    (`records.StudyInfo`); None or empty when a study lacks them.
    """

    name: str
    frame: pd.DataFrame
    records: Mapping[int, TrialRecord] = field(default_factory=dict)
    objectives: tuple[tuple[str, str], ...] = ()
    num_classes: int | None = None
    resolution: int | None = None  # training resolution in pixels
    epochs: int | None = None  # epochs a completed trial trained for
    dataset: str | None = None
    training: Mapping[str, Any] = field(default_factory=dict)  # the `training` section of the space
    accuracy_note: str = ""
    # how its data set was split (`records.StudyInfo.splits`); None for a study from before the
    # three splits, whose validation images were the official test images where a set has them
    splits: Mapping[str, Any] | None = None
    # SqueezeNet presets `sqzdse retrain --baselines` trained: {"v1.0": its block, ...}
    baselines: Mapping[str, Retraining] = field(default_factory=dict)
    version: str = ""  # changes whenever a trial is added, finishes or changes state

    @property
    def is_empty(self) -> bool:
        return len(self.frame) == 0

    @property
    def validation_label(self) -> str:
        """Which images the trials' accuracies were measured on, for people."""
        return validation_label(self.splits)

    @functools.cached_property
    def last_epoch(self) -> pd.DataFrame:
        """The last epoch of each trial's learning curve, row for row with `frame` (same index):
        `epoch` and each accuracy of CURVE_ACCURACY there; NaN for a trial without a curve. For a
        trial stopped at a rung, the accuracy it had reached (it has no final accuracy)."""
        ends = []
        for number in self.frame["number"].tolist():
            record = self.records.get(int(number))
            ends.append(record.curve[-1] if record is not None and record.curve else None)
        columns = ("epoch", *CURVE_ACCURACY)
        return pd.DataFrame(
            {c: [np.nan if e is None else getattr(e, c) for e in ends] for c in columns},
            index=self.frame.index,
            dtype="float64",
        )
