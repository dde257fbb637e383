"""A small study built with the test factory (`sqzdse.testing`) and read as the dashboard reads
it (a StudySource over a real SQLite file), for each view's tests.

    trial  network                          params     top-1  top-5
    0      small_arch()                     727,626    0.50   0.80   a 3-epoch learning curve
    1      small_arch(sr=0.5)             2,882,058    0.70   0.90   on the front
    2      small_arch(base_e=32, incr_e=32)  48,858    0.60   0.85   on the front
    3      failed                                                    never drawn

Objectives (top-5 up, parameters down): trial 0 loses to trial 2 (fewer parameters, higher
top-5), so the front is trials 2 and 1.
"""

from __future__ import annotations

import pytest

from sqzdse.dashboard.source import StudySource
from sqzdse.dashboard.study_data import StudyData
from sqzdse.records import Epoch
from sqzdse.testing import add_trial, create_study, small_arch, sqlite_url

PARAMS = {0: 727_626, 1: 2_882_058, 2: 48_858}  # counted on the built networks
TOP5 = {0: 0.80, 1: 0.90, 2: 0.85}
FRONT = [1, 2]
CURVE = (
    Epoch(epoch=1, train_loss=1.2, top1=0.30, top5=0.60, seconds=1.0),
    Epoch(epoch=2, train_loss=0.8, top1=0.45, top5=0.75, seconds=2.0),
    Epoch(epoch=3, train_loss=0.6, top1=0.50, top5=0.80, seconds=3.0),
)


@pytest.fixture
def factory(tmp_path) -> StudyData:
    """The study of the module's table, as the dashboard reads it."""
    url = sqlite_url(tmp_path / "views.db")
    study = create_study(url, study_name="views")
    add_trial(study, top1=0.50, top5=0.80, curve=CURVE)
    add_trial(study, arch=small_arch(sr=0.5), top1=0.70, top5=0.90)
    add_trial(study, arch=small_arch(base_e=32, incr_e=32), top1=0.60, top5=0.85)
    add_trial(study, status="failed")
    return StudySource(url).load("views")
