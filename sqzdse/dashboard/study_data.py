"""What the dashboard knows about one study: plain data, read from the storage once per change.

Figures and details are pure functions of StudyData; only `sqzdse.dashboard.source` reads storages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sqzdse.records import TrialRecord


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
    dataset: str | None = None
    training: Mapping[str, Any] = field(default_factory=dict)  # the `training` section of the space
    accuracy_note: str = ""
    version: str = ""  # changes whenever a trial is added, finishes or changes state

    @property
    def is_empty(self) -> bool:
        return len(self.frame) == 0
